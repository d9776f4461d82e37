"""Search documents built from the database: one per item, one per page with text.

Every searchable text field has a twin ending in ``_t`` holding its Telex form (``Hóa học`` →
``hoas hocj``): Meilisearch folds diacritics, so the plain fields cannot tell hóa from hòa; the
Telex fields can, and the query planner searches them too when the user typed diacritics.

Page documents carry only what filters, facets, sorting and access rules need, and no searchable
item metadata (DESIGN.md: that would make every page match the item's title).
"""

from __future__ import annotations

from typing import Any

from collection.models import Item, Page
from collection.search.vietnamese import nfc, sort_key, telex_terms

# Item fields searched by the plain query, in ranking order; each has a Telex twin.
ITEM_TEXT_FIELDS = (
    "title",
    "alternative",
    "creator",
    "subject",
    "place",
    "description",
    "publisher",
    "contributor",
    "period",
    "document_type",
)
PAGE_TEXT_FIELDS = ("text",)


def telex_field(name: str) -> str:
    return f"{name}_t"


def decade_of(year: int | None) -> int | None:
    return None if year is None else year - year % 10


def _text(value: str) -> str:
    # As written (NFC), not re-accented: the Telex twin is what makes hoá and hóa the same.
    return nfc(value).strip()


def _shared(item: Item) -> dict[str, Any]:
    """What both kinds of document carry for filters, facets, sorting and access rules."""
    return {
        "item_id": item.id,
        "collection_id": item.collection_id,
        "document_type": _text(item.document_type),
        "place": _text(item.place),
        "decade": decade_of(item.year_start),
        "language": list(item.language),
        "subject": [_text(s) for s in item.subject],
        "access": item.access.value,
        "status": item.status.value,
        "year_start": item.year_start,
        "title_sort": sort_key(item.title),
    }


def item_document(item: Item, *, page_count: int = 0) -> dict[str, Any]:
    """The items-index document of ``item``."""
    document: dict[str, Any] = {
        "id": str(item.id),
        **_shared(item),
        "title": _text(item.title),
        "alternative": _text(item.alternative),
        "creator": [_text(c) for c in item.creator],
        "contributor": [_text(c) for c in item.contributor],
        "description": _text(item.description),
        "publisher": _text(item.publisher),
        "period": _text(item.period),
        "date": item.date,
        "type": item.type,
        "identifier": item.identifier,
        "created_at": int(item.created_at.timestamp()),
        "published_at": int(item.published_at.timestamp()) if item.published_at else None,
        "has_files": page_count > 0 or bool(item.files),
        "page_count": page_count,
    }
    for name in ITEM_TEXT_FIELDS:
        value = document[name]
        document[telex_field(name)] = (
            [telex_terms(v) for v in value] if isinstance(value, list) else telex_terms(value)
        )
    return document


def page_document(page: Page, item: Item) -> dict[str, Any]:
    """The pages-index document of one page of ``item``."""
    text = _text(page.effective_text)
    return {
        "id": f"{item.id}-{page.number}",
        **_shared(item),
        "number": page.number,
        "text": text,
        "text_t": telex_terms(text),
    }
