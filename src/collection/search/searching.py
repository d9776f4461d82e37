"""Searching for citizens and staff: items ranked with their best page, page counts, facets,
and search inside one item. Reads only Meilisearch (with the search-only key)."""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from collection.errors import InvalidInput
from collection.search import spelling
from collection.search.cache import AnswerCache, answer_key
from collection.search.meili import SearchEngine
from collection.search.query import (
    FACETS,
    MAX_WINDOW,
    Filters,
    Query,
    Scope,
    Sort,
    any_of,
    filter_for,
    search_queries,
)
from collection.search.snippets import mark, snippet
from collection.search.spelling import Correction
from collection.search.vietnamese import sort_key

ITEM_FIELDS = [
    "id",
    "item_id",
    "title",
    "creator",
    "date",
    "description",
    "page_count",
    "access",
    "status",
    "place",
    *FACETS,
]
PAGE_FIELDS = ["id", "item_id", "number", "text", *FACETS]
SUGGESTIONS = 8
# Facet values returned per facet, most frequent first (Meilisearch's own cap is 100 per index).
FACET_VALUES = 20
MAX_FACET_VALUES = 100


@dataclass
class Hit:
    id: int
    title: str
    title_html: str
    creator: list[str]
    date: str
    place: list[str]  # the labels of the item's places
    document_type: str
    access: str
    status: str
    page_count: int
    snippet: str  # HTML: escaped text, query words in <mark>
    best_page: int | None
    matching_pages: int


@dataclass
class FacetValue:
    value: str | int
    count: int
    label: str | None = None  # for places: their label (the value is the key)


# Facets by the name clients use: a place facet's values are place keys (``place_key``).
FACET_OUT = {"place_key": "place"}


@dataclass
class SearchResult:
    query: str
    searched: str  # after decoding a Telex/VNI leak and normalising
    exact: bool  # diacritics were taken into account
    total: int
    total_exact: bool  # False when total is Meilisearch's estimate
    page: int
    per_page: int
    hits: list[Hit]
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)
    # When nothing (or nothing with every word, or nothing with the marks typed) was found:
    did_you_mean: list[str] = field(default_factory=list)
    shorter: Correction | None = None  # when nothing was found: the query without a word


def search(
    engine: SearchEngine,
    *,
    q: str,
    filters: Filters = Filters(),  # noqa: B008 -- frozen dataclass, safe as default
    sort: Sort = Sort.RELEVANCE,
    page: int = 1,
    per_page: int = 20,
    scope: Scope = Scope.PUBLIC,
    facet_values: int = FACET_VALUES,
    answers: AnswerCache | None = None,
) -> SearchResult:
    """One page of results with facets; from ``answers`` when the same search (same scope) was
    answered since the index last changed. A cached result is shared: callers do not change it."""
    if answers is None:
        return _search(engine, q, filters, sort, page, per_page, scope, facet_values)
    key = answer_key("result", scope, q, filters, sort.value, page, per_page, facet_values)
    return answers.get(
        key, lambda: _search(engine, q, filters, sort, page, per_page, scope, facet_values)
    )


def _search(
    engine: SearchEngine,
    q: str,
    filters: Filters,
    sort: Sort,
    page: int,
    per_page: int,
    scope: Scope,
    facet_values: int,
) -> SearchResult:
    query = Query.parse(q, engine.long_forms)
    offset = (page - 1) * per_page
    if offset + per_page > MAX_WINDOW:
        raise InvalidInput(
            f"Chỉ xem được {MAX_WINDOW} kết quả đầu; hãy thu hẹp tìm kiếm.",
            message_en=f"only the first {MAX_WINDOW} results can be paged through",
        )
    kinds: tuple[str, ...] = ("items", "pages") if query.plain else ("items",)
    meili_sort = sort.meili or (None if query.plain else ["created_at:desc"])
    # Items appear at most twice (a metadata hit and a page hit): twice the hits shown so far
    # are enough to fill this page with distinct items.
    window = min(MAX_WINDOW, (offset + per_page) * len(kinds))
    filters_by_kind = {kind: filter_for(kind, filters, scope) for kind in kinds}
    queries = search_queries(
        query,
        kinds=kinds,
        filters=filters_by_kind,
        sort=meili_sort,
        distinct_pages=True,
        page_fields=PAGE_FIELDS,
        item_fields=ITEM_FIELDS,
    )
    for planned in queries:
        planned["showRankingScoreDetails"] = bool(query.plain)  # which hits hold every word
    result = engine.multi_search(
        queries,
        federation={
            "limit": window,
            "offset": 0,
            "facetsByIndex": {kind: list(FACETS) for kind in kinds},
            "mergeFacets": {},
        },
    )
    order: list[int] = []
    items: dict[int, dict[str, Any]] = {}
    pages: dict[int, dict[str, Any]] = {}
    for hit in result["hits"]:
        item_id = int(hit["item_id"])
        if item_id not in items and item_id not in pages:
            order.append(item_id)
        target = pages if "number" in hit else items
        target.setdefault(item_id, hit)
    complete = len(result["hits"]) < window  # every hit was read: count exactly
    duplicates = len(result["hits"]) - len(order)
    total = len(order) if complete else max(len(order), result["estimatedTotalHits"] - duplicates)
    shown = order[offset : offset + per_page]
    completion = _completion(query, shown, items, pages, filters_by_kind)
    pending = engine.multi_search_soon(completion) if completion else None
    # While Meilisearch answers that, what does not need its answer: the facets, whether help
    # is wanted, and the hits whose item and page are both at hand (bench/search.py: ~4 ms).
    facets = (
        _count_facets([items.get(i) or pages[i] for i in order], facet_values)
        if complete
        else _merged_facets(result.get("facetDistribution", {}), facet_values)
    )
    helped = query.plain and (not total or not _found_as_typed(result["hits"], queries, query))
    ready = {
        i: _hit(items[i], pages.get(i), query)
        for i in shown
        if i in items and (i in pages or not query.plain)
    }
    counts = _completed(completion, pending.result()["results"], items, pages) if pending else {}
    hits = []
    for i in shown:
        hit = ready.get(i) or (_hit(items[i], pages.get(i), query) if i in items else None)
        if hit is not None:  # an item withdrawn since the first answer: left out
            hit.matching_pages = counts.get(i, 0)
            hits.append(hit)
    return SearchResult(
        query=query.typed,
        searched=query.plain,
        exact=query.exact is not None,
        total=total,
        total_exact=complete,
        page=page,
        per_page=per_page,
        hits=hits,
        facets=facets,
        **_help(engine, query, filters_by_kind, total) if helped else {},
    )


def _help(
    engine: SearchEngine, query: Query, filters: dict[str, list[str]], total: int
) -> dict[str, Any]:
    """ "Did you mean" and, when nothing was found, the shorter query (not offered twice)."""
    shorter = spelling.shorter(engine, query, filters) if not total else None
    did_you_mean = spelling.corrections(engine, query, filters, nothing_found=not total)
    if shorter is not None:
        did_you_mean = [text for text in did_you_mean if text != shorter.query]
    return {"did_you_mean": did_you_mean, "shorter": shorter}


def _found_as_typed(
    hits: list[dict[str, Any]], queries: list[dict[str, Any]], query: Query
) -> bool:
    """Some hit holds every word of the query, and with the marks typed when there were any
    (Meilisearch drops words from the end of the query until something matches)."""
    exact = {n for n, q in enumerate(queries) if q["q"] == query.exact}
    whole = [
        int(hit["_federation"]["queriesPosition"])
        for hit in hits
        if (words := hit.get("_rankingScoreDetails", {}).get("words"))
        and words["matchingWords"] >= words["maxMatchingWords"]
    ]
    return bool(whole) and (not exact or any(n in exact for n in whole))


def _completion(
    query: Query,
    shown: list[int],
    items: dict[int, dict[str, Any]],
    pages: dict[int, dict[str, Any]],
    filters: dict[str, list[str]],
) -> list[dict[str, Any]]:
    """What the ranked list lacks for the items shown, as one more request: how many pages of
    each match, the metadata of items found by their text only, and the best page of items
    found by their metadata."""
    if not shown:
        return []

    def among(ids: list[int]) -> str:
        return any_of("item_id", tuple(ids))

    queries: list[dict[str, Any]] = []
    if query.plain:
        queries.append(
            {
                "indexUid": "pages",
                "q": query.plain,
                "attributesToSearchOn": ["text"],
                "filter": [*filters["pages"], among(shown)],
                "limit": 0,
                "facets": ["item_id"],  # ≤ 100 values: within maxValuesPerFacet
            }
        )
    missing = [i for i in shown if i not in items]
    if missing:
        queries.append(
            {
                "indexUid": "items",
                "q": "",
                "filter": [*filters["items"], among(missing)],
                "limit": len(missing),
                "attributesToRetrieve": ITEM_FIELDS,
            }
        )
    without_page = [i for i in shown if i not in pages and query.plain]
    if without_page:
        queries.append(
            {
                "indexUid": "pages",
                "q": query.plain,
                "attributesToSearchOn": ["text"],
                "filter": [*filters["pages"], among(without_page)],
                "distinct": "item_id",
                "limit": len(without_page),
                "attributesToRetrieve": PAGE_FIELDS,
            }
        )
    return queries


def _completed(
    queries: list[dict[str, Any]],
    results: list[dict[str, Any]],
    items: dict[int, dict[str, Any]],
    pages: dict[int, dict[str, Any]],
) -> dict[int, int]:
    """Fill ``items`` and ``pages`` in from the completion's answers; returns the page counts."""
    counts: dict[int, int] = {}
    for q, result in zip(queries, results, strict=True):
        if q.get("facets"):
            distribution = result.get("facetDistribution", {}).get("item_id", {})
            counts = {int(k): v for k, v in distribution.items()}
        elif q["indexUid"] == "items":
            for hit in result["hits"]:
                items[int(hit["item_id"])] = hit
        else:
            for hit in result["hits"]:
                pages.setdefault(int(hit["item_id"]), hit)
    return counts


def _hit(item: dict[str, Any], page: dict[str, Any] | None, query: Query) -> Hit:
    """The hit as shown, but for its page count (filled in when it is known)."""
    words = query.words
    exact = query.exact is not None
    if page is not None:
        text = snippet(page["text"], words, exact=exact)
    else:
        text = snippet(item.get("description", ""), words, exact=exact) if words else ""
    return Hit(
        id=int(item["item_id"]),
        title=item["title"],
        title_html=mark(item["title"], words, exact=exact),
        creator=list(item.get("creator") or []),
        date=item.get("date") or "",
        place=list(item.get("place") or []),
        document_type=item.get("document_type") or "",
        access=item["access"],
        status=item["status"],
        page_count=int(item.get("page_count") or 0),
        snippet=text,
        best_page=int(page["number"]) if page is not None else None,
        matching_pages=0,
    )


def _values(document: dict[str, Any], name: str) -> list[Any]:
    value = document.get(name)
    if value is None or value == "" or value == []:
        return []
    return list(value) if isinstance(value, list) else [value]


def _count_facets(documents: list[dict[str, Any]], limit: int) -> dict[str, list[FacetValue]]:
    """Facet counts over the result items themselves (one per item, whichever hit found it)."""
    facets: dict[str, list[FacetValue]] = {}
    for name in FACETS:
        counter: Counter[Any] = Counter()
        for document in documents:
            counter.update(set(_values(document, name)))
        facets[FACET_OUT.get(name, name)] = _ordered(counter, limit)
    return facets


def _merged_facets(
    distribution: dict[str, dict[str, int]], limit: int
) -> dict[str, list[FacetValue]]:
    """Meilisearch's counts merged over both indexes (an item found by its metadata and by its
    text counts twice: used only for results too many to count ourselves)."""
    facets: dict[str, list[FacetValue]] = {}
    for name in FACETS:
        counter: Counter[Any] = Counter()
        for value, count in distribution.get(name, {}).items():
            key: Any = int(value) if name in ("collection_id", "decade") else value
            counter[key] += count
        facets[FACET_OUT.get(name, name)] = _ordered(counter, limit)
    return facets


def _ordered(counter: Counter[Any], limit: int) -> list[FacetValue]:
    """The ``limit`` most frequent; ties in Vietnamese alphabetical (or numeric) order.

    Only the values that can make the cut (a count at least the ``limit``-th largest) are given
    their collation key: a place facet has hundreds of values and a search shows twenty, and
    keying them all was a millisecond of every search (bench/search.py)."""
    if len(counter) > limit:
        floor = heapq.nlargest(limit, counter.values())[-1]
        candidates = [(value, count) for value, count in counter.items() if count >= floor]
    else:
        candidates = list(counter.items())
    candidates.sort(key=lambda kv: (-kv[1], _facet_key(kv[0]) if isinstance(kv[0], str) else kv[0]))
    return [FacetValue(value=value, count=count) for value, count in candidates[:limit]]


@lru_cache(maxsize=4096)  # the same few hundred places and subjects, on every search
def _facet_key(value: str) -> str:
    return sort_key(value)


@dataclass
class PageHit:
    number: int
    snippet: str


@dataclass
class ItemSearchResult:
    item_id: int
    query: str
    total: int
    page: int
    per_page: int
    hits: list[PageHit]


def search_item(
    engine: SearchEngine,
    *,
    item_id: int,
    q: str,
    page: int = 1,
    per_page: int = 50,
    scope: Scope = Scope.PUBLIC,
) -> ItemSearchResult:
    """The pages of one item that match, best first."""
    query = Query.parse(q, engine.long_forms)
    if not query.plain:
        return ItemSearchResult(item_id, query.typed, 0, page, per_page, [])
    offset = (page - 1) * per_page
    result = engine.multi_search(
        search_queries(
            query,
            kinds=("pages",),
            filters={"pages": filter_for("pages", Filters(), scope, f"item_id = {int(item_id)}")},
            sort=None,
            distinct_pages=False,
            page_fields=["number", "text"],
            item_fields=[],
        ),
        federation={"limit": per_page, "offset": offset},
    )
    exact = query.exact is not None
    return ItemSearchResult(
        item_id=item_id,
        query=query.typed,
        total=int(result["estimatedTotalHits"]),
        page=page,
        per_page=per_page,
        hits=[
            PageHit(number=int(h["number"]), snippet=snippet(h["text"], query.words, exact=exact))
            for h in result["hits"]
        ],
    )


@dataclass
class Suggestion:
    id: int
    title: str
    title_html: str


def suggest(engine: SearchEngine, *, q: str, scope: Scope = Scope.PUBLIC) -> list[Suggestion]:
    """Titles that complete what is being typed (prefix search on the last word)."""
    query = Query.parse(q, engine.long_forms)
    if not query.plain:
        return []
    result = engine.multi_search(
        search_queries(
            query,
            kinds=("items",),
            filters={"items": filter_for("items", Filters(), scope)},
            sort=None,
            distinct_pages=False,
            page_fields=[],
            item_fields=["item_id", "title"],
        ),
        federation={"limit": SUGGESTIONS, "offset": 0},
    )
    exact = query.exact is not None
    return [
        Suggestion(
            id=int(h["item_id"]),
            title=h["title"],
            title_html=mark(h["title"], query.words, exact=exact),
        )
        for h in result["hits"]
    ]


def browse(engine: SearchEngine, *, facet: str, scope: Scope = Scope.PUBLIC) -> list[FacetValue]:
    """Every value of one facet among the listed items, with counts, in Vietnamese alphabetical
    (or numeric) order: the browse lists. ``place_scope`` counts, per place, the items its
    filter finds (inside it, or in what it became or came from)."""
    if facet not in FACETS and facet != "place_scope":
        raise InvalidInput(f"Không duyệt được theo {facet!r}.", message_en=f"no facet {facet!r}")
    result = engine.multi_search(
        [
            {
                "indexUid": "items",
                "q": "",
                "filter": filter_for("items", Filters(), scope),
                "limit": 0,
                "facets": [facet],
            }
        ]
    )["results"][0]
    values = result.get("facetDistribution", {}).get(facet, {})
    numeric = facet in ("collection_id", "decade")
    return sorted(
        (FacetValue(value=int(v) if numeric else v, count=c) for v, c in values.items()),
        key=lambda f: f.value if isinstance(f.value, int) else _facet_key(f.value),
    )
