"""Usage counting and the yearly report on a generated history, in the same run.

1. History: BENCH_USAGE_EVENTS usage events (default 5,000,000) over the three years before this
   one and this year up to yesterday (local days, UTC+7), at BENCH_USAGE_POINTS access points
   (default 120: one in seven a public library, the rest commune culture points, placed in the
   gazetteer's old districts and new communes), on BENCH_USAGE_ITEMS items (default 2,000, the
   search benchmark's corpus, BENCH_USAGE_PAGES pages each, default 1). Seeded, so every run
   writes the same events. The shape: visits of a few to a few dozen events a minute or two
   apart (now and then a pause over 30 minutes), more by day than by night, fewer on Sundays
   and at Tết, a little more each year; points' activity spread over two orders of magnitude,
   a few points silent for a season, 10 % of the use from outside every point. 85 % of visits
   by a cookie reader (a pool per point, some coming back often; ``reader_new`` on the very
   first event a reader ever sends, as the site gives the cookie; 3 % of those browsers refuse
   the cookie and get a new one on every page), 15 % with the daily fallback id only (the JSON
   API, the widget on another site). Searches from a short list of Vietnamese queries written
   in several ways (case, spaces), some finding nothing; item pages, pages and downloads of
   Zipf-distributed items; reloads within 30 s (double clicks). Events are written in time
   order with executemany on the raw sqlite3 connection, in batches of 50,000, into a fresh
   SQLite database migrated by ``migrate.upgrade``; the points' own monthly figures for most
   points and months (a few points never report) through SQLAlchemy. Seconds generating and
   inserting apart, and the database's size.
2. Rollups: ``stats.rollup.rebuild`` of every day (events/s; aim ≥ 50,000 on one core), of
   last year alone (seconds), and of one month twice: the two must leave the same rows and sums
   (``identical``), and the same as the whole rebuild left for that month. Baseline: the very
   SELECT ``rebuild`` sends, run alone through SQLAlchemy and through sqlite3 (what reading the
   events costs before anything is counted).
3. The yearly report from the rollups: ``yearly.build`` + ``summary.to_dict`` in-process for
   last year (a full year) and for this year so far (aim ≤ 1 s each), ``exports.xlsx_bytes``
   (aim ≤ 1 s), then over HTTP through a real uvicorn child (as ``collection serve`` runs it):
   ``GET /api/v1/reports/{year}`` and ``/export?format=xlsx`` with a reporter's bearer token,
   p50 of BENCH_USAGE_HTTP_RUNS (default 5) after one first request.
4. Search with event recording on and off, in the same uvicorn and the same rounds: the app has
   no switch for recording, and the honest one already in it is who is asking — a browser's
   user agent is counted (``UsageRecorder.record`` queues the event, the background thread
   writes it every 2 s), a robot's (COUNTER-Robots) is not (``record`` returns at once). Both
   pay the same ``audience_for`` (point lookup, fallback hash, robot check cached per user
   agent). ``GET /api/v1/search`` and the public page ``/tim-kiem`` (with the reader cookie,
   so the reader hash too), each query of the search benchmark's unaccented and accented lists,
   BENCH_USAGE_SEARCH_ROUNDS rounds (default 20), sides interleaved and alternating who goes
   first; aim: p50 with recording ≤ 1.05 × without. The events the counted side wrote are
   checked, and ``record`` and a flush are timed in-process (µs an event) for scale. Search
   runs on Meilisearch over the corpus of part 1, indexed by ``rebuild_index``.

Everything shares the machine's cores (the client, the app, Meilisearch): both sides of each
comparison alike.
"""

from __future__ import annotations

import bisect
import os
import secrets
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from random import Random
from typing import Any, TypeVar

import httpx

from bench import ingest, search
from collection import migrate
from collection.config import Settings
from collection.stack import Child, free_port, start_meilisearch

T = TypeVar("T")
SEED = 20_251_201
BATCH = 50_000
EVENTS_AIM = 50_000  # events/s, one core
REPORT_AIM_S = 1.0
XLSX_AIM_S = 1.0
SEARCH_AIM_RATIO = 1.05  # "no measurable difference"
OFFSET_S = 7 * 3600  # Vietnam, UTC+7
DAY_US = 86_400_000_000
EPOCH = datetime(1970, 1, 1)  # naive UTC: how the UTCDateTime column stores a moment in SQLite
BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
ROBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"

# What readers type: the collection's words, written as people write them.
QUERIES = [
    "thanh hóa", "Thanh Hoá", "thanh hoa", "sông Mã", "song ma", "Đông Sơn", "trống đồng",
    "lam kinh", "Lê Lợi", "khởi nghĩa Lam Sơn", "gia phả", "gia phả họ Lê", "hương ước",
    "sắc phong", "địa chí", "địa chí Thanh Hóa", "Sầm Sơn", "bãi biển Sầm Sơn", "Thiệu Hóa",
    "Hoằng Hóa", "Nga Sơn chiếu cói", "lễ hội", "lễ hội Lam Kinh", "Bà Triệu", "thành nhà Hồ",
    "hàm rồng", "cầu Hàm Rồng", "hóa học", "hòa bình", "hợp tác xã", "dân tộc Mường",
    "người Thái", "nem chua", "bánh gai", "bản đồ", "báo Thanh Hóa", "Lê Hoàn", "Triệu Sơn",
    "Thọ Xuân", "đình làng", "ca trù", "Nguyễn Trãi",
]  # fmt: skip
ZERO = [
    "tra cứu điểm thi", "xổ số", "lịch cúp điện", "nhà đất Sầm Sơn", "thời tiết hôm nay",
    "bản đồ quy hoạch 2030", "Hồ Xuân Hương thơ", "truyện Kiều",
]  # fmt: skip


def _log(message: str) -> None:
    print(f"[bench.usage] {message}", file=sys.stderr, flush=True)


_r, _pct, _ms = search._r, search._pct, search._ms


def _env(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


# --- the history -----------------------------------------------------------------------------


@dataclass
class Point:
    id: int
    weight: float  # relative activity
    pool: int  # cookie readers it serves
    first_reader: int
    silent: tuple[date, date] | None  # months with no use at all (first days, both included)


@dataclass
class Plan:
    """What the events are drawn from."""

    start: date  # local days, both included
    end: date
    events: int
    items: int
    points: list[Point]
    web_pool: int = 60_000  # cookie readers from outside every point
    sessions: defaultdict[tuple[int, date], int] = field(
        default_factory=lambda: defaultdict(int)
    )  # (point, month) → visits begun: the basis of the points' own figures


def _day_weight(day: date, start: date, random: Random) -> float:
    growth = 1.0 + 0.06 * (day - start).days / 365.25
    weekday = (1.0, 1.05, 1.05, 1.0, 0.95, 0.8, 0.55)[day.weekday()]
    season = {1: 0.9, 2: 0.6, 3: 1.0, 4: 1.0, 5: 1.05, 6: 1.2, 7: 1.25, 8: 1.15, 9: 1.0}
    return growth * weekday * season.get(day.month, 1.0) * random.uniform(0.85, 1.15)


# Local hours of the day a visit begins, by weight (libraries open 7–21, phones later).
_HOURS = [0.2, 0.1, 0.1, 0.1, 0.1, 0.3, 1, 3, 6, 8, 8, 6, 3, 4, 7, 8, 7, 5, 4, 5, 5, 4, 2, 0.8]
_HOUR_CUM = [sum(_HOURS[: i + 1]) for i in range(24)]


def _ts(us: int) -> str:
    return (EPOCH + timedelta(microseconds=us)).isoformat(" ", "microseconds")


def generate(plan: Plan, random: Random) -> Iterator[list[tuple[Any, ...]]]:
    """The events, in batches of rows of usage_events (occurred_at, kind, access_point_id,
    reader, reader_new, visitor_id, item_id, page_number, query, hits), in time order per day."""
    days = [plan.start + timedelta(days=n) for n in range((plan.end - plan.start).days + 1)]
    weights = [_day_weight(d, plan.start, random) for d in days]
    scale = plan.events / sum(weights)
    seen: set[int] = set()  # cookie readers that already have their cookie
    fresh = 10**9  # ids given to browsers that refuse the cookie
    batch: list[tuple[Any, ...]] = []
    written = 0
    month: date | None = None
    cum: list[float] = []
    so_far = 0.0
    for day, weight in zip(days, weights, strict=True):
        so_far += weight
        if day.replace(day=1) != month:
            month = day.replace(day=1)
            cum, total = [], 0.0
            for p in plan.points:
                quiet = p.silent is not None and p.silent[0] <= month <= p.silent[1]
                total += 0.0 if quiet else p.weight
                cum.append(total)
        budget = round(scale * so_far) - written
        day_no = day.toordinal() - date(1970, 1, 1).toordinal()
        day_us = day_no * DAY_US - OFFSET_S * 1_000_000
        year_tag = f"{day.year:08x}"
        rows: list[tuple[int, tuple[Any, ...]]] = []
        while len(rows) < budget:
            _visit(plan, random, rows, budget, cum, day, day_no, day_us, year_tag, seen, fresh)
            fresh += 100
        rows.sort(key=lambda row: row[0])
        for us, row in rows:
            batch.append((_ts(us), *row))
        written += len(rows)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _visit(
    plan: Plan,
    random: Random,
    rows: list[tuple[int, tuple[Any, ...]]],
    budget: int,
    cum: list[float],
    day: date,
    day_no: int,
    day_us: int,
    year_tag: str,
    seen: set[int],
    fresh: int,
) -> None:
    """One reader's run of events on ``day``, appended to ``rows`` as (µs since 1970, row)."""
    rnd = random.random
    point: Point | None = None
    if rnd() >= 0.1:
        point = plan.points[bisect.bisect(cum, rnd() * cum[-1])]
    point_id = point.id if point else None
    cookie = rnd() < 0.85
    refuses = cookie and rnd() < 0.03
    if point is not None:
        person = point.first_reader + int(point.pool * rnd() ** 3)
    else:
        person = int(plan.web_pool * rnd() ** 2)
    if not cookie:
        person += 10**8  # fallback-only browsers: other people than the cookie readers
    visitor = f"{person:020x}{day_no:012x}"
    hour = bisect.bisect(_HOUR_CUM, rnd() * _HOUR_CUM[-1])
    us = day_us + (hour * 3600 + int(rnd() * 3600)) * 1_000_000 + int(rnd() * 1_000_000)
    plan.sessions[(point_id or 0, day.replace(day=1))] += 1
    events = min(1 + int(random.expovariate(1 / 6)), 80)
    kind, item, page = "", 0, 0
    for n in range(events):
        if len(rows) >= budget:
            return
        roll = rnd()
        if n == 0:
            if point is not None and roll < 0.15:
                kind = "widget_search"
            else:
                kind = "search" if roll < 0.65 else "item_view"
        elif kind in ("search", "widget_search"):
            kind = "search" if roll < 0.35 else "item_view"
        elif kind == "item_view":
            kind = "page_view" if roll < 0.7 else ("download" if roll < 0.8 else "search")
        elif kind == "page_view":
            kind = (
                "page_view"
                if roll < 0.75
                else "download"
                if roll < 0.8
                else "item_view"
                if roll < 0.9
                else "search"
            )
        else:
            kind = "search" if roll < 0.5 else "item_view"
        query: str | None = None
        hits: int | None = None
        if kind in ("search", "widget_search"):
            if rnd() < 0.06:
                query, hits = random.choice(ZERO), 0
            else:
                query = QUERIES[int(len(QUERIES) * rnd() ** 1.5)]
                hits = 0 if rnd() < 0.03 else 1 + int(random.expovariate(1 / 40))
            if rnd() < 0.2:
                query = query.upper() if rnd() < 0.3 else f" {query.capitalize()}  "
            item_id = page_number = None
        elif kind == "item_view":
            item = 1 + int(plan.items * rnd() ** 2.5)
            page = 0
            item_id, page_number = item, None
        elif kind == "page_view":
            page += 1
            item_id, page_number = item, page
        else:
            item_id, page_number = item, None
        if refuses:
            reader: str | None = f"{fresh + n:024x}{year_tag}"
            new = 1
        elif cookie:
            reader = f"{person:024x}{year_tag}"
            new = 0 if person in seen else 1
            seen.add(person)
        else:
            reader, new = None, 0
        row = (kind, point_id, reader, new, visitor, item_id, page_number, query, hits)
        rows.append((us, row))
        if kind != "widget_search" and rnd() < 0.05 and len(rows) < budget:
            # a reload or a double click, within 30 s
            us += int(random.uniform(0.5, 29) * 1_000_000)
            again = 1 if refuses else 0  # the cookie given with the first click came back
            rows.append((us, (kind, point_id, reader, again, *row[4:])))
        # now and then a pause over 30 minutes: the next event begins a new visit
        pause = rnd() < 0.03
        gap = random.uniform(1900, 5400) if pause else 3 + random.expovariate(1 / 75)
        us += int(gap * 1_000_000)


def _points(settings: Settings, count: int, random: Random) -> list[Point]:
    """The access points, placed in the gazetteer as the province places them."""
    from sqlalchemy import insert

    from collection.db import session_scope
    from collection.models import AccessPoint, PointKind, PointLevel
    from collection.places.service import gazetteer

    with session_scope(settings.sqlalchemy_url) as session:
        gaz = gazetteer(session)
        rows, points = [], []
        first_reader = 0
        for n in range(1, count + 1):
            place = search.PLACES[(n - 1) % len(search.PLACES)]
            district = gaz.resolve(search._district(place)).id
            olds = gaz.children.get(district, [])
            old = random.choice(olds) if olds else None
            news = gaz.successors.get(old, []) if old is not None else []
            commune = random.choice(news) if news else None
            library = n % 7 == 1
            kind = PointKind.TVCC if library else PointKind.BDVHX
            label = gaz.places[commune].name if commune else place
            rows.append(
                {
                    "id": n,
                    "name": f"Thư viện {place} ({n})" if library else f"BĐVHX {label} ({n})",
                    "kind": kind,
                    "level": PointLevel.DISTRICT if library else PointLevel.COMMUNE,
                    "district_id": district,
                    "commune_id": commune,
                    "widget_key": secrets.token_urlsafe(24),
                    "ip_ranges": [f"10.{38 + n // 256}.{n % 256}.0/24"],
                    "created_at": datetime(2021, 1, 1, tzinfo=UTC),
                    "updated_at": datetime(2021, 1, 1, tzinfo=UTC),
                }
            )
            weight = random.lognormvariate(0, 1.1) * (3 if library else 1)
            pool = max(50, int(1500 * weight))
            silent = None
            if n % 23 == 5:  # gone quiet for a season
                begin = date(2024 + n % 2, 1 + n % 9, 1)
                silent = (begin, (begin + timedelta(days=70)).replace(day=1))
            points.append(Point(n, weight, pool, first_reader + 10**6, silent))
            first_reader += pool
        session.execute(insert(AccessPoint), rows)
    return points


def _figures(settings: Settings, plan: Plan, random: Random) -> int:
    """The points' own monthly figures (their public PCs: more than this collection's use),
    for about nine in ten months; every 17th point never reports."""
    from sqlalchemy import insert

    from collection.db import session_scope
    from collection.models import PointFigures
    from collection.stats.periods import months

    rows = []
    last = plan.end.replace(day=1) - timedelta(days=1)  # the last whole month
    for point in plan.points:
        if point.id % 17 == 0:
            continue
        computers = random.randint(2, 12)
        for month in months(plan.start, last):
            if random.random() < 0.1:
                continue
            counted = plan.sessions.get((point.id, month), 0)
            visits = int(counted * random.uniform(1.2, 2.5)) + random.randint(0, 20)
            trainings = random.choice((0, 0, 0, 1, 2))
            rows.append(
                {
                    "point_id": point.id,
                    "month": month,
                    "days_open": random.randint(18, 26),
                    "computers_working": random.randint(computers // 2, computers),
                    "computers_total": computers,
                    "users": int(visits * random.uniform(0.35, 0.7)),
                    "visits": visits,
                    "trainings": trainings,
                    "trainees": trainings * random.randint(5, 25),
                    "source": "form",
                }
            )
    with session_scope(settings.sqlalchemy_url) as session:
        session.execute(insert(PointFigures), rows)
    return len(rows)


def _db_mb(path: Path) -> float:
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    return _r(size / 2**20, 1)


def build_history(
    settings: Settings, db_path: Path, *, events: int, points: int, items: int, pages: int
) -> tuple[Plan, dict[str, Any]]:
    from collection.db import session_scope
    from collection.places.sync import ensure_gazetteer

    random = Random(SEED)
    started = time.perf_counter()
    migrate.upgrade(settings.sqlalchemy_url)
    with session_scope(settings.sqlalchemy_url) as session:
        ensure_gazetteer(session)
    setup_s = time.perf_counter() - started
    _log(f"items: {items} × {pages} pages (the search benchmark's corpus)")
    corpus = search.build_corpus(settings, items=items, pages_per_item=pages)
    today = date.today()
    plan = Plan(
        start=date(today.year - 3, 1, 1),
        end=today - timedelta(days=1),
        events=events,
        items=items,
        points=_points(settings, points, random),
    )
    _log(f"events: {events} from {plan.start} to {plan.end} at {points} points")
    generate_s = insert_s = 0.0
    written = 0
    connection = sqlite3.connect(db_path)
    try:
        batches = generate(plan, random)
        while True:
            started = time.perf_counter()
            batch = next(batches, None)
            generate_s += time.perf_counter() - started
            if batch is None:
                break
            started = time.perf_counter()
            connection.executemany(
                "INSERT INTO usage_events (occurred_at, kind, access_point_id, reader, "
                "reader_new, visitor_id, item_id, page_number, query, hits) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                batch,
            )
            connection.commit()
            insert_s += time.perf_counter() - started
            written += len(batch)
            if written % 1_000_000 < BATCH:
                _log(f"  {written} events")
        started = time.perf_counter()
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        checkpoint_s = time.perf_counter() - started
        shape = _shape(connection)
    finally:
        connection.close()
    started = time.perf_counter()
    figures = _figures(settings, plan, random)
    figures_s = time.perf_counter() - started
    return plan, {
        "events": written,
        "period": {
            "first_day": plan.start.isoformat(),
            "last_day": plan.end.isoformat(),
            "note": "local days (UTC+7): the three years before this one and this year up to "
            "yesterday",
        },
        "points": points,
        "items": items,
        "pages_per_item": pages,
        "shape": shape,
        "point_figures_rows": figures,
        "migrate_and_gazetteer_s": _r(setup_s),
        "items_s": _r(corpus["generate_s"] + corpus["db_insert_s"]),
        "generate_s": _r(generate_s),
        "insert_s": _r(insert_s + checkpoint_s),
        "insert_events_per_s": round(written / (insert_s + checkpoint_s)),
        "figures_s": _r(figures_s),
        "db_mb": _db_mb(db_path),
        "db_bytes_per_event": round(db_path.stat().st_size / max(written, 1)),
    }


def _shape(connection: sqlite3.Connection) -> dict[str, Any]:
    """What was written, as a check that the history looks like use."""
    kinds = dict(connection.execute("SELECT kind, count(*) FROM usage_events GROUP BY kind"))
    total = sum(kinds.values()) or 1
    (no_point, cookie, new, zero) = connection.execute(
        "SELECT sum(access_point_id IS NULL), sum(reader IS NOT NULL), sum(reader_new), "
        "sum(hits = 0) FROM usage_events"
    ).fetchone()
    return {
        "kinds_percent": {k: _r(100 * n / total, 1) for k, n in sorted(kinds.items())},
        "no_point_percent": _r(100 * (no_point or 0) / total, 1),
        "with_reader_cookie_percent": _r(100 * (cookie or 0) / total, 1),
        "reader_new_percent": _r(100 * (new or 0) / total, 1),
        "zero_hit_searches_percent": _r(
            100 * (zero or 0) / max(kinds.get("search", 0) + kinds.get("widget_search", 0), 1), 1
        ),
    }


# --- rollups ---------------------------------------------------------------------------------


def _month_snapshot(connection: sqlite3.Connection, month: date) -> dict[str, Any]:
    """Rows and sums of every rollup table for one month (and its year's users)."""
    lo, hi = month.isoformat(), (month + timedelta(days=32)).replace(day=1).isoformat()
    where = "WHERE day >= ? AND day < ?"
    one = connection.execute
    return {
        "usage_daily": list(
            one(
                f"SELECT measure, count(*), sum(measured), sum(estimated) FROM usage_daily "  # noqa: S608 -- fixed text
                f"{where} GROUP BY measure ORDER BY measure",
                (lo, hi),
            )
        ),
        "usage_reader_days": one(
            f"SELECT count(*), count(DISTINCT reader) FROM usage_reader_days {where}",  # noqa: S608 -- fixed text
            (lo, hi),
        ).fetchone(),
        "usage_query_days": one(
            f"SELECT count(*), sum(searches), sum(zero_results) FROM usage_query_days {where}",  # noqa: S608 -- fixed text
            (lo, hi),
        ).fetchone(),
        "usage_item_days": one(
            f"SELECT count(*), sum(investigations), sum(requests) FROM usage_item_days {where}",  # noqa: S608 -- fixed text
            (lo, hi),
        ).fetchone(),
        "usage_users": list(
            one(
                "SELECT period, start, scope, measured, estimated FROM usage_users "
                "WHERE (period = 'month' AND start = ?) OR (period = 'year' AND start = ?) "
                "ORDER BY period, start, scope",
                (lo, f"{month.year}-01-01"),
            )
        ),
    }


def _rebuild(settings: Settings, start: date, end: date) -> dict[str, Any]:
    from collection.db import session_scope
    from collection.stats import rollup

    began = time.perf_counter()
    with session_scope(settings.sqlalchemy_url) as session:
        done = rollup.rebuild(session, start, end)
        committing = time.perf_counter()
    finished = time.perf_counter()
    return {
        "days": f"{start.isoformat()}..{end.isoformat()}",
        "events": done.events,
        "rebuild_s": _r(done.seconds),
        "events_per_s": round(done.rate),
        "commit_s": _r(finished - committing),
        "wall_s": _r(finished - began),
    }


def _read_baselines(settings: Settings, db_path: Path, start: date, end: date) -> dict[str, Any]:
    """The SELECT rebuild sends for these days, alone: through SQLAlchemy (the same statement,
    the same result processing) and through sqlite3 (the same columns, no conversion)."""
    from sqlalchemy import select

    from collection.db import session_scope
    from collection.models import UsageEvent
    from collection.stats.periods import day_start

    lo, hi = day_start(start - timedelta(days=1)), day_start(end + timedelta(days=1))
    hi += timedelta(seconds=30)
    columns = (
        UsageEvent.occurred_at,
        UsageEvent.kind,
        UsageEvent.access_point_id,
        UsageEvent.reader,
        UsageEvent.reader_new,
        UsageEvent.visitor_id,
        UsageEvent.item_id,
        UsageEvent.page_number,
        UsageEvent.query,
        UsageEvent.hits,
    )
    started = time.perf_counter()
    with session_scope(settings.sqlalchemy_url) as session:
        rows = session.execute(
            select(*columns)
            .where(UsageEvent.occurred_at >= lo, UsageEvent.occurred_at < hi)
            .order_by(UsageEvent.occurred_at, UsageEvent.id)
        ).all()
    orm_s = time.perf_counter() - started
    count = len(rows)
    del rows
    connection = sqlite3.connect(db_path)
    try:
        started = time.perf_counter()
        raw = connection.execute(
            "SELECT occurred_at, kind, access_point_id, reader, reader_new, visitor_id, item_id, "
            "page_number, query, hits FROM usage_events WHERE occurred_at >= ? AND "
            "occurred_at < ? ORDER BY occurred_at, id",
            (_ts(_us(lo)), _ts(_us(hi))),
        ).fetchall()
        raw_s = time.perf_counter() - started
        raw_count = len(raw)
        del raw
    finally:
        connection.close()
    return {
        "rows": count,
        "sqlalchemy_select_s": _r(orm_s),
        "sqlite3_select_s": _r(raw_s),
        "sqlite3_rows": raw_count,
        "sqlalchemy_rows_per_s": round(count / orm_s),
        "sqlite3_rows_per_s": round(raw_count / raw_s),
    }


def _us(moment: datetime) -> int:
    return (moment.replace(tzinfo=None) - EPOCH) // timedelta(microseconds=1)


def rollups(settings: Settings, db_path: Path, plan: Plan) -> dict[str, Any]:
    year = plan.end.year - 1
    month = date(year, 6, 1)
    _log(f"rollup: rebuild of every day ({plan.start}..{plan.end})")
    whole = _rebuild(settings, plan.start, plan.end)
    _log(f"  {whole['events']} events in {whole['rebuild_s']} s")
    connection = sqlite3.connect(db_path)
    try:
        after_whole = _month_snapshot(connection, month)
        rows = {
            table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 -- fixed names
            for table in (
                "usage_daily",
                "usage_reader_days",
                "usage_query_days",
                "usage_item_days",
                "usage_users",
            )
        }
        _log(f"rollup: rebuild of {year}")
        one_year = _rebuild(settings, date(year, 1, 1), date(year, 12, 31))
        _log(f"rollup: rebuild of {month:%Y-%m}, twice")
        end = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        first = _rebuild(settings, month, end)
        after_first = _month_snapshot(connection, month)
        second = _rebuild(settings, month, end)
        after_second = _month_snapshot(connection, month)
    finally:
        connection.close()
    _log("rollup: the same SELECT alone (baselines)")
    baseline = _read_baselines(settings, db_path, plan.start, plan.end)
    return {
        "all_days": {
            **whole,
            "aim_events_per_s": EVENTS_AIM,
            "met": whole["events_per_s"] >= EVENTS_AIM,
        },
        "rollup_rows": rows,
        "one_year": {
            **one_year,
            "aim_events_per_s": EVENTS_AIM,
            "met": one_year["events_per_s"] >= EVENTS_AIM,
        },
        "one_month_twice": {
            "first": first,
            "second": second,
            "identical": after_first == after_second,
            "same_as_whole_rebuild": after_first == after_whole,
            "rows_compared": {
                "usage_daily": sum(r[1] for r in after_first["usage_daily"]),
                "usage_reader_days": after_first["usage_reader_days"][0],
                "usage_query_days": after_first["usage_query_days"][0],
                "usage_item_days": after_first["usage_item_days"][0],
                "usage_users": len(after_first["usage_users"]),
            },
            "note": "rows per table for the month, sums of every counted column, per measure; "
            "the month's and its year's distinct users, scope by scope",
        },
        "baseline_read_all_days": {
            **baseline,
            "share_of_rebuild": _r(baseline["sqlalchemy_select_s"] / whole["rebuild_s"], 2),
            "note": "the SELECT rebuild sends (every column it reads, ordered by time), alone; "
            "what rebuild adds is counting and writing the rollups",
        },
        "db_mb_after": _db_mb(db_path),
    }


# --- the report ------------------------------------------------------------------------------


def _timed(runs: int, work: Callable[[], T]) -> tuple[list[float], T]:
    """Seconds of each of ``runs`` calls, and what the last one returned."""
    times = []
    for _ in range(runs - 1):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    started = time.perf_counter()
    result = work()
    times.append(time.perf_counter() - started)
    return times, result


def report_in_process(settings: Settings, today: date, runs: int) -> dict[str, Any]:
    from collection.db import session_scope
    from collection.reports import exports, summary, yearly

    out: dict[str, Any] = {}
    for label, year in (("last_year", today.year - 1), ("this_year", today.year)):

        def build(year: int = year) -> dict[str, Any]:
            with session_scope(settings.sqlalchemy_url) as session:
                return summary.to_dict(yearly.build(session, settings, year, today=today))

        build_times, data = _timed(runs, build)
        xlsx_times, body = _timed(runs, partial(exports.xlsx_bytes, data))
        csv_times, text = _timed(runs, partial(exports.csv_bytes, data))
        median_build = statistics.median(build_times)
        median_xlsx = statistics.median(xlsx_times)
        out[label] = {
            "year": year,
            "build_and_to_dict_s": {
                "first": _r(build_times[0]),
                "median": _r(median_build),
                "aim": REPORT_AIM_S,
                "met": median_build <= REPORT_AIM_S,
            },
            "xlsx_bytes_s": {
                "median": _r(median_xlsx),
                "aim": XLSX_AIM_S,
                "met": median_xlsx <= XLSX_AIM_S,
            },
            "csv_bytes_s": {"median": _r(statistics.median(csv_times))},
            "xlsx_kb": _r(len(body) / 1024, 1),
            "csv_kb": _r(len(text) / 1024, 1),
            "points_in_report": len(data.get("points", [])),
            "runs": runs,
        }
    return out


def _reporter_token(settings: Settings) -> str:
    from collection.accounts import service
    from collection.db import session_scope
    from collection.models import Role

    email = "bao-cao@bench.invalid"
    with session_scope(settings.sqlalchemy_url) as session:
        service.create_user(
            session=session, email=email, role=Role.REPORTER, password=secrets.token_urlsafe(16)
        )
    with session_scope(settings.sqlalchemy_url) as session:
        user = service.get_user_by_email(session=session, email=email)
        token, _ = service.create_api_token(session=session, user=user)
    return token


def report_over_http(client: httpx.Client, token: str, year: int, runs: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    out: dict[str, Any] = {"year": year, "runs_after_first": runs}
    for label, path, params in (
        ("json", f"/api/v1/reports/{year}", {}),
        ("xlsx", f"/api/v1/reports/{year}/export", {"format": "xlsx"}),
    ):
        times, size = [], 0
        for _ in range(runs + 1):
            started = time.perf_counter()
            response = client.get(path, params=params, headers=headers)
            times.append(time.perf_counter() - started)
            search._check(response, f"report {label}")
            size = len(response.content)
        out[label] = {
            "first_ms": _r(times[0] * 1000, 1),
            **_ms(times[1:]),
            "kb": _r(size / 1024, 1),
        }
    out["note"] = "each request builds the report from the rollups (nothing is cached)"
    return out


# --- search with and without recording -------------------------------------------------------


def search_recording(
    client: httpx.Client, db_path: Path, rounds: int
) -> tuple[dict[str, Any], int]:
    """The same searches from a counted browser and from a robot, interleaved."""
    queries = [*search.QUERIES["unaccented"], *search.QUERIES["accented"]]
    before = _max_event_id(db_path)
    for q in queries:  # warm both paths (robot check cached, key read, Meilisearch caches)
        for agent in (BROWSER, ROBOT):
            client.get("/api/v1/search", params={"q": q}, headers={"user-agent": agent})
            client.get("/tim-kiem", params={"q": q}, headers={"user-agent": agent})
    warm = len(queries) * 2  # the counted warm-up requests
    times: dict[tuple[str, str], list[float]] = defaultdict(list)
    turn = 0
    for _ in range(rounds):
        for q in queries:
            for path in ("/api/v1/search", "/tim-kiem"):
                sides = ("on", "off") if turn % 2 == 0 else ("off", "on")
                turn += 1
                for side in sides:
                    agent = BROWSER if side == "on" else ROBOT
                    started = time.perf_counter()
                    response = client.get(path, params={"q": q}, headers={"user-agent": agent})
                    times[(path, side)].append(time.perf_counter() - started)
                    search._check(response, f"search {path} {side}")
    time.sleep(3)  # the recorder writes every 2 s
    expected = warm + rounds * len(queries) * 2
    written = _max_event_id(db_path) - before
    out: dict[str, Any] = {"queries": len(queries), "rounds": rounds}
    for path, label in (("/api/v1/search", "api"), ("/tim-kiem", "page")):
        on, off = times[(path, "on")], times[(path, "off")]
        ratio = _pct(on, 50) / _pct(off, 50)
        out[label] = {
            "path": path,
            "recording_on_ms": _ms(on),
            "recording_off_ms": _ms(off),
            "ratio_p50": _r(ratio, 3),
            "difference_p50_ms": _r(_pct(on, 50) - _pct(off, 50), 2),
            "aim_ratio_p50": SEARCH_AIM_RATIO,
            "met": ratio <= SEARCH_AIM_RATIO,
        }
    out["events_written_by_counted_side"] = written
    out["events_expected"] = expected
    out["switch"] = (
        "recording on: a browser's user agent (counted, the event queued and written by the "
        "background thread); off: Googlebot's (a robot: record() returns at once); the same "
        "server, connection and rounds"
    )
    return out, written


def _max_event_id(db_path: Path) -> int:
    connection = sqlite3.connect(db_path)
    try:
        value: int = connection.execute("SELECT coalesce(max(id), 0) FROM usage_events").fetchone()[
            0
        ]
        return value
    finally:
        connection.close()


def recorder_in_process(workdir: Path, events: int = 20_000) -> dict[str, Any]:
    """``UsageRecorder.record`` and one flush of what it queued, on a scratch database."""
    from collection.db import session_factory
    from collection.models import UsageKind
    from collection.stats.usage import UsageRecorder, Visitor

    url = f"sqlite:///{workdir / 'recorder.db'}"
    migrate.upgrade(url)
    recorder = UsageRecorder(session_factory(url))
    who = Visitor(visitor_id="f" * 32, point_id=None, counted=True, reader="c" * 32)
    robot = Visitor(visitor_id="f" * 32, point_id=None, counted=False)
    started = time.perf_counter()
    for n in range(events):
        recorder.record(UsageKind.SEARCH, who, query=f"thanh hóa {n % 50}", hits=n % 7)
    record_s = time.perf_counter() - started
    started = time.perf_counter()
    for n in range(events):
        recorder.record(UsageKind.SEARCH, robot, query=f"thanh hóa {n % 50}", hits=n % 7)
    robot_s = time.perf_counter() - started
    flushes = []
    for _ in range(5):  # what the background thread writes every 2 s, at 50 searches/s
        for n in range(100):
            recorder.record(UsageKind.SEARCH, who, query=f"hòa bình {n}", hits=n)
        started = time.perf_counter()
        recorder.flush()
        flushes.append(time.perf_counter() - started)
    recorder.close()
    return {
        "record_us": _r(record_s / events * 1e6, 2),
        "record_not_counted_us": _r(robot_s / events * 1e6, 2),
        "flush_100_events_ms": _r(statistics.median(flushes[1:]) * 1000, 2),
        "note": "record() of a counted and of a robot's event; a flush of 100 queued events (what "
        "the background thread writes every 2 s at 50 searches/s), median of 4 after the first "
        "(which also wrote the 20,000 recorded before)",
    }


# --- the benchmark ---------------------------------------------------------------------------


def run() -> dict[str, Any]:
    events = _env("BENCH_USAGE_EVENTS", 5_000_000)
    points = _env("BENCH_USAGE_POINTS", 120)
    items = _env("BENCH_USAGE_ITEMS", 2000)
    pages = _env("BENCH_USAGE_PAGES", 1)
    http_runs = _env("BENCH_USAGE_HTTP_RUNS", 5)
    rounds = _env("BENCH_USAGE_SEARCH_ROUNDS", 20)
    workdir = Path(tempfile.mkdtemp(prefix="kho-bench-usage-"))
    meili_port, web_port, meili_key = free_port(), free_port(), secrets.token_urlsafe(24)
    db_path = workdir / "collection.db"
    fields: dict[str, Any] = dict(
        var_dir=workdir / "var",
        database_url=f"sqlite:///{db_path}",
        queue_url=f"sqlite:///{workdir / 'queue.db'}",
        # Nothing here reads S3: a closed port, so nothing starts SeaweedFS.
        s3_endpoint="http://127.0.0.1:9",
        s3_access_key="unused",
        s3_secret_key=secrets.token_urlsafe(16),
        meili_url=f"http://127.0.0.1:{meili_port}",
        meili_master_key=meili_key,
        meili_index_prefix="bench",
        secret_key=secrets.token_urlsafe(32),
        startup_timeout=5,
        # Every request comes from 127.0.0.1: the per-address search limit is not measured.
        searches_per_minute=100_000,
    )
    settings = Settings(**fields)
    children: list[Child] = []
    load_start = _r(os.getloadavg()[0], 2)
    try:
        plan, history = build_history(
            settings, db_path, events=events, points=points, items=items, pages=pages
        )
        rolled = rollups(settings, db_path, plan)
        _log("report in-process")
        today = plan.end + timedelta(days=1)
        in_process = report_in_process(settings, today, runs=3)

        _log("starting Meilisearch and indexing the items")
        children.append(
            start_meilisearch(
                binary=ingest.MEILI_BINARY,
                data_dir=workdir / "meili",
                port=meili_port,
                master_key=meili_key,
                log_path=workdir / "log" / "meili.log",
            )
        )
        indexed = _index(settings)
        token = _reporter_token(settings)
        _log("starting the web app (uvicorn)")
        children.append(search._start_web(fields, workdir, web_port))
        with httpx.Client(base_url=f"http://127.0.0.1:{web_port}", timeout=120) as client:
            _log("report over HTTP")
            over_http = report_over_http(client, token, today.year - 1, http_runs)
            _log(f"search, recording on and off: {rounds} rounds")
            searching, _ = search_recording(client, db_path, rounds)
        searching["in_process_recorder"] = recorder_in_process(workdir)
        searching["indexed"] = indexed
        return {
            "cores": os.cpu_count() or 1,
            "loadavg_1min": {"start": load_start, "end": _r(os.getloadavg()[0], 2)},
            "history": history,
            "rollup": rolled,
            "report_in_process": in_process,
            "report_http": over_http,
            "search_recording": searching,
            "met": {
                "rollup_events_per_s": rolled["all_days"]["met"],
                "rollup_idempotent": rolled["one_month_twice"]["identical"],
                "report_build_s": all(v["build_and_to_dict_s"]["met"] for v in in_process.values()),
                "report_xlsx_s": all(v["xlsx_bytes_s"]["met"] for v in in_process.values()),
                "search_no_difference": searching["api"]["met"] and searching["page"]["met"],
            },
        }
    finally:
        for child in reversed(children):
            child.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _index(settings: Settings) -> dict[str, Any]:
    from collection.db import session_scope
    from collection.search import meili
    from collection.search.service import rebuild_index

    engine = meili.ready_engine(settings)
    started = time.perf_counter()
    with session_scope(settings.sqlalchemy_url) as session:
        counts = rebuild_index(session=session, engine=engine)
    return {"documents": counts, "rebuild_index_s": _r(time.perf_counter() - started)}


if __name__ == "__main__":
    import json

    json.dump(run(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
