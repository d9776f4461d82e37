"""Keeping the index true to the database: after every committed change to an item (create,
edit, publish, withdraw, delete, OCR correction), a task puts the item's current state in
Meilisearch. The task reads the database when it runs, so whatever order changes come in, the
last task leaves the index as the database is."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from collection.config import Settings
from collection.db import after_commit, session_scope
from collection.models import Item, Page
from collection.search import meili
from collection.search.documents import item_document, page_document, place_fields


def schedule_sync(session: Session, item_id: int) -> None:
    """Queue the item's re-indexing once this transaction has committed."""
    from collection.search.tasks import sync_item_task

    after_commit(session, lambda: sync_item_task(item_id))


def sync_item(item_id: int, *, settings: Settings) -> None:
    """Make the index show ``item_id`` as the database has it now (gone if deleted)."""
    with session_scope(settings.sqlalchemy_url) as session:
        item = session.scalar(
            select(Item).where(Item.id == item_id).options(selectinload(Item.files))
        )
        if item is not None:
            pages = list(
                session.scalars(select(Page).where(Page.item_id == item_id).order_by(Page.number))
            )
            from collection.places.service import gazetteer

            gaz = gazetteer(session)
            item_doc = item_document(item, gaz, page_count=len(pages))
            places = place_fields(item, gaz)
            page_docs = [page_document(p, item, places) for p in pages if p.effective_text.strip()]
            numbers = [int(d["number"]) for d in page_docs]
    engine = meili.ready_engine(settings)
    if item is None:
        engine.delete("items", ids=[str(item_id)])
        engine.delete("pages", filter=f"item_id = {int(item_id)}")
        return
    # The item first: Meilisearch runs tasks in turn, and an edit is looked for by its record
    # (a page hit whose item is not, or no longer, in the items index is left out of answers).
    engine.upsert("items", [item_doc])
    # New pages in before stale ones out: a search in between still finds the item.
    engine.upsert("pages", page_docs)
    stale = f"item_id = {int(item_id)}"
    if numbers:
        stale += f" AND number NOT IN [{', '.join(str(n) for n in numbers)}]"
    engine.delete("pages", filter=stale)
