"""Staff uploads over HTTP: one-piece multipart vs resumable chunks, on the real app, same run.

One file of --mb MB (default 256): a tiny real PDF, then a comment line of random bytes, so the
type sniffed is PDF; every upload gets a fresh random tail (the store is content-addressed: the
same bytes twice would be linked, not stored) and a fresh item. The app runs under uvicorn in a
thread of this process, on SeaweedFS and Meilisearch started here; the client is httpx with a
cataloguer's bearer token, reading the file from disk as it sends. No worker runs: each upload
is timed from its first request to the 202 answer, nothing after.

(a) one piece: POST /api/v1/items/{id}/files, multipart field `file`, streamed from disk.
(b) resumable: POST /api/v1/items/{id}/uploads, PUT each chunk (Settings.upload_chunk_mb, or
    --chunk-mb) in order as a raw body, POST /api/v1/uploads/{id}/complete.

Rounds alternate which side goes first (A B, B A, ...) after an untimed warm-up of each; the
figures are medians and the ratio is resumable / one piece from the same run. Memory: the RSS of
this process (so of the web app, the client streams in 64 KiB pieces) sampled every 50 ms during
an upload, minus its value just before (after a GC and malloc_trim, so rounds start alike).
Resume: a resumable upload whose connection drops halfway through the chunk after half the
chunks; the client asks the server how far it got and goes on from there.

Concurrent (issue #17: "10 concurrent 100 MB uploads at the same time: all complete, searches
keep answering"): --concurrent resumable uploads of --concurrent-mb MB, each on an item and a
file of its own, released at the same moment, while SEARCHERS public readers search at a steady
pace over a small indexed corpus; the same searches alone for --baseline-s seconds just before.
Every part has a timeout: a chunk is not sent after BURST_DEADLINE_S, a request waits at most
UPLOAD_TIMEOUT_S, a search SEARCH_TIMEOUT_S.

    .venv/bin/python -m bench.upload [--mb 256] [--rounds 3] [--chunk-mb 8]
        [--concurrent 10] [--concurrent-mb 100] [--baseline-s 6]
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import ctypes.util
import gc
import hashlib
import io
import json
import logging
import os
import secrets
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import TYPE_CHECKING, Any

import httpx

from bench._worker import _mb, _status_kb
from bench.ingest import _r, _setup_db, born_digital_pdf, embedded_services
from bench.search import _pct
from collection.config import Settings
from collection.stack import free_port

if TYPE_CHECKING:
    from hashlib import _Hash

MB = 1024 * 1024
PIECE = 64 * 1024  # what the client hands httpx at a time (httpx's own multipart piece size)
TAIL = 32  # random bytes rewritten at the end of the file before each upload
SAMPLE_S = 0.05
SIDES = ("one_piece", "resumable")
# The concurrent section: public searches while the uploads go on.
SEARCHERS = 4
SEARCH_EVERY_S = 0.25  # each searcher's pace: 16 searches a second in all
SEARCH_TIMEOUT_S = 10.0  # a search unanswered by then is an error
SEARCH_QUERIES, SEARCH_SEED = 300, 20_260_517
CORPUS_ITEMS, CORPUS_PAGES = 200, 3
BURST_DEADLINE_S = 100.0  # no chunk is sent after this; the complete then has UPLOAD_TIMEOUT_S
UPLOAD_TIMEOUT_S = 60.0  # httpx's, per connect / read / write


def _log(message: str) -> None:
    print(f"[bench.upload] {message}", file=sys.stderr, flush=True)


def _options(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.upload",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--mb", type=int, default=256, help="file size in MB (default 256)")
    parser.add_argument("--rounds", type=int, default=3, help="uploads per side (default 3)")
    parser.add_argument(
        "--chunk-mb", type=int, default=None, help="resumable chunk size (Settings' default: 8)"
    )
    parser.add_argument(
        "--concurrent", type=int, default=10, help="uploads at once (default 10; 0: none)"
    )
    parser.add_argument(
        "--concurrent-mb", type=int, default=100, help="size of each of them (default 100)"
    )
    parser.add_argument(
        "--baseline-s",
        type=float,
        default=6.0,
        help="seconds of searches alone before them (default 6)",
    )
    return parser.parse_args(list(argv))


# --- material --------------------------------------------------------------------------------


class Material:
    """A file of ``size`` bytes sniffed as a PDF, whose last TAIL bytes change on ``renew``."""

    def __init__(self, path: Path, size: int) -> None:
        head = born_digital_pdf(1) + b"\n%"
        if size < len(head) + TAIL:
            raise ValueError(f"{size} bytes is too small for the {len(head)}-byte PDF head")
        self.path, self.size = path, size
        self._prefix = hashlib.sha256(head)
        with path.open("wb") as out:
            out.write(head)
            left = size - len(head) - TAIL
            while left:
                block = os.urandom(min(8 * MB, left))
                self._prefix.update(block)
                out.write(block)
                left -= len(block)
            out.write(os.urandom(TAIL))

    def renew(self) -> str:
        """New bytes at the end (so a new SHA-256 for the content-addressed store); the new
        SHA-256, from the hash of the unchanged part."""
        tail = os.urandom(TAIL)
        with self.path.open("r+b") as out:
            out.seek(self.size - TAIL)
            out.write(tail)
        digest: _Hash = self._prefix.copy()
        digest.update(tail)
        return digest.hexdigest()


# --- measuring -------------------------------------------------------------------------------


def _settle() -> None:
    """Give freed memory back to the OS, so each upload starts from a comparable RSS."""
    gc.collect()
    libc = ctypes.util.find_library("c")
    if libc:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(libc).malloc_trim(0)


class PeakRss(threading.Thread):
    """This process's RSS every SAMPLE_S seconds while in the ``with`` block: the largest value
    minus the one just before."""

    def __init__(self) -> None:
        super().__init__(daemon=True, name="bench-upload-rss")
        self.baseline_kb = _status_kb("self", "VmRSS")
        self.peak_kb = self.baseline_kb
        self._done = threading.Event()

    def _sample(self) -> None:
        self.peak_kb = max(self.peak_kb, _status_kb("self", "VmRSS"))

    def run(self) -> None:
        while not self._done.wait(SAMPLE_S):
            self._sample()

    def __enter__(self) -> PeakRss:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self.join()
        self._sample()

    @property
    def growth_kb(self) -> int:
        return self.peak_kb - self.baseline_kb


@dataclass
class Sample:
    seconds: float
    rss_growth_kb: int
    parts: dict[str, float] = field(default_factory=dict)


class TimedFile(io.FileIO):
    """The file as httpx reads it into a multipart body: notes when it read the last piece."""

    last_read = 0.0

    def read(self, size: int | None = -1, /) -> bytes:
        data: bytes = super().read(size)
        self.last_read = time.perf_counter()
        return data


class Dropped(Exception):
    """The simulated network failure, raised by a chunk's body halfway through."""


@dataclass
class Sent:
    bytes: int = 0


class S3Clock:
    """Seconds the app spends in its S3 calls: storing (put_stream, put_bytes) and reading
    (open_stream, and reading the body it returns). Uploads run one at a time, so one clock."""

    def __init__(self) -> None:
        self.put_s = self.get_s = 0.0

    def take(self) -> dict[str, float]:
        """The seconds since the last ``take``."""
        taken = {"s3_put_s": self.put_s, "s3_get_s": self.get_s}
        self.put_s = self.get_s = 0.0
        return taken

    def _timed_put(self, func: Callable[..., None]) -> Callable[..., None]:
        def timed(*args: Any, **kwargs: Any) -> None:
            started = time.perf_counter()
            try:
                func(*args, **kwargs)
            finally:
                self.put_s += time.perf_counter() - started

        return timed

    def _timed_get(self, func: Callable[..., Iterator[bytes]]) -> Callable[..., Iterator[bytes]]:
        def timed(*args: Any, **kwargs: Any) -> Iterator[bytes]:
            started = time.perf_counter()
            try:
                pieces = func(*args, **kwargs)
            finally:
                self.get_s += time.perf_counter() - started
            while True:
                started = time.perf_counter()
                try:
                    piece = next(pieces, None)
                finally:
                    self.get_s += time.perf_counter() - started
                if piece is None:
                    return
                yield piece

        return timed

    @contextlib.contextmanager
    def installed(self) -> Iterator[S3Clock]:
        from collection.storage import ObjectStore

        saved = {
            name: getattr(ObjectStore, name) for name in ("put_stream", "put_bytes", "open_stream")
        }
        # Measuring hooks only: the app looks these up on each call.
        setattr(ObjectStore, "put_stream", self._timed_put(saved["put_stream"]))  # noqa: B010
        setattr(ObjectStore, "put_bytes", self._timed_put(saved["put_bytes"]))  # noqa: B010
        setattr(ObjectStore, "open_stream", self._timed_get(saved["open_stream"]))  # noqa: B010
        try:
            yield self
        finally:
            for name, func in saved.items():
                setattr(ObjectStore, name, func)


class Disconnects(logging.Filter):
    """Counts, and keeps off stderr, uvicorn's report of a request whose client went away
    (the simulated drop: the chunk route lets Starlette's ClientDisconnect escape)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        from starlette.requests import ClientDisconnect

        if record.exc_info and isinstance(record.exc_info[1], ClientDisconnect):
            self.count += 1
            return False
        return True

    @contextlib.contextmanager
    def installed(self) -> Iterator[Disconnects]:
        logger = logging.getLogger("uvicorn.error")
        logger.addFilter(self)
        try:
            yield self
        finally:
            logger.removeFilter(self)


def _chunk_body(
    path: Path, offset: int, length: int, sent: Sent, drop_at: int | None
) -> Iterator[bytes]:
    """``length`` bytes of the file from ``offset``, read as they are sent; raises Dropped
    after ``drop_at`` bytes if given."""
    with path.open("rb") as source:
        source.seek(offset)
        done = 0
        while done < length:
            if drop_at is not None and done >= drop_at:
                raise Dropped
            piece = source.read(min(PIECE, length - done))
            if not piece:
                raise RuntimeError(f"{path} ends before byte {offset + length}")
            done += len(piece)
            sent.bytes += len(piece)
            yield piece


# --- the app ---------------------------------------------------------------------------------


@contextlib.contextmanager
def private_queue(settings: Settings) -> Iterator[None]:
    """The app queues index syncs and ingest jobs (which no worker runs here) on the Huey of
    collection.queue, built from the global settings when that module is first imported: point
    it at the bench's queue for the run, whoever imported it first, never the developer's var/."""
    from huey.storage import SqliteStorage

    from collection.config import get_settings

    names = {"COLLECTION_VAR_DIR": str(settings.var_dir), "COLLECTION_QUEUE_URL": settings.huey_url}
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(names)
    get_settings.cache_clear()
    from collection.queue import huey, search_huey

    queues = (huey, search_huey)
    theirs = [queue.storage for queue in queues]
    # Measuring set-up only: the app looks the storage up on each enqueue.
    for queue in queues:
        queue.storage = SqliteStorage(
            name=queue.name, filename=settings.huey_url.removeprefix("sqlite:///"), timeout=30
        )
    try:
        yield
    finally:
        for queue, storage in zip(queues, theirs, strict=True):
            queue.storage = storage
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()


@contextlib.contextmanager
def live_app(settings: Settings) -> Iterator[str]:
    """The app behind a real uvicorn server in a thread of this process; its base URL."""
    import uvicorn

    from collection.app import create_app

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="bench-upload-uvicorn", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if not thread.is_alive():
                raise RuntimeError("uvicorn stopped during start-up")
            try:
                httpx.get(f"{url}/healthz", timeout=2)  # any answer means it serves
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def _json(response: httpx.Response, status: int, what: str) -> dict[str, Any]:
    if response.status_code != status:
        raise RuntimeError(f"{what}: HTTP {response.status_code} {response.text[:500]}")
    body: dict[str, Any] = response.json()
    return body


def _check_upload(answer: dict[str, Any], material: Material, sha256: str, what: str) -> None:
    got = (answer["sha256"], answer["size"], answer["media_type"], answer["duplicate"])
    if got != (sha256, material.size, "application/pdf", False):
        raise RuntimeError(f"{what}: stored {got}, sent {sha256} of {material.size} bytes")


def new_item(client: httpx.Client, number: int) -> int:
    answer = _json(
        client.post("/api/v1/items", json={"title": f"Tải lên thử số {number}"}), 201, "item"
    )
    item_id: int = answer["id"]
    return item_id


# --- the two paths ---------------------------------------------------------------------------


def one_piece(client: httpx.Client, clock: S3Clock, item_id: int, material: Material) -> Sample:
    sha256 = material.renew()
    _settle()
    clock.take()
    with TimedFile(material.path) as source, PeakRss() as rss:
        started = time.perf_counter()
        response = client.post(
            f"/api/v1/items/{item_id}/files",
            files={"file": (material.path.name, source, "application/pdf")},
        )
        seconds = time.perf_counter() - started
    _check_upload(_json(response, 202, "one-piece upload"), material, sha256, "one-piece upload")
    return Sample(
        seconds,
        rss.growth_kb,
        {
            "body_read_s": source.last_read - started,
            "after_body_s": started + seconds - source.last_read,
            "s3_put_s": clock.take()["s3_put_s"],
        },
    )


def _put_chunks(
    client: httpx.Client,
    item_id: int,
    material: Material,
    sent: Sent,
    *,
    drop: bool = False,
    deadline: float | None = None,
) -> tuple[int, dict[str, Any]]:
    """Start a resumable upload and PUT every chunk; with ``drop``, lose the connection halfway
    through the chunk after half of them and resume from what the server says it has. The
    upload's id and what happened. Past ``deadline`` (perf_counter), no further chunk is sent."""
    upload = _json(
        client.post(
            f"/api/v1/items/{item_id}/uploads",
            json={"filename": material.path.name, "size": material.size},
        ),
        201,
        "start upload",
    )
    upload_id, chunk = upload["id"], upload["chunk_size"]
    count = -(-material.size // chunk)
    drop_index = count // 2 if drop else -1
    story: dict[str, Any] = {}
    index = 0
    while index < count:
        if deadline is not None and time.perf_counter() > deadline:
            raise TimeoutError(f"upload {upload_id}: {index}/{count} chunks at the deadline")
        length = min(chunk, material.size - index * chunk)
        body = _chunk_body(
            material.path,
            index * chunk,
            length,
            sent,
            length // 2 if index == drop_index else None,
        )
        try:
            response = client.put(
                f"/api/v1/uploads/{upload_id}/chunks/{index}",
                content=body,
                headers={
                    "Content-Length": str(length),
                    "Content-Type": "application/octet-stream",
                },
            )
        except Dropped:
            drop_index = -1
            state = _json(client.get(f"/api/v1/uploads/{upload_id}"), 200, "upload state")
            story = {
                "dropped_in_chunk": index,
                "dropped_after_bytes": length // 2,
                "server_had": {k: state[k] for k in ("chunks_done", "received", "complete")},
            }
            index = state["chunks_done"]
            continue
        index = _json(response, 200, f"chunk {index}")["chunks_done"]
    return upload_id, story | {"chunks": count, "chunk_size": chunk}


def resumable(
    client: httpx.Client, clock: S3Clock, item_id: int, material: Material, *, drop: bool = False
) -> tuple[Sample, dict[str, Any]]:
    """Upload in chunks (``_put_chunks``), then complete. The sample and what happened."""
    sha256 = material.renew()
    _settle()
    sent = Sent()
    clock.take()
    with PeakRss() as rss:
        started = time.perf_counter()
        upload_id, story = _put_chunks(client, item_id, material, sent, drop=drop)
        chunks_done = time.perf_counter()
        in_chunks = clock.take()
        response = client.post(
            f"/api/v1/uploads/{upload_id}/complete", json={"link_duplicate": True}
        )
        seconds = time.perf_counter() - started
    _check_upload(_json(response, 202, "complete upload"), material, sha256, "resumable upload")
    story |= {"bytes_sent": sent.bytes}
    in_complete = clock.take()
    parts = {
        "chunks_s": chunks_done - started,
        "chunks_s3_put_s": in_chunks["s3_put_s"],
        "complete_s": started + seconds - chunks_done,
        "complete_s3_get_s": in_complete["s3_get_s"],
        "complete_s3_put_s": in_complete["s3_put_s"],
    }
    return Sample(seconds, rss.growth_kb, parts), story


# --- many at once ----------------------------------------------------------------------------


def _searchable(settings: Settings) -> int:
    """bench/search.py's corpus, small, indexed: something for the public searches to find.
    Made before any item of the bench (the corpus takes item ids from 1). Its documents."""
    from bench.search import build_corpus
    from collection.db import session_scope
    from collection.places.sync import ensure_gazetteer
    from collection.search import meili
    from collection.search.service import rebuild_index

    with session_scope(settings.sqlalchemy_url) as session:
        ensure_gazetteer(session)
    build_corpus(settings, items=CORPUS_ITEMS, pages_per_item=CORPUS_PAGES)
    with session_scope(settings.sqlalchemy_url) as session:
        counts = rebuild_index(session=session, engine=meili.ready_engine(settings))
    return sum(counts.values())


@dataclass
class Answer:
    """One public search: when it was sent and answered (perf_counter), and its HTTP status
    (None: no answer, e.g. a timeout)."""

    sent: float
    answered: float
    status: int | None

    @property
    def seconds(self) -> float:
        return self.answered - self.sent


class Searchers:
    """SEARCHERS threads, each a reader of its own (its connection, a browser's User-Agent)
    sending a public search every SEARCH_EVERY_S while in the ``with`` block: a steady pace
    (a late answer is not made up for with a burst), queries from bench/load.py's pool of what
    citizens ask, in turn (the answer cache is off in this bench: each is a Meilisearch search)."""

    def __init__(self, url: str, queries: Sequence[str]) -> None:
        self.url, self.queries = url, list(queries)
        self.answers: list[Answer] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._threads = [
            threading.Thread(target=self._search, args=(n,), name=f"bench-search-{n}", daemon=True)
            for n in range(SEARCHERS)
        ]

    def _search(self, n: int) -> None:
        from bench.load import USER_AGENT

        headers = {"User-Agent": USER_AGENT}
        with httpx.Client(base_url=self.url, headers=headers, timeout=SEARCH_TIMEOUT_S) as client:
            due = time.perf_counter() + n * SEARCH_EVERY_S / SEARCHERS  # spread over the beat
            turn = n
            while not self._done.wait(max(0.0, due - time.perf_counter())):
                q = self.queries[turn % len(self.queries)]
                turn += SEARCHERS
                sent = time.perf_counter()
                status: int | None
                try:
                    status = client.get("/api/v1/search", params={"q": q}).status_code
                except httpx.HTTPError:
                    status = None
                answered = time.perf_counter()
                with self._lock:
                    self.answers.append(Answer(sent, answered, status))
                due = max(due + SEARCH_EVERY_S, answered)

    def sent_between(self, start: float, end: float) -> list[Answer]:
        with self._lock:
            return [a for a in self.answers if start <= a.sent < end]

    def silent_seconds(self, start: float, end: float) -> int:
        """Whole seconds from ``start`` to ``end`` (at least one) in which no search was
        answered, whenever it was sent."""
        with self._lock:
            answered = {
                int(a.answered - start)
                for a in self.answers
                if a.status == 200 and a.answered >= start
            }
        return sum(second not in answered for second in range(max(1, int(end - start))))

    def __enter__(self) -> Searchers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        for thread in self._threads:
            thread.join(timeout=SEARCH_TIMEOUT_S + 5)


@dataclass
class BurstUpload:
    """One upload of the burst: its item, its file and what was stored (or why not)."""

    item_id: int
    material: Material
    sha256: str
    finished: float | None = None  # perf_counter, when it succeeded or failed
    seconds: float | None = None
    verified: bool = False
    error: str | None = None


def _burst_upload(
    url: str, token: str, upload: BurstUpload, start: threading.Barrier, deadline: float
) -> None:
    """A resumable upload of ``upload``'s file on a connection of its own, begun with the
    others; its figures (or its error) are written into ``upload``."""
    headers = {"Authorization": f"Bearer {token}"}
    what = f"concurrent upload to item {upload.item_id}"
    with httpx.Client(base_url=url, headers=headers, timeout=UPLOAD_TIMEOUT_S) as client:
        started = time.perf_counter()
        try:
            start.wait(timeout=30)
            started = time.perf_counter()
            upload_id, _ = _put_chunks(
                client, upload.item_id, upload.material, Sent(), deadline=deadline
            )
            response = client.post(
                f"/api/v1/uploads/{upload_id}/complete", json={"link_duplicate": True}
            )
            _check_upload(_json(response, 202, what), upload.material, upload.sha256, what)
        except Exception as exc:  # whatever stops it is this upload's result, reported
            upload.error = f"{type(exc).__name__}: {exc}"[:500]
            return
        finally:
            upload.finished = time.perf_counter()
        upload.seconds = upload.finished - started
        upload.verified = True


def _searched(answers: list[Answer], seconds: float) -> dict[str, Any]:
    """Count, errors and latency of searches sent during ``seconds``."""
    times = [a.seconds for a in answers if a.status == 200]
    statuses = sorted({str(a.status) for a in answers if a.status != 200})
    return {
        "seconds": _r(seconds, 1),
        "count": len(answers),
        "answered_per_s": _r(len(times) / seconds, 1) if seconds else None,
        "errors": len(answers) - len(times),
        "error_statuses": statuses,  # "None": no answer within SEARCH_TIMEOUT_S
        "p50_ms": _r(_pct(times, 50), 1),
        "p95_ms": _r(_pct(times, 95), 1),
        "p99_ms": _r(_pct(times, 99), 1),
        "max_ms": _r(1000 * max(times, default=float("nan")), 1),
    }


def concurrent(
    url: str, token: str, workdir: Path, *, uploads: int, size: int, baseline_s: float
) -> dict[str, Any]:
    """``uploads`` resumable uploads of ``size`` bytes started at once, each on an item of its
    own with a file of its own, while public searches go on at a steady pace (measured alone
    just before, in the same run)."""
    from bench.load import zipf_queries

    _log(f"concurrent: writing {uploads} files of {size // MB} MB")
    burst: list[BurstUpload] = []
    try:
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as staff:
            for n in range(1, uploads + 1):
                material = Material(workdir / f"tải cùng lúc {n:02d}.pdf", size)
                burst.append(BurstUpload(new_item(staff, 1000 + n), material, material.renew()))
        queries = zipf_queries(SEARCH_QUERIES, Random(SEARCH_SEED))
        with Searchers(url, queries) as searchers:
            _log(f"concurrent: searches alone for {baseline_s:g} s")
            alone_from = time.perf_counter()
            time.sleep(baseline_s)
            _settle()
            start = threading.Barrier(uploads + 1)
            deadline = time.perf_counter() + BURST_DEADLINE_S
            threads = [
                threading.Thread(
                    target=_burst_upload,
                    args=(url, token, upload, start, deadline),
                    name=f"bench-upload-{n}",
                    daemon=True,
                )
                for n, upload in enumerate(burst)
            ]
            _log(f"concurrent: {uploads} uploads of {size // MB} MB at once, and searches")
            with PeakRss() as rss:
                for thread in threads:
                    thread.start()
                start.wait(timeout=30)
                burst_from = time.perf_counter()
                for thread in threads:
                    thread.join(max(0.0, deadline + UPLOAD_TIMEOUT_S - time.perf_counter()))
            burst_to = time.perf_counter()
        alone = searchers.sent_between(alone_from, burst_from)
        during = searchers.sent_between(burst_from, burst_to)
    finally:
        for upload in burst:
            upload.material.path.unlink(missing_ok=True)
    for upload, thread in zip(burst, threads, strict=True):
        if thread.is_alive() and upload.error is None:
            upload.error = f"still running {BURST_DEADLINE_S + UPLOAD_TIMEOUT_S:g} s after start"
    done = [u for u in burst if u.verified]
    last = max((u.finished for u in done if u.finished is not None), default=burst_to)
    wall = last - burst_from
    silent = searchers.silent_seconds(burst_from, burst_to)
    during_report = _searched(during, burst_to - burst_from)
    _log(f"concurrent: {len(done)}/{uploads} uploads in {wall:.1f} s")
    return {
        "uploads": {
            "attempted": uploads,
            "completed": len(done),
            "verified": sum(u.verified for u in burst),
            "file_mb": size // MB,
            "wall_s": _r(wall, 2),
            "mb_per_s": _r(len(done) * size / MB / wall, 1) if wall > 0 else None,
            "each_s": sorted(_r(u.seconds, 2) for u in done if u.seconds is not None),
            "errors": [f"item {u.item_id}: {u.error}" for u in burst if u.error],
            "rss_growth_mb": _mb(rss.growth_kb),
        },
        "searches": {
            "before": _searched(alone, burst_from - alone_from),
            "during": during_report | {"seconds_without_an_answer": silent},
            "searchers": SEARCHERS,
            "each_every_s": SEARCH_EVERY_S,
        },
        "aims": {
            "all_complete": len(done) == uploads,
            "searches_kept_answering": during_report["errors"] == 0
            and silent == 0
            and bool(during),
        },
    }


# --- the benchmark ---------------------------------------------------------------------------


def run(argv: Sequence[str] = ()) -> dict[str, Any]:
    options = _options(argv)
    with embedded_services("upload") as (workdir, fields):
        chunk_mb = {} if options.chunk_mb is None else {"upload_chunk_mb": options.chunk_mb}
        settings = Settings(
            **fields,
            secret_key=secrets.token_urlsafe(32),
            max_upload_mb=max(2048, options.mb + 1, options.concurrent_mb + 1),
            # All the searches come from 127.0.0.1: the per-address limit is not what is measured.
            searches_per_minute=100_000,
            # Every search goes to Meilisearch while the uploads run (the queries come back
            # within the cache's 60 s): the searches measured are the costly kind.
            search_cache_entries=0,
            **chunk_mb,
        )
        with private_queue(settings):
            return _run(settings, workdir, options)


def _token(settings: Settings) -> str:
    from collection.accounts.service import create_api_token
    from collection.db import session_scope
    from collection.models import User

    user_id, _ = _setup_db(settings, 0)  # migrates, and a cataloguer
    with session_scope(settings.sqlalchemy_url) as session:
        user = session.get(User, user_id)
        assert user is not None
        token, _row = create_api_token(session=session, user=user, name="bench.upload")
    return token


def _side(samples: list[Sample], size: int) -> dict[str, Any]:
    median = statistics.median(s.seconds for s in samples)
    result: dict[str, Any] = {
        "median_s": _r(median),
        "mb_per_s": _r(size / MB / median, 1),
        "all_s": [_r(s.seconds) for s in samples],
    }
    for name in samples[0].parts:
        result[f"{name.removesuffix('_s')}_median_s"] = _r(
            statistics.median(s.parts[name] for s in samples)
        )
    result["peak_rss_growth_mb"] = _mb(max(s.rss_growth_kb for s in samples))
    result["rss_growth_mb_per_round"] = [_mb(s.rss_growth_kb) for s in samples]
    return result


def _run(settings: Settings, workdir: Path, options: argparse.Namespace) -> dict[str, Any]:
    from collection.ingest.sniff import sniff
    from collection.storage import store_for

    size, rounds = options.mb * MB, options.rounds
    store = store_for(settings)
    store.ensure_bucket()
    token = _token(settings)
    _log(f"a corpus of {CORPUS_ITEMS} items to search, indexed")
    documents = _searchable(settings)
    load_start = _r(os.getloadavg()[0], 2)
    _log(f"writing {size // MB} MB of material")
    material = Material(workdir / "bản đồ Thanh Hóa.pdf", size)
    chunk = settings.upload_chunk_mb * MB
    warm = Material(workdir / "khởi động.pdf", chunk + chunk // 2)
    for file in (material, warm):
        if sniff(file.path) != "application/pdf":
            raise RuntimeError(f"{file.path} is not sniffed as a PDF")
    samples: dict[str, list[Sample]] = {side: [] for side in SIDES}
    with (
        Disconnects().installed() as disconnects,
        S3Clock().installed() as clock,
        live_app(settings) as url,
        httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=600
        ) as client,
    ):
        _log("warm-up: one small upload each way")
        one_piece(client, clock, new_item(client, 0), warm)
        resumable(client, clock, new_item(client, 0), warm)
        for round_ in range(rounds):
            order = SIDES if round_ % 2 == 0 else SIDES[::-1]
            for side in order:
                item_id = new_item(client, round_ + 1)
                if side == "one_piece":
                    sample = one_piece(client, clock, item_id, material)
                else:
                    sample, _ = resumable(client, clock, item_id, material)
                samples[side].append(sample)
                _log(f"round {round_ + 1}/{rounds}: {side} {sample.seconds:.2f} s")
        _log("resumable upload with a dropped connection")
        resume_sample, story = resumable(
            client, clock, new_item(client, rounds + 1), material, drop=True
        )
        leftover = sum(1 for _ in store.list_keys("uploads/"))
        many_at_once = (
            concurrent(
                url,
                token,
                workdir,
                uploads=options.concurrent,
                size=options.concurrent_mb * MB,
                baseline_s=options.baseline_s,
            )
            if options.concurrent
            else None
        )
    ratios = [
        r.seconds / o.seconds
        for o, r in zip(samples["one_piece"], samples["resumable"], strict=True)
    ]
    one, res = _side(samples["one_piece"], size), _side(samples["resumable"], size)
    return {
        "cores": os.cpu_count() or 1,
        "loadavg_1min": {"start": load_start, "end": _r(os.getloadavg()[0], 2)},
        "file_mb": size // MB,
        "rounds": rounds,
        "chunk_mb": settings.upload_chunk_mb,
        "chunks": -(-size // chunk),
        "one_piece": one,
        "resumable": res,
        "ratio_resumable_vs_one_piece": _r(res["median_s"] / one["median_s"], 2),
        "ratio_per_round": [_r(r, 2) for r in ratios],
        "resume_after_drop": {
            **story,
            "file_bytes": size,
            "sent_over_file_size": _r(story["bytes_sent"] / size, 4),
            "resent_bytes": story["bytes_sent"] - size,
            "total_s": _r(resume_sample.seconds),
            "server_logged_client_disconnect_errors": disconnects.count,
        },
        "chunk_objects_left_in_s3": leftover,
        "concurrent": many_at_once,
        "notes": [
            "seconds: from the first request (POST …/files, or POST …/uploads) to the 202 "
            "answer; one_piece body_read: until httpx read the last piece of the file, "
            "after_body: the rest (the route's receive_file); resumable chunks: start + every "
            "PUT, complete: POST …/complete; s3_put / s3_get: of those seconds, the app's "
            "own S3 calls (ObjectStore.put_stream + put_bytes / open_stream and its body)",
            "rss growth: this process (the app in a uvicorn thread, and the client) sampled "
            f"every {SAMPLE_S * 1000:.0f} ms, peak minus the value just before the upload",
            "the client shares the process (and the GIL) and the 2 cores with the app, "
            "SeaweedFS and Meilisearch, for both sides alike",
            f"concurrent: {options.concurrent} resumable uploads, each a file and an item of "
            "its own, on a connection of its own, released together; wall_s from then to the "
            "last 202, mb_per_s = completed bytes / wall_s; verified: the SHA-256, size and "
            "type the app stored are those sent. Searches: "
            f"{SEARCHERS} public readers, each a search every {SEARCH_EVERY_S:g} s, over "
            f"{documents} indexed documents (bench/search.py's corpus, {CORPUS_ITEMS} items), "
            f"queries from bench/load.py's Zipf pool taken in turn (answer cache off: each "
            "search is Meilisearch's work); 'before' "
            f"the {options.baseline_s:g} s just before the burst, 'during' those sent while "
            "it ran; an error is any answer but 200 or none within "
            f"{SEARCH_TIMEOUT_S:g} s; searches_kept_answering: no error and no whole second "
            "of the burst without an answered search; rss_growth: peak during the burst "
            "minus just before (the uploading and searching clients are threads of this "
            "process too)",
        ],
    }


if __name__ == "__main__":
    json.dump(run(sys.argv[1:]), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
