"""The search API: search, search inside an item, autocomplete. Anyone may call these and they
only ever return what the public may see (the text of on-site items too when the caller is at an
access point); the staff search sees everything."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, TypeAdapter
from sqlalchemy.orm import Session

from collection.accounts.roles import Permission
from collection.api.audience import AnonymousAudience, audience_for, usage
from collection.api.deps import AppSettings, DbSession, require
from collection.api.limits import limit_search
from collection.config import Settings
from collection.db import unit_of_work
from collection.ids import Id
from collection.models import UsageKind, User
from collection.places import service as places
from collection.search import meili, searching
from collection.search.cache import answer_key, answers_for
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
    place: list[str] = Field(description="The labels of the item's places.")
    document_type: str
    access: str = Field(
        description="public | onsite (pages readable at access points only) | staff (staff "
        "search only)"
    )
    status: str = Field(description="published; the staff search also finds draft, withdrawn")
    page_count: int
    snippet: str = Field(
        description="From the best matching page (or the description): HTML-escaped text with "
        "the query words in <mark>, as written in the original, diacritics and all."
    )
    best_page: int | None = Field(description="Number of the best matching page, if any.")
    matching_pages: int = Field(description='How many pages match ("N trang khớp").')


class FacetValueOut(BaseModel):
    value: str | int = Field(description="What to filter by (for places: the place key).")
    count: int
    label: str | None = Field(None, description="For places: the place's label.")


class ShorterOut(BaseModel):
    query: str = Field(description="The query to search instead.")
    dropped: str | None = Field(description="The word left out.")


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
    did_you_mean: list[str] = Field(
        default_factory=list,
        description="When nothing was found, or nothing holding every word, or nothing with "
        "the marks typed: spellings from the collection's own vocabulary that do find "
        "something (with these marks, under the same filters), best first.",
    )
    shorter: ShorterOut | None = Field(
        None,
        description="When nothing was found: the query without its rarest word, if "
        "that finds something.",
    )


class PageHitOut(BaseModel):
    number: Id
    snippet: str


class ItemSearchOut(BaseModel):
    item_id: Id
    query: str
    total: int
    page: int
    per_page: int
    hits: list[PageHitOut]


class SuggestionOut(BaseModel):
    id: int
    title: str
    title_html: str


# The services' dataclasses go straight to JSON (pydantic's serializer, in Rust): building
# dicts and validating them against the models below took a fifth of a search's Python time.
# The models document the API; tests check the answers against them.
_SEARCH = TypeAdapter(searching.SearchResult)
_ITEM_SEARCH = TypeAdapter(searching.ItemSearchResult)
_SUGGESTIONS = TypeAdapter(list[searching.Suggestion])


def _json(adapter: TypeAdapter[Any], value: Any) -> Response:
    return Response(adapter.dump_json(value), media_type="application/json")


class SearchParams(BaseModel):
    """The search parameters, shared by the public and the staff search. A query-parameter
    model: parsed on the event loop (a class dependency costs a trip through the thread pool)."""

    q: str = Field(
        "",
        max_length=MAX_QUERY_CHARS,
        description="What to look for, with or without diacritics; Telex/VNI typed with the "
        "Vietnamese keyboard off (thanhf hoas, tha2nh ho1a) is understood too. Empty: browse.",
    )
    collection: list[Id] | None = Field(None, description="Collection ids (any of).")
    type: list[str] | None = Field(None, description="Document types.")
    place: list[str] | None = Field(
        None,
        description="Places in Thanh Hóa: keys from /api/v1/places, or names (every place "
        "so named). Finds what lies inside the place and what was placed in the units it "
        "became or came from (an old district finds its communes' items).",
    )
    decade: list[int] | None = Field(None, description="Decades, e.g. 1960.")
    language: list[str] | None = Field(None, description="Languages (ISO 639).")
    subject: list[str] | None = Field(None, description="Subjects.")
    sort: Sort = Field(Sort.RELEVANCE, description="relevance | newest | oldest | title")
    page: int = Field(1, ge=1, le=1000, description="Result page, from 1.")
    per_page: int = Field(20, ge=1, le=100)

    facet_values: int = Field(
        searching.FACET_VALUES,
        ge=1,
        le=searching.MAX_FACET_VALUES,
        description="Values per facet, most frequent first.",
    )

    def answer_key(self, scope: Scope) -> tuple[Hashable, ...]:
        """What the answer depends on besides the index (search/cache.py); filter values in
        any order are the same filter."""

        def any_order(values: list[Any] | None) -> tuple[Any, ...]:
            return tuple(sorted(set(values or ())))

        filters = (
            any_order(self.collection),
            any_order(self.type),
            any_order(self.place),
            any_order(self.decade),
            any_order(self.language),
            any_order(self.subject),
        )
        page = (self.sort.value, self.page, self.per_page, self.facet_values)
        return answer_key("api", scope, self.q, *filters, *page)

    def run(self, settings: Settings, scope: Scope, session: Session) -> searching.SearchResult:
        result = searching.search(
            meili.ready_engine(settings),
            q=self.q,
            filters=Filters.checked(
                collection_id=tuple(self.collection or ()),
                document_type=tuple(self.type or ()),
                place=places.filter_keys(session, self.place or ()),
                decade=tuple(self.decade or ()),
                language=tuple(self.language or ()),
                subject=tuple(self.subject or ()),
            ),
            sort=self.sort,
            page=self.page,
            per_page=self.per_page,
            scope=scope,
            facet_values=self.facet_values,
        )
        places.facet_labels(session, result.facets)
        return result


@router.get("/search", response_model=SearchOut, summary="Search the collection")
async def search(
    request: Request, settings: AppSettings, params: Annotated[SearchParams, Query()]
) -> Response:
    # The busiest route takes one trip through the thread pool for all of its blocking work;
    # as sync dependencies (the session, the audience) and a sync route it took four, ~0.7 ms
    # each on this machine (bench/search.py).
    return await run_in_threadpool(_public_search, request, settings, params)


def _public_search(request: Request, settings: Settings, params: SearchParams) -> Response:
    limit_search(request, settings)
    audience = audience_for(request, settings, None)

    def answer() -> tuple[bytes, str, int]:
        with unit_of_work(request.app.state.sessions) as session:
            result = params.run(settings, audience.scope, session)
        return _SEARCH.dump_json(result), result.query, result.total

    # The same search in the same scope since the index last changed: its answer as sent then.
    body, query, total = answers_for(settings).get(params.answer_key(audience.scope), answer)
    if params.q.strip():  # counted whether the answer was cached or not
        usage(request).record(UsageKind.SEARCH, audience.visitor, query=query, hits=total)
    return Response(body, media_type="application/json")


@router.get(
    "/staff/search",
    response_model=SearchOut,
    summary="Search everything, drafts and staff-only material included (staff)",
)
def staff_search(
    settings: AppSettings,
    session: DbSession,
    params: Annotated[SearchParams, Query()],
    _: Annotated[User, Depends(require(Permission.VIEW_STAFF))],
) -> Response:
    return _json(_SEARCH, params.run(settings, Scope.STAFF, session))


@router.get(
    "/items/{item_id}/search",
    response_model=ItemSearchOut,
    summary="The pages of one item that match, best first",
)
def search_item(
    item_id: Id,
    request: Request,
    settings: AppSettings,
    audience: AnonymousAudience,
    q: Q = "",
    page: Page = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 50,
) -> Response:
    limit_search(request, settings)
    result = searching.search_item(
        meili.ready_engine(settings),
        item_id=item_id,
        q=q,
        page=page,
        per_page=per_page,
        scope=audience.scope,
    )
    return _json(_ITEM_SEARCH, result)


@router.get("/suggest", response_model=list[SuggestionOut], summary="Titles completing a query")
def suggest(request: Request, settings: AppSettings, q: Q = "") -> Response:
    limit_search(request, settings)
    return _json(_SUGGESTIONS, searching.suggest(meili.ready_engine(settings), q=q))
