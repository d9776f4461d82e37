"""Items: create, read, list pages. Services take the session and the acting user, never commit."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from collection.accounts.roles import Permission, allows
from collection.audit import service as audit
from collection.catalogue.schemas import (
    CollectionIn,
    FileOut,
    ItemFields,
    ItemIn,
    ItemOut,
    ItemUpdate,
    PageOut,
)
from collection.db import utcnow
from collection.errors import Conflict, InvalidInput, NotFound
from collection.models import Access, Collection, Item, ItemStatus, Page, User
from collection.places import service as places
from collection.places.schemas import PlaceRef
from collection.preservation.hygiene import schedule_item_cleanup
from collection.search.sync import schedule_sync
from collection.search.vietnamese import fold, sort_key
from collection.urls import manifest_url

_YEAR = re.compile(r"\d{4}")


def years_of(date: str) -> tuple[int | None, int | None]:
    """The first and last year written in a DC date ("1945-08-19" → 1945, 1945; "1930–1945")."""
    years = [int(y) for y in _YEAR.findall(date)]
    return (min(years), max(years)) if years else (None, None)


def _apply(session: Session, item: Item, fields: dict[str, Any]) -> None:
    """Set validated metadata on an item, with what follows from it (years, first publication)."""
    collection_id = fields.get("collection_id")
    if collection_id is not None and session.get(Collection, collection_id) is None:
        raise InvalidInput(
            f"Không có bộ sưu tập số {collection_id}.",
            message_en=f"no collection {collection_id}",
            field="collection_id",
        )
    if "place" in fields:
        places.set_item_places(session, item, fields["place"])
    for name, value in fields.items():
        if name != "place":
            setattr(item, name, value)
    item.year_start, item.year_end = years_of(item.date)
    if item.status == ItemStatus.PUBLISHED and item.published_at is None:
        item.published_at = utcnow()


def create_item(*, session: Session, actor: User, data: ItemIn) -> Item:
    """A new item from validated metadata."""
    item = Item(created_by_id=actor.id)
    _apply(session, item, data.model_dump())
    session.add(item)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="item.create",
        target_type="item",
        target_id=item.id,
        summary=item.title,
    )
    schedule_sync(session, item.id)
    return item


def item_fields(session: Session, item: Item) -> dict[str, Any]:
    """The item's editable metadata as the API takes it (what an edit is compared against);
    places as their labels, which read back to the same places."""
    values = {name: getattr(item, name) for name in ItemFields.model_fields if name != "place"}
    values["place"] = places.item_labels(places.gazetteer(session), item)
    return values


def item_view(session: Session, item: Item, *, base: str) -> ItemOut:
    """The item as the API returns it (``base``: the public address its links are under)."""
    gaz = places.gazetteer(session)
    return ItemOut(
        iiif_manifest=manifest_url(base, item.id),
        **item_fields(session, item),
        id=item.id,
        year_start=item.year_start,
        year_end=item.year_end,
        created_at=item.created_at,
        updated_at=item.updated_at,
        published_at=item.published_at,
        version=item.version,
        files=[FileOut.model_validate(f) for f in item.files],
        places=[
            PlaceRef(key=gaz.places[p.place_id].key, label=gaz.label(p.place_id))
            for p in item.places
            if p.place_id in gaz.places
        ],
    )


def update_item(*, session: Session, actor: User, item_id: int, data: ItemUpdate) -> Item:
    """Save an edit made from version ``data.version``; Conflict if someone saved since."""
    item = get_item(session=session, item_id=item_id)
    if data.version != item.version:
        raise Conflict(
            "Tài liệu đã được người khác sửa trong lúc bạn sửa. Hãy tải lại để xem bản mới nhất "
            "rồi sửa lại.",
            message_en=f"item {item_id} is at version {item.version}, the edit started from "
            f"{data.version}",
        )
    before = item_fields(session, item)
    _apply(session, item, data.model_dump(exclude={"version"}))
    session.flush()  # the new places are rows now: their labels are what the log compares
    changes = audit.diff(before, item_fields(session, item))
    if changes:
        audit.record(
            session,
            actor=actor,
            action="item.update",
            target_type="item",
            target_id=item.id,
            summary=item.title,
            changes=changes,
        )
    try:
        session.flush()  # the version check in SQL: two saves at once, one wins
    except StaleDataError as exc:
        raise Conflict(
            "Tài liệu vừa được người khác sửa. Hãy tải lại rồi sửa lại.",
            message_en=f"item {item_id} changed while saving",
        ) from exc
    schedule_sync(session, item.id)
    return item


def delete_item(*, session: Session, actor: User, item_id: int) -> None:
    """Remove an item, its pages and files from the catalogue and the index, and (after the
    commit) the stored objects only it used."""
    item = get_item(session=session, item_id=item_id)
    audit.record(
        session,
        actor=actor,
        action="item.delete",
        target_type="item",
        target_id=item.id,
        summary=item.title,
    )
    schedule_item_cleanup(session, item)
    session.delete(item)
    session.flush()
    schedule_sync(session, item_id)


def text_version(text: str) -> str:
    """A short fingerprint of a page's text: an edit names the text it started from."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def correct_page(
    *,
    session: Session,
    actor: User,
    item_id: int,
    number: int,
    text: str | None,
    based_on: str | None = None,
) -> Page:
    """Set (or with None, drop) the staff correction of a page's text. Re-running OCR later
    changes ``text`` only; the correction stays what readers see and what is searched.

    With ``based_on`` (the ``text_version`` the editor started from), an edit made while
    someone else saved the page is refused instead of overwriting theirs."""
    item = get_item(session=session, item_id=item_id)
    page = session.scalar(select(Page).where(Page.item_id == item_id, Page.number == number))
    if page is None:
        raise NotFound(
            f"Tài liệu số {item_id} không có trang {number}.",
            message_en=f"item {item_id} has no page {number}",
        )
    before = page.effective_text
    if based_on is not None and based_on != text_version(before):
        raise Conflict(
            f"Trang {number} vừa được người khác sửa trong lúc bạn sửa. Văn bản mới nhất đang "
            "hiện ở dưới; hãy chép phần bạn sửa vào đó rồi lưu lại.",
            message_en=f"page {number} changed since the edit started",
        )
    page.corrected_text = text
    audit.record(
        session,
        actor=actor,
        action="page.correct",
        target_type="item",
        target_id=item_id,
        summary=f"{item.title} — trang {number}",
        changes={"text": [_excerpt(before), _excerpt(page.effective_text)]},
    )
    page.corrected_by_id = actor.id if text is not None else None
    page.corrected_at = utcnow() if text is not None else None
    session.flush()
    schedule_sync(session, item_id)
    return page


def _excerpt(text: str, limit: int = 300) -> str:
    # The log keeps the start of a page's text, not whole pages.
    return text if len(text) <= limit else text[:limit] + "…"


def get_item(*, session: Session, item_id: int) -> Item:
    item = session.scalar(select(Item).where(Item.id == item_id).options(selectinload(Item.files)))
    if item is None:
        raise NotFound(f"Không có tài liệu số {item_id}.", message_en=f"no item {item_id}")
    return item


def may_read(item: Item, viewer: User | None, *, at_point: bool = False) -> bool:
    """Whether ``viewer`` may read the item's pages and files. Staff read everything; the public
    reads published public items, and published on-site items from a registered access point
    (``at_point``). With ``at_point`` this is also whether the record is listed at all: on-site
    records are shown everywhere."""
    if viewer is not None and allows(viewer.role, Permission.VIEW_STAFF):
        return True
    readable = {Access.PUBLIC, Access.ONSITE} if at_point else {Access.PUBLIC}
    return item.status == ItemStatus.PUBLISHED and item.access in readable


def cache_control(item: Item) -> str:
    """How long caches may keep the item's images: shared caches only for public material."""
    shared = item.status == ItemStatus.PUBLISHED and item.access == Access.PUBLIC
    return "public, max-age=86400" if shared else "private, max-age=300"


def readable_item(
    *, session: Session, item_id: int, viewer: User | None, at_point: bool = False
) -> Item:
    """The item if its pages and files may be read (``may_read``); NotFound otherwise, so that
    a draft's existence is not revealed."""
    item = session.get(Item, item_id)
    if item is None or not may_read(item, viewer, at_point=at_point):
        raise NotFound(f"Không có tài liệu số {item_id}.", message_en=f"no item {item_id}")
    return item


def list_pages(*, session: Session, item_id: int) -> list[PageOut]:
    """The item's pages in order, with the text a reader should see."""
    get_item(session=session, item_id=item_id)
    pages = session.scalars(select(Page).where(Page.item_id == item_id).order_by(Page.number))
    return [page_view(page) for page in pages]


def page_view(page: Page) -> PageOut:
    return PageOut(
        number=page.number,
        text=page.effective_text,
        text_source=page.text_source,
        corrected=page.corrected_text is not None,
        text_version=text_version(page.effective_text),
        width=page.width,
        height=page.height,
        has_image=page.image_key is not None,
    )


# --- collections -------------------------------------------------------------------------------


def list_collections(*, session: Session) -> list[Collection]:
    """Every collection, in Vietnamese alphabetical order of title."""
    return sorted(session.scalars(select(Collection)), key=lambda c: sort_key(c.title))


def get_collection(*, session: Session, collection_id: int) -> Collection:
    collection = session.get(Collection, collection_id)
    if collection is None:
        raise NotFound(
            f"Không có bộ sưu tập số {collection_id}.",
            message_en=f"no collection {collection_id}",
        )
    return collection


def _collection_fields(collection: Collection) -> dict[str, Any]:
    return {
        "title": collection.title,
        "slug": collection.slug,
        "description": collection.description,
    }


def save_collection(
    *, session: Session, actor: User, data: CollectionIn, collection_id: int | None = None
) -> Collection:
    """Create a collection (``collection_id`` None) or save an edit of one."""
    collection = (
        Collection()
        if collection_id is None
        else get_collection(session=session, collection_id=collection_id)
    )
    before = {} if collection_id is None else _collection_fields(collection)
    slug = data.slug or slugify(data.title)
    taken = session.scalar(select(Collection.id).where(Collection.slug == slug))
    if taken is not None and taken != collection_id:
        raise Conflict(
            f"Đã có bộ sưu tập với đường dẫn «{slug}».", message_en=f"slug {slug!r} is taken"
        )
    collection.title, collection.slug, collection.description = data.title, slug, data.description
    session.add(collection)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="collection.create" if collection_id is None else "collection.update",
        target_type="collection",
        target_id=collection.id,
        summary=collection.title,
        changes=audit.diff(before, _collection_fields(collection)),
    )
    return collection


def slugify(title: str) -> str:
    """A URL-safe name from a Vietnamese title ("Báo Thanh Hóa" → "bao-thanh-hoa")."""
    words = re.findall(r"[a-z0-9]+", fold(title).lower())
    return "-".join(words)[:120] or "bo-suu-tap"
