"""The public site for citizens: home, search results, item pages with the page viewer,
collections and browse lists. Server-rendered and complete without JavaScript; usage events are
recorded here (search, item view, page view, download)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)

from collection.api.audience import Audience, CurrentAudience, audience_for, points, usage
from collection.api.deps import AppSettings, DbSession
from collection.api.limits import limit_search
from collection.catalogue import reading as books
from collection.catalogue.service import cache_control
from collection.errors import InvalidInput, NotFound, ObjectNotFound, SearchUnavailable
from collection.ids import Id
from collection.models import Access, Item, ItemStatus, PlaceLevel, UsageKind
from collection.places import maps
from collection.places.gazetteer import Gazetteer
from collection.places.service import filter_keys, recent_gazetteer
from collection.points.service import Point
from collection.search import meili, searching
from collection.search.cache import answers_for
from collection.search.query import MAX_WINDOW, Filters, Sort
from collection.search.vietnamese import fold, has_diacritics
from collection.seo import schema_org
from collection.stats.readers import renew
from collection.storage import store_for
from collection.urls import manifest_url, public_base
from collection.web.i18n import LANG_COOKIE, LANGS, lang_of, translate
from collection.web.routes import safe_next
from collection.web.templating import FRONTEND_DIR, templates

router = APIRouter(include_in_schema=False)
PER_PAGE = 20
FACET_SHOWN = 12  # values per facet beside the results
PAGE_STRIP = 7  # page numbers shown around the current one in the viewer
# OpenSeadragon, put there by scripts/setup.sh: the viewer's deep zoom (site.js loads it on the
# first "+"); without it the viewer enlarges the page image as before.
DEEP_ZOOM_SCRIPT = "/static/vendor/openseadragon/openseadragon.min.js"
DEEP_ZOOM_FILE = FRONTEND_DIR / "static" / "vendor" / "openseadragon" / "openseadragon.min.js"

# URL parameter → (filter field, label): the same names as the JSON API.
FACET_PARAMS = {
    "collection": ("collection_id", "Bộ sưu tập"),
    "type": ("document_type", "Loại tài liệu"),
    "place": ("place", "Địa danh"),
    "decade": ("decade", "Thập niên"),
    "language": ("language", "Ngôn ngữ"),
    "subject": ("subject", "Chủ đề"),
}
BROWSE = {  # /duyet/<slug>
    "dia-danh": ("place", "Địa danh"),
    "chu-de": ("subject", "Chủ đề"),
    "thap-nien": ("decade", "Thập niên"),
    "loai-tai-lieu": ("document_type", "Loại tài liệu"),
}
SORTS = [
    (Sort.RELEVANCE, "Phù hợp nhất"),
    (Sort.NEWEST, "Mới nhất"),
    (Sort.OLDEST, "Cũ nhất"),
    (Sort.TITLE, "Nhan đề A–Z"),
]
ListParam = Annotated[list[str] | None, Query()]
IntListParam = Annotated[list[Id] | None, Query()]


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    return templates.TemplateResponse(request, name, context, status_code=status)


def _value_label(
    field: str, value: Any, collections: dict[int, str], lang: str, gaz: Gazetteer | None = None
) -> str:
    if field == "place" and gaz is not None:
        place = gaz.by_key.get(str(value))
        return gaz.label(place.id) if place else str(value)
    if field == "collection_id":
        return collections.get(int(value), f"#{value}")
    if field == "decade":
        return translate(lang, "Thập niên {value}", value=value)
    if field == "language":
        return translate(lang, books.language_name(str(value)))
    return str(value)


@router.get("/ngon-ngu/{lang}")
def choose_language(lang: str, next: str = "/") -> Response:
    """Switch the site between Vietnamese and English (a cookie), then go back."""
    if lang not in LANGS:
        raise NotFound("Không có ngôn ngữ này.", message_en=f"no language {lang!r}")
    response = RedirectResponse(safe_next(next, "/"), status_code=303)
    response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", httponly=True)
    return response


@router.post("/ket-thuc-phien")
def end_session(request: Request) -> Response:
    """ "Kết thúc phiên" on a shared public PC (or its idle reset): this browser is a new reader
    from now on, so the next citizen is their own visit and user; back to the home page."""
    renew(request)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(LANG_COOKIE, path="/")
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: DbSession, audience: CurrentAudience) -> Response:
    newest = books.newest(session)
    return _page(
        request,
        "home.html",
        {
            "user": audience.user,
            "published": books.published_count(session),
            "collections": books.collections(session),
            "newest": newest,
            "covers": books.thumbnails(session, [i.id for i in newest]),
            "browse": BROWSE,
        },
    )


@router.get("/tim-kiem", response_class=HTMLResponse)
def search_page(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    audience: CurrentAudience,
    q: Annotated[str, Query(max_length=10_000)] = "",
    collection: IntListParam = None,
    type: ListParam = None,
    place: ListParam = None,
    decade: IntListParam = None,
    language: ListParam = None,
    subject: ListParam = None,
    sort: Sort = Sort.RELEVANCE,
    page: Annotated[int, Query(ge=1, le=MAX_WINDOW // PER_PAGE)] = 1,
    w: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    chosen: dict[str, list[Any]] = {
        "collection": collection or [],
        "type": type or [],
        "place": place or [],
        "decade": decade or [],
        "language": language or [],
        "subject": subject or [],
    }
    gaz = recent_gazetteer(session)
    try:
        chosen["place"] = list(filter_keys(session, chosen["place"]))
    except InvalidInput:
        chosen["place"] = []  # an old link to a place that is no more: search without it
    filters = Filters.checked(
        **{FACET_PARAMS[name][0]: tuple(values) for name, values in chosen.items()}
    )
    context: dict[str, Any] = {
        "user": audience.user,
        "q": q[:200],
        "sort": sort,
        "sorts": SORTS,
        "chosen": chosen,
        "result": None,
        "unavailable": False,
    }
    limit_search(request, settings)
    try:
        result = searching.search(
            meili.ready_engine(settings),
            q=q,
            filters=filters,
            sort=sort,
            page=page,
            per_page=PER_PAGE,
            scope=audience.scope,
            facet_values=FACET_SHOWN,
            answers=answers_for(settings),
        )
    except SearchUnavailable:
        context["unavailable"] = True
        return _page(request, "search.html", context, status=503)
    if q.strip() or filters.active():
        # "Xem tất cả kết quả" from a point's widget counts for that point.
        who = _counted(request, settings, audience, _widget_point(request, w))
        usage(request).record(UsageKind.SEARCH, who.visitor, query=result.query, hits=result.total)
    titles = books.collection_titles(session)
    params = _params(q, chosen, sort)
    context |= {
        "result": result,
        "facets": _facets(result, chosen, params, titles, lang_of(request), gaz),
        "active": [
            (
                FACET_PARAMS[name][1],
                _value_label(FACET_PARAMS[name][0], v, titles, lang_of(request), gaz),
                _toggle(params, name, v),
            )
            for name, values in chosen.items()
            for v in values
        ],
        "sort_links": [(s, label, _with(params, sort=s.value, page=None)) for s, label in SORTS],
        "pages": _pagination(params, page, result.total),
        "other_form": _other_form(result),
        "did_you_mean": [(text, _with(params, q=text, page=None)) for text in result.did_you_mean],
        "shorter": result.shorter
        and (
            result.shorter.query,
            result.shorter.dropped,
            _with(params, q=result.shorter.query, page=None),
        ),
        "covers": books.thumbnails(session, [hit.id for hit in result.hits]),
    }
    return _page(request, "search.html", context)


def _params(q: str, chosen: dict[str, list[Any]], sort: Sort) -> list[tuple[str, str]]:
    params = [("q", q)] if q else []
    params += [(name, str(v)) for name, values in chosen.items() for v in values]
    if sort != Sort.RELEVANCE:
        params.append(("sort", sort.value))
    return params


def _url(params: list[tuple[str, str]], path: str = "/tim-kiem") -> str:
    return path + ("?" + urlencode(params) if params else "")


def _with(params: list[tuple[str, str]], path: str = "/tim-kiem", **changes: str | None) -> str:
    kept = [(k, v) for k, v in params if k not in changes]
    kept += [(k, v) for k, v in changes.items() if v is not None]
    return _url(kept, path)


def _toggle(params: list[tuple[str, str]], name: str, value: Any) -> str:
    """The URL with this filter value switched on or off (back to the first page)."""
    pair = (name, str(value))
    kept = [p for p in params if p != pair and p[0] != "page"]
    return _url(kept if pair in params else [*kept, pair])


def _facets(
    result: searching.SearchResult,
    chosen: dict[str, list[Any]],
    params: list[tuple[str, str]],
    titles: dict[int, str],
    lang: str,
    gaz: Gazetteer,
) -> list[dict[str, Any]]:
    groups = []
    for name, (field, label) in FACET_PARAMS.items():
        values = result.facets.get(field, [])
        if not values:
            continue
        groups.append(
            {
                "name": name,
                "label": label,
                "values": [
                    {
                        "label": _value_label(field, v.value, titles, lang, gaz),
                        "count": v.count,
                        "href": _toggle(params, name, v.value),
                        "active": str(v.value) in {str(c) for c in chosen[name]},
                    }
                    for v in values[:FACET_SHOWN]
                ],
            }
        )
    return groups


def _pagination(
    params: list[tuple[str, str]], page: int, total: int, path: str = "/tim-kiem"
) -> dict[str, Any]:
    last = max(1, min((total + PER_PAGE - 1) // PER_PAGE, MAX_WINDOW // PER_PAGE))
    numbers = sorted({1, last, *range(max(1, page - 2), min(last, page + 2) + 1)})

    def to(n: int) -> str:
        return _with(params, path, page=str(n) if n > 1 else None)

    return {
        "current": page,
        "last": last,
        "prev": to(page - 1) if page > 1 else None,
        "next": to(page + 1) if page < last else None,
        "numbers": [(n, to(n)) for n in numbers],
    }


def _other_form(result: searching.SearchResult) -> tuple[str, str] | None:
    """For a search that found nothing: the same words without diacritics (or a hint)."""
    if result.total or not result.searched:
        return None
    if has_diacritics(result.searched):
        plain = fold(result.searched)
        return plain, "/tim-kiem?" + urlencode({"q": plain})
    return None


@router.get("/tai-lieu/{item_id}", response_class=HTMLResponse)
def item_page(
    item_id: Id,
    request: Request,
    session: DbSession,
    settings: AppSettings,
    audience: CurrentAudience,
    trang: Annotated[int, Query(ge=1, le=100_000)] = 1,
    q: Annotated[str, Query(max_length=10_000)] = "",
    w: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    seen = books.reading(
        session=session, item_id=item_id, viewer=audience.user, at_point=audience.at_point
    )
    from_widget = _widget_point(request, w)
    who = _counted(request, settings, audience, from_widget)
    number = min(trang, max(seen.page_count, 1))
    page = None
    if seen.readable and seen.page_count:
        page = books.page_of(session=session, item_id=item_id, number=number)
    # One action, one event: the item page with a page shown is an investigation and a request.
    usage(request).record(
        UsageKind.ITEM_VIEW, who.visitor, item_id=item_id, page_number=number if page else None
    )
    inside = None
    inside_error = False
    if q.strip() and seen.readable:
        limit_search(request, settings)
        try:
            inside = searching.search_item(
                meili.ready_engine(settings),
                item_id=item_id,
                q=q,
                per_page=100,
                scope=audience.scope,
            )
        except SearchUnavailable:
            inside_error = True
    base = public_base(request, settings)
    url = f"{base}/tai-lieu/{item_id}"
    strip_from = max(1, min(number - PAGE_STRIP // 2, seen.page_count - PAGE_STRIP + 1))
    return _page(
        request,
        "item.html",
        {
            "user": audience.user,
            "seen": seen,
            "item": seen.item,
            "page": page,
            "number": number,
            "strip": list(range(strip_from, min(seen.page_count, strip_from + PAGE_STRIP - 1) + 1)),
            "q": q[:200],
            "inside": inside,
            "inside_error": inside_error,
            "url": url,
            "manifest": manifest_url(base, item_id),
            "deep_zoom": DEEP_ZOOM_SCRIPT if DEEP_ZOOM_FILE.exists() else None,
            "citation": seen.citation(url, date.today()),
            "seo": schema_org.item_metadata(
                session=session, item=seen.item, url=url, base=base, gaz=recent_gazetteer(session)
            ),
            "places": [
                _place_line(recent_gazetteer(session), p.place_id) for p in seen.item.places
            ],
            "onsite_only": seen.item.access == Access.ONSITE and not seen.readable,
            "draft": seen.item.status != ItemStatus.PUBLISHED,
            "w": w if from_widget else None,
        },
    )


def _place_line(gaz: Gazetteer, place_id: Id) -> dict[str, Any]:
    """A place on an item page: its name with where it lies, and what it became or came from."""
    return {
        "label": gaz.title(place_id),
        "href": _url([("place", gaz.places[place_id].key)]),
        "became": [gaz.label(n) for n in gaz.successors.get(place_id, [])],
        "came_from": [gaz.label(o) for o in gaz.predecessors.get(place_id, [])],
    }


def _widget_point(request: Request, key: str | None) -> Point | None:
    """The point whose widget link (``?w=KEY``) brought the reader here, if the key is good."""
    return points(request).for_key(key) if key else None


def _counted(
    request: Request, settings: AppSettings, audience: Audience, point: Point | None
) -> Audience:
    """Views that came through a point's widget link are counted for that point."""
    return audience_for(request, settings, audience.user, point) if point else audience


_PAGE_REFUSAL = (
    "Trang này chỉ đọc được tại các điểm truy cập của thư viện.",
    "on-site material: readable at registered access points only",
)
_FILE_REFUSAL = (
    "Tệp này chỉ tải được tại các điểm truy cập của thư viện.",
    "on-site material: downloadable at registered access points only",
)


def _openable(
    session: DbSession, audience: Audience, item_id: Id, refusal: tuple[str, str]
) -> Item:
    return books.openable(
        session=session,
        item_id=item_id,
        viewer=audience.user,
        at_point=audience.at_point,
        refusal=refusal,
    )


@router.get("/tai-lieu/{item_id}/trang/{number}")
def page_json(
    item_id: Id,
    number: Id,
    request: Request,
    session: DbSession,
    settings: AppSettings,
    audience: CurrentAudience,
    w: Annotated[str | None, Query(max_length=100)] = None,
) -> JSONResponse:
    """One page for the viewer's script: its image address and text."""
    _openable(session, audience, item_id, _PAGE_REFUSAL)
    page = books.page_of(session=session, item_id=item_id, number=number)
    who = _counted(request, settings, audience, _widget_point(request, w))
    usage(request).record(UsageKind.PAGE_VIEW, who.visitor, item_id=item_id, page_number=number)
    return JSONResponse(
        {
            "number": page.number,
            "of": books.page_count(session, item_id),
            "image": f"/tai-lieu/{item_id}/trang/{number}/anh" if page.image_key else None,
            "width": page.width,
            "height": page.height,
            "text": page.effective_text,
        },
        headers={"Cache-Control": "private, no-store"},
    )


PLACEHOLDER = """<svg xmlns="http://www.w3.org/2000/svg" width="600" height="800" viewBox="0 0 600 800">
<rect width="600" height="800" fill="#f1ede6"/><text x="300" y="400" font-family="sans-serif"
font-size="28" text-anchor="middle" fill="#5b6673">Chưa có ảnh trang này</text></svg>"""


@router.get("/tai-lieu/{item_id}/trang/{number}/{size}")
def page_image(
    item_id: Id,
    number: Id,
    size: str,
    session: DbSession,
    settings: AppSettings,
    audience: CurrentAudience,
) -> Response:
    """The page image (``anh``) or its thumbnail (``anh-nho``); a placeholder when it is missing."""
    if size not in ("anh", "anh-nho"):
        raise NotFound("Không tìm thấy trang này.", message_en="no such page")
    item = _openable(session, audience, item_id, _PAGE_REFUSAL)
    page = books.page_of(session=session, item_id=item_id, number=number)
    key = page.image_key if size == "anh" else page.thumbnail_key
    try:
        if key is None:
            raise ObjectNotFound(message_en="no image yet")
        data = store_for(settings).get_bytes(key)
    except ObjectNotFound:
        return Response(
            PLACEHOLDER, media_type="image/svg+xml", headers={"Cache-Control": "no-store"}
        )
    return Response(
        data,
        media_type="image/jpeg",
        headers={"Cache-Control": cache_control(item)},
    )


@router.get("/tai-lieu/{item_id}/tep/{file_id}")
def download(
    item_id: Id,
    file_id: Id,
    request: Request,
    session: DbSession,
    settings: AppSettings,
    audience: CurrentAudience,
) -> Response:
    _openable(session, audience, item_id, _FILE_REFUSAL)
    stored = books.file_of(session=session, item_id=item_id, file_id=file_id)
    chunks = store_for(settings).open_stream(stored.storage_key)
    usage(request).record(UsageKind.DOWNLOAD, audience.visitor, item_id=item_id)
    name = stored.original_name or f"tai-lieu-{item_id}"
    if stored.role == "searchable_pdf":
        name = f"tai-lieu-{item_id}-co-the-tim-kiem.pdf"
    return StreamingResponse(
        chunks,
        media_type=stored.media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
            "Content-Length": str(stored.size),
        },
    )


@router.get("/bo-suu-tap", response_class=HTMLResponse)
def collections_page(request: Request, session: DbSession, audience: CurrentAudience) -> Response:
    return _page(
        request,
        "collections.html",
        {"user": audience.user, "collections": books.collections(session)},
    )


@router.get("/bo-suu-tap/{collection_id}", response_class=HTMLResponse)
def collection_page(
    collection_id: Id,
    request: Request,
    session: DbSession,
    settings: AppSettings,
    audience: CurrentAudience,
    page: Annotated[int, Query(ge=1, le=MAX_WINDOW // PER_PAGE)] = 1,
) -> Response:
    found = books.collection(session, collection_id)
    result = searching.search(
        meili.ready_engine(settings),
        q="",
        filters=Filters(collection_id=(collection_id,)),
        sort=Sort.TITLE,
        page=page,
        per_page=PER_PAGE,
        scope=audience.scope,
    )
    params = [("collection", str(collection_id)), ("sort", "title")]
    return _page(
        request,
        "collection.html",
        {
            "user": audience.user,
            "collection": found,
            "result": result,
            "covers": books.thumbnails(session, [hit.id for hit in result.hits]),
            "pages": _pagination([], page, result.total, f"/bo-suu-tap/{collection_id}"),
            "search_url": _url(params),
        },
    )


@router.get("/duyet", response_class=HTMLResponse)
def browse_index(request: Request, audience: CurrentAudience) -> Response:
    return _page(request, "browse.html", {"user": audience.user, "browse": BROWSE, "facet": None})


@router.get("/duyet/{slug}", response_class=HTMLResponse)
def browse_page(
    slug: str,
    request: Request,
    settings: AppSettings,
    session: DbSession,
    audience: CurrentAudience,
) -> Response:
    if slug not in BROWSE:
        raise NotFound("Không có danh mục duyệt này.", message_en=f"no browse list {slug!r}")
    if slug == "dia-danh":
        return _browse_places(request, settings, session, audience)
    field, label = BROWSE[slug]
    param = next(name for name, (f, _) in FACET_PARAMS.items() if f == field)
    titles = books.collection_titles(session)
    values = searching.browse(meili.ready_engine(settings), facet=field, scope=audience.scope)
    return _page(
        request,
        "browse.html",
        {
            "user": audience.user,
            "browse": BROWSE,
            "facet": label,
            "slug": slug,
            "values": [
                (
                    _value_label(field, v.value, titles, lang_of(request)),
                    v.count,
                    _url([(param, str(v.value))]),
                )
                for v in values
            ],
        },
    )


def _browse_places(
    request: Request, settings: AppSettings, session: DbSession, audience: Audience
) -> Response:
    """Places two ways: the old districts (before 07/2025) and the new communes and wards, each
    with how many items its filter finds (inside it, or in what it became or came from)."""
    gaz = recent_gazetteer(session)
    counts = {
        str(v.value): v.count
        for v in searching.browse(
            meili.ready_engine(settings), facet="place_scope", scope=audience.scope
        )
    }

    def rows(ids: list[int]) -> list[dict[str, Any]]:
        out = []
        for pid in sorted(ids, key=gaz.sort_order):
            place = gaz.places[pid]
            if not counts.get(place.key):
                continue  # a place with nothing yet: listed in the staff gazetteer, not here
            out.append(
                {
                    "name": place.named,
                    "key": place.key,
                    "count": counts.get(place.key, 0),
                    "href": _url([("place", place.key)]),
                    "hierarchy": gaz.hierarchy(pid),
                }
            )
        return out

    province = next(p for p in gaz.places.values() if p.level == PlaceLevel.PROVINCE)
    children = gaz.children.get(province.id, [])
    districts = [c for c in children if gaz.places[c].is_old]
    communes = [c for c in children if gaz.places[c].is_new]
    return _page(
        request,
        "browse_places.html",
        {
            "user": audience.user,
            "browse": BROWSE,
            "districts": [
                {**row, "inside": rows(gaz.children.get(gaz.by_key[row["key"]].id, []))}
                for row in rows(districts)
            ],
            "communes": rows(communes),
            "district_total": len(districts),
            "commune_total": len(communes),
            "province_count": counts.get(province.key, 0),
        },
    )


@router.get("/ban-do", response_class=HTMLResponse)
def map_page(
    request: Request, settings: AppSettings, session: DbSession, audience: CurrentAudience
) -> Response:
    """Where the items are from and where the access points are, drawn on the server as SVG."""
    gaz = recent_gazetteer(session)
    counts = {
        str(v.value): v.count
        for v in searching.browse(
            meili.ready_engine(settings), facet="place_key", scope=audience.scope
        )
    }
    drawn = maps.province_map(
        gaz,
        item_counts=counts,
        points=maps.point_marks(session, gaz),
        link=lambda key: _url([("place", key)]),
    )
    return _page(
        request,
        "map.html",
        {"user": audience.user, "map": drawn, "browse": BROWSE},
    )
