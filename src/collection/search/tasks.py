"""Huey tasks of the search domain (names: search.*)."""

from __future__ import annotations

from collection.config import get_settings
from collection.queue import huey
from collection.search.sync import sync_item


@huey.task(retries=20, retry_delay=30, name="search.sync_item")
def sync_item_task(item_id: int) -> None:
    """Re-index one item; Meilisearch being down raises, and Huey retries later."""
    sync_item(item_id, settings=get_settings())
