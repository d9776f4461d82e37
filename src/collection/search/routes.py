"""The public search API: search, search inside an item, autocomplete. Anyone may call it; it
only ever returns what the public may see."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from collection.api.deps import AppSettings
from collection.search import meili, searching
from collection.search.query import MAX_QUERY_CHARS, Filters, Scope, Sort

router = APIRouter(prefix="/api/v1", tags=["search"])

Q = Annotated[
    str,
    Query(
        max_length=MAX_QUERY_CHARS,
        description="What to look for, with or without diacritics; Telex/VNI typed with the "
        "Vietnamese keyboard off (thanhf hoas, tha2nh ho1a) is understood too. Empty: browse.",
    ),
]
Page = Annotated[int, Query(ge=1, le=1000, description="Result page, from 1.")]


class HitOut(BaseModel):
    id: int
    title: str
    title_html: str = Field(description="The title, HTML-escaped, query words in <mark>.")
    creator: list[str]
    date: str
    place: str
    document_type: str
    access: str = Field(description="public | onsite (pages readable at access points only)")
    page_count: int
    snippet: str = Field(
        description="From the best matching page (or the description): HTML-escaped text with "
        "the query words in <mark>, as written in the original, diacritics and all."
    )
    best_page: int | None = Field(description="Number of the best matching page, if any.")
    matching_pages: int = Field(description='How many pages match ("N trang khớp").')


class FacetValueOut(BaseModel):
    value: str | int
    count: int


class SearchOut(BaseModel):
    query: str
    searched: str = Field(description="The query as searched (Telex/VNI decoded, NFC).")
    exact: bool = Field(description="Diacritics were typed: exact forms rank first.")
    total: int
    total_exact: bool = Field(description="False when `total` is an estimate (many results).")
    page: int
    per_page: int
    hits: list[HitOut]
    facets: dict[str, list[FacetValueOut]] = Field(
        description="Per facet (collection_id, document_type, place, decade, language, "
        "subject): values with counts, most frequent first."
    )


class PageHitOut(BaseModel):
    number: int
    snippet: str


class ItemSearchOut(BaseModel):
    item_id: int
    query: str
    total: int
    page: int
    per_page: int
    hits: list[PageHitOut]


class SuggestionOut(BaseModel):
    id: int
    title: str
    title_html: str


@router.get("/search", response_model=SearchOut, summary="Search the collection")
def search(
    settings: AppSettings,
    q: Q = "",
    collection: Annotated[list[int] | None, Query(description="Collection ids (any of).")] = None,
    type: Annotated[list[str] | None, Query(description="Document types.")] = None,
    place: Annotated[list[str] | None, Query(description="Places in Thanh Hóa.")] = None,
    decade: Annotated[list[int] | None, Query(description="Decades, e.g. 1960.")] = None,
    language: Annotated[list[str] | None, Query(description="Languages (ISO 639).")] = None,
    subject: Annotated[list[str] | None, Query(description="Subjects.")] = None,
    sort: Annotated[
        Sort, Query(description="relevance | newest | oldest | title")
    ] = Sort.RELEVANCE,
    page: Page = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    result = searching.search(
        meili.ready_engine(settings),
        q=q,
        filters=Filters.checked(
            collection_id=tuple(collection or ()),
            document_type=tuple(type or ()),
            place=tuple(place or ()),
            decade=tuple(decade or ()),
            language=tuple(language or ()),
            subject=tuple(subject or ()),
        ),
        sort=sort,
        page=page,
        per_page=per_page,
        scope=Scope.PUBLIC,
    )
    return asdict(result)


@router.get(
    "/items/{item_id}/search",
    response_model=ItemSearchOut,
    summary="The pages of one item that match, best first",
)
def search_item(
    item_id: int,
    settings: AppSettings,
    q: Q = "",
    page: Page = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 50,
) -> dict[str, Any]:
    result = searching.search_item(
        meili.ready_engine(settings),
        item_id=item_id,
        q=q,
        page=page,
        per_page=per_page,
        scope=Scope.PUBLIC,
    )
    return asdict(result)


@router.get("/suggest", response_model=list[SuggestionOut], summary="Titles completing a query")
def suggest(settings: AppSettings, q: Q = "") -> list[dict[str, Any]]:
    return [asdict(s) for s in searching.suggest(meili.ready_engine(settings), q=q)]
