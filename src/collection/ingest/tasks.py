"""Huey tasks of the ingest domain (names: ingest.*)."""

from __future__ import annotations

from datetime import timedelta

from huey import crontab
from sqlalchemy import or_, select

from collection.config import get_settings
from collection.db import session_scope, utcnow
from collection.models import IngestJob, JobState
from collection.queue import huey


@huey.task(retries=20, retry_delay=30, name="ingest.run_job")
def run_job_task(job_id: int) -> None:
    """Run one ingest job; a backing service being down raises, and Huey retries later."""
    from collection.ingest.pipeline import run_job

    run_job(job_id, settings=get_settings())


@huey.periodic_task(crontab(minute="*"), name="ingest.requeue")
def requeue_stale_jobs() -> None:
    """Jobs whose worker died (lease expired) or that were never picked up go back on the queue."""
    settings = get_settings()
    now = utcnow()
    with session_scope(settings.sqlalchemy_url) as session:
        stale = session.scalars(
            select(IngestJob.id).where(
                or_(
                    (IngestJob.state == JobState.RUNNING) & (IngestJob.lease_expires_at < now),
                    (IngestJob.state == JobState.QUEUED)
                    & (IngestJob.updated_at < now - timedelta(minutes=5)),
                )
            )
        ).all()
    for job_id in stale:
        run_job_task(job_id)
