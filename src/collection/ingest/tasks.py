"""Huey tasks of the ingest domain (names: ingest.*)."""

from __future__ import annotations

from datetime import timedelta

from huey import crontab
from sqlalchemy import select

from collection.config import Settings, get_settings
from collection.db import session_scope, utcnow
from collection.ingest.pipeline import owner_is_dead, run_job, run_ocr_chunk
from collection.models import IngestJob, JobState
from collection.queue import huey


@huey.task(retries=20, retry_delay=30, name="ingest.run_job")
def run_job_task(job_id: int) -> None:
    """Run one ingest job; a backing service being down raises, and Huey retries later."""
    run_job(job_id, settings=get_settings())


@huey.task(retries=20, retry_delay=30, name="ingest.ocr_chunk")
def ocr_chunk_task(job_id: int, numbers: list[int]) -> None:
    """OCR some pages of a long file; the chunk that finishes the OCR puts the job back."""
    if run_ocr_chunk(job_id, numbers, settings=get_settings()):
        run_job_task(job_id)


@huey.periodic_task(crontab(minute="*"), name="ingest.requeue")
def requeue_stale_jobs() -> None:
    """Every minute: jobs whose worker died go back on the queue (see ``requeue_orphans``)."""
    requeue_orphans(get_settings())


def requeue_orphans(settings: Settings) -> list[int]:
    """Queue again the jobs no live worker holds: an expired lease, a dead worker process on this
    machine (found at once, not after the lease), or queued but never picked up."""
    now = utcnow()
    with session_scope(settings.sqlalchemy_url) as session:
        candidates = session.execute(
            select(
                IngestJob.id,
                IngestJob.state,
                IngestJob.lease_owner,
                IngestJob.lease_expires_at,
                IngestJob.updated_at,
            ).where(IngestJob.state.in_([JobState.RUNNING, JobState.QUEUED]))
        ).all()
    orphans = []
    for job_id, state, owner, lease_expires_at, updated_at in candidates:
        if state == JobState.RUNNING:
            expired = lease_expires_at is None or lease_expires_at < now
            if expired or owner_is_dead(owner):
                orphans.append(job_id)
        elif updated_at < now - timedelta(minutes=5):
            orphans.append(job_id)
    for job_id in orphans:
        run_job_task(job_id)
    return orphans
