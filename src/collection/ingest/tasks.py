"""Huey tasks of the ingest domain (names: ingest.*)."""

from __future__ import annotations

import logging
from datetime import timedelta

from huey import crontab
from sqlalchemy import select

from collection.config import Settings, get_settings
from collection.db import session_scope, utcnow
from collection.ingest.pipeline import owner_is_dead, run_job, run_ocr_chunk
from collection.models import IngestJob, JobState
from collection.queue import huey

log = logging.getLogger(__name__)


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


def _jobs_in_queue() -> set[int] | None:
    """The jobs the queue holds a task for (waiting or scheduled for a retry); None if it cannot
    say (then only the age of a queued job tells)."""
    try:
        tasks = [*huey.pending(), *huey.scheduled()]
    except Exception:  # Huey's storages raise their driver's errors (sqlite3, redis)
        log.warning("could not list the queue's tasks", exc_info=True)
        return None
    return {int(task.args[0]) for task in tasks if task.name == run_job_task.name and task.args}


def requeue_orphans(settings: Settings) -> list[int]:
    """Queue again the jobs no live worker holds: an expired lease, a dead worker process on this
    machine (found at once, not after the lease), or queued but with no task in the queue (its
    task was taken by a worker that died before claiming it, or the process that committed the
    job died before queueing it) or never picked up. A job queued twice is harmless: only one
    worker can claim it, and a finished job is never claimed again."""
    now = utcnow()
    in_queue = _jobs_in_queue()
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
        elif (in_queue is not None and job_id not in in_queue) or (
            updated_at < now - timedelta(minutes=5)
        ):
            orphans.append(job_id)
    for job_id in orphans:
        run_job_task(job_id)
    return orphans
