"""The rollup's definitions, against known events: visits cut at 30 idle minutes, COUNTER's
double-click rule, distinct users over a month and a year (never a sum of days), measured vs
estimated readers, Vietnam's day boundary, late events and idempotent rebuilds."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from collection import migrate
from collection.db import session_scope
from collection.models import (
    AccessPoint,
    Item,
    PointKind,
    PointLevel,
    UsageDaily,
    UsageEvent,
    UsageItemDay,
    UsageKind,
    UsageQueryDay,
    UsageReaderDay,
    UsageUsers,
)
from collection.stats import rollup

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 09:00 on 2 March in Thanh Hóa


def _point(session: Session, name: str, kind: PointKind) -> int:
    point = AccessPoint(
        name=name, kind=kind, level=PointLevel.COMMUNE, widget_key=secrets.token_hex(8)
    )
    session.add(point)
    session.flush()
    return point.id


def _event(
    session: Session,
    at: datetime,
    kind: UsageKind = UsageKind.ITEM_VIEW,
    *,
    reader: str | None = None,
    new: bool = False,
    fallback: str = "fb",
    point: int | None = None,
    **extra: Any,
) -> None:
    session.add(
        UsageEvent(
            occurred_at=at,
            kind=kind,
            reader=reader,
            reader_new=new,
            visitor_id=fallback,
            access_point_id=point,
            **extra,
        )
    )


def _daily(session: Session) -> dict[tuple[date, int, str], tuple[int, int]]:
    return {
        (r.day, r.point_id, r.measure): (r.measured, r.estimated)
        for r in session.scalars(select(UsageDaily))
    }


def _users(session: Session) -> dict[tuple[str, date, str], tuple[int, int]]:
    return {
        (r.period, r.start, r.scope): (r.measured, r.estimated)
        for r in session.scalars(select(UsageUsers))
    }


def _everything(session: Session) -> list[Any]:
    tables = (UsageDaily, UsageReaderDay, UsageQueryDay, UsageItemDay, UsageUsers)
    return [
        sorted(
            tuple(getattr(row, c.key) for c in table.__table__.columns)
            for row in session.scalars(select(table))
        )
        for table in tables
    ]


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest) -> Iterator[Session]:
    """The same rollup on both databases (its reads and writes go through the driver)."""
    if request.param == "sqlite":
        url = request.getfixturevalue("settings").sqlalchemy_url
    else:
        server = request.getfixturevalue("postgres_url")
        name = "kho_" + secrets.token_hex(4)
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8'"))
        admin.dispose()
        url = server.rsplit("/", 1)[0] + f"/{name}"
        migrate.upgrade(url)
    with session_scope(url) as session:
        for number in range(1, 8):  # items 1..7 exist (events refer to them)
            session.add(Item(id=number, title=f"Tài liệu {number}"))
        session.flush()
        yield session


def test_visits_end_after_30_idle_minutes_and_fallback_readers_are_estimates(db: Session) -> None:
    p = _point(db, "Thư viện xã Nga Thạch", PointKind.BDVHX)
    m = timedelta(minutes=1)
    for offset in (0, 10, 39, 75):  # 39 → 29 idle minutes: same visit; 75 → 36: a new one
        _event(db, T0 + offset * m, reader="A", point=p, item_id=None)
    _event(db, T0, reader="N", new=True, fallback="cookie-refused", point=p)  # never sent back
    _event(db, T0 + 5 * m, reader="N2", new=True, fallback="cookie-refused", point=p)
    rollup.rebuild(db, date(2026, 3, 2), date(2026, 3, 2))
    daily = _daily(db)
    # A: two measured visits; the browser refusing cookies: one visit, an estimate.
    assert daily[(date(2026, 3, 2), p, rollup.VISITS)] == (2, 1)
    assert _users(db)[("month", date(2026, 3, 1), f"p:{p}")] == (1, 1)


def test_double_click_counts_a_burst_once_at_its_last_click(db: Session) -> None:
    s = timedelta(seconds=1)
    page: dict[str, Any] = {"item_id": 7, "page_number": 1}
    for offset in (0, 20, 45):  # each within 30 s of the one before: one action
        _event(db, T0 + offset * s, reader="A", **page)
    _event(db, T0 + 90 * s, reader="A", **page)  # 45 s after: a second one
    _event(db, T0 + 91 * s, UsageKind.PAGE_VIEW, reader="A", item_id=7, page_number=2)
    _event(db, T0 + 92 * s, UsageKind.SEARCH, reader="A", query="Sông  MÃ", hits=3)
    _event(db, T0 + 93 * s, UsageKind.SEARCH, reader="A", query="sông mã", hits=3)  # sent again
    _event(db, T0 + 94 * s, UsageKind.SEARCH, reader="A", query="xyz", hits=0)
    # Typed on as the results update: "trống" then "trống đồng" is one search (the later).
    _event(db, T0 + 200 * s, UsageKind.SEARCH, reader="A", query="trống", hits=0)
    _event(db, T0 + 201 * s, UsageKind.SEARCH, reader="A", query="trống đồng", hits=4)
    rollup.rebuild(db, date(2026, 3, 2), date(2026, 3, 2))
    daily = _daily(db)
    day = date(2026, 3, 2)
    assert daily[(day, 0, rollup.INVESTIGATIONS)] == (3, 0)
    assert daily[(day, 0, rollup.REQUESTS)] == (3, 0)
    assert daily[(day, 0, rollup.UNIQUE_INVESTIGATIONS)] == (1, 0)  # one item, one hour
    assert daily[(day, 0, rollup.SEARCHES)] == (3, 0)
    assert daily[(day, 0, rollup.VISITS)] == (1, 0)
    queries = {r.query: (r.searches, r.zero_results) for r in db.scalars(select(UsageQueryDay))}
    assert queries == {"sông mã": (1, 0), "xyz": (1, 1), "trống đồng": (1, 0)}
    item = db.scalars(select(UsageItemDay)).one()
    assert (item.item_id, item.investigations, item.requests) == (7, 3, 3)


def test_users_are_distinct_over_the_year_not_summed(db: Session) -> None:
    tvcc = _point(db, "Thư viện huyện Thiệu Hóa", PointKind.TVCC)
    bd = _point(db, "Điểm BĐVHX Thiệu Trung", PointKind.BDVHX)
    for day in (datetime(2026, 1, 5, 3, tzinfo=UTC), datetime(2026, 2, 7, 3, tzinfo=UTC)):
        _event(db, day, reader="A", point=tvcc)
        _event(db, day + timedelta(hours=2), reader="A", point=bd)
    _event(db, datetime(2026, 2, 8, 3, tzinfo=UTC), reader="B", point=tvcc)
    rollup.rebuild(db, date(2026, 1, 1), date(2026, 12, 31))
    users = _users(db)
    assert users[("month", date(2026, 1, 1), f"p:{tvcc}")] == (1, 0)
    assert users[("month", date(2026, 2, 1), f"p:{tvcc}")] == (2, 0)
    assert users[("year", date(2026, 1, 1), f"p:{tvcc}")] == (2, 0)  # A twice is one user
    assert users[("year", date(2026, 1, 1), "kind:bdvhx")] == (1, 0)
    assert users[("year", date(2026, 1, 1), "all")] == (2, 0)  # A at two points: one user
    visits = sum(v[0] for k, v in _daily(db).items() if k[2] == rollup.VISITS)
    assert visits == 5


def test_days_are_vietnams_and_a_rebuild_gives_the_same_numbers(db: Session) -> None:
    late = datetime(2026, 3, 1, 17, 30, tzinfo=UTC)  # 00:30 on 2 March in Thanh Hóa
    _event(db, late, reader="A", item_id=1)
    _event(db, T0, reader="B", item_id=2)
    _event(db, datetime(2026, 3, 3, 1, tzinfo=UTC), reader="A", item_id=1)
    rollup.rebuild(db, date(2026, 3, 1), date(2026, 3, 5))
    days = {k[0] for k in _daily(db)}
    assert days == {date(2026, 3, 2), date(2026, 3, 3)}
    whole = _everything(db)
    rollup.rebuild(db, date(2026, 3, 1), date(2026, 3, 5))
    assert _everything(db) == whole
    for day in (1, 2, 3, 4, 5):  # day by day: the same as all at once
        rollup.rebuild(db, date(2026, 3, day), date(2026, 3, day))
    assert _everything(db) == whole


def test_catch_up_takes_late_events_to_their_own_day(db: Session) -> None:
    now = datetime(2026, 3, 10, 5, tzinfo=UTC)
    _event(db, now - timedelta(hours=1), reader="A", item_id=1)
    rollup.catch_up(db, now=now)
    assert {k[0] for k in _daily(db)} == {date(2026, 3, 10)}
    # An event written late (another worker's buffer, a skewed clock) for two days before.
    _event(db, datetime(2026, 3, 8, 3, tzinfo=UTC), reader="B", item_id=2)
    done = rollup.catch_up(db, now=now)
    assert any(r.start <= date(2026, 3, 8) <= r.end for r in done)
    assert {k[0] for k in _daily(db)} == {date(2026, 3, 8), date(2026, 3, 10)}
    assert _users(db)[("month", date(2026, 3, 1), "all")] == (2, 0)
