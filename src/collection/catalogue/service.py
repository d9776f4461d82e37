"""Items: create, read, list pages. Services take the session and the acting user, never commit."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from collection.accounts.roles import Permission, allows
from collection.catalogue.schemas import ItemIn, PageOut
from collection.db import utcnow
from collection.errors import InvalidInput, NotFound
from collection.models import Access, Collection, Item, ItemStatus, Page, User

_YEAR = re.compile(r"\d{4}")


def years_of(date: str) -> tuple[int | None, int | None]:
    """The first and last year written in a DC date ("1945-08-19" → 1945, 1945; "1930–1945")."""
    years = [int(y) for y in _YEAR.findall(date)]
    return (min(years), max(years)) if years else (None, None)


def create_item(*, session: Session, actor: User, data: ItemIn) -> Item:
    """A new item from validated metadata."""
    if data.collection_id is not None and session.get(Collection, data.collection_id) is None:
        raise InvalidInput(
            f"Không có bộ sưu tập số {data.collection_id}.",
            message_en=f"no collection {data.collection_id}",
        )
    item = Item(**data.model_dump(), created_by_id=actor.id)
    item.year_start, item.year_end = years_of(data.date)
    if item.status == ItemStatus.PUBLISHED:
        item.published_at = utcnow()
    session.add(item)
    session.flush()
    return item


def get_item(*, session: Session, item_id: int) -> Item:
    item = session.scalar(select(Item).where(Item.id == item_id).options(selectinload(Item.files)))
    if item is None:
        raise NotFound(f"Không có tài liệu số {item_id}.", message_en=f"no item {item_id}")
    return item


def readable_item(*, session: Session, item_id: int, viewer: User | None) -> Item:
    """The item if ``viewer`` may read its pages and files; NotFound otherwise, so that a draft's
    existence is not revealed. Staff read everything; the public reads published public items
    (on-site items need the access-point check, which the public site adds)."""
    item = session.get(Item, item_id)
    staff = viewer is not None and allows(viewer.role, Permission.VIEW_STAFF)
    if item is None or not (
        staff or (item.status == ItemStatus.PUBLISHED and item.access == Access.PUBLIC)
    ):
        raise NotFound(f"Không có tài liệu số {item_id}.", message_en=f"no item {item_id}")
    return item


def list_pages(*, session: Session, item_id: int) -> list[PageOut]:
    """The item's pages in order, with the text a reader should see."""
    get_item(session=session, item_id=item_id)
    pages = session.scalars(select(Page).where(Page.item_id == item_id).order_by(Page.number))
    return [
        PageOut(
            number=page.number,
            text=page.effective_text,
            text_source=page.text_source,
            corrected=page.corrected_text is not None,
            width=page.width,
            height=page.height,
            has_image=page.image_key is not None,
        )
        for page in pages
    ]
