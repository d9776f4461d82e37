"""One ingest job in a process of its own, started as `python -m bench._worker` by bench.ingest.

It stands in for `collection worker`: a fresh process per measured job, so its rusage figures are
that job's alone. Its main module imports what the real worker's main module (the `collection`
console script) imports, so the worker's size is the real one (the parsing sandbox's children no
longer import the main module again: see sandbox._main_left_alone).

Reads the job's keyword arguments (pickled) on stdin, writes the result (pickled) to stdout.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import resource
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import collection.cli  # noqa: F401 -- the real worker's main module imports this
from collection.config import Settings

SEARCH_TIMEOUT = 60.0


def _instrument() -> dict[str, Any]:
    """Time each pipeline stage, each sandbox call and each tesseract call (in this process)."""
    from collection.ingest import ocr, pipeline

    timings: dict[str, Any] = {
        "stages": {},
        "stages_cpu": {},
        "sandbox_s": [],
        "tesseract": [],
        "stage": "",
    }

    def cpu_s() -> float:
        """CPU seconds of this process and of its children that have ended (sandbox
        renderers, tesseract runs: all reaped within the stage that started them)."""
        own, ended = (
            resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
        )
        return own.ru_utime + own.ru_stime + ended.ru_utime + ended.ru_stime

    def timed_stage(name: str, func: Callable[[Any], None]) -> Callable[[Any], None]:
        def wrapper(ctx: Any) -> None:
            timings["stage"] = name
            started, cpu = time.perf_counter(), cpu_s()
            try:
                func(ctx)
            finally:
                timings["stages"][name] = time.perf_counter() - started
                timings["stages_cpu"][name] = cpu_s() - cpu

        return wrapper

    for name, func in list(pipeline.STAGE_FUNCTIONS.items()):
        pipeline.STAGE_FUNCTIONS[name] = timed_stage(name, func)

    sandboxed = pipeline.JobContext.sandboxed

    def timed_sandboxed(self: Any, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return sandboxed(self, func, *args, **kwargs)
        finally:
            timings["sandbox_s"].append((timings["stage"], time.perf_counter() - started))

    recognise = ocr.recognise_many

    def timed_recognise(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return recognise(*args, **kwargs)
        finally:
            timings["tesseract"].append((started, time.perf_counter()))

    # Measuring hooks only: the pipeline looks these up at call time.
    setattr(pipeline.JobContext, "sandboxed", timed_sandboxed)  # noqa: B010
    setattr(ocr, "recognise_many", timed_recognise)  # noqa: B010
    return timings


def _status_kb(pid: int | str, field: str) -> int:
    """A "VmXxx:" figure of /proc/PID/status in KiB (0 if the process is gone or a zombie)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _pss_kb(pid: int | str) -> int:
    """Proportional set size in KiB (shared pages split among their sharers); 0 if gone."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text(encoding="ascii").splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _descendants(pid: int, parents: dict[int, int]) -> list[int]:
    """Every process below ``pid``, from the parent ids in /proc/*/stat (``parents`` caches
    them between calls: a process keeps its parent while that parent lives)."""
    alive = {int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit()}
    for gone in parents.keys() - alive:
        del parents[gone]
    for new in alive - parents.keys():
        try:
            stat = Path(f"/proc/{new}/stat").read_text(encoding="ascii", errors="replace")
            parents[new] = int(stat.rpartition(")")[2].split()[1])  # the name may hold spaces
        except (OSError, ValueError, IndexError):
            continue
    children: dict[int, list[int]] = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        below = children.get(todo.pop(), [])
        found += below
        todo += below
    return found


class TreeMemory(threading.Thread):
    """Samples this process's descendants: the largest peak RSS (VmHWM) of any one of them, and
    the largest sum over this process and all of them at one moment, of RSS and of PSS (the
    memory the tree really holds: forked children share their parent's pages until they write).

    Needed because ru_maxrss lies here: Linux carries the parent's high-water mark across
    fork + exec, so every child we start "peaks" at least at our own size (and this process at
    least at the size of the bench process that started it)."""

    def __init__(self, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.largest_child_kb = 0
        self.largest_child = ""
        self.tree_kb = 0
        # PSS: each shared page counted once over the tree (RSS counts the pages a forked
        # child shares with its parent in both).
        self.tree_pss_kb = 0
        self.tree_pss_at_peak: dict[str, float] = {}
        self._done = threading.Event()
        self._parents: dict[int, int] = {}

    def sample(self) -> None:
        total = _status_kb("self", "VmRSS")
        pss = {"worker": _pss_kb("self")}
        for pid in _descendants(os.getpid(), self._parents):
            peak = _status_kb(pid, "VmHWM")
            name = ""
            with contextlib.suppress(OSError):
                name = Path(f"/proc/{pid}/comm").read_text().strip()
            if peak > self.largest_child_kb:
                self.largest_child_kb, self.largest_child = peak, name
            total += _status_kb(pid, "VmRSS")
            pss[f"{name}:{pid}"] = _pss_kb(pid)
        self.tree_kb = max(self.tree_kb, total)
        if sum(pss.values()) > self.tree_pss_kb:
            self.tree_pss_kb = sum(pss.values())
            self.tree_pss_at_peak = {k: _mb(v) for k, v in pss.items() if v}

    def run(self) -> None:
        while not self._done.wait(self.interval):
            self.sample()

    def finish(self) -> None:
        self._done.set()
        self.join()


class FirstHit(threading.Thread):
    """Searches every 50 ms (with the search key's view of the index) until the page is found."""

    def __init__(
        self, engine: Any, word: str, item_id: int, page: int | None, started: float
    ) -> None:
        super().__init__(daemon=True)
        self.engine, self.word, self.item_id, self.page = engine, word, item_id, page
        self.started = started
        self.found_at: float | None = None

    def run(self) -> None:
        while time.perf_counter() - self.started < SEARCH_TIMEOUT:
            hits = self.engine.raw_search(
                "pages", self.word, matchingStrategy="all", filter=f"item_id = {self.item_id}"
            )
            if any(h.get("number") == self.page for h in hits):
                self.found_at = time.perf_counter()
                return
            time.sleep(0.05)


def _mb(kb: int) -> float:
    return round(kb / 1024, 1)


def ingest_job(
    *,
    settings_fields: dict[str, Any],
    user_id: int,
    item_id: int,
    path: str,
    search_word: str | None = None,
    search_page: int | None = None,
    sample_memory: bool = True,
) -> dict[str, Any]:
    """What a warm worker does with one upload; runs in a fresh process (see bench.ingest.in_worker).

    ``sample_memory=False`` for jobs timed against a baseline: the sampler reads /proc for the
    whole tree ten times a second, CPU the baseline does not spend."""
    from sqlalchemy import select

    from collection.db import session_scope
    from collection.ingest import ocr, sandbox
    from collection.ingest.pipeline import run_job
    from collection.ingest.service import receive_file
    from collection.models import IngestJob, Page, TextSource, User
    from collection.search import meili
    from collection.storage import store_for

    settings = Settings(**settings_fields)
    timings = _instrument()
    # Warm, as `collection worker` is once started: search keys and indexes, OCR languages, S3,
    # the parsing sandbox's fork server.
    engine = meili.ready_engine(settings)
    engine.wait_for_idle()
    ocr.installed_languages()
    sandbox.warm()
    store = store_for(settings)
    before_kb = _status_kb("self", "VmHWM")
    memory = TreeMemory()
    if sample_memory:
        memory.start()

    started = time.perf_counter()
    searcher = None
    if search_word is not None:
        # Searched while the job runs: the item is findable after its index stage, long
        # before its page images and tiles are made.
        searcher = FirstHit(engine, search_word, item_id, search_page, started)
        searcher.start()
    with session_scope(settings.sqlalchemy_url) as session, Path(path).open("rb") as stream:
        actor = session.get(User, user_id)
        assert actor is not None
        upload = receive_file(
            session=session,
            actor=actor,
            settings=settings,
            store=store,
            item_id=item_id,
            filename=Path(path).name,
            stream=stream,
            enqueue=False,
        )
    received = time.perf_counter()
    try:
        state = run_job(upload.job_id, settings=settings)
    finally:
        if sample_memory:
            memory.finish()
    finished = time.perf_counter()
    result: dict[str, Any] = {
        "state": str(state),
        "receive_s": received - started,
        "job_s": finished - received,
        "stages_s": dict(timings["stages"]),
        "stages_cpu_s": dict(timings["stages_cpu"]),
        "sandbox_calls_s": list(timings["sandbox_s"]),
    }
    if timings["tesseract"]:
        spans: list[tuple[float, float]] = timings["tesseract"]
        result["tesseract_calls"] = len(spans)
        result["tesseract_sum_s"] = sum(end - begin for begin, end in spans)
        result["tesseract_span_s"] = max(e for _, e in spans) - min(b for b, _ in spans)
    if searcher is not None:
        searcher.join(SEARCH_TIMEOUT)
        if searcher.found_at is None:
            raise RuntimeError(f"page {search_page} not found by {search_word!r}")
        result["searchable_s"] = searcher.found_at - started
        result["index_wait_s"] = searcher.found_at - finished  # negative: before the job ended
    result["memory_mb"] = (
        None
        if not sample_memory
        else {
            "worker_before_job": _mb(before_kb),
            "worker_peak": _mb(_status_kb("self", "VmHWM")),
            "largest_child_peak": _mb(memory.largest_child_kb),
            "largest_child": memory.largest_child,
            "tree_peak_sum": _mb(memory.tree_kb),
            "tree_peak_pss": _mb(memory.tree_pss_kb),
            "tree_pss_at_peak": memory.tree_pss_at_peak,
            # For comparison only (see TreeMemory): what getrusage says.
            "ru_maxrss_self": _mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss),
            "ru_maxrss_children": _mb(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss),
        }
    )
    with session_scope(settings.sqlalchemy_url) as session:
        job = session.get(IngestJob, upload.job_id)
        assert job is not None
        result["error"] = job.error
        pages = list(
            session.scalars(select(Page).where(Page.item_id == item_id).order_by(Page.number))
        )
        result["pages"] = len(pages)
        result["ocr_pages"] = sum(p.text_source == TextSource.OCR for p in pages)
        result["images"] = sum(p.image_key is not None for p in pages)
        result["texts"] = [p.text for p in pages]
    return result


def main() -> None:
    kwargs = pickle.loads(sys.stdin.buffer.read())  # noqa: S301 -- from our own parent process
    result = ingest_job(**kwargs)
    sys.stdout.buffer.write(pickle.dumps(result))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
