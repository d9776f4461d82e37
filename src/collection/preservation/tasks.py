"""Huey tasks of the preservation domain (names: preservation.*)."""

from __future__ import annotations

import logging
from datetime import datetime

from huey import crontab
from huey.exceptions import TaskLockedException

from collection.config import get_settings
from collection.db import session_scope
from collection.preservation import fixity, hygiene
from collection.queue import huey, locks_expire
from collection.storage import store_for

log = logging.getLogger(__name__)


@huey.task(retries=20, retry_delay=60, name="preservation.remove_item_objects")
def remove_item_objects_task(
    item_id: int, deleted_at: str, original_keys: list[str], upload_ids: list[int]
) -> None:
    """After an item's deletion has committed: remove the objects only it used (S3 being down
    raises, and Huey retries later; a run after a partial one finishes it)."""
    settings = get_settings()
    removal = hygiene.remove_item_objects(
        settings,
        store_for(settings),
        item_id=item_id,
        deleted_at=datetime.fromisoformat(deleted_at),
        original_keys=original_keys,
        upload_ids=upload_ids,
    )
    log.info(
        "item %s deleted: %d objects removed, %d kept",
        item_id,
        len(removal.deleted),
        len(removal.kept),
    )


FIXITY_LOCK = "preservation.fixity"
LOCKS_CLEARED_AT_START = (FIXITY_LOCK,)  # by a worker on SQLite storage (see cli.worker)


@huey.periodic_task(crontab(minute=f"*/{fixity.TICK_MINUTES}"), name="preservation.fixity")
def fixity_task() -> None:
    """Check the share of originals that is due, within this tick's budget: every original is
    read back at least every ``fixity_days``, spread over the period."""
    settings = get_settings()
    try:
        # One tick at a time, across all workers. A crashed holder lets go after an hour on
        # Redis; Huey's SQLite storage has no expiring locks (it raised NotImplementedError on
        # every tick), and there the worker clears its locks when it starts again.
        ttl = 3600 if locks_expire(huey) else None
        with huey.lock_task(FIXITY_LOCK, ttl=ttl):
            with session_scope(settings.sqlalchemy_url) as session:
                limit, max_bytes = fixity.tick_budget(
                    session, days=settings.fixity_days, max_mb=settings.fixity_max_mb_per_tick
                )
            summary = fixity.run(settings, store_for(settings), limit=limit, max_bytes=max_bytes)
    except TaskLockedException:
        return
    if summary.checked:
        log.info(
            "fixity: %d checked (%.0f MB/s), %s",
            summary.checked,
            summary.mb_per_s,
            summary.outcomes,
        )
    for found in summary.failures:
        log.error("fixity: %s is %s", found.storage_key, found.outcome.value)


@huey.periodic_task(crontab(minute="23"), name="preservation.sweep_uploads")
def sweep_uploads_task() -> None:
    """Hourly: remove the chunks of resumable uploads abandoned for ``upload_abandon_hours``."""
    settings = get_settings()
    sweep = hygiene.sweep_uploads(settings, store_for(settings))
    if sweep.abandoned:
        log.info("abandoned uploads %s: %d chunks removed", sweep.abandoned, sweep.chunks)
