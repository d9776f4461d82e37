"""What the yearly report adds to the usage events: the points' own monthly figures (entered by a
point operator) and frozen, numbered versions of submitted reports."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from collection.db import Base, utcnow
from collection.models.accounts import User
from collection.models.types import UTCDateTime


class PointFigures(Base):
    """One point's figures for one month. A month submitted again gets a new row; the earlier
    one is kept with ``replaced_at`` set (the last submission wins)."""

    __tablename__ = "point_figures"
    __table_args__ = (Index("ix_point_figures_point_month", "point_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("access_points.id", ondelete="CASCADE"))
    month: Mapped[date] = mapped_column()  # the first day of the month
    days_open: Mapped[int] = mapped_column()
    computers_working: Mapped[int] = mapped_column()
    computers_total: Mapped[int] = mapped_column()
    users: Mapped[int] = mapped_column()
    visits: Mapped[int] = mapped_column()
    trainings: Mapped[int] = mapped_column(default=0)
    trainees: Mapped[int] = mapped_column(default=0)
    note: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(20), default="form")  # form | xlsx | api
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    replaced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    submitted_by: Mapped[User | None] = relationship(lazy="joined")


class ReportVersion(Base):
    """A submitted yearly report, frozen: its figures as they were, numbered per year and scope.
    A later correction is a new version; old ones are never changed."""

    __tablename__ = "report_versions"
    __table_args__ = (Index("ix_report_versions_year", "year", "scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column()
    scope: Mapped[str] = mapped_column(String(32), default="all")
    number: Mapped[int] = mapped_column()
    frozen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    frozen_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON)

    frozen_by: Mapped[User | None] = relationship(lazy="joined")
