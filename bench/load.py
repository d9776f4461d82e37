"""Load from every access point: many concurrent clients for a fixed time, through a real uvicorn
server of the app, against the same searches sent straight to Meilisearch in the same run.

1. Corpus: bench/search.py's generator, smaller (BENCH_LOAD_ITEMS items, default 300, of
   BENCH_LOAD_PAGES pages, default 5), indexed by `rebuild_index`; page images (a 1600 px JPEG)
   for the pages of the public items among the first IMAGE_ITEMS, in a SeaweedFS started
   here; an access point whose widget key and registered origin the widget searches use (the
   clients, all on 127.0.0.1, are outside its IP ranges: the public scope).
2. Two mixes, BENCH_LOAD_CLIENTS concurrent clients (default 200) for BENCH_LOAD_SECONDS each
   (default 30, after BENCH_LOAD_WARMUP seconds not counted, default 3). Each client is a
   browser of its own (its connection, its cookies, a browser's User-Agent, so usage events are
   recorded as for citizens) that sends its next request as soon as the last is answered:
   - "zipf": searches from a pool of BENCH_LOAD_QUERIES queries (default 300; with and without
     diacritics, Telex leaks, phrases) drawn with a Zipf distribution (s = 1: the first query is
     asked twice as often as the second …), some with facet filters or a sort, widget searches
     (a point's key and registered Origin), item pages and page images, in the weights of MIX;
   - "distinct": searches only, each query asked once (two or three words of the corpus's
     vocabulary, BENCH_LOAD_DISTINCT of them, default 3000; if a run asks more, they wrap);
   - "citizens": the Zipf mix again, but each client pauses THINK_S (1-5 s, uniform) after
     each answer, as a reader looks at the results before the next search or click. The two
     mixes above are saturation: a client that never pauses waits clients / throughput on
     average whatever the server does, so their latency says how the load is shared out, and
     this one says what a citizen waits when 200 use the site at once.
3. The baseline: the Meilisearch requests our service sends for each search of either mix,
   recorded in this process as they go out (``engine.on_search``: body, search-only key,
   headers; the federated search, then the completion) and replayed straight to
   `/multi-search` by the same clients with the same seeds, in the same order, one after the
   other (item pages and page images have no Meilisearch counterpart: the baseline clients
   skip them, so ours spend part of their time on work the baseline does not do; with think
   time they pause instead).
4. Ours with the answer cache (search/cache.py) and without it (COLLECTION_SEARCH_CACHE_ENTRIES
   = 0), as deployed (COLLECTION_WEB_WORKERS's default); then the Zipf mix with the cache on
   the other numbers of web workers in BENCH_LOAD_WORKERS (default "1,2,3"), to choose it.

The client is httpx.AsyncClient in one asyncio process: the same client the other benchmarks
use, no new dependency, and its cost is paid alike by every side. Everything runs on this
machine (loopback, shared cores: the load generator takes its share of them).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import os
import secrets
import signal
import subprocess
import sys
import time
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import TYPE_CHECKING, Any

import httpx

from bench import ingest
from bench import search as corpus_bench
from bench.search import Recorded, Sent, _pct, _r
from collection import migrate
from collection.config import Settings
from collection.stack import (
    Child,
    free_port,
    http_ok,
    wait_until,
)

if TYPE_CHECKING:
    from collection.search.meili import SearchEngine

SEED = 20_260_517
ZIPF_S = 1.0
IMAGE_ITEMS = 50
# What a citizen's browser does, by weight: mostly searches (some narrowed by a facet or sorted),
# the widget on a point's own site, opening an item, turning its pages.
MIX = {"search": 60, "search_filtered": 12, "widget": 10, "item": 10, "page_image": 8}
SEARCH_KINDS = ("search", "search_filtered", "widget")
USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/109.0.0.0 Safari/537.36"
ORIGIN = "https://thuvien-bench.vn"
P95_AIM_MS = 1000
# A citizen reads the results before the next search or click: a pause after each answer, the
# range Locust's examples use (between(1, 5)); real readers pause longer, so this loads more.
THINK_S = (1.0, 5.0)
# The ratios and aims are measured as deployed: COLLECTION_WEB_WORKERS's default.
DEFAULT_WORKERS = int(Settings.model_fields["web_workers"].default)
ZIPF_AIM, DISTINCT_AIM = 2.0, 1.0


def _log(message: str) -> None:
    print(f"[bench.load] {message}", file=sys.stderr, flush=True)


# --- what the clients ask --------------------------------------------------------------------


@dataclass(frozen=True)
class Search:
    """One search as a client asks it, with what our service sends Meilisearch for it."""

    kind: str  # search | search_filtered | widget
    q: str
    filters: tuple[tuple[str, str], ...] = ()  # API parameter → value
    sort: str = "relevance"
    per_page: int = 20
    recorded: Recorded = field(default_factory=list, compare=False, hash=False)

    def params(self, widget_key: str) -> tuple[tuple[str, str], ...]:
        if self.kind == "widget":
            return (("key", widget_key), ("q", self.q))
        sort = (("sort", self.sort),) if self.sort != "relevance" else ()
        return (("q", self.q), *self.filters, *sort)


def zipf_queries(count: int, random: Random) -> list[str]:
    """``count`` queries citizens of Thanh Hóa might ask, most popular first (shuffled once)."""
    from collection.search.vietnamese import fold

    c = corpus_bench
    names = [*c.PLACES, *c.VILLAGES, *c.SUBJECTS, *c.CRAFTS, *c.FESTIVALS, *c.HISTORY]
    names += [*c.RIVERS, *c.THESIS_TOPICS, *c.VOLUMES]
    names += [q for queries in c.QUERIES.values() for q in queries]
    pool = list(dict.fromkeys([*names, *(fold(n) for n in names)]))
    random.shuffle(pool)
    extra = [f"{a} {b}" for a, b in zip(pool, reversed(pool), strict=True)]
    return list(dict.fromkeys(pool + extra))[:count]


def filtered(queries: Sequence[str], random: Random, count: int) -> list[Search]:
    """Searches narrowed by a facet or sorted, as the results page offers them."""
    c = corpus_bench
    facets = [
        *(("type", t) for t in ("Sách", "Báo", "Gia phả", "Ảnh", "Luận văn")),
        *(("decade", str(d)) for d in (1960, 1970, 1990, 2000)),
        *(("subject", s) for s in c.SUBJECTS[:8]),
        ("language", "vi"),
        ("collection", "1"),
        ("collection", "2"),
    ]
    made = []
    for n in range(count):
        q = queries[n % len(queries)]
        if n % 4 == 3:
            made.append(Search("search_filtered", q, sort=random.choice(["newest", "title"])))
        else:
            made.append(Search("search_filtered", q, (random.choice(facets),)))
    return made


def distinct_queries(count: int, random: Random) -> list[str]:
    """``count`` different queries of two or three words from the corpus's vocabulary."""
    from collection.search.vietnamese import fold

    c = corpus_bench
    text = " ".join([*c.SUBJECTS, *c.PLACES, *c.VILLAGES, *c.CRAFTS, *c.ACTIONS, *c.TIMES])
    words = sorted({w.strip(",.:()–{}").lower() for w in text.split()} - {""})
    words = [w for w in words if w.isalpha()]
    seen: set[str] = set()
    while len(seen) < count:
        q = " ".join(random.sample(words, random.choice((2, 2, 3))))
        seen.add(fold(q) if random.random() < 0.4 else q)
    made = sorted(seen)
    random.shuffle(made)
    return made


def record(engine: SearchEngine, search: Search) -> Search:
    """The search with the Meilisearch requests our service sends for it (bench/search.py's
    capture, for these parameters)."""
    from collection.search import searching
    from collection.search.query import Filters, Scope, Sort

    fields = {
        "collection": "collection_id",
        "type": "document_type",
        "decade": "decade",
        "language": "language",
        "subject": "subject",
    }
    values: dict[str, tuple[Any, ...]] = {}
    for name, value in search.filters:
        typed: Any = int(value) if name in ("collection", "decade") else value
        values[fields[name]] = (*values.get(fields[name], ()), typed)
    recorded: Recorded = []

    def keep(path: str, headers: dict[str, str], body: bytes) -> None:
        recorded.append(Sent(path, tuple(headers.items()), body))

    engine.on_search = keep
    try:
        searching.search(
            engine,
            q=search.q,
            filters=Filters.checked(**values),
            sort=Sort(search.sort),
            per_page=search.per_page,
            scope=Scope.PUBLIC,
        )
    finally:
        engine.on_search = None
    return Search(search.kind, search.q, search.filters, search.sort, search.per_page, recorded)


@dataclass
class Workload:
    zipf: list[Search]  # most popular first
    zipf_weights: list[float]  # cumulative
    filtered: list[Search]
    widget: list[Search]
    distinct: list[Search]
    items: int
    image_pages: list[tuple[int, int]]  # (item id, page number) with an image
    widget_key: str


@dataclass
class Samples:
    """Per kind: seconds of each request answered, and the errors."""

    seconds: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    wrapped: int = 0

    def add(self, kind: str, elapsed: float) -> None:
        self.seconds.setdefault(kind, []).append(elapsed)

    def error(self, kind: str, what: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if len(self.error_samples) < 10:
            self.error_samples.append(f"{kind}: {what}"[:300])


class Phase:
    """One side under one mix: ``clients`` clients, each with its own seeded sequence."""

    def __init__(
        self,
        *,
        side: str,
        mix: str,
        url: str,
        work: Workload,
        clients: int,
        seconds: float,
        think: tuple[float, float] | None = None,
    ) -> None:
        self.side, self.mix, self.url, self.work = side, mix, url, work
        self.clients, self.seconds = clients, seconds
        self.think = think  # seconds a client waits after each answer, uniform in this range
        self._distinct = itertools.count()

    def _next(self, random: Random) -> tuple[str, Search | str]:
        """The next request of a client: a search, or the path of an item page or page image."""
        w = self.work
        if self.mix == "distinct":
            n = next(self._distinct)
            return "search", w.distinct[n % len(w.distinct)]
        kind = random.choices(list(MIX), weights=list(MIX.values()))[0]
        if kind == "search":
            rank = bisect_left(w.zipf_weights, random.random() * w.zipf_weights[-1])
            return kind, w.zipf[min(rank, len(w.zipf) - 1)]
        if kind == "search_filtered":
            rank = bisect_left(w.zipf_weights, random.random() * w.zipf_weights[-1])
            return kind, w.filtered[rank % len(w.filtered)]
        if kind == "widget":
            rank = bisect_left(w.zipf_weights, random.random() * w.zipf_weights[-1])
            return kind, w.widget[rank % len(w.widget)]
        if kind == "item":
            rank = bisect_left(w.zipf_weights, random.random() * w.zipf_weights[-1])
            return kind, f"/tai-lieu/{rank % w.items + 1}"
        item_id, number = random.choice(w.image_pages)
        return kind, f"/tai-lieu/{item_id}/trang/{number}/anh"

    async def _send(self, client: httpx.AsyncClient, kind: str, what: Search | str) -> bool:
        """Send one request; False if this side has nothing to send for it."""
        if self.side == "baseline":
            if not isinstance(what, Search):
                return False
            for sent in what.recorded:
                response = await client.post(
                    sent.path, content=sent.body, headers=sent.replay_headers(compressed=False)
                )
                if response.status_code != 200:
                    raise _Refused(response)
            return True
        if isinstance(what, Search):
            path = "/api/v1/widget/search" if kind == "widget" else "/api/v1/search"
            headers = {"Origin": ORIGIN} if kind == "widget" else {}
            response = await client.get(
                path, params=what.params(self.work.widget_key), headers=headers
            )
        else:
            response = await client.get(what)
        await response.aread()
        if response.status_code != 200:
            raise _Refused(response)
        return True

    async def _client(self, n: int, start: float, end: float, samples: Samples) -> None:
        random = Random(SEED + n)
        headers = {"User-Agent": USER_AGENT}
        if self.side == "baseline":
            headers = {}
        async with httpx.AsyncClient(base_url=self.url, headers=headers, timeout=60) as client:
            if self.think:  # citizens do not all arrive in the same millisecond
                await asyncio.sleep(random.uniform(0, self.think[1]))
            while (now := time.perf_counter()) < end:
                kind, what = self._next(random)
                try:
                    sent = await self._send(client, kind, what)
                except _Refused as refused:
                    samples.error(kind, f"HTTP {refused.status}: {refused.text}")
                    continue
                except httpx.HTTPError as exc:
                    samples.error(kind, f"{type(exc).__name__}: {exc}")
                    continue
                if sent and now >= start:  # requests begun in the warm-up are not counted
                    samples.add(kind, time.perf_counter() - now)
                if sent and self.think:
                    await asyncio.sleep(random.uniform(*self.think))

    async def _run(self, warmup: float) -> tuple[Samples, float]:
        samples = Samples()
        start = time.perf_counter() + warmup
        end = start + self.seconds
        await asyncio.gather(*(self._client(n, start, end, samples) for n in range(self.clients)))
        return samples, time.perf_counter() - start

    def run(self, warmup: float) -> dict[str, Any]:
        pace = f", thinking {self.think[0]:g}-{self.think[1]:g} s" if self.think else ""
        _log(f"{self.side}: {self.mix} mix, {self.clients} clients{pace}, {self.seconds:g} s")
        load = os.getloadavg()[0]
        samples, wall = asyncio.run(self._run(warmup))
        if self.mix == "distinct":
            asked = next(self._distinct)
            samples.wrapped = max(0, asked - len(self.work.distinct))
        return _report(samples, wall, load)


class _Refused(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.status = response.status_code
        self.text = response.text[:200]


def _report(samples: Samples, wall: float, load: float) -> dict[str, Any]:
    def figures(values: list[float]) -> dict[str, float]:
        return {
            "requests": len(values),
            "per_s": _r(len(values) / wall, 1),
            "p50_ms": _r(_pct(values, 50), 1),
            "p95_ms": _r(_pct(values, 95), 1),
            "p99_ms": _r(_pct(values, 99), 1),
        }

    every = [s for values in samples.seconds.values() for s in values]
    searches = [s for kind in SEARCH_KINDS for s in samples.seconds.get(kind, [])]
    report: dict[str, Any] = {
        "seconds": _r(wall, 1),
        "all": figures(every),
        "searches": figures(searches),
        "errors": sum(samples.errors.values()),
        "per_kind": {
            kind: {**figures(values), "errors": samples.errors.get(kind, 0)}
            for kind, values in sorted(samples.seconds.items())
        },
        "loadavg_1min_at_start": _r(load, 2),
    }
    if samples.error_samples:
        report["error_samples"] = samples.error_samples
    if samples.wrapped:
        report["distinct_queries_asked_again"] = samples.wrapped
    return report


# --- the services ----------------------------------------------------------------------------


def _start_web(fields: dict[str, Any], workdir: Path, port: int, *, workers: int) -> Child:
    """`collection serve` with ``workers`` uvicorn workers (a child process, COLLECTION_*
    variables only)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTION_")}
    env |= {f"COLLECTION_{name.upper()}": str(value) for name, value in fields.items()}
    env |= {"COLLECTION_WEB_WORKERS": str(workers), "COLLECTION_PORT": str(port)}
    log_path = workdir / "log" / f"web-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "collection.cli", "serve"],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=workdir,
        start_new_session=True,
    )
    child = Child("web", process, log_path, _log=log)
    wait_until(
        http_ok(f"http://127.0.0.1:{port}/api/openapi.json"), child=child, timeout=90, what="web"
    )
    return child


def _page_image() -> bytes:
    """A page image as the pipeline makes them: 1600 px high, JPEG, some texture."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (1130, 1600), 236)
    draw = ImageDraw.Draw(image)
    random = Random(SEED)
    for y in range(80, 1520, 28):
        x = 90
        while x < 1040:
            width = random.randint(20, 90)
            draw.rectangle((x, y, x + width, y + 14), fill=random.randint(20, 90))
            x += width + random.randint(8, 16)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def _prepare(settings: Settings, *, items: int, pages: int) -> tuple[list[tuple[int, int]], str]:
    """Corpus, index, page images, the access point: (pages with an image, widget key)."""
    from sqlalchemy import select

    from collection.db import session_scope
    from collection.models import Access, Item, Page, PointKind, PointLevel
    from collection.places.sync import ensure_gazetteer
    from collection.points.service import create_point
    from collection.search import meili
    from collection.search.service import rebuild_index
    from collection.storage import store_for

    migrate.upgrade(settings.sqlalchemy_url)
    with session_scope(settings.sqlalchemy_url) as session:
        ensure_gazetteer(session)
    _log(f"corpus: {items} items × {pages} pages")
    corpus_bench.build_corpus(settings, items=items, pages_per_item=pages)
    with session_scope(settings.sqlalchemy_url) as session:
        rebuild_index(session=session, engine=meili.ready_engine(settings))
    store = store_for(settings)
    store.ensure_bucket()
    data = _page_image()
    keys = [f"bench/pages/{n}.jpg" for n in range(20)]
    for key in keys:
        store.put_bytes(key, data, media_type="image/jpeg")
    image_pages = []
    with session_scope(settings.sqlalchemy_url) as session:
        public = select(Item.id).where(Item.access == Access.PUBLIC, Item.id <= IMAGE_ITEMS)
        for page in session.scalars(select(Page).where(Page.item_id.in_(public))):
            page.image_key = keys[page.id % len(keys)]
            page.width, page.height = 1130, 1600
            image_pages.append((page.item_id, page.number))
        point = create_point(
            session=session,
            name="Thư viện thử tải",
            kind=PointKind.TVCC,
            level=PointLevel.DISTRICT,
            allowed_origins=[ORIGIN],
            ip_ranges=["113.160.12.0/24"],  # not 127.0.0.1: the clients search as the public
        )
        widget_key = point.widget_key
    return sorted(image_pages), widget_key


def _workload(
    settings: Settings,
    *,
    items: int,
    image_pages: list[tuple[int, int]],
    widget_key: str,
    queries: int,
    distinct: int,
) -> Workload:
    from collection.points.widget import PER_PAGE as WIDGET_PER_PAGE
    from collection.search import meili

    engine = meili.ready_engine(settings)
    random = Random(SEED)
    popular = zipf_queries(queries, random)
    weights = list(itertools.accumulate(1 / rank**ZIPF_S for rank in range(1, len(popular) + 1)))
    searches = [Search("search", q) for q in popular]
    narrowed = filtered(popular, random, max(40, len(popular) // 4))
    widgets = [Search("widget", q, per_page=WIDGET_PER_PAGE) for q in popular]
    unique = [Search("search", q) for q in distinct_queries(distinct, random)]
    everything = searches + narrowed + widgets + unique
    _log(f"recording the Meilisearch requests of {len(everything)} searches")
    started = time.perf_counter()
    recorded = [record(engine, s) for s in everything]
    _log(f"recorded in {time.perf_counter() - started:.0f} s")
    a, b, c = (
        len(searches),
        len(searches) + len(narrowed),
        len(searches) + len(narrowed) + len(widgets),
    )
    return Workload(
        zipf=recorded[:a],
        zipf_weights=weights,
        filtered=recorded[a:b],
        widget=recorded[b:c],
        distinct=recorded[c:],
        items=items,
        image_pages=image_pages,
        widget_key=widget_key,
    )


def run() -> dict[str, Any]:
    clients = int(os.environ.get("BENCH_LOAD_CLIENTS", "200"))
    seconds = float(os.environ.get("BENCH_LOAD_SECONDS", "30"))
    warmup = float(os.environ.get("BENCH_LOAD_WARMUP", "3"))
    items = int(os.environ.get("BENCH_LOAD_ITEMS", "300"))
    pages = int(os.environ.get("BENCH_LOAD_PAGES", "5"))
    queries = int(os.environ.get("BENCH_LOAD_QUERIES", "300"))
    distinct = int(os.environ.get("BENCH_LOAD_DISTINCT", "3000"))
    workers = [int(w) for w in os.environ.get("BENCH_LOAD_WORKERS", "1,2,3").split(",") if w]
    with ingest.embedded_services("load") as (workdir, fields):
        fields |= dict(
            secret_key=secrets.token_urlsafe(32),
            startup_timeout=10,
            # Every simulated client comes from 127.0.0.1 (and the widget's from one key): the
            # per-address and per-key limits are not what is measured.
            searches_per_minute=100_000,
            point_searches_per_minute=1_000_000,
            widget_searches_per_minute=100_000,
        )
        settings = Settings(**fields)
        image_pages, widget_key = _prepare(settings, items=items, pages=pages)
        work = _workload(
            settings,
            items=items,
            image_pages=image_pages,
            widget_key=widget_key,
            queries=queries,
            distinct=distinct,
        )
        meili_url = settings.meili_endpoint_url
        phases: dict[str, Any] = {}

        def citizens(side: str, url: str) -> None:
            phases[f"{side}_citizens"] = Phase(
                side=side.partition("_")[0],
                mix="zipf",
                url=url,
                work=work,
                clients=clients,
                seconds=seconds,
                think=THINK_S,
            ).run(warmup + THINK_S[1])  # every client has started and waited once

        def ours(
            name: str,
            mixes: Sequence[str],
            *,
            web_workers: int,
            cache: bool,
            with_citizens: bool = False,
        ) -> None:
            port = free_port()
            extra = {} if cache else {"search_cache_entries": 0}
            web = _start_web(fields | extra, workdir, port, workers=web_workers)
            try:
                for mix in mixes:
                    phases[f"{name}_{mix}"] = Phase(
                        side="ours",
                        mix=mix,
                        url=f"http://127.0.0.1:{port}",
                        work=work,
                        clients=clients,
                        seconds=seconds,
                    ).run(warmup)
                if with_citizens:
                    citizens(name, f"http://127.0.0.1:{port}")
            finally:
                web.stop()
                with contextlib.suppress(ProcessLookupError):  # its workers, should one linger
                    os.killpg(web.process.pid, signal.SIGKILL)

        ours(
            f"ours_cache_workers_{DEFAULT_WORKERS}",
            ["zipf", "distinct"],
            web_workers=DEFAULT_WORKERS,
            cache=True,
            with_citizens=True,
        )
        for mix in ("zipf", "distinct"):
            phases[f"baseline_{mix}"] = Phase(
                side="baseline", mix=mix, url=meili_url, work=work, clients=clients, seconds=seconds
            ).run(warmup)
        citizens("baseline", meili_url)
        ours(
            f"ours_no_cache_workers_{DEFAULT_WORKERS}",
            ["zipf", "distinct"],
            web_workers=DEFAULT_WORKERS,
            cache=False,
        )
        for n in workers:
            if n != DEFAULT_WORKERS:
                ours(f"ours_cache_workers_{n}", ["zipf"], web_workers=n, cache=True)
        return _summary(
            phases, clients=clients, seconds=seconds, items=items, pages=pages, work=work
        )


def _summary(
    phases: dict[str, Any], *, clients: int, seconds: float, items: int, pages: int, work: Workload
) -> dict[str, Any]:
    def ratio(side: str, mix: str) -> float | None:
        ours, base = phases.get(f"{side}_{mix}"), phases.get(f"baseline_{mix}")
        if not ours or not base or not base["searches"]["per_s"]:
            return None
        return _r(ours["searches"]["per_s"] / base["searches"]["per_s"], 2)

    by_workers = {
        name.removeprefix("ours_cache_workers_").removesuffix("_zipf"): {
            "searches_per_s": phase["searches"]["per_s"],
            "all_per_s": phase["all"]["per_s"],
            "p95_ms": phase["all"]["p95_ms"],
            "errors": phase["errors"],
        }
        for name, phase in phases.items()
        if name.startswith("ours_cache_workers_") and name.endswith("_zipf")
    }
    best = max(by_workers, key=lambda n: by_workers[n]["searches_per_s"]) if by_workers else None
    ours_zipf = phases.get(f"ours_cache_workers_{DEFAULT_WORKERS}_zipf", {})
    ours_citizens = phases.get(f"ours_cache_workers_{DEFAULT_WORKERS}_citizens", {})
    ours_distinct = phases.get(f"ours_cache_workers_{DEFAULT_WORKERS}_distinct", {})
    ratios = {
        "zipf_cache": ratio(f"ours_cache_workers_{DEFAULT_WORKERS}", "zipf"),
        "zipf_no_cache": ratio(f"ours_no_cache_workers_{DEFAULT_WORKERS}", "zipf"),
        "distinct_cache": ratio(f"ours_cache_workers_{DEFAULT_WORKERS}", "distinct"),
        "distinct_no_cache": ratio(f"ours_no_cache_workers_{DEFAULT_WORKERS}", "distinct"),
    }
    return {
        "cores": os.cpu_count() or 1,
        "clients": clients,
        "seconds_per_phase": seconds,
        "corpus": {"items": items, "pages": items * pages, "image_pages": len(work.image_pages)},
        "queries": {
            "zipf_pool": len(work.zipf),
            "zipf_s": ZIPF_S,
            "filtered_pool": len(work.filtered),
            "distinct_pool": len(work.distinct),
            "mix_weights": MIX,
        },
        "phases": phases,
        "searches_per_s_ratio_vs_baseline": ratios,
        "web_workers_zipf_cache": by_workers,
        "most_searches_per_s_with_workers": best,
        "aims": {
            "errors_0": {name: phase["errors"] == 0 for name, phase in phases.items()},
            "p95_le_1s_citizens": bool(ours_citizens)
            and ours_citizens["all"]["p95_ms"] <= P95_AIM_MS,
            "p95_le_1s_zipf": bool(ours_zipf) and ours_zipf["all"]["p95_ms"] <= P95_AIM_MS,
            "p95_le_1s_distinct": bool(ours_distinct)
            and ours_distinct["all"]["p95_ms"] <= P95_AIM_MS,
            "zipf_ge_2x_baseline": (ratios["zipf_cache"] or 0) >= ZIPF_AIM,
            "distinct_ge_1x_baseline": (ratios["distinct_cache"] or 0) >= DISTINCT_AIM,
        },
        "notes": [
            "zipf and distinct: each client sends its next request as soon as the last is "
            "answered (saturation: latency is then clients / throughput, whatever the server); "
            f"citizens: the zipf mix, each client pausing {THINK_S[0]:g}-{THINK_S[1]:g} s "
            "(uniform) after each answer, as a reader does",
            "ratios are searches per second (searches, filtered searches and widget searches); "
            "in the Zipf mix our clients also open item pages and page images, which the "
            "baseline clients skip",
            "the load generator (one asyncio process), the app, Meilisearch and SeaweedFS share "
            "this machine's cores",
        ],
    }


if __name__ == "__main__":
    import json

    json.dump(run(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
