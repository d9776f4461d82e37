"""The ingest pipeline: small idempotent stages, each recorded on the job when it finishes, so a
job picked up again (after a crash, a retry or a re-run) resumes at the first stage not done.

extract (text layer per page) → ocr (pages without usable text) → normalise (NFC) → index
(Meilisearch, after the DB commit) → images (page images and thumbnails) → pdf (a searchable PDF
of scanned input). Indexing comes before the images so an upload is findable seconds sooner.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
import unicodedata
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session, sessionmaker

from collection.config import Settings
from collection.db import session_factory, unit_of_work, utcnow
from collection.errors import CollectionError, ServiceUnavailable
from collection.ingest import documents, ocr
from collection.ingest.sandbox import run_limited
from collection.ingest.service import STAGES, file_sha256, tmp_dir
from collection.models import IngestJob, JobState, Page, StoredFile, TextSource
from collection.preservation.hygiene import delete_after_commit
from collection.search.sync import sync_item
from collection.storage import ObjectStore, store_for
from collection.text import legacy

log = logging.getLogger(__name__)
# Pages rendered for OCR per sandbox call (a page is 4-17 MB of temp disk, uncompressed), and
# so ~12 pages a Tesseract run on two cores: its start-up spread thin.
RENDER_BATCH = 24
# Page images per sandbox call (~150 KB of temp disk a page): small enough that a batch's S3
# puts overlap the drawing of the next (a call costs ~20 ms).
IMAGE_BATCH = 16
PARALLEL_SAVES = 8  # S3 puts in flight while a batch's pages are stored
TILE_BATCH = 8  # ~10-20 tiles and ~2 MB of temp disk a page
DEEP_ZOOM_DETAIL = 1.25


@dataclass
class JobContext:
    settings: Settings
    store: ObjectStore
    sessions: sessionmaker[Session]
    job_id: int
    workdir: Path
    _original: Path | None = field(default=None)

    def session(self) -> Any:
        return unit_of_work(self.sessions)

    def job(self, session: Session) -> IngestJob:
        job = session.get(IngestJob, self.job_id)
        assert job is not None
        return job

    def original(self) -> tuple[Path, StoredFile]:
        """The original file, fetched from S3 once per run (streamed to a temp file)."""
        with self.session() as session:
            job = self.job(session)
            stored = session.get(StoredFile, job.file_id)
            if stored is None:
                raise CollectionError(
                    "Tệp gốc của công việc này đã bị xóa.", message_en="the job's file is gone"
                )
            session.expunge(stored)
        if self._original is None:
            target = self.workdir / "original"
            with target.open("wb") as out:
                for chunk in self.store.open_stream(stored.storage_key):
                    out.write(chunk)
            self._original = target
        return self._original, stored

    def progress(self, done: int, total: int | None = None) -> None:
        """Record progress and renew the lease: a job heard from is not given to another worker."""
        with self.session() as session:
            job = self.job(session)
            job.progress_done = done
            if total is not None:
                job.progress_total = total
            job.lease_expires_at = utcnow() + timedelta(seconds=self.settings.job_lease_seconds)

    def sandboxed(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return run_limited(
            func,
            *args,
            timeout=self.settings.parse_timeout,
            memory_mb=self.settings.parse_memory_mb,
            **kwargs,
        )


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_job(job_id: int, *, settings: Settings, worker: str | None = None) -> JobState | None:
    """Run (or resume) one ingest job. ServiceUnavailable propagates so the queue retries later;
    any other error fails the job with a message staff can read. Returns the final state, or None
    if another worker holds the job or its pages were fanned out to other workers."""
    worker = worker or worker_name()
    sessions = session_factory(settings.sqlalchemy_url)
    if not _claim(sessions, job_id, worker, settings.job_lease_seconds):
        return None
    workdir = Path(tempfile.mkdtemp(prefix=f"job-{job_id}-", dir=tmp_dir(settings)))
    ctx = JobContext(settings, store_for(settings), sessions, job_id, workdir)
    try:
        for stage in STAGES:
            with ctx.session() as session:
                job = ctx.job(session)
                if stage in job.stages_done:
                    continue
                job.stage = stage
                job.progress_done = job.progress_total = 0
            STAGE_FUNCTIONS[stage](ctx)
            with ctx.session() as session:
                job = ctx.job(session)
                job.stages_done = [*job.stages_done, stage]
        with ctx.session() as session:
            job = ctx.job(session)
            job.state, job.finished_at, job.error = JobState.DONE, utcnow(), None
            job.lease_owner = job.lease_expires_at = None
        return JobState.DONE
    except JobWaiting:
        return None
    except ServiceUnavailable as exc:
        with ctx.session() as session:
            job = ctx.job(session)
            job.state = JobState.QUEUED
            job.lease_owner = job.lease_expires_at = None
            job.error = f"Đang chờ dịch vụ, sẽ tự thử lại: {exc.message}"
        raise
    except CollectionError as exc:
        return _fail(ctx, exc.message)
    except Exception as exc:  # a bug must fail this job, not the worker
        log.exception("ingest job %s failed", job_id)
        return _fail(ctx, f"Lỗi không mong đợi khi xử lý ({type(exc).__name__}: {exc}).")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _claim(sessions: sessionmaker[Session], job_id: int, worker: str, lease_seconds: int) -> bool:
    """Take the job for this worker, or say no if a live worker holds it.

    A compare-and-set: the UPDATE only applies if the job is still as we read it, so two workers
    racing for the same job (two chunks finishing together, a requeue) never both get it, on
    SQLite as on PostgreSQL."""
    with unit_of_work(sessions) as session:
        job = session.get(IngestJob, job_id)
        if job is None or job.state in (JobState.DONE, JobState.FAILED):
            return False
        now = utcnow()
        leased = job.lease_expires_at is not None and job.lease_expires_at > now
        if (
            job.state == JobState.RUNNING
            and leased
            and job.lease_owner not in (worker, FANOUT_OWNER)
            and not owner_is_dead(job.lease_owner)
        ):
            return False
        seen_owner, seen_state, seen_attempts = job.lease_owner, job.state, job.attempts
        session.expunge(job)
        claimed = cast(
            "CursorResult[Any]",
            session.execute(
                update(IngestJob)
                .where(
                    IngestJob.id == job_id,
                    IngestJob.state == seen_state,
                    IngestJob.attempts == seen_attempts,
                    IngestJob.lease_owner.is_(None)
                    if seen_owner is None
                    else IngestJob.lease_owner == seen_owner,
                )
                .values(
                    state=JobState.RUNNING,
                    lease_owner=worker,
                    lease_expires_at=now + timedelta(seconds=lease_seconds),
                    attempts=seen_attempts + 1,
                    started_at=func.coalesce(IngestJob.started_at, now),
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            ),
        )
        return bool(claimed.rowcount == 1)


def owner_is_dead(owner: str | None) -> bool:
    """Whether the worker process named ``owner`` ran on this machine and is gone."""
    owner_host, _, pid = (owner or "").rpartition(":")
    if owner_host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _fail(ctx: JobContext, message: str) -> JobState:
    with ctx.session() as session:
        job = ctx.job(session)
        job.state, job.error, job.finished_at = JobState.FAILED, message, utcnow()
        job.lease_owner = job.lease_expires_at = None
    return JobState.FAILED


# --- stages ----------------------------------------------------------------------------------


def _usable(text: str) -> bool:
    return sum(ch.isalpha() for ch in text) >= documents.USABLE_TEXT_CHARS


def extract(ctx: JobContext) -> None:
    """One page row per page of the file, with the text layer where it is usable."""
    path, stored = ctx.original()
    pages = ctx.sandboxed(documents.inspect, str(path), stored.media_type, ctx.settings.max_pages)
    with ctx.session() as session:
        file = session.get(StoredFile, stored.id)
        assert file is not None
        file.page_count = len(pages)
        offset = _page_offset(session, file)
        existing = {
            page.number: page
            for page in session.scalars(select(Page).where(Page.item_id == file.item_id))
        }
        for index, info in enumerate(pages, start=1):
            number = offset + index
            page = existing.get(number) or Page(item_id=file.item_id, number=number)
            page.file_id = file.id
            page.width, page.height = round(info["width"]), round(info["height"])
            text = unicodedata.normalize("NFC", info["text"])
            if _usable(text):
                page.text, page.text_source = text, TextSource.EMBEDDED
            elif page.text_source != TextSource.OCR:  # keep OCR text from an earlier run
                page.text, page.text_source = "", TextSource.NONE
            session.add(page)
        # A run that finds fewer pages than the last one (another page limit, a parser that
        # reads the file better) drops the file's pages past the end, and their objects.
        stale = [
            page
            for number, page in existing.items()
            if page.file_id == file.id and number > offset + len(pages)
        ]
        keys, prefixes = [], []
        for page in stale:
            keys += [k for k in (page.image_key, page.thumbnail_key) if k]
            keys.append(ocr_pdf_key(page.item_id, page.number))
            if page.tiles_prefix:
                prefixes.append(page.tiles_prefix)
            session.delete(page)
        delete_after_commit(session, ctx.store, keys, prefixes)


def _page_offset(session: Session, file: StoredFile) -> int:
    """Pages are numbered across an item's files in upload order."""
    first = session.scalar(
        select(func.min(Page.number)).where(Page.item_id == file.item_id, Page.file_id == file.id)
    )
    if first is not None:
        return int(first) - 1
    last = session.scalar(
        select(func.max(Page.number)).where(Page.item_id == file.item_id, Page.file_id != file.id)
    )
    return int(last or 0)


def _file_pages(session: Session, file_id: int) -> list[Page]:
    return list(session.scalars(select(Page).where(Page.file_id == file_id).order_by(Page.number)))


class JobWaiting(Exception):
    """The job's pages are being OCRed by other workers; the last one to finish resumes it."""


FANOUT_OWNER = "fan-out"


def _ocr_plan(ctx: JobContext) -> tuple[str, list[int], list[int], int]:
    """(languages, pages needing OCR, those not yet OCRed by this job, page-number offset)."""
    _, stored = ctx.original()
    with ctx.session() as session:
        job = ctx.job(session)
        languages = job.options.get("ocr_languages") or ctx.settings.ocr_languages
        pages = _file_pages(session, stored.id)
        offset = pages[0].number - 1 if pages else 0
        chosen = set(job.options.get("pages") or ())
        todo = [
            p
            for p in pages
            if p.corrected_text is None
            # Chosen pages are OCRed even if they had a text layer (a bad one, say).
            and (p.number in chosen if chosen else p.text_source != TextSource.EMBEDDED)
        ]
        remaining = [p.number for p in todo if p.ocr_job_id != job.id]
        return languages, [p.number for p in todo], remaining, offset


def run_ocr(ctx: JobContext) -> None:
    """OCR every page without a usable text layer (staff corrections are never overwritten).

    Long files fan out: chunks of pages go on the queue for every worker, and the worker that
    OCRs the last page puts the job back on the queue to finish."""
    languages, todo, remaining, offset = _ocr_plan(ctx)
    ocr.check_languages(languages)
    ctx.progress(len(todo) - len(remaining), len(todo))
    chunk = ctx.settings.ocr_chunk_pages
    if chunk and len(remaining) > chunk:
        with ctx.session() as session:
            job = ctx.job(session)
            # Chunk tasks renew this lease as they go; if they all die, it expires and the job
            # is picked up again and fans out what is left.
            job.lease_owner = FANOUT_OWNER
            job.lease_expires_at = utcnow() + timedelta(seconds=ctx.settings.job_lease_seconds)
        from collection.ingest.tasks import ocr_chunk_task

        for start in range(0, len(remaining), chunk):
            ocr_chunk_task(ctx.job_id, remaining[start : start + chunk])
        raise JobWaiting
    ocr_pages(ctx, remaining, languages=languages, offset=offset)


def ocr_pages(ctx: JobContext, numbers: list[int], *, languages: str, offset: int) -> None:
    """Render and OCR these pages, one tesseract per core, recording each page as it is done.

    Rendering the next batch (in the sandbox) overlaps OCR of this one, and the first batch is
    one page per core, growing after, so no core waits for a whole batch to be rendered. Each
    core reads its share of a batch in one Tesseract run (its start-up paid once for ~12 pages)."""
    if not numbers:
        return
    path, stored = ctx.original()
    processes = ctx.settings.ocr_processes or os.cpu_count() or 1
    batches = _growing_batches(numbers, processes)

    def render(batch: list[int]) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = ctx.sandboxed(
            documents.render_for_ocr,
            str(path),
            stored.media_type,
            [n - offset for n in batch],
            str(ctx.workdir / f"ocr-{batch[0]}"),
            dpi=ctx.settings.ocr_dpi,
        )
        return result

    def store(futures: dict[Future[list[ocr.PageText]], list[int]], folder: Path) -> None:
        for future in as_completed(futures):
            for number, result in zip(futures[future], future.result(), strict=True):
                ctx.store.put_bytes(
                    ocr_pdf_key(stored.item_id, number),
                    result.pdf.read_bytes(),
                    media_type="application/pdf",
                )
                _record_ocr(ctx, stored.item_id, number, result.text, result.confidence)
        shutil.rmtree(folder, ignore_errors=True)

    # Two batches in flight: while the cores read one, the next is queued behind it, so a core
    # that finishes its share early starts on the next batch instead of waiting.
    with ThreadPoolExecutor(max_workers=1) as renderer, ThreadPoolExecutor(processes) as pool:
        upcoming = renderer.submit(render, batches[0])
        previous: tuple[dict[Future[list[ocr.PageText]], list[int]], Path] | None = None
        for index in range(len(batches)):
            rendered = upcoming.result()
            if index + 1 < len(batches):
                upcoming = renderer.submit(render, batches[index + 1])
            futures = {
                pool.submit(
                    ocr.recognise_many,
                    [Path(r["ocr"]) for r in group],
                    languages=languages,
                    dpi=group[0]["dpi"],
                ): [r["number"] + offset for r in group]
                for group in _share(rendered, processes)
            }
            if previous is not None:
                store(*previous)
            previous = futures, ctx.workdir / f"ocr-{batches[index][0]}"
        if previous is not None:
            store(*previous)


def _growing_batches(numbers: list[int], first: int) -> list[list[int]]:
    """Batches of ``first``, then twice as many each time up to RENDER_BATCH: rendering a batch
    takes a fifth of the time OCR of the one before does, so the cores never wait for pages."""
    batches, start, size = [], 0, max(first, 1)
    while start < len(numbers):
        batches.append(numbers[start : start + size])
        start += size
        size = min(size * 2, RENDER_BATCH)
    return batches


def _share(rendered: list[dict[str, Any]], processes: int) -> list[list[dict[str, Any]]]:
    """Rendered pages dealt into at most ``processes`` runs of Tesseract, pages of one dpi to a
    run (its --dpi is for all of them), in page order within each."""
    by_dpi: dict[int | None, list[dict[str, Any]]] = {}
    for page in rendered:
        by_dpi.setdefault(page["dpi"], []).append(page)
    groups: list[list[dict[str, Any]]] = []
    for pages in by_dpi.values():
        size = -(-len(pages) // processes)  # ceiling
        groups += [pages[i : i + size] for i in range(0, len(pages), size)]
    return groups


def _record_ocr(
    ctx: JobContext, item_id: int, number: int, text: str, confidence: float | None
) -> None:
    """Store one page's OCR text. Each page row is written by one chunk only, and progress is
    counted from the rows, so workers OCRing the same job never overwrite each other."""
    with ctx.session() as session:
        page = session.scalar(select(Page).where(Page.item_id == item_id, Page.number == number))
        assert page is not None
        page.text = unicodedata.normalize("NFC", text)
        page.text_source = TextSource.OCR
        page.ocr_confidence = confidence
        page.ocr_job_id = ctx.job_id
        session.flush()
        job = ctx.job(session)
        job.progress_done = int(
            session.scalar(
                select(func.count()).select_from(Page).where(Page.ocr_job_id == ctx.job_id)
            )
            or 0
        )
        job.lease_expires_at = utcnow() + timedelta(seconds=ctx.settings.job_lease_seconds)


def run_ocr_chunk(job_id: int, numbers: list[int], *, settings: Settings) -> bool:
    """OCR one chunk of a fanned-out job; returns True when this chunk finished the job's OCR
    (the caller then queues the job to go on)."""
    sessions = session_factory(settings.sqlalchemy_url)
    with unit_of_work(sessions) as session:
        job = session.get(IngestJob, job_id)
        if job is None or job.state != JobState.RUNNING or job.stage != "ocr":
            return False  # cancelled, failed, or already past OCR
    workdir = Path(tempfile.mkdtemp(prefix=f"job-{job_id}-chunk-", dir=tmp_dir(settings)))
    ctx = JobContext(settings, store_for(settings), sessions, job_id, workdir)
    try:
        languages, _, remaining, offset = _ocr_plan(ctx)
        left = set(remaining)
        ocr_pages(ctx, [n for n in numbers if n in left], languages=languages, offset=offset)
        return not _ocr_plan(ctx)[2]
    except CollectionError as exc:
        if isinstance(exc, ServiceUnavailable):
            raise
        _fail(ctx, exc.message)
        return False
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _derive_pages(
    ctx: JobContext,
    *,
    folder: str,
    batch_size: int,
    render: Callable[..., list[dict[str, Any]]],
    save: Callable[[int, int, dict[str, Any]], dict[str, Any]],
    parallel: int = 1,
    only: set[int] | None = None,
    **render_kwargs: Any,
) -> None:
    """Render the file's pages (or ``only`` those) in sandboxed batches into
    ``workdir/folder-<n>``, up to ``parallel`` batches at once, store what each page made
    (``save(item_id, number, result)`` puts it in S3, several pages at a time, and returns the
    Page columns to set), and record those columns batch by batch, with progress."""
    path, stored = ctx.original()
    with ctx.session() as session:
        pages = _file_pages(session, stored.id)
    offset = pages[0].number - 1 if pages else 0
    numbers = [p.number for p in pages if only is None or p.number in only]
    ctx.progress(0, len(numbers))
    size = max(1, min(batch_size, -(-len(numbers) // max(parallel, 1))))
    batches = [numbers[i : i + size] for i in range(0, len(numbers), size)]

    def made(index: int) -> dict[int, dict[str, Any]]:
        out = ctx.workdir / f"{folder}-{index}"
        try:
            results = ctx.sandboxed(
                render,
                str(path),
                stored.media_type,
                [n - offset for n in batches[index]],
                str(out),
                **render_kwargs,
            )
            # Each object stored is a round trip to S3: several in flight.
            with ThreadPoolExecutor(PARALLEL_SAVES) as savers:
                return dict(
                    savers.map(
                        lambda r: (
                            r["number"] + offset,
                            save(stored.item_id, r["number"] + offset, r),
                        ),
                        results,
                    )
                )
        finally:
            shutil.rmtree(out, ignore_errors=True)

    done = 0
    with ThreadPoolExecutor(max(1, min(parallel, len(batches)))) as pool:
        for future in as_completed([pool.submit(made, i) for i in range(len(batches))]):
            columns = future.result()
            with ctx.session() as session:
                for page in session.scalars(
                    select(Page).where(Page.item_id == stored.item_id, Page.number.in_(columns))
                ):
                    for name, value in columns[page.number].items():
                        setattr(page, name, value)
            done += len(columns)
            ctx.progress(done)


def make_images(ctx: JobContext) -> None:
    """A page image (long side ~1600 px) and a thumbnail (~300 px) per page, in S3; the pages
    that want deep zoom tiles are noted on the job for the tiles stage."""
    deep: list[int] = []

    def save(item_id: int, number: int, result: dict[str, Any]) -> dict[str, Any]:
        base = f"pages/{item_id}/{number:05d}"
        for key, file in ((f"{base}.jpg", "image"), (f"{base}-thumb.jpg", "thumb")):
            ctx.store.put_bytes(key, Path(result[file]).read_bytes(), media_type="image/jpeg")
        if result["deep"]:
            deep.append(number)
        return {
            "image_key": f"{base}.jpg",
            "thumbnail_key": f"{base}-thumb.jpg",
            "width": result["width"],
            "height": result["height"],
        }

    _derive_pages(
        ctx,
        folder="images",
        batch_size=IMAGE_BATCH,
        render=documents.render,
        save=save,
        parallel=_image_renderers(ctx),
        long_side=ctx.settings.page_image_px,
        thumb_side=ctx.settings.thumbnail_px,
        deep_from=_deep_from(ctx),
    )
    with ctx.session() as session:
        job = ctx.job(session)
        job.options = {**job.options, DEEP_ZOOM_PAGES: sorted(deep)}


DEEP_ZOOM_PAGES = "deep_zoom_pages"  # job option: pages the tiles stage cuts


def _deep_from(ctx: JobContext) -> int:
    """Deep zoom where the page has clearly more detail than its page image."""
    return round(ctx.settings.page_image_px * DEEP_ZOOM_DETAIL)


def _image_renderers(ctx: JobContext) -> int:
    """Two renderers for a born-digital file: its vector pages are light to draw, and come
    twice as fast. One for scans: decoding a scan takes far more memory than drawing a page,
    and the worker's whole process tree is kept under 400 MB."""
    _, stored = ctx.original()
    with ctx.session() as session:
        scanned = session.scalar(
            select(func.count())
            .select_from(Page)
            .where(Page.file_id == stored.id, Page.text_source != TextSource.EMBEDDED)
        )
    return 1 if scanned else min(2, ctx.settings.ocr_processes or os.cpu_count() or 1)


def tiles_prefix(item_id: int, number: int) -> str:
    return f"tiles/{item_id}/{number:05d}/"


def make_tiles(ctx: JobContext) -> None:
    """Static IIIF level-0 zoom tiles, in S3 under ``tiles/<item>/<page>/``, for the pages that
    have more to show than their page image: scans above 1.25 × its size, vector pages larger
    than A4 (as the images stage found them: other pages are not opened again). Last, as the
    item is readable without them."""
    _, stored = ctx.original()
    with ctx.session() as session:
        wanted = ctx.job(session).options.get(DEEP_ZOOM_PAGES)
        only = None if wanted is None else set(wanted)  # a job from before: look at every page
        # Tiles of an earlier run for pages that no longer want them go once the page says so.
        unwanted = []
        for page in _file_pages(session, stored.id):
            if only is not None and page.number not in only:
                if page.tiles_prefix:
                    unwanted.append(page.tiles_prefix)
                page.tiles_prefix = None  # its page image shows all it has
        delete_after_commit(session, ctx.store, [], unwanted)
    untiled: list[str] = []

    def save(item_id: int, number: int, result: dict[str, Any]) -> dict[str, Any]:
        prefix = tiles_prefix(item_id, number)
        if result["dir"] is None:
            untiled.append(prefix)
            return {"tiles_prefix": None}
        folder = Path(result["dir"])
        written = {prefix + str(p.relative_to(folder)): p for p in folder.rglob("*.jpg")}
        ctx.store.put_files(written.items(), media_type="image/jpeg")
        # info.json last: a page's tiles are announced only once they are all there.
        ctx.store.put_bytes(
            prefix + "info.json", (folder / "info.json").read_bytes(), media_type="application/json"
        )
        # Tiles of an earlier run that this one did not make (other sizes, fewer levels): the
        # new info.json no longer names them.
        written[prefix + "info.json"] = folder
        ctx.store.delete_many(k for k in ctx.store.list_keys(prefix) if k not in written)
        return {"tiles_prefix": prefix}

    _derive_pages(
        ctx,
        folder="tiles",
        batch_size=TILE_BATCH,
        render=documents.render_tiles,
        save=save,
        only=only,
        # Two at a time: one batch is cut while the last one's tiles go to S3 (a third of the
        # stage's time when done in turn). No Tesseract runs now, so two cutters fit in memory.
        parallel=min(2, ctx.settings.ocr_processes or os.cpu_count() or 1),
        long_side=ctx.settings.tile_source_px,
        deep_from=_deep_from(ctx),
    )
    if untiled:  # pages recorded without tiles by now: an earlier run's tiles go
        for prefix in untiled:
            ctx.store.delete_prefix(prefix)


def ocr_pdf_key(item_id: int, number: int) -> str:
    return f"pages/{item_id}/{number:05d}-ocr.pdf"


def searchable_pdf(ctx: JobContext) -> None:
    """For a file with OCRed pages: one PDF with a text layer on every page, for download.

    OCRed pages come from Tesseract's one-page PDFs (kept in S3, so a resumed job need not OCR
    again); pages that had a text layer are taken from the original as they are."""
    path, stored = ctx.original()
    with ctx.session() as session:
        pages = [(p.number, p.text_source) for p in _file_pages(session, stored.id)]
    ocred = [n for n, source in pages if source == TextSource.OCR]
    key = f"derived/{stored.item_id}/{stored.id}/searchable.pdf"
    if not ocred:
        # Born-digital: the original is already searchable (and a PDF from an earlier run,
        # when pages were OCRed, goes).
        with ctx.session() as session:
            for old in session.scalars(
                select(StoredFile).where(
                    StoredFile.item_id == stored.item_id,
                    StoredFile.role == "searchable_pdf",
                    StoredFile.storage_key == key,
                )
            ):
                session.delete(old)
                delete_after_commit(session, ctx.store, [key], [])
        return
    parts = ctx.workdir / "pdf"
    parts.mkdir(exist_ok=True)
    plan: list[tuple[str, int]] = []
    offset = pages[0][0] - 1
    for number, source in pages:
        if source == TextSource.OCR:
            part = parts / f"{number}.pdf"
            with part.open("wb") as out:
                for chunk in ctx.store.open_stream(ocr_pdf_key(stored.item_id, number)):
                    out.write(chunk)
            plan.append((str(part), 0))
        elif stored.media_type == "application/pdf":
            plan.append((str(path), number - offset - 1))
        else:
            plan.append(("", number - offset - 1))  # an image page OCR found no text on
    target = ctx.workdir / "searchable.pdf"
    ctx.sandboxed(documents.assemble_pdf, plan, str(target))
    with target.open("rb") as pdf:
        ctx.store.put_stream(key, pdf, media_type="application/pdf")
    with ctx.session() as session:
        derived = session.scalar(
            select(StoredFile).where(
                StoredFile.item_id == stored.item_id,
                StoredFile.role == "searchable_pdf",
                StoredFile.storage_key == key,
            )
        )
        if derived is None:
            derived = StoredFile(item_id=stored.item_id, role="searchable_pdf", storage_key=key)
            session.add(derived)
        derived.original_name = Path(stored.original_name).stem + " (tìm kiếm được).pdf"
        derived.media_type = "application/pdf"
        derived.size = target.stat().st_size
        derived.sha256 = file_sha256(target)
        derived.page_count = len(plan)


def normalise(ctx: JobContext) -> None:
    """All page text in Unicode NFC: text layers of old PDFs made with TCVN3 (.VnTime) or VNI
    fonts are converted; Meilisearch returns what it is given."""
    with ctx.session() as session:
        job = ctx.job(session)
        converted: dict[str, int] = {}
        for page in session.scalars(select(Page).where(Page.item_id == job.item_id)):
            text, encoding = legacy.to_unicode(page.text)
            if text != page.text:
                page.text = text
            if encoding:
                converted[encoding] = converted.get(encoding, 0) + 1
        if converted:
            job.options = {**job.options, "legacy_encodings": converted}


def index(ctx: JobContext) -> None:
    """Put the item and its pages in the search index (the DB has committed by now)."""
    with ctx.session() as session:
        item_id = ctx.job(session).item_id
    sync_item(item_id, settings=ctx.settings)


STAGE_FUNCTIONS: dict[str, Callable[[JobContext], None]] = {
    "extract": extract,
    "ocr": run_ocr,
    "images": make_images,
    "pdf": searchable_pdf,
    "tiles": make_tiles,
    "normalise": normalise,
    "index": index,
}
