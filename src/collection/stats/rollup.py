"""Rollups: the events turned into the figures the yearly report reads, per local day × point.
Derived data, like the search index: ``rebuild`` recomputes any date range from the events and
gives the same numbers every time; the worker's periodic ``catch_up`` rebuilds the days that new
(or late) events fall on.

Definitions (COUNTER Code of Practice 5.1, ISO 2789), written here once:

- **reader** — a browser's cookie id (its hash in that year) when the browser sent the cookie
  back on the same day (with any request: ``cookie_kept`` events): *measured*. Otherwise — no cookie, a cookie refused, the JSON API, the
  widget on another site — the daily fallback hash of IP and browser: *estimated*.
- **visit (lượt truy cập)** — a reader's run of events with no gap over 30 minutes (ISO 2789).
  "Kết thúc phiên" gives the browser a new reader, which ends the visit. Counted on the day and at
  the point of its first event; measured or estimated as its reader.
- **user (người sử dụng)** — a distinct reader in a month or a year (``usage_users``), never a sum
  of days.
- **searches** — each search on the site or the API (``searches``) and from a point's widget
  (``widget_searches``). The double-click rule does not apply to searches (COUNTER 7.2), but a
  search the reader goes on typing — the results page updates as one types — is one search: a
  query followed within 30 seconds by one that extends or repeats it (``sông`` → ``sông mã``)
  counts as the later only.
- **investigation / request** — COUNTER's Total_Item_Investigations (an item page, a page of it, a
  download) and Total_Item_Requests (the item's content: a page shown, a download). The same
  action on the same item and page by the same reader within 30 seconds counts once: the first of
  the two is removed and the second kept (COUNTER 7.2), so a burst counts at its last click.
- **unique item investigation / request** — items with at least one investigation / request in a
  COUNTER session: the reader, the local date and the hour of day (COUNTER 7.3).

Days are Vietnam's (UTC+7). Robots, machines, staff and API tokens never reach the events
(usage.py). A visit longer than a day is cut at the day before the rebuilt range begins.
"""

from __future__ import annotations

import time
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Date,
    Float,
    Integer,
    String,
    cast,
    delete,
    distinct,
    func,
    insert,
    literal,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from collection.db import utcnow
from collection.models import (
    AccessPoint,
    RollupState,
    UsageDaily,
    UsageEvent,
    UsageItemDay,
    UsageKind,
    UsageMonthly,
    UsageQueryDay,
    UsageReaderDay,
    UsageUsers,
)
from collection.stats.periods import day_start, local_day, months, next_month

VISIT_IDLE = 30 * 60  # seconds
DOUBLE_CLICK = 30
OFFSET = 7 * 3600  # UTC+7
_EPOCH = date(1970, 1, 1).toordinal()

SEARCHES = "searches"
WIDGET_SEARCHES = "widget_searches"
INVESTIGATIONS = "investigations"
REQUESTS = "requests"
UNIQUE_INVESTIGATIONS = "unique_investigations"
UNIQUE_REQUESTS = "unique_requests"
VISITS = "visits"
MEASURES = (
    VISITS,
    SEARCHES,
    WIDGET_SEARCHES,
    INVESTIGATIONS,
    REQUESTS,
    UNIQUE_INVESTIGATIONS,
    UNIQUE_REQUESTS,
)
_SEARCH_KINDS = (UsageKind.SEARCH.value, UsageKind.WIDGET_SEARCH.value)
_REQUEST_KINDS = (UsageKind.PAGE_VIEW.value, UsageKind.DOWNLOAD.value)


def query_key(query: str) -> str:
    """How top queries are grouped: NFC, case folded, single spaces."""
    return " ".join(unicodedata.normalize("NFC", query).casefold().split())[:200]


@dataclass(frozen=True)
class Rebuilt:
    start: date
    end: date
    events: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


@dataclass
class _Counts:
    """What one pass over the events found, keyed by local day."""

    daily: defaultdict[tuple[date, int, str], list[int]]  # → [measured, estimated]
    readers: set[tuple[date, int, str]]
    queries: defaultdict[tuple[date, str], list[int]]  # → [searches, zero results]
    items: defaultdict[tuple[date, int], list[int]]  # → [investigations, requests]


def _counter() -> list[int]:
    return [0, 0]


def rebuild(session: Session, start: date, end: date) -> Rebuilt:
    """Recompute every rollup of the local days ``start``..``end`` (both included), and the
    users of every month and year they touch. Idempotent; the caller commits."""
    began = time.perf_counter()
    session.flush()  # the connection below does not flush the session's pending changes
    lo = day_start(start - timedelta(days=1))  # visits running into the range
    first = day_start(start).timestamp()
    hi = day_start(end + timedelta(days=1))
    # Through the connection, with no per-row type conversion: the ORM's rows cost more here
    # than the counting.
    rows = (
        session.connection()
        .execute(
            select(
                _epoch(session),
                type_coerce(UsageEvent.kind, String()),
                UsageEvent.access_point_id,
                UsageEvent.reader,
                type_coerce(UsageEvent.reader_new, Integer()),
                UsageEvent.visitor_id,
                UsageEvent.item_id,
                UsageEvent.page_number,
                UsageEvent.query,
                UsageEvent.hits,
            )
            .where(
                UsageEvent.occurred_at >= lo,
                # a click just after the range can remove the range's last one (double-click)
                UsageEvent.occurred_at < hi + timedelta(seconds=DOUBLE_CLICK),
            )
            .order_by(UsageEvent.occurred_at, UsageEvent.id)
        )
        .all()
    )
    counts, in_range = _count(rows, first, hi.timestamp())
    _replace_days(session, start, end, counts)
    for month in months(start, end):
        _store_month(session, month)
        _store_users(session, "month", month, next_month(month))
    for year in range(start.year, end.year + 1):
        _store_users(session, "year", date(year, 1, 1), date(year + 1, 1, 1))
    return Rebuilt(start, end, in_range, time.perf_counter() - began)


def _count(rows: Iterable[tuple], first: float, last: float) -> tuple[_Counts, int]:
    # Which cookie readers the browser kept: it sent the cookie back the same local day.
    events = []
    kept: set[tuple[str, int]] = set()
    for ts, kind, point, reader, reader_new, fallback, item, page, query, hits in rows:
        day_no = int((ts + OFFSET) // 86400)
        if reader is not None and not reader_new:
            kept.add((reader, day_no))
        if kind == UsageKind.COOKIE_KEPT:
            continue  # a confirmation, not use
        events.append((ts, day_no, kind, point or 0, reader, fallback, item, page, query, hits))
    by_reader: defaultdict[str, list[tuple]] = defaultdict(list)
    for event in events:
        reader, day_no = event[4], event[1]
        key = f"c:{reader}" if reader is not None and (reader, day_no) in kept else f"e:{event[5]}"
        by_reader[key].append(event)

    counts = _Counts(defaultdict(_counter), set(), defaultdict(_counter), defaultdict(_counter))
    days: dict[int, date] = {}
    in_range = 0
    for key, timeline in by_reader.items():
        in_range += _count_reader(key, timeline, first, last, counts, days)
    return counts, in_range


def _count_reader(
    key: str,
    timeline: list[tuple],
    first: float,
    last: float,
    counts: _Counts,
    days: dict[int, date],
) -> int:
    estimated = 1 if key.startswith("e:") else 0
    daily, items, readers = counts.daily, counts.items, counts.readers
    previous = -float("inf")
    clicks: dict[tuple[str, int | None, int | None], tuple[float, date, int, bool]] = {}
    sessions: set[tuple[int, int, int, str]] = set()  # (day, hour, item, investigation|request)
    typing: tuple[float, str, date, int, str, bool, bool] | None = None  # the last search
    seen = 0
    for ts, day_no, kind, point, _reader, _fallback, item, page, query, hits in timeline:
        new_visit = ts - previous > VISIT_IDLE
        previous = ts
        counted = first <= ts < last
        kind = str(kind)
        if kind in _SEARCH_KINDS:
            words = query_key(query or "")
            measure = SEARCHES if kind == "search" else WIDGET_SEARCHES
            if (
                typing is not None
                and ts - typing[0] <= DOUBLE_CLICK
                and typing[4] == measure
                and typing[5]
                and words.startswith(typing[1])  # the same search, typed on (or sent again)
            ):
                daily[(typing[2], typing[3], measure)][0] -= 1
                if typing[1]:
                    tally = counts.queries[(typing[2], typing[1])]
                    tally[0] -= 1
                    tally[1] -= typing[6]
            if not counted:
                typing = (ts, words, date.min, point, measure, False, False)
                continue
            day = days.get(day_no) or days.setdefault(day_no, date.fromordinal(_EPOCH + day_no))
            readers.add((day, point, key))
            if new_visit:
                daily[(day, point, VISITS)][estimated] += 1
            seen += 1
            daily[(day, point, measure)][0] += 1
            if words:
                tally = counts.queries[(day, words)]
                tally[0] += 1
                tally[1] += hits == 0
            typing = (ts, words, day, point, measure, True, hits == 0)
            continue
        click = (kind, item, page)
        before = clicks.get(click)
        if before is not None and ts - before[0] <= DOUBLE_CLICK and before[3]:
            _, before_day, before_point, _ = before
            daily[(before_day, before_point, INVESTIGATIONS)][0] -= 1
            if kind in _REQUEST_KINDS or (kind == "item_view" and page is not None):
                daily[(before_day, before_point, REQUESTS)][0] -= 1
                if item is not None:
                    items[(before_day, item)][1] -= 1
            if item is not None:
                items[(before_day, item)][0] -= 1
        if not counted:
            clicks[click] = (ts, date.min, point, False)
            continue
        day = days.get(day_no) or days.setdefault(day_no, date.fromordinal(_EPOCH + day_no))
        clicks[click] = (ts, day, point, True)
        readers.add((day, point, key))
        if new_visit:
            daily[(day, point, VISITS)][estimated] += 1
        seen += 1
        request = kind in _REQUEST_KINDS or (kind == "item_view" and page is not None)
        daily[(day, point, INVESTIGATIONS)][0] += 1
        if request:
            daily[(day, point, REQUESTS)][0] += 1
        if item is None:
            continue
        tally = items[(day, item)]
        tally[0] += 1
        tally[1] += request
        hour = int((ts + OFFSET) % 86400 // 3600)
        if (day_no, hour, item, "i") not in sessions:
            sessions.add((day_no, hour, item, "i"))
            daily[(day, point, UNIQUE_INVESTIGATIONS)][estimated] += 1
        if request and (day_no, hour, item, "r") not in sessions:
            sessions.add((day_no, hour, item, "r"))
            daily[(day, point, UNIQUE_REQUESTS)][estimated] += 1
    return seen


def _replace_days(session: Session, start: date, end: date, counts: _Counts) -> None:
    for table in (UsageDaily, UsageReaderDay, UsageQueryDay, UsageItemDay):
        session.execute(delete(table).where(table.day >= start, table.day <= end))

    def within(day: date) -> bool:
        return start <= day <= end

    day = _day_value(session)
    _insert(
        session,
        UsageDaily,
        ("day", "point_id", "measure", "measured", "estimated"),
        (
            (day(d), p, m, v[0], v[1])
            for (d, p, m), v in counts.daily.items()
            if within(d) and (v[0] or v[1])
        ),
    )
    _insert(
        session,
        UsageReaderDay,
        ("day", "point_id", "reader"),
        ((day(d), p, r) for d, p, r in counts.readers if within(d)),
    )
    _insert(
        session,
        UsageQueryDay,
        ("day", "query", "searches", "zero_results"),
        ((day(d), q, v[0], v[1]) for (d, q), v in counts.queries.items() if within(d) and v[0]),
    )
    _insert(
        session,
        UsageItemDay,
        ("day", "item_id", "investigations", "requests"),
        (
            (day(d), i, v[0], v[1])
            for (d, i), v in counts.items.items()
            if within(d) and (v[0] or v[1])
        ),
    )


def _insert(
    session: Session, table: type, columns: tuple[str, ...], rows: Iterator[tuple[Any, ...]]
) -> None:
    """The driver's own executemany: SQLAlchemy's per-row parameter handling costs more than
    the counting. Values are already what the column stores (see ``_day_value``)."""
    connection = session.connection()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    name = table.__tablename__  # type: ignore[attr-defined]
    marks = ", ".join([mark] * len(columns))
    sql = f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608 — our names
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= 20_000:
            connection.exec_driver_sql(sql, batch)
            batch = []
    if batch:
        connection.exec_driver_sql(sql, batch)


def _day_value(session: Session) -> Callable[[date], Any]:
    """A date as the driver takes it: SQLite stores the ISO text SQLAlchemy would have
    written; PostgreSQL's driver takes the date itself."""
    if session.get_bind().dialect.name != "sqlite":
        return lambda day: day
    known: dict[date, str] = {}

    def text(day: date) -> str:
        found = known.get(day)
        if found is None:
            found = known[day] = day.isoformat()
        return found

    return text


def _epoch(session: Session) -> ColumnElement[Any]:
    """``occurred_at`` as seconds since 1970, computed by the database: reading datetimes row by
    row into Python objects costs twice the counting."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(UsageEvent.occurred_at) - 2440587.5) * 86400.0
    return cast(func.extract("epoch", UsageEvent.occurred_at), Float)  # not NUMERIC: a float


def _store_month(session: Session, month: date) -> None:
    """The month's days summed per point and measure, what the yearly report reads."""
    end = next_month(month)
    session.execute(delete(UsageMonthly).where(UsageMonthly.month == month))
    session.execute(
        insert(UsageMonthly.__table__).from_select(  # type: ignore[arg-type]
            ["month", "point_id", "measure", "measured", "estimated"],
            select(
                literal(month, Date()),
                UsageDaily.point_id,
                UsageDaily.measure,
                func.sum(UsageDaily.measured),
                func.sum(UsageDaily.estimated),
            )
            .where(UsageDaily.day >= month, UsageDaily.day < end)
            .group_by(UsageDaily.point_id, UsageDaily.measure),
        )
    )


def distinct_users(session: Session, start: date, end: date) -> dict[str, tuple[int, int]]:
    """Distinct readers of the days [start, end), (measured, estimated), per scope: each point
    (``p:<id>``), the web (no point), each department (``kind:…``), all points, and ``all``."""
    kind = func.substr(UsageReaderDay.reader, 1, 1)
    where = (UsageReaderDay.day >= start, UsageReaderDay.day < end)
    totals: defaultdict[str, list[int]] = defaultdict(_counter)

    def add(scope: str, key_kind: str, n: int) -> None:
        totals[scope][1 if key_kind == "e" else 0] += n

    count = func.count(distinct(UsageReaderDay.reader))
    for point, k, n in session.execute(
        select(UsageReaderDay.point_id, kind, count)
        .where(*where)
        .group_by(UsageReaderDay.point_id, kind)
    ):
        add(f"p:{point}" if point else "web", k, n)
    for point_kind, k, n in session.execute(
        select(AccessPoint.kind, kind, count)
        .join(AccessPoint, AccessPoint.id == UsageReaderDay.point_id)
        .where(*where)
        .group_by(AccessPoint.kind, kind)
    ):
        add(f"kind:{point_kind}", k, n)
    for k, n in session.execute(
        select(kind, count).where(*where, UsageReaderDay.point_id != 0).group_by(kind)
    ):
        add("points", k, n)
    for k, n in session.execute(select(kind, count).where(*where).group_by(kind)):
        add("all", k, n)
    return {scope: (v[0], v[1]) for scope, v in totals.items()}


def _store_users(session: Session, period: str, start: date, end: date) -> None:
    """The distinct users of a month or a year, as the report reads them."""
    totals = distinct_users(session, start, end)
    session.execute(
        delete(UsageUsers).where(UsageUsers.period == period, UsageUsers.start == start)
    )
    day = _day_value(session)
    _insert(
        session,
        UsageUsers,
        ("period", "start", "scope", "measured", "estimated"),
        ((period, day(start), s, v[0], v[1]) for s, v in totals.items()),
    )


STATE = "events"


def catch_up(session: Session, *, now: datetime | None = None) -> list[Rebuilt]:
    """Roll up what came in since last time: every local day a new event fell on (late or
    clock-skewed ones included), its neighbours (visits and double-clicks cross midnight), and
    always today and yesterday (a write still in flight may have a lower id). The caller commits."""
    state = session.get(RollupState, STATE)
    if state is None:
        state = RollupState(name=STATE, last_event_id=0)
        session.add(state)
    newest = session.scalar(select(func.max(UsageEvent.id))) or 0
    today = local_day(now or utcnow())
    days = {today, today - timedelta(days=1)}
    if newest > state.last_event_id:
        for occurred in session.scalars(
            select(UsageEvent.occurred_at).where(
                UsageEvent.id > state.last_event_id, UsageEvent.id <= newest
            )
        ):
            day = local_day(occurred)
            days |= {day - timedelta(days=1), day, day + timedelta(days=1)}
    done = [rebuild(session, a, b) for a, b in _runs(sorted(d for d in days if d <= today))]
    state.last_event_id = newest
    state.updated_at = utcnow()
    return done


def _runs(days: list[date]) -> Iterator[tuple[date, date]]:
    """Consecutive days as (first, last) ranges."""
    start = previous = None
    for day in days:
        if previous is not None and day - previous > timedelta(days=1):
            yield start, previous  # type: ignore[misc]
            start = None
        start = start or day
        previous = day
    if start is not None and previous is not None:
        yield start, previous


def first_event_day(session: Session) -> date | None:
    first = session.scalar(select(func.min(UsageEvent.occurred_at)))
    return local_day(first) if first else None
