"""Usage events and the rollups the yearly report reads. No raw IP address is kept anywhere.

Events are the record; every rollup table below is derived from them and rebuilt for any date
range by ``collection stats rebuild`` (see stats/rollup.py for the definitions)."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from collection.db import Base, utcnow
from collection.models.types import UTCDateTime, str_enum


class UsageKind(enum.StrEnum):
    SEARCH = "search"
    ITEM_VIEW = "item_view"
    PAGE_VIEW = "page_view"
    DOWNLOAD = "download"
    WIDGET_SEARCH = "widget_search"
    # Not use: the browser sent its reader cookie back (on any request, a stylesheet too), which
    # makes that day's reader measured rather than estimated. Once per reader, process and day.
    COOKIE_KEPT = "cookie_kept"


class UsageEvent(Base):
    __tablename__ = "usage_events"
    __table_args__ = (Index("ix_usage_events_point_time", "access_point_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(
        # SQLite only autoincrements an INTEGER primary key.
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
    )
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    kind: Mapped[UsageKind] = mapped_column(str_enum(UsageKind, "usage_kind"))
    access_point_id: Mapped[int | None] = mapped_column(
        ForeignKey("access_points.id", ondelete="SET NULL")
    )
    # The reader: a random first-party cookie id, kept only as a hash keyed by that reporting
    # year's key (report_keys). None when the browser sent no cookie we could use.
    reader: Mapped[str | None] = mapped_column(String(64))
    # The cookie was given with this very response: the browser has not yet shown it keeps it.
    reader_new: Mapped[bool] = mapped_column(default=False)
    # The fallback for readers without a cookie: a keyed hash of day, IP and browser. It changes
    # every day, so what is counted with it is an estimate (and says so).
    visitor_id: Mapped[str] = mapped_column(String(64))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL"))
    page_number: Mapped[int | None] = mapped_column()
    query: Mapped[str | None] = mapped_column(String(500))
    hits: Mapped[int | None] = (
        mapped_column()
    )  # results a search found (0: the collection lacks it)


class ReportKey(Base):
    """One reporting year's key for reader hashes. Destroyed (``secret`` emptied) once the
    year is over and its report frozen: from then on no cookie can be linked to that year."""

    __tablename__ = "report_keys"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    secret: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UsageDaily(Base):
    """Per local day × point × measure. ``point_id`` 0 is use from outside every point."""

    __tablename__ = "usage_daily"

    day: Mapped[date] = mapped_column(primary_key=True)
    point_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    measure: Mapped[str] = mapped_column(String(40), primary_key=True)
    measured: Mapped[int] = mapped_column(default=0)
    estimated: Mapped[int] = mapped_column(default=0)  # counted with the daily fallback id


class UsageMonthly(Base):
    """The days of a month summed per point and measure (what the yearly report reads)."""

    __tablename__ = "usage_monthly"

    month: Mapped[date] = mapped_column(primary_key=True)  # the first day
    point_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    measure: Mapped[str] = mapped_column(String(40), primary_key=True)
    measured: Mapped[int] = mapped_column(default=0)
    estimated: Mapped[int] = mapped_column(default=0)


class UsageReaderDay(Base):
    """Who read on a day at a point, for distinct users over any period. ``reader`` is
    ``c:<hash>`` (cookie: measured) or ``e:<hash>`` (daily fallback: an estimate)."""

    __tablename__ = "usage_reader_days"

    day: Mapped[date] = mapped_column(primary_key=True)
    point_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    reader: Mapped[str] = mapped_column(String(66), primary_key=True)


class UsageUsers(Base):
    """Distinct users of a month or a year in a scope: ``p:<point id>``, ``web`` (no point),
    ``kind:tvcc`` / ``kind:bdvhx`` (a department's points) or ``all``."""

    __tablename__ = "usage_users"

    period: Mapped[str] = mapped_column(String(8), primary_key=True)  # month | year
    start: Mapped[date] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(32), primary_key=True)
    measured: Mapped[int] = mapped_column(default=0)
    estimated: Mapped[int] = mapped_column(default=0)


class UsageQueryDay(Base):
    """Searches per day and normalised query, for top and zero-result queries."""

    __tablename__ = "usage_query_days"

    day: Mapped[date] = mapped_column(primary_key=True)
    query: Mapped[str] = mapped_column(String(200), primary_key=True)
    searches: Mapped[int] = mapped_column(default=0)
    zero_results: Mapped[int] = mapped_column(default=0)


class UsageItemDay(Base):
    """Investigations and requests per day and item, for the most-read items."""

    __tablename__ = "usage_item_days"

    day: Mapped[date] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    investigations: Mapped[int] = mapped_column(default=0)
    requests: Mapped[int] = mapped_column(default=0)


class RollupState(Base):
    """How far the periodic rollup has read the events."""

    __tablename__ = "rollup_state"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RobotList(Base):
    """Each version of the COUNTER-Robots list that filtered events, from when it was first
    used: robots are dropped before an event is written, so the report names the lists."""

    __tablename__ = "robot_lists"

    version: Mapped[str] = mapped_column(String(40), primary_key=True)
    first_used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
