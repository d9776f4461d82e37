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
from collection.places.gazetteer import Gazetteer
from collection.search.vietnamese import nfc, sort_key, telex_terms

# Item fields searched by the plain query, in ranking order; each has a Telex twin.
ITEM_TEXT_FIELDS = (
    "title",
    "alternative",
    "creator",
    "subject",
    "place",
    "description",
    "place_related",
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


def place_fields(item: Item, gazetteer: Gazetteer) -> dict[str, Any]:
    """The item's places for filters and facets: ``place_key`` the places it was given (the
    facet), ``place_scope`` every place whose filter finds it (those, the units they lie in,
    and the units they became or came from; see ``Gazetteer.scope``)."""
    assigned = [p.place_id for p in item.places if p.place_id in gazetteer.places]
    scope: set[int] = set()
    for place_id in assigned:
        scope |= gazetteer.scope(place_id)
    return {
        "place_key": [gazetteer.places[p].key for p in assigned],
        "place_scope": sorted(gazetteer.places[p].key for p in scope),
    }


def _shared(item: Item, places: dict[str, Any]) -> dict[str, Any]:
    """What both kinds of document carry for filters, facets, sorting and access rules."""
    return {
        "item_id": item.id,
        "collection_id": item.collection_id,
        "document_type": _text(item.document_type),
        **places,
        "decade": decade_of(item.year_start),
        "language": list(item.language),
        "subject": [_text(s) for s in item.subject],
        "access": item.access.value,
        "status": item.status.value,
        "year_start": item.year_start,
        "title_sort": sort_key(item.title),
    }


def item_document(item: Item, gazetteer: Gazetteer, *, page_count: int = 0) -> dict[str, Any]:
    """The items-index document of ``item``."""
    assigned = [p.place_id for p in item.places if p.place_id in gazetteer.places]
    labels = [gazetteer.label(p) for p in assigned]
    document: dict[str, Any] = {
        "id": str(item.id),
        **_shared(item, place_fields(item, gazetteer)),
        "title": _text(item.title),
        "place": labels,
        # Searching "Thiệu Hóa" finds what was placed in its communes, "Tĩnh Gia" what was
        # placed in Nghi Sơn: the names of the units around the item's places, ranked low.
        "place_related": [n for n in gazetteer.related_names(assigned) if n not in labels],
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


def page_document(page: Page, item: Item, places: dict[str, Any]) -> dict[str, Any]:
    """The pages-index document of one page of ``item``; ``places`` its ``place_fields``."""
    text = _text(page.effective_text)
    return {
        "id": f"{item.id}-{page.number}",
        **_shared(item, places),
        "number": page.number,
        "text": text,
        "text_t": telex_terms(text),
    }
