"""Search documents built from the database: one per item, one per page with text.

Page documents carry only what filters need (access, status, facets) and no searchable item
metadata (DESIGN.md: that would make every page match the item's title).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from collection.models import Item, Page


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def decade_of(year: int | None) -> int | None:
    return None if year is None else year - year % 10


def item_document(item: Item, *, page_count: int = 0) -> dict[str, Any]:
    """The items-index document of ``item``."""
    return {
        "id": str(item.id),
        "title": nfc(item.title),
        "alternative": nfc(item.alternative),
        "creator": [nfc(c) for c in item.creator],
        "contributor": [nfc(c) for c in item.contributor],
        "subject": [nfc(s) for s in item.subject],
        "description": nfc(item.description),
        "publisher": nfc(item.publisher),
        "date": item.date,
        "type": item.type,
        "identifier": item.identifier,
        "language": list(item.language),
        "place": nfc(item.place),
        "period": nfc(item.period),
        "document_type": nfc(item.document_type),
        "collection_id": item.collection_id,
        "access": item.access.value,
        "status": item.status.value,
        "year_start": item.year_start,
        "decade": decade_of(item.year_start),
        "title_sort": nfc(item.title).casefold(),
        "created_at": int(item.created_at.timestamp()),
        "published_at": int(item.published_at.timestamp()) if item.published_at else None,
        "has_files": page_count > 0 or bool(item.files),
        "page_count": page_count,
    }


def page_document(page: Page, item: Item) -> dict[str, Any]:
    """The pages-index document of one page of ``item``."""
    return {
        "id": f"{item.id}-{page.number}",
        "item_id": item.id,
        "number": page.number,
        "text": nfc(page.effective_text),
        "collection_id": item.collection_id,
        "document_type": nfc(item.document_type),
        "place": nfc(item.place),
        "decade": decade_of(item.year_start),
        "language": list(item.language),
        "access": item.access.value,
        "status": item.status.value,
    }
