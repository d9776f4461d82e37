"""Submitted reports, frozen: a numbered version per year and scope holding the report's data as
it was. A correction is a new version; earlier versions are never changed. Once a year is over
and its report frozen, that year's reader key is destroyed (stats/keys.py)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from collection.audit import service as audit
from collection.config import Settings
from collection.db import utcnow
from collection.errors import InvalidInput, NotFound
from collection.models import ReportKey, ReportVersion, User
from collection.reports import summary, yearly
from collection.stats import keys
from collection.stats.periods import local_day


def freeze(
    session: Session, settings: Settings, *, year: int, actor: User, note: str = ""
) -> ReportVersion:
    today = local_day(utcnow())
    if year > today.year or year < 2000:
        raise InvalidInput(f"Không thể chốt báo cáo năm {year}.", message_en="no such year")
    data = summary.to_dict(yearly.build(session, settings, year, today=today))
    number = (
        session.scalar(
            select(func.max(ReportVersion.number)).where(
                ReportVersion.year == year, ReportVersion.scope == "all"
            )
        )
        or 0
    ) + 1
    version = ReportVersion(
        year=year, scope="all", number=number, frozen_by_id=actor.id, note=note[:2000], data=data
    )
    session.add(version)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="report.freeze",
        target_type="report",
        target_id=version.id,
        summary=f"Chốt báo cáo năm {year}, bản số {number}" + (f": {note}" if note else ""),
    )
    return version


def versions(session: Session, year: int) -> list[ReportVersion]:
    return list(
        session.scalars(
            select(ReportVersion)
            .where(ReportVersion.year == year)
            .order_by(ReportVersion.number.desc())
        )
    )


def version(session: Session, year: int, number: int) -> ReportVersion:
    found = session.scalar(
        select(ReportVersion).where(ReportVersion.year == year, ReportVersion.number == number)
    )
    if found is None:
        raise NotFound(
            f"Không có bản số {number} của báo cáo năm {year}.", message_en="no such version"
        )
    return found


def destroy_spent_keys(session: Session, *, today: date | None = None) -> list[int]:
    """Destroy the reader key of every past year whose report has been frozen."""
    today = today or local_day(utcnow())
    frozen = set(session.scalars(select(ReportVersion.year).distinct()))
    destroyed = []
    for row in session.scalars(select(ReportKey).where(ReportKey.secret.is_not(None))):
        if row.year < today.year and row.year in frozen and keys.destroy(session, row.year):
            destroyed.append(row.year)
            audit.record(
                session,
                actor=None,
                action="report.keys",
                target_type="report",
                target_id=None,
                summary=f"Hủy khóa đếm người dùng năm {row.year} (báo cáo đã chốt)",
            )
    return destroyed
