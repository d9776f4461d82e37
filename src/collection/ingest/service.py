"""Receiving files and creating ingest jobs. The pipeline itself is in pipeline.py."""

from __future__ import annotations

import hashlib
import tempfile
import unicodedata
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from collection.config import Settings
from collection.db import after_commit
from collection.errors import CollectionError, InvalidInput, NotFound
from collection.ingest.schemas import JobOut, UploadOut
from collection.ingest.sniff import sniff
from collection.models import IngestJob, Item, JobState, StoredFile, User
from collection.storage import ObjectStore

CHUNK = 1024 * 1024
STAGES = ("extract", "ocr", "normalise", "index", "images", "pdf", "tiles")


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
        key = existing.storage_key if existing else original_key(sha256)
        duplicate = existing is not None
        if not duplicate and not store.exists(key):
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
    *, session: Session, actor: User, item_id: int, stages: list[str], ocr_languages: str | None
) -> IngestJob:
    """Run chosen stages of an item's last ingest again (e.g. OCR with other languages)."""
    unknown = set(stages) - set(STAGES)
    if unknown:
        raise InvalidInput(
            f"Không có công đoạn: {', '.join(sorted(unknown))}. Các công đoạn: {', '.join(STAGES)}.",
            message_en=f"unknown stages {sorted(unknown)}; stages are {list(STAGES)}",
        )
    last = session.scalar(
        select(IngestJob).where(IngestJob.item_id == item_id).order_by(IngestJob.id.desc())
    )
    if last is None:
        raise NotFound(
            "Tài liệu này chưa có tệp nào để xử lý lại.", message_en="the item has no ingest job"
        )
    # Text may change, so normalising and indexing always run again; the rest only if asked.
    always = {"normalise", "index"} | ({"pdf"} if "ocr" in stages else set())
    skip = [s for s in STAGES if s not in stages and s not in always and s in last.stages_done]
    options = dict(last.options)
    if ocr_languages:
        options["ocr_languages"] = ocr_languages
    job = IngestJob(
        item_id=item_id,
        file_id=last.file_id,
        kind="rerun",
        stages_done=skip,
        options=options,
        created_by_id=actor.id,
    )
    session.add(job)
    session.flush()
    schedule(session, job.id)
    return job


def get_job(*, session: Session, job_id: int) -> JobOut:
    job = session.get(IngestJob, job_id)
    if job is None:
        raise NotFound(f"Không có công việc số {job_id}.", message_en=f"no job {job_id}")
    return job_view(job)


def job_view(job: IngestJob) -> JobOut:
    if job.state == JobState.DONE:
        progress = "done"
    elif job.progress_total:
        progress = f"{job.stage} {job.progress_done}/{job.progress_total} pages"
    else:
        progress = job.stage or job.state.value
    return JobOut(
        id=job.id,
        item_id=job.item_id,
        file_id=job.file_id,
        state=job.state,
        stage=job.stage,
        stages_done=list(job.stages_done),
        progress=progress,
        progress_done=job.progress_done,
        progress_total=job.progress_total,
        attempts=job.attempts,
        error=job.error,
        created_at=job.created_at,
        finished_at=job.finished_at,
    )


def _clean_name(filename: str) -> str:
    # Only the last path part, NFC, no control characters: names come from any browser or script.
    name = unicodedata.normalize("NFC", filename.replace("\\", "/").rsplit("/", 1)[-1])
    return "".join(ch for ch in name if ch.isprintable())[:500] or "tệp"
