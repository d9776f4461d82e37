"""Huey tasks of the harvest domain (names: harvest.*)."""

from __future__ import annotations

import logging
from datetime import timedelta

from huey import crontab

from collection.config import Settings, get_settings
from collection.db import session_factory, session_scope, utcnow
from collection.errors import Conflict
from collection.harvest import runner, service
from collection.queue import huey

log = logging.getLogger(__name__)


@huey.task(name="harvest.run_source")
def run_source_task(source_id: int) -> None:
    """Harvest one source (queued by the staff page, the API, or the schedule)."""
    settings = get_settings()
    try:
        run = runner.run_source(
            source_id,
            settings=settings,
            sessions=session_factory(settings.sqlalchemy_url),
            on_progress=lambda p: log.info("%s", p.line()),
        )
    except Conflict:
        log.info("source %s is already being harvested", source_id)
        return
    log.info("harvest of source %s: %s %s", source_id, run.status, run.error or "")


@huey.periodic_task(crontab(minute="*/10"), name="harvest.schedule")
def schedule_task() -> None:
    """Every ten minutes: queue the sources due (last run ``harvest_hours`` ago, or unfinished)."""
    queue_due(get_settings())


def queue_due(settings: Settings) -> list[int]:
    """Queue a run of every source that is due; none when ``harvest_hours`` is 0."""
    if settings.harvest_hours == 0:
        return []
    with session_scope(settings.sqlalchemy_url) as session:
        due = service.due_sources(
            session=session, now=utcnow(), every=timedelta(hours=settings.harvest_hours)
        )
    for source_id in due:
        run_source_task(source_id)
    return due
