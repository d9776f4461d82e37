"""The queries behind the verbs: exposed items and tombstones, selected by set and datestamp
and read in (datestamp, id) order after a key, each an index range scan
(items: ``ix_items_status_updated_at``; tombstones: ``ix_oai_tombstones_datestamp``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, true, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload

from collection.models import Collection, Item, ItemStatus, OaiTombstone
from collection.models.oai import EXPOSED_ACCESS, type_slug

COLLECTION_SETS = "collection"
TYPE_SETS = "type"


@dataclass(frozen=True)
class Selection:
    """What a list selects: a set (None: all), and a half-open datestamp range."""

    set_spec: str | None
    start: datetime | None
    end: datetime | None


def _exposed() -> ColumnElement[bool]:
    return (Item.status == ItemStatus.PUBLISHED) & Item.access.in_(sorted(EXPOSED_ACCESS))


def document_types(session: Session) -> dict[str, list[str]]:
    """The document types of exposed items by their setSpec name ("sach" → ["Sách", "sách"])."""
    found: dict[str, list[str]] = {}
    rows = session.scalars(
        select(Item.document_type).where(_exposed(), Item.document_type != "").distinct()
    )
    for value in rows:
        if slug := type_slug(value):
            found.setdefault(slug, []).append(value)
    return found


def collections(session: Session) -> list[Collection]:
    return list(session.scalars(select(Collection).order_by(Collection.slug)))


def _item_set(session: Session, set_spec: str | None) -> ColumnElement[bool]:
    if set_spec is None:
        return true()
    kind, _, name = set_spec.partition(":")
    if kind == COLLECTION_SETS and not name:
        return Item.collection_id.is_not(None)
    if kind == COLLECTION_SETS and ":" not in name:
        return Item.collection_id.in_(select(Collection.id).where(Collection.slug == name))
    if kind == TYPE_SETS and not name:
        return Item.document_type != ""
    if kind == TYPE_SETS and ":" not in name:
        return Item.document_type.in_(document_types(session).get(name, []))
    return Item.id.is_(None)  # no such set: nothing


def _tombstone_set(set_spec: str | None) -> ColumnElement[bool]:
    if set_spec is None:
        return true()
    kind, _, name = set_spec.partition(":")
    if kind == COLLECTION_SETS:
        column = OaiTombstone.collection_slug
    elif kind == TYPE_SETS:
        column = OaiTombstone.type_slug
    else:
        return OaiTombstone.item_id.is_(None)
    return column.is_not(None) if not name else column == name


def _range(
    column: InstrumentedAttribute[datetime], selection: Selection
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if selection.start is not None:
        conditions.append(column >= selection.start)
    if selection.end is not None:
        conditions.append(column < selection.end)
    return conditions


def items_after(
    session: Session, selection: Selection, after: tuple[datetime, int] | None, limit: int
) -> list[Item]:
    """Exposed items of the selection after the key, in (updated_at, id) order."""
    query = (
        select(Item)
        .where(_exposed(), _item_set(session, selection.set_spec))
        .where(*_range(Item.updated_at, selection))
        .order_by(Item.updated_at, Item.id)
        .limit(limit)
        .options(selectinload(Item.collection))
    )
    if after is not None:
        query = query.where(tuple_(Item.updated_at, Item.id) > after)
    return list(session.scalars(query))


def tombstones_after(
    session: Session, selection: Selection, after: tuple[datetime, int] | None, limit: int
) -> list[OaiTombstone]:
    """Tombstones of the selection after the key, in (datestamp, item id) order."""
    query = (
        select(OaiTombstone)
        .where(_tombstone_set(selection.set_spec))
        .where(*_range(OaiTombstone.datestamp, selection))
        .order_by(OaiTombstone.datestamp, OaiTombstone.item_id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(tuple_(OaiTombstone.datestamp, OaiTombstone.item_id) > after)
    return list(session.scalars(query))


def count(session: Session, selection: Selection) -> int:
    """How many records (live and deleted) the selection holds."""
    live = session.scalar(
        select(func.count())
        .select_from(Item)
        .where(_exposed(), _item_set(session, selection.set_spec))
        .where(*_range(Item.updated_at, selection))
    )
    gone = session.scalar(
        select(func.count())
        .select_from(OaiTombstone)
        .where(_tombstone_set(selection.set_spec))
        .where(*_range(OaiTombstone.datestamp, selection))
    )
    return (live or 0) + (gone or 0)


def earliest_datestamp(session: Session) -> datetime | None:
    live = session.scalar(select(func.min(Item.updated_at)).where(_exposed()))
    gone = session.scalar(select(func.min(OaiTombstone.datestamp)))
    return min((d for d in (live, gone) if d is not None), default=None)


def find(session: Session, item_id: int) -> Item | OaiTombstone | None:
    """The exposed item, or its tombstone, or None when harvesters may not know the id."""
    item = session.scalar(
        select(Item).where(Item.id == item_id, _exposed()).options(selectinload(Item.collection))
    )
    return item if item is not None else session.get(OaiTombstone, item_id)
