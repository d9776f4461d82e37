"""What OAI-PMH harvesters must learn about: the items they may have seen that are gone.

The repository keeps deleted records *persistently* (OAI-PMH 2.0 §2.5.1): when an item that was
exposed (published, public or on-site) is deleted, withdrawn, unpublished or made staff-only, a
tombstone keeps its id, when it went, and the sets it was in, so that a harvest from any date
still reports it as deleted. When the item is exposed again, its tombstone goes.

The tombstones are kept by a session hook (``after_flush``), not by each service that changes
items: every path that changes an item's status or access, or deletes it, goes through a flush,
and the deleted row (cascaded to its pages and files) can no longer be read afterwards."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, delete, event, insert, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, mapped_column

from collection.db import Base, utcnow
from collection.models.catalogue import Access, Collection, Item, ItemStatus
from collection.models.types import UTCDateTime
from collection.search.vietnamese import fold

EXPOSED_ACCESS = frozenset({Access.PUBLIC, Access.ONSITE})  # on-site: the record, not the files


def is_exposed(status: ItemStatus | str | None, access: Access | str | None) -> bool:
    """Whether an item with this status and access is shown to harvesters."""
    return status == ItemStatus.PUBLISHED and access in EXPOSED_ACCESS


def type_slug(document_type: str) -> str:
    """The URL-safe name of a document type in a setSpec ("Bản đồ" → "ban-do"); "" for none."""
    return "-".join(re.findall(r"[a-z0-9]+", fold(document_type).lower()))[:100]


class OaiTombstone(Base):
    __tablename__ = "oai_tombstones"
    __table_args__ = (Index("ix_oai_tombstones_datestamp", "datestamp", "item_id"),)

    # Not a foreign key: the item row is usually gone.
    item_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    datestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(String(20))  # deleted | withdrawn | unpublished | staff
    # The sets the record was in when it went (a set-selective harvest reports it too).
    collection_slug: Mapped[str | None] = mapped_column(String(120))
    type_slug: Mapped[str | None] = mapped_column(String(100))


def _before(item: Item, name: str) -> Any:
    """The value ``name`` had before this flush (history is still there in ``after_flush``)."""
    history = inspect(item).attrs[name].history
    if history.deleted:
        return history.deleted[0]
    if history.unchanged:
        return history.unchanged[0]
    return inspect(item).dict.get(name)


def _reason(item: Item) -> str:
    if item.access == Access.STAFF:
        return "staff"
    return "withdrawn" if item.status == ItemStatus.WITHDRAWN else "unpublished"


def _bury(connection: Connection, gone: Iterable[tuple[Item, str]]) -> None:
    now = utcnow()
    for item, reason in gone:
        collection_id = _before(item, "collection_id")
        slug = (
            connection.scalar(select(Collection.slug).where(Collection.id == collection_id))
            if collection_id is not None
            else None
        )
        document_type = _before(item, "document_type") or ""
        item_id = item.id
        connection.execute(delete(OaiTombstone).where(OaiTombstone.item_id == item_id))
        connection.execute(
            insert(OaiTombstone).values(
                item_id=item_id,
                datestamp=now,
                reason=reason,
                collection_slug=slug,
                type_slug=type_slug(document_type) or None,
            )
        )


@event.listens_for(Session, "after_flush")
def _keep_tombstones(session: Session, _context: object) -> None:
    gone: list[tuple[Item, str]] = []
    back: list[int] = []
    for row in session.deleted:
        if isinstance(row, Item) and is_exposed(_before(row, "status"), _before(row, "access")):
            gone.append((row, "deleted"))
    for row in session.dirty:
        if not isinstance(row, Item) or row in session.deleted:
            continue
        was = is_exposed(_before(row, "status"), _before(row, "access"))
        now = is_exposed(row.status, row.access)
        if was and not now:
            gone.append((row, _reason(row)))
        elif now and not was:
            back.append(row.id)
    back += [
        row.id
        for row in session.new
        if isinstance(row, Item) and is_exposed(row.status, row.access)
    ]
    if not gone and not back:
        return
    connection = session.connection()
    if back:
        connection.execute(delete(OaiTombstone).where(OaiTombstone.item_id.in_(back)))
    _bury(connection, gone)
