"""Days, months and years as the province counts them: in Vietnam's time (UTC+7, no summer
time), whatever the server's clock zone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, timezone

LOCAL = timezone(timedelta(hours=7), "ICT")


def local_day(moment: datetime) -> date:
    return moment.astimezone(LOCAL).date()


def day_start(day: date) -> datetime:
    """The UTC moment the local ``day`` begins."""
    return datetime.combine(day, time(), LOCAL).astimezone(UTC)


def month_of(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def months(start: date, end: date) -> Iterator[date]:
    """The first days of every month from ``start``'s to ``end``'s, both included."""
    month = month_of(start)
    while month <= end:
        yield month
        month = next_month(month)


def year_months(year: int) -> list[date]:
    return list(months(date(year, 1, 1), date(year, 12, 1)))


def month_days(month: date) -> int:
    return (next_month(month) - month).days
