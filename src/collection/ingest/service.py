"""Receiving files and creating ingest jobs. The pipeline itself is in pipeline.py."""

from __future__ import annotations

import hashlib
import tempfile
import unicodedata
from collections.abc import Collection
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from collection.audit import service as audit
from collection.config import Settings
from collection.db import after_commit
from collection.errors import CollectionError, Conflict, InvalidInput, NotFound
from collection.ingest.schemas import JobOut, UploadOut
from collection.ingest.sniff import sniff
from collection.models import IngestJob, Item, JobState, Page, StoredFile, User
from collection.storage import ObjectStore

CHUNK = 1024 * 1024
STAGES = ("extract", "ocr", "normalise", "index", "images", "pdf", "tiles")
STAGE_LABELS = {
    "extract": "Đọc tệp",
    "ocr": "OCR",
    "normalise": "Chuẩn hóa văn bản",
    "index": "Đưa vào tìm kiếm",
    "images": "Tạo ảnh trang",
    "pdf": "Tạo PDF tìm được chữ",
    "tiles": "Tạo ảnh phóng to",
}
STATE_LABELS = {
    JobState.QUEUED: "Đang chờ",
    JobState.RUNNING: "Đang chạy",
    JobState.DONE: "Hoàn tất",
    JobState.FAILED: "Lỗi",
}


class DuplicateFile(Conflict):
    code = "duplicate_file"

    @classmethod
    def of(cls, existing: StoredFile) -> DuplicateFile:
        return cls(
            f"Tệp này đã có trong kho (tài liệu số {existing.item_id} «{existing.item.title}», "
            f"tệp «{existing.original_name}»). Có thể liên kết tệp có sẵn thay vì lưu lần hai.",
            message_en=f"the same bytes are stored for item {existing.item_id}; "
            "send link_duplicate=true to link them",
        )


class FileTooLarge(CollectionError):
    status = 413
    code = "file_too_large"

    @classmethod
    def over(cls, limit_mb: int) -> FileTooLarge:
        return cls(
            f"Tệp vượt quá giới hạn {limit_mb} MB.", message_en=f"file larger than {limit_mb} MB"
        )


def tmp_dir(settings: Settings) -> Path:
    """Where uploads, jobs and imports keep their temporary files (on disk, not in memory)."""
    path = settings.var_dir / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def original_key(sha256: str) -> str:
    """Originals are stored by content: the same bytes always land on the same key."""
    return f"originals/{sha256[:2]}/{sha256}"


def receive_file(
    *,
    session: Session,
    actor: User,
    settings: Settings,
    store: ObjectStore,
    item_id: int,
    filename: str,
    stream: BinaryIO,
    enqueue: bool = True,
    link_duplicate: bool = True,
) -> UploadOut:
    """Check, hash and store an uploaded original, then queue its ingest job.

    The bytes go to a temp file (never all in memory) while being hashed and counted; the type is
    judged by content; the same SHA-256 already stored is linked instead of stored again.
    """
    item = session.get(Item, item_id)
    if item is None:
        raise NotFound(f"Không có tài liệu số {item_id}.", message_en=f"no item {item_id}")
    limit = settings.max_upload_mb * 1024 * 1024
    with tempfile.NamedTemporaryFile(dir=tmp_dir(settings), prefix="upload-") as tmp:
        digest, size = hashlib.sha256(), 0
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise FileTooLarge.over(settings.max_upload_mb)
            digest.update(chunk)
            tmp.write(chunk)
        tmp.flush()
        path = Path(tmp.name)
        media_type = sniff(path)
        sha256 = digest.hexdigest()

        same_item = session.scalar(
            select(StoredFile).where(
                StoredFile.item_id == item.id,
                StoredFile.sha256 == sha256,
                StoredFile.role == "original",
            )
        )
        if same_item is not None:
            job = session.scalar(
                select(IngestJob)
                .where(IngestJob.file_id == same_item.id)
                .order_by(IngestJob.id.desc())
            )
            if job is not None:
                return UploadOut(
                    job_id=job.id,
                    file_id=same_item.id,
                    sha256=sha256,
                    media_type=media_type,
                    size=size,
                    duplicate=True,
                )
        existing = session.scalar(
            select(StoredFile).where(StoredFile.sha256 == sha256, StoredFile.role == "original")
        )
        if existing is not None and same_item is None and not link_duplicate:
            raise DuplicateFile.of(existing)
        key = existing.storage_key if existing else original_key(sha256)
        duplicate = existing is not None
        # Stored even if an object is already there: one no row references is an orphan that
        # a deleted item's clean-up may be removing right now, and it leaves objects written
        # after the deletion alone (see preservation/hygiene.py).
        if not duplicate:
            with path.open("rb") as source:
                store.put_stream(key, source, media_type=media_type)
    stored = same_item or StoredFile(
        item_id=item.id,
        role="original",
        storage_key=key,
        original_name=_clean_name(filename),
        media_type=media_type,
        size=size,
        sha256=sha256,
    )
    session.add(stored)
    session.flush()
    job = IngestJob(
        item_id=item.id,
        file_id=stored.id,
        options={"ocr_languages": item.ocr_languages},
        created_by_id=actor.id,
    )
    session.add(job)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="file.upload",
        target_type="item",
        target_id=item.id,
        summary=f"{item.title} — {stored.original_name}",
        changes={"file": [None, stored.original_name], "linked": [None, duplicate]},
    )
    if enqueue:
        schedule(session, job.id)
    return UploadOut(
        job_id=job.id,
        file_id=stored.id,
        sha256=sha256,
        media_type=media_type,
        size=size,
        duplicate=duplicate,
    )


def schedule(session: Session, job_id: int) -> None:
    """Queue the job once the transaction that created it has committed."""
    from collection.ingest.tasks import run_job_task

    after_commit(session, lambda: run_job_task(job_id))


def rerun(
    *,
    session: Session,
    actor: User,
    item_id: int,
    stages: list[str],
    ocr_languages: str | None,
    pages: list[int] | None = None,
) -> list[IngestJob]:
    """Run chosen stages of an item's ingest again (e.g. OCR with other languages), one job per
    file; with ``pages``, only for the files holding those pages, and OCR only those pages."""
    unknown = set(stages) - set(STAGES)
    if unknown:
        raise InvalidInput(
            f"Không có công đoạn: {', '.join(sorted(unknown))}. Các công đoạn: {', '.join(STAGES)}.",
            message_en=f"unknown stages {sorted(unknown)}; stages are {list(STAGES)}",
        )
    item = session.get(Item, item_id)
    if item is None:
        raise NotFound(f"Không có tài liệu số {item_id}.", message_en=f"no item {item_id}")
    last_per_file: dict[int, IngestJob] = {}
    for job in session.scalars(
        select(IngestJob).where(IngestJob.item_id == item_id).order_by(IngestJob.id)
    ):
        if job.file_id is not None:
            last_per_file[job.file_id] = job
    if not last_per_file:
        raise NotFound(
            "Tài liệu này chưa có tệp nào để xử lý lại.", message_en="the item has no ingest job"
        )
    files_of_pages: dict[int, list[int]] = {}
    if pages:
        found = session.execute(
            select(Page.file_id, Page.number).where(
                Page.item_id == item_id, Page.number.in_(set(pages))
            )
        )
        for file_id, number in found:
            if file_id is not None:
                files_of_pages.setdefault(file_id, []).append(number)
        missing = sorted(set(pages) - {n for ns in files_of_pages.values() for n in ns})
        if missing:
            raise InvalidInput(
                f"Tài liệu không có trang: {', '.join(map(str, missing))}.",
                message_en=f"no pages {missing}",
            )
    # Text may change, so normalising and indexing always run again; the rest only if asked.
    always = {"normalise", "index"} | ({"pdf"} if "ocr" in stages else set())
    jobs = []
    for file_id, last in last_per_file.items():
        if pages and file_id not in files_of_pages:
            continue
        skip = [s for s in STAGES if s not in stages and s not in always and s in last.stages_done]
        options = dict(last.options)
        options.pop("pages", None)
        if ocr_languages:
            options["ocr_languages"] = ocr_languages
        if pages:
            options["pages"] = sorted(files_of_pages[file_id])
        job = IngestJob(
            item_id=item_id,
            file_id=file_id,
            kind="rerun",
            stages_done=skip,
            options=options,
            created_by_id=actor.id,
        )
        session.add(job)
        jobs.append(job)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="job.rerun",
        target_type="item",
        target_id=item_id,
        summary=item.title,
        changes={
            "stages": [None, stages],
            "ocr_languages": [None, ocr_languages],
            "pages": [None, pages or None],
        },
    )
    for job in jobs:
        schedule(session, job.id)
    return jobs


def retry(*, session: Session, actor: User, job_id: int) -> IngestJob:
    """Queue a failed job again; it resumes at the stage that failed."""
    job = session.get(IngestJob, job_id)
    if job is None:
        raise NotFound(f"Không có công việc số {job_id}.", message_en=f"no job {job_id}")
    if job.state != JobState.FAILED:
        raise Conflict(
            f"Chỉ thử lại được công việc bị lỗi; công việc số {job_id} đang ở trạng thái "
            f"«{STATE_LABELS[job.state]}».",
            message_en=f"job {job_id} is {job.state.value}, not failed",
        )
    job.state, job.error, job.finished_at = JobState.QUEUED, None, None
    job.lease_owner = job.lease_expires_at = None
    audit.record(
        session,
        actor=actor,
        action="job.retry",
        target_type="job",
        target_id=job.id,
        summary=f"Công việc số {job.id} (tài liệu số {job.item_id})",
    )
    schedule(session, job.id)
    return job


def list_jobs(
    *,
    session: Session,
    states: Collection[JobState] = (),
    item_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[JobOut]:
    """Jobs (in any of ``states``, or all), newest first, with their item's title."""
    query = (
        select(IngestJob, Item.title)
        .join(Item, Item.id == IngestJob.item_id)
        .order_by(IngestJob.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if states:
        query = query.where(IngestJob.state.in_(states))
    if item_id is not None:
        query = query.where(IngestJob.item_id == item_id)
    return [job_view(job, item_title=title) for job, title in session.execute(query)]


def get_job(*, session: Session, job_id: int) -> JobOut:
    job = session.get(IngestJob, job_id)
    if job is None:
        raise NotFound(f"Không có công việc số {job_id}.", message_en=f"no job {job_id}")
    item = session.get(Item, job.item_id)
    return job_view(job, item_title=item.title if item else "")


def job_view(job: IngestJob, *, item_title: str = "") -> JobOut:
    return JobOut(
        id=job.id,
        item_id=job.item_id,
        file_id=job.file_id,
        state=job.state,
        stage=job.stage,
        stages_done=list(job.stages_done),
        progress=_progress(job),
        label=job_label(job),
        progress_done=job.progress_done,
        progress_total=job.progress_total,
        attempts=job.attempts,
        error=job.error,
        created_at=job.created_at,
        finished_at=job.finished_at,
        item_title=item_title,
        kind=job.kind,
        pages=list(job.options.get("pages") or []),
        ocr_languages=str(job.options.get("ocr_languages") or ""),
    )


def _progress(job: IngestJob) -> str:
    if job.state == JobState.DONE:
        return "done"
    if job.progress_total:
        return f"{job.stage} {job.progress_done}/{job.progress_total} pages"
    return job.stage or job.state.value


def job_label(job: IngestJob) -> str:
    """What staff read: "OCR trang 37/240", "Hoàn tất", "Lỗi"."""
    if job.state != JobState.RUNNING:
        return STATE_LABELS[job.state]
    stage = STAGE_LABELS.get(job.stage, job.stage)
    if job.progress_total:
        return f"{stage} trang {job.progress_done}/{job.progress_total}"
    return stage


def _clean_name(filename: str) -> str:
    # Only the last path part, NFC, no control characters: names come from any browser or script.
    name = unicodedata.normalize("NFC", filename.replace("\\", "/").rsplit("/", 1)[-1])
    return "".join(ch for ch in name if ch.isprintable())[:500] or "tệp"
