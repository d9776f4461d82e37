"""Usage events: what the yearly report counts. No raw IP address is kept here."""

from __future__ import annotations

import enum
from datetime import datetime

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
    visitor_id: Mapped[str] = mapped_column(String(64))  # keyed hash, rotates; never the raw IP
    visit_id: Mapped[str] = mapped_column(String(64))  # a visit ends after 30 minutes idle
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL"))
    page_number: Mapped[int | None] = mapped_column()
    query: Mapped[str | None] = mapped_column(String(500))
