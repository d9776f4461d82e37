"""The ingest pipeline: small idempotent stages, each recorded on the job when it finishes, so a
job picked up again (after a crash, a retry or a re-run) resumes at the first stage not done.

extract (text layer per page) → ocr (pages without usable text) → images (page images and
thumbnails) → normalise (NFC) → index (Meilisearch, after the DB commit).
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from collection.config import Settings
from collection.db import session_factory, unit_of_work, utcnow
from collection.errors import CollectionError, ServiceUnavailable
from collection.ingest import documents, ocr
from collection.ingest.sandbox import run_limited
from collection.ingest.service import STAGES
from collection.models import IngestJob, Item, JobState, Page, StoredFile, TextSource
from collection.search import meili
from collection.search.documents import item_document, page_document
from collection.storage import ObjectStore, store_for

log = logging.getLogger(__name__)
RENDER_BATCH = 16  # pages rendered per sandbox call: bounds temp disk and a bad page's blast radius


@dataclass
class JobContext:
    settings: Settings
    store: ObjectStore
    sessions: sessionmaker[Session]
    job_id: int
    worker: str
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
            _call_with_kwargs,
            func,
            args,
            kwargs,
            timeout=self.settings.parse_timeout,
            memory_mb=self.settings.parse_memory_mb,
        )


def _call_with_kwargs(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    return func(*args, **kwargs)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_job(job_id: int, *, settings: Settings, worker: str | None = None) -> JobState | None:
    """Run (or resume) one ingest job. ServiceUnavailable propagates so the queue retries later;
    any other error fails the job with a message staff can read. Returns the final state, or None
    if another worker holds the job."""
    worker = worker or worker_name()
    sessions = session_factory(settings.sqlalchemy_url)
    if not _claim(sessions, job_id, worker, settings.job_lease_seconds):
        return None
    workdir = Path(tempfile.mkdtemp(prefix=f"job-{job_id}-", dir=_tmp_dir(settings)))
    ctx = JobContext(settings, store_for(settings), sessions, job_id, worker, workdir)
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


def _tmp_dir(settings: Settings) -> Path:
    path = settings.var_dir / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _claim(sessions: sessionmaker[Session], job_id: int, worker: str, lease_seconds: int) -> bool:
    with unit_of_work(sessions) as session:
        job = session.get(IngestJob, job_id, with_for_update=True)
        if job is None or job.state in (JobState.DONE, JobState.FAILED):
            return False
        now = utcnow()
        leased = job.lease_expires_at is not None and job.lease_expires_at > now
        if (
            job.state == JobState.RUNNING
            and leased
            and job.lease_owner != worker
            and not owner_is_dead(job.lease_owner)
        ):
            return False
        job.state, job.lease_owner = JobState.RUNNING, worker
        job.lease_expires_at = now + timedelta(seconds=lease_seconds)
        job.attempts += 1
        job.started_at = job.started_at or now
        return True


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


def run_ocr(ctx: JobContext) -> None:
    """OCR every page without a usable text layer (staff corrections are never overwritten)."""
    path, stored = ctx.original()
    with ctx.session() as session:
        job = ctx.job(session)
        languages = job.options.get("ocr_languages") or ctx.settings.ocr_languages
        done = set(job.options.get("ocr_done", []))
        pages = _file_pages(session, stored.id)
        offset = pages[0].number - 1 if pages else 0
        todo = [
            p.number
            for p in pages
            if p.text_source != TextSource.EMBEDDED and p.corrected_text is None
        ]
    ocr.check_languages(languages)
    remaining = [n for n in todo if n not in done]
    ctx.progress(len(todo) - len(remaining), len(todo))
    processes = ctx.settings.ocr_processes or os.cpu_count() or 1
    finished = len(todo) - len(remaining)
    for start in range(0, len(remaining), RENDER_BATCH):
        batch = remaining[start : start + RENDER_BATCH]
        out = ctx.workdir / "ocr"
        rendered = ctx.sandboxed(
            documents.render,
            str(path),
            stored.media_type,
            [n - offset for n in batch],
            str(out),
            long_side=400,  # the view images are made by the images stage; keep these small
            thumb_side=64,
            ocr_numbers=[n - offset for n in batch],
            ocr_dpi=ctx.settings.ocr_dpi,
        )
        with ThreadPoolExecutor(max_workers=processes) as pool:
            futures = {
                pool.submit(
                    ocr.recognise, Path(r["ocr"]), languages=languages, dpi=ctx.settings.ocr_dpi
                ): r["number"] + offset
                for r in rendered
            }
            for future in as_completed(futures):
                number = futures[future]
                result = future.result()
                text = unicodedata.normalize("NFC", result.text)
                ctx.store.put_bytes(
                    ocr_pdf_key(stored.item_id, number),
                    result.pdf.read_bytes(),
                    media_type="application/pdf",
                )
                with ctx.session() as session:
                    page = session.scalar(
                        select(Page).where(Page.item_id == stored.item_id, Page.number == number)
                    )
                    assert page is not None
                    page.text, page.text_source = text, TextSource.OCR
                    job = ctx.job(session)
                    job.options = {
                        **job.options,
                        "ocr_done": [*job.options.get("ocr_done", []), number],
                    }
                finished += 1
                ctx.progress(finished)
        shutil.rmtree(out, ignore_errors=True)


def make_images(ctx: JobContext) -> None:
    """A page image (long side ~1600 px) and a thumbnail (~300 px) per page, in S3."""
    path, stored = ctx.original()
    with ctx.session() as session:
        numbers = [p.number for p in _file_pages(session, stored.id)]
    offset = numbers[0] - 1 if numbers else 0
    ctx.progress(0, len(numbers))
    for start in range(0, len(numbers), RENDER_BATCH):
        batch = numbers[start : start + RENDER_BATCH]
        out = ctx.workdir / "images"
        rendered = ctx.sandboxed(
            documents.render,
            str(path),
            stored.media_type,
            [n - offset for n in batch],
            str(out),
            long_side=ctx.settings.page_image_px,
            thumb_side=ctx.settings.thumbnail_px,
            ocr_numbers=[],
            ocr_dpi=ctx.settings.ocr_dpi,
        )
        keys: dict[int, tuple[str, str, int, int]] = {}
        for r in rendered:
            number = r["number"] + offset
            base = f"pages/{stored.item_id}/{number:05d}"
            ctx.store.put_bytes(
                f"{base}.jpg", Path(r["image"]).read_bytes(), media_type="image/jpeg"
            )
            ctx.store.put_bytes(
                f"{base}-thumb.jpg", Path(r["thumb"]).read_bytes(), media_type="image/jpeg"
            )
            keys[number] = (f"{base}.jpg", f"{base}-thumb.jpg", r["width"], r["height"])
        with ctx.session() as session:
            for page in session.scalars(
                select(Page).where(Page.item_id == stored.item_id, Page.number.in_(keys))
            ):
                page.image_key, page.thumbnail_key, page.width, page.height = keys[page.number]
        shutil.rmtree(out, ignore_errors=True)
        ctx.progress(min(start + RENDER_BATCH, len(numbers)))


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
    if not ocred:
        return  # born-digital: the original is already searchable
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
    key = f"derived/{stored.item_id}/{stored.id}/searchable.pdf"
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
        derived.sha256 = _file_sha256(target)
        derived.page_count = len(plan)


def _file_sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def normalise(ctx: JobContext) -> None:
    """All page text in NFC (Meilisearch returns what it is given)."""
    with ctx.session() as session:
        job = ctx.job(session)
        for page in session.scalars(select(Page).where(Page.item_id == job.item_id)):
            nfc = unicodedata.normalize("NFC", page.text)
            if nfc != page.text:
                page.text = nfc


def index(ctx: JobContext) -> None:
    """Put the item and its pages in the search index (the DB has committed by now)."""
    with ctx.session() as session:
        job = ctx.job(session)
        item = session.get(Item, job.item_id)
        assert item is not None
        pages = list(session.scalars(select(Page).where(Page.item_id == item.id)))
        item_doc = item_document(item, page_count=len(pages))
        page_docs = [page_document(p, item) for p in pages if p.effective_text.strip()]
    engine = meili.ready_engine(ctx.settings)
    engine.delete("pages", filter=f"item_id = {int(item_doc['id'])}")
    engine.upsert("items", [item_doc])
    engine.upsert("pages", page_docs)


STAGE_FUNCTIONS: dict[str, Callable[[JobContext], None]] = {
    "extract": extract,
    "ocr": run_ocr,
    "images": make_images,
    "pdf": searchable_pdf,
    "normalise": normalise,
    "index": index,
}
