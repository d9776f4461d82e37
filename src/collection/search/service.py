"""Search services that read the database: rebuilding the index from the source of truth."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from collection.models import Item, Page
from collection.places.gazetteer import Gazetteer
from collection.places.service import gazetteer
from collection.search import vocabulary
from collection.search.documents import item_document, page_document, place_fields
from collection.search.meili import SearchEngine

_BATCH = 500


def rebuild_index(*, session: Session, engine: SearchEngine) -> dict[str, int]:
    """Rebuild the indexes from the database and swap them in (the vocabulary refreshed in
    place); returns documents per index."""
    gaz = gazetteer(session)
    counts = engine.rebuild(
        {"items": _item_documents(session, gaz), "pages": _page_documents(session, gaz)}
    )
    engine.ensure_indexes()  # the terms index too, on a server that never had it
    return counts | {"terms": vocabulary.refresh(session, engine)}


def _item_documents(session: Session, gaz: Gazetteer) -> Iterator[dict[str, Any]]:
    page_counts: dict[int, int] = {
        item_id: count
        for item_id, count in session.execute(
            select(Page.item_id, func.count()).group_by(Page.item_id)
        )
    }
    query = select(Item).options(selectinload(Item.files)).order_by(Item.id)
    for item in session.scalars(query.execution_options(yield_per=_BATCH)):
        yield item_document(item, gaz, page_count=page_counts.get(item.id, 0))


def _page_documents(session: Session, gaz: Gazetteer) -> Iterator[dict[str, Any]]:
    query = (
        select(Page, Item).join(Item, Page.item_id == Item.id).order_by(Page.item_id, Page.number)
    )
    places: dict[int, dict[str, Any]] = {}
    for page, item in session.execute(query.execution_options(yield_per=_BATCH)):
        if page.effective_text.strip():
            if item.id not in places:
                places = {item.id: place_fields(item, gaz)}  # pages come item by item
            yield page_document(page, item, places[item.id])
