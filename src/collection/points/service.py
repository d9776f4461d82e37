"""Access points as the public site and the widget see them: which point a request comes from
(its IP address in a point's ranges, or the widget key it carries), and managing points.

Every page view and search asks, so the points are read once and kept for a few seconds per
process (112 points today; a change made by staff is seen within ``ttl`` seconds)."""

from __future__ import annotations

import ipaddress
import secrets
import threading
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from collection.audit import service as audit
from collection.crypto import same_secret
from collection.db import utcnow
from collection.errors import InvalidInput, NotFound
from collection.models import AccessPoint, Place, PlaceLevel, PointKind, PointLevel, User
from collection.places.gazetteer import DISTRICT_KINDS
from collection.places.service import gazetteer
from collection.points.origins import normal_origin
from collection.search.vietnamese import sort_key

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Point:
    id: int
    name: str
    widget_key: str
    allowed_origins: tuple[str, ...]
    networks: tuple[Network, ...]
    public_pcs: bool = True  # shared public PCs: "Kết thúc phiên" and the idle reset


class PointDirectory:
    """The active access points, re-read from the database at most every ``ttl`` seconds."""

    def __init__(self, sessions: sessionmaker[Session], *, ttl: float = 10.0) -> None:
        self._sessions = sessions
        self._ttl = ttl
        self._lock = threading.Lock()
        self._read_at = -float("inf")
        self._points: tuple[Point, ...] = ()

    def _current(self) -> tuple[Point, ...]:
        with self._lock:
            if time.monotonic() - self._read_at > self._ttl:
                with self._sessions() as session:
                    rows = session.scalars(select(AccessPoint).where(AccessPoint.active))
                    self._points = tuple(_point(row) for row in rows)
                self._read_at = time.monotonic()
            return self._points

    def forget(self) -> None:
        """Re-read on the next question (after a change made in this process)."""
        with self._lock:
            self._read_at = -float("inf")

    def for_ip(self, address: str | None) -> Point | None:
        """The point whose IP ranges hold ``address`` (the narrowest range wins)."""
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return None
        matches = [
            (network.prefixlen, point)
            for point in self._current()
            for network in point.networks
            if ip.version == network.version and ip in network
        ]
        return max(matches, key=lambda m: m[0])[1] if matches else None

    def for_key(self, key: str) -> Point | None:
        """The active point with this widget key (a rotated-out or revoked key finds none)."""
        for point in self._current():
            if key and same_secret(point.widget_key, key):
                return point
        return None


def _point(row: AccessPoint) -> Point:
    networks = []
    for cidr in row.ip_ranges or ():
        try:
            networks.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError:
            continue  # checked when saved; an old bad value must not break every request
    return Point(
        id=row.id,
        name=row.name,
        widget_key=row.widget_key,
        allowed_origins=tuple(row.allowed_origins or ()),
        networks=tuple(networks),
        public_pcs=row.public_pcs,
    )


def new_widget_key() -> str:
    return "w_" + secrets.token_urlsafe(24)


def checked_ranges(ranges: Sequence[str]) -> list[str]:
    """IP ranges as CIDR (a lone address becomes a /32 or /128); InvalidInput if any is not."""
    cleaned, bad = [], []
    for value in ranges:
        value = value.strip()
        if not value:
            continue
        try:
            cleaned.append(str(ipaddress.ip_network(value, strict=False)))
        except ValueError:
            bad.append(value)
    if bad:
        raise InvalidInput(
            "Dải địa chỉ IP không hợp lệ: " + ", ".join(bad) + " (ví dụ đúng: 113.160.12.0/24).",
            message_en=f"invalid IP ranges: {bad}",
        )
    return cleaned


def checked_origins(origins: Sequence[str]) -> list[str]:
    """Web origins as scheme://host[:port], without a path; InvalidInput if any is not."""
    cleaned, bad = [], []
    for value in origins:
        if not value.strip():
            continue
        origin = normal_origin(value)
        if origin:
            cleaned.append(origin)
        else:
            bad.append(value.strip()[:100])
    if bad:
        raise InvalidInput(
            "Địa chỉ trang web không hợp lệ: "
            + ", ".join(bad)
            + " (ví dụ đúng: https://thuvien.thanhhoa.gov.vn).",
            message_en=f"invalid origins: {bad}",
        )
    return cleaned


def create_point(
    *,
    session: Session,
    name: str,
    kind: PointKind,
    level: PointLevel,
    district: str = "",
    commune: str = "",
    allowed_origins: Sequence[str] = (),
    ip_ranges: Sequence[str] = (),
    active: bool = True,
    actor: User | None = None,
) -> AccessPoint:
    """A new access point with its own widget key."""
    point = AccessPoint(widget_key=new_widget_key())
    place_point(session, point, commune=commune, district=district)
    _apply(point, name, kind, level, allowed_origins, ip_ranges, active=active)
    session.add(point)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="point.create",
        target_type="point",
        target_id=point.id,
        summary=point.name,
    )
    return point


def _fields(point: AccessPoint) -> dict[str, object]:
    return {
        "name": point.name,
        "kind": point.kind.value,
        "level": point.level.value,
        "commune": point.commune_key,
        "district": point.district_key,
        "allowed_origins": list(point.allowed_origins or []),
        "ip_ranges": list(point.ip_ranges or []),
        "active": point.active,
    }


def _apply(
    point: AccessPoint,
    name: str,
    kind: PointKind,
    level: PointLevel,
    allowed_origins: Sequence[str],
    ip_ranges: Sequence[str],
    *,
    active: bool,
) -> None:
    if not name.strip():
        raise InvalidInput("Cần nhập tên điểm truy cập.", message_en="a point needs a name")
    point.name = unicodedata.normalize("NFC", name.strip())
    point.kind, point.level, point.active = kind, level, active
    point.allowed_origins = checked_origins(allowed_origins)
    point.ip_ranges = checked_ranges(ip_ranges)


def place_point(session: Session, point: AccessPoint, *, commune: str, district: str) -> None:
    """Set the point's commune (since 07/2025) and old district from what staff typed. An old
    commune stands for the one it became (its default part) and gives its district; a new
    commune gives the district when all it came from lay in one. InvalidInput asks otherwise."""
    gaz = gazetteer(session)
    commune_id = district_id = None
    if commune.strip():
        place = gaz.resolve(commune, kinds=("xã", "phường", "thị trấn", "đặc khu"), field="commune")
        if place.is_old:
            after = gaz.successors.get(place.id, [])
            if not after:
                raise InvalidInput(
                    f"«{gaz.label(place.id)}» chưa có đơn vị mới tương ứng; hãy chọn xã, phường "
                    "từ 01/07/2025.",
                    message_en=f"{place.key} has no successor",
                    field="commune",
                )
            district_id = place.parent_id
            place = gaz.places[after[0]]
        commune_id = place.id
        if district_id is None:
            olds = {
                gaz.places[old].parent_id
                for old in gaz.predecessors.get(place.id, [])
                if gaz.places[old].parent_id is not None
            }
            district_id = olds.pop() if len(olds) == 1 else None
    if district.strip():
        chosen = gaz.resolve(district, kinds=DISTRICT_KINDS, field="district")
        if chosen.level == PlaceLevel.DISTRICT or chosen.kind in DISTRICT_KINDS:
            district_id = chosen.id
    elif commune.strip() and district_id is None:
        parents = {gaz.places[old].parent_id for old in gaz.predecessors.get(commune_id or 0, [])}
        froms = sorted(gaz.label(pid) for pid in parents if pid is not None)
        raise InvalidInput(
            f"«{gaz.label(commune_id or 0)}» gồm đất của nhiều huyện cũ ({'; '.join(froms)}): "
            "hãy chọn huyện cũ của điểm.",
            message_en="the commune came from several old districts: choose one",
            field="district",
        )
    point.commune = session.get(Place, commune_id) if commune_id else None
    point.district = session.get(Place, district_id) if district_id else None


def get_point(*, session: Session, point_id: int) -> AccessPoint:
    point = session.get(AccessPoint, point_id)
    if point is None:
        raise NotFound(f"Không có điểm truy cập số {point_id}.", message_en=f"no point {point_id}")
    return point


def list_points(*, session: Session) -> list[AccessPoint]:
    """Every access point, in Vietnamese alphabetical order of name."""
    return sorted(session.scalars(select(AccessPoint)), key=lambda p: sort_key(p.name))


def update_point(
    *,
    session: Session,
    actor: User,
    point_id: int,
    name: str,
    kind: PointKind,
    level: PointLevel,
    district: str,
    allowed_origins: Sequence[str],
    ip_ranges: Sequence[str],
    active: bool,
    commune: str = "",
) -> AccessPoint:
    """Save an edit of a point (its key stays; ``rotate_key`` changes it)."""
    point = get_point(session=session, point_id=point_id)
    before = _fields(point)
    place_point(session, point, commune=commune, district=district)
    _apply(point, name, kind, level, allowed_origins, ip_ranges, active=active)
    session.flush()
    changes = audit.diff(before, _fields(point))
    if changes:
        audit.record(
            session,
            actor=actor,
            action="point.update",
            target_type="point",
            target_id=point.id,
            summary=point.name,
            changes=changes,
        )
    return point


def rotate_key(
    *, session: Session, point_id: int, at: datetime | None = None, actor: User | None = None
) -> AccessPoint:
    """A new widget key; the old one stops working at once."""
    point = get_point(session=session, point_id=point_id)
    point.widget_key = new_widget_key()
    point.widget_key_rotated_at = at or utcnow()
    audit.record(
        session,
        actor=actor,
        action="point.rotate_key",
        target_type="point",
        target_id=point.id,
        summary=point.name,
    )
    return point
