"""What the report routes and pages share: the year's report as data (live or a frozen version),
the points' figures in and out, and a spreadsheet of figures saved row by row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from collection.config import Settings
from collection.db import utcnow
from collection.errors import CollectionError, InvalidInput
from collection.models import PointFigures, User
from collection.reports import figures, freezing, summary, template, yearly
from collection.stats.periods import local_day


def check_year(year: int) -> int:
    today = local_day(utcnow())
    if not 2000 <= year <= today.year:
        raise InvalidInput(
            f"Không có báo cáo năm {year}: chọn năm từ 2000 đến {today.year}.",
            message_en=f"no report for {year}",
        )
    return year


def report_data(
    session: Session, settings: Settings, year: int, version: int | None = None
) -> tuple[dict[str, Any], Any]:
    """The report's data, and the frozen version it comes from (None: live)."""
    check_year(year)
    if version is not None:
        frozen = freezing.version(session, year, version)
        return frozen.data, frozen
    return summary.to_dict(yearly.build(session, settings, year)), None


def figures_out(row: PointFigures) -> dict[str, Any]:
    return {
        **{name: getattr(row, name) for name in figures.LABELS},
        "id": row.id,
        "point_id": row.point_id,
        "month": row.month.strftime("%Y-%m"),
        "source": row.source,
        "submitted_at": row.submitted_at,
        "submitted_by": row.submitted_by.email if row.submitted_by else None,
        "replaced_at": row.replaced_at,
    }


@dataclass(frozen=True)
class SheetResult:
    row: int
    point_id: int | None
    month: date | None
    saved: bool
    error: str = ""


def save_sheet(
    session: Session, settings: Settings, *, data: bytes, actor: User
) -> list[SheetResult]:
    """Every row of an uploaded sheet saved on its own: a wrong row is reported and the others
    still go in (each row in a savepoint, so a refused one leaves nothing behind)."""
    default = actor.point_id  # an operator's sheet may leave the point's code empty
    results = []
    for row in template.read_sheet(data, default_point=default):
        if row.figures is None or row.point_id is None:
            results.append(SheetResult(row.row, row.point_id, None, False, row.error))
            continue
        try:
            with session.begin_nested():
                figures.submit(
                    session,
                    point_id=row.point_id,
                    figures=row.figures,
                    actor=actor,
                    settings=settings,
                    source="xlsx",
                )
        except CollectionError as exc:
            if exc.status >= 500:
                raise
            results.append(
                SheetResult(row.row, row.point_id, row.figures.month, False, exc.message)
            )
            continue
        results.append(SheetResult(row.row, row.point_id, row.figures.month, True))
    return results
