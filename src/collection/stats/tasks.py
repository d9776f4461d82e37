"""Huey tasks of the stats domain (names: stats.*)."""

from __future__ import annotations

import logging

from huey import crontab

from collection.config import get_settings
from collection.db import session_scope
from collection.queue import huey
from collection.stats import rollup

log = logging.getLogger(__name__)


@huey.periodic_task(crontab(minute=f"*/{get_settings().rollup_minutes}"), name="stats.catch_up")
def catch_up_task() -> None:
    """Roll new usage events up, so the report is at most ``rollup_minutes`` behind."""
    from collection.reports.freezing import destroy_spent_keys

    with session_scope(get_settings().sqlalchemy_url) as session:
        done = rollup.catch_up(session)
        destroy_spent_keys(session)
    for run in done:
        log.info(
            "rolled up %s..%s: %d events in %.2f s", run.start, run.end, run.events, run.seconds
        )
