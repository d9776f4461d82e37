"""Huey tasks of the search domain (names: search.*)."""

from __future__ import annotations

import time

from huey import crontab

from collection.config import Settings, get_settings
from collection.db import session_scope
from collection.queue import huey, search_huey
from collection.search import meili, vocabulary
from collection.search.sync import sync_item

# Set when an item changed since that part of the vocabulary was refreshed.
STALE_KEYS = {"metadata": "search-terms-stale-metadata", "pages": "search-terms-stale-pages"}
PAGES_DONE_KEY = "search-page-terms-at"
PAGE_TERMS_EVERY_S = 3600  # counting the words of every page is the costly part


# Every 30 s for three days: an edit made while Meilisearch is down (an upgrade, a night's
# maintenance) reaches the index once it is back. Twenty tries (ten minutes) dropped the edits
# of any longer outage until the next `collection reindex`. A try against a Meilisearch that is
# down fails at once, so waiting tasks cost next to nothing.
SYNC_RETRY_DELAY_S = 30
SYNC_RETRIES = 3 * 24 * 3600 // SYNC_RETRY_DELAY_S


@search_huey.task(retries=SYNC_RETRIES, retry_delay=SYNC_RETRY_DELAY_S, name="search.sync_item")
def sync_item_task(item_id: int) -> None:
    """Re-index one item; Meilisearch being down raises, and Huey retries later."""
    sync_item(item_id, settings=get_settings())
    for key in STALE_KEYS.values():
        huey.put(key, time.time())


@huey.periodic_task(crontab(minute="*"), name="search.refresh_terms")
def refresh_terms_task() -> None:
    """The vocabulary of suggestions follows the catalogue: metadata terms within a minute of
    a change, page terms at most once every PAGE_TERMS_EVERY_S."""
    refresh_terms_if_stale()


def refresh_terms_if_stale(
    settings: Settings | None = None, *, now: float | None = None
) -> list[str]:
    """Refresh the stale parts that are due; returns them. Left stale if a refresh fails."""
    now = time.time() if now is None else now
    pages_at = huey.get(PAGES_DONE_KEY, peek=True)
    pages_due = pages_at is None or now - float(pages_at) >= PAGE_TERMS_EVERY_S
    due = [
        source
        for source, key in STALE_KEYS.items()
        if huey.get(key, peek=True) is not None and (source != "pages" or pages_due)
    ]
    if not due:
        return []
    for source in due:
        huey.get(STALE_KEYS[source])  # taken first: a change made meanwhile marks it again
    settings = settings or get_settings()
    try:
        with session_scope(settings.sqlalchemy_url) as session:
            vocabulary.refresh(session, meili.ready_engine(settings), due)
    except Exception:
        for source in due:
            huey.put(STALE_KEYS[source], now)
        raise
    if "pages" in due:
        huey.put(PAGES_DONE_KEY, now)
    return due
