"""Who is asking, for the public site, the widget and the public API: the access point the
request comes from (by IP range), the anonymous visitor usage events record, and what they may
read (on-site material only at a point; staff see everything)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from collection.accounts.roles import Permission, allows
from collection.api.deps import AppSettings, Viewer
from collection.models import User
from collection.points.service import Point, PointDirectory
from collection.search.query import Scope
from collection.stats import robots
from collection.stats.readers import reader_of
from collection.stats.usage import UsageRecorder, Visitor, fallback_id


@dataclass(frozen=True)
class Audience:
    point: Point | None  # the access point whose IP ranges hold the requester
    visitor: Visitor
    user: User | None

    @property
    def staff(self) -> bool:
        return self.user is not None and allows(self.user.role, Permission.VIEW_STAFF)

    @property
    def at_point(self) -> bool:
        return self.point is not None

    @property
    def public_pc(self) -> bool:
        """A shared PC at a point: the page offers "Kết thúc phiên" and resets when idle."""
        return self.point is not None and self.point.public_pcs and not self.staff

    @property
    def scope(self) -> Scope:
        """What search may show: staff searching the public site see what citizens at a point
        see (the staff search is elsewhere)."""
        return Scope.ACCESS_POINT if self.at_point or self.staff else Scope.PUBLIC


def client_ip(request: Request) -> str | None:
    # uvicorn replaces the client with X-Forwarded-For from trusted proxies (--forwarded-allow-ips).
    return request.client.host if request.client else None


def points(request: Request) -> PointDirectory:
    directory: PointDirectory = request.app.state.points
    return directory


def usage(request: Request) -> UsageRecorder:
    recorder: UsageRecorder = request.app.state.usage
    return recorder


def audience_for(
    request: Request, settings: AppSettings, user: User | None, point: Point | None = None
) -> Audience:
    at = points(request).for_ip(client_ip(request))
    counted_for = point or at  # a widget's key names its point; else the requester's range
    user_agent = request.headers.get("user-agent", "")
    reader, given_now = reader_of(request)
    who = Visitor(
        visitor_id=fallback_id(settings.app_secret(), ip=client_ip(request), user_agent=user_agent),
        point_id=counted_for.id if counted_for else None,
        # Staff at work, scripts with a token and robots are not readers (COUNTER 5.1, 7.8).
        counted=user is None
        and "authorization" not in request.headers
        and not robots.is_robot(user_agent),
        reader=usage(request).keys.reader_hash(reader) if reader else None,
        reader_new=given_now,
    )
    audience = Audience(point=at, visitor=who, user=user)
    request.state.public_pc = audience.public_pc  # base.html shows the end-session button
    return audience


def get_audience(request: Request, settings: AppSettings, user: Viewer) -> Audience:
    return audience_for(request, settings, user)


def get_anonymous_audience(request: Request, settings: AppSettings) -> Audience:
    """For the JSON API: no session lookup (no database read on every search)."""
    return audience_for(request, settings, None)


CurrentAudience = Annotated[Audience, Depends(get_audience)]
AnonymousAudience = Annotated[Audience, Depends(get_anonymous_audience)]
