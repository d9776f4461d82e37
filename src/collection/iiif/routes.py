"""IIIF over HTTP: the Image API 3 (level 0) per page, Presentation 3 manifests and collections,
and Content Search 2.0 / 1.0 per item. Who may read is the public site's rule: an on-site item's
pages only at a registered access point, drafts and staff-only items only for staff. Every answer
allows any origin (viewers run on other sites)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from collection.api.audience import Audience, CurrentAudience
from collection.api.deps import AppSettings, DbSession
from collection.api.limits import limit_search
from collection.catalogue import reading as books
from collection.catalogue.service import cache_control, may_read
from collection.errors import NotFound, ObjectNotFound
from collection.ids import Id
from collection.iiif import content_search, image, presentation
from collection.models import Access, Collection, Item, ItemStatus, Page
from collection.places.service import item_labels, recent_gazetteer
from collection.search import meili, searching
from collection.search.vietnamese import sort_key
from collection.storage import store_for
from collection.urls import public_base

router = APIRouter(prefix="/iiif", tags=["iiif"])
PageId = Annotated[str, Path(pattern=r"^\d{1,12}-\d{1,6}$", description="<item id>-<page number>")]
Q = Annotated[str, Query(max_length=500, description="Words to find in the item's pages")]
SearchPage = Annotated[int, Query(ge=1, le=1000)]
LD_JSON = "application/ld+json"
PRESENTATION_PROFILE = (
    'application/ld+json;profile="http://iiif.io/api/presentation/3/context.json"'
)
CORS = {"Access-Control-Allow-Origin": "*"}
_REFUSAL = (
    "Trang này chỉ đọc được tại các điểm truy cập của thư viện.",
    "on-site material: readable at registered access points only",
)
_NO_TILE = ("Không có ảnh cỡ này của trang.", "level 0: no such image or tile")


def _readable(session: Session, audience: Audience, item_id: int) -> Item:
    return books.openable(
        session=session,
        item_id=item_id,
        viewer=audience.user,
        at_point=audience.at_point,
        refusal=_REFUSAL,
    )


def _page(session: Session, audience: Audience, page_id: str) -> tuple[Page, str]:
    """The page behind an image service id, and its Cache-Control."""
    item_id, number = (int(part) for part in page_id.split("-"))
    item = _readable(session, audience, item_id)
    page = session.scalar(select(Page).where(Page.item_id == item_id, Page.number == number))
    if page is None or page.image_key is None or not page.width or not page.height:
        raise NotFound(
            f"Trang {number} của tài liệu số {item_id} chưa có ảnh.",
            message_en=f"no image for page {number} of item {item_id}",
        )
    return page, cache_control(item)


class LdJson(JSONResponse):
    media_type = LD_JSON


class PresentationJson(JSONResponse):
    media_type = PRESENTATION_PROFILE


def _documented(media_type: str, what: str) -> dict[int | str, dict[str, Any]]:
    """The answer's JSON-LD media type in OpenAPI (refusals stay our application/json)."""
    return {200: {"description": what, "content": {media_type: {"schema": {"type": "object"}}}}}


def _json(document: dict[str, Any], cache: str, kind: type[JSONResponse] = LdJson) -> JSONResponse:
    return kind(document, headers={"Cache-Control": cache, **CORS})


# --- Image API --------------------------------------------------------------------------------


@router.get(
    "/3/{page_id}",
    summary="A page's IIIF image service: its info.json",
    status_code=303,
    response_class=Response,
    responses={303: {"description": "See the service's info.json"}},
)
def image_base(page_id: PageId, request: Request, settings: AppSettings) -> Response:
    """The base URI of an image service redirects to its info.json (Image API 3, 2.2)."""
    base = public_base(request, settings)
    return Response(
        status_code=303, headers={"Location": f"{base}/iiif/3/{page_id}/info.json", **CORS}
    )


@router.get(
    "/3/{page_id}/info.json",
    summary="IIIF image information of a page (level 0)",
    responses=_documented(LD_JSON, "The page's image service (ImageService3)"),
)
def info(
    page_id: PageId,
    request: Request,
    session: DbSession,
    settings: AppSettings,
    audience: CurrentAudience,
) -> JSONResponse:
    page, cache = _page(session, audience, page_id)
    tiles = image.tiles_cache.get(store_for(settings), page)
    service_id = f"{public_base(request, settings)}/iiif/3/{page_id}"
    document = image.service_info(page, tiles, service_id)
    assert document is not None  # _page checked the page image
    return _json(document, cache)


@router.get(
    "/3/{page_id}/{region}/{size}/{rotation}/{name}",
    summary="An image of a page: the full page or a tile, exactly as its info.json lists",
    response_class=Response,
)
def image_request(
    page_id: PageId,
    region: str,
    size: str,
    rotation: str,
    name: str,
    session: DbSession,
    settings: AppSettings,
    audience: CurrentAudience,
) -> Response:
    page, cache = _page(session, audience, page_id)
    store = store_for(settings)
    key = None
    if rotation == "0":
        key = image.object_key(page, image.tiles_cache.get(store, page), region, size, name)
    if key is None:
        raise NotFound(_NO_TILE[0], message_en=_NO_TILE[1])
    try:  # a tile or page image is ~10-300 KB: read it whole
        data = store.get_bytes(key)
    except ObjectNotFound as exc:
        raise NotFound(_NO_TILE[0], message_en=_NO_TILE[1]) from exc
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": cache, **CORS})


# --- Presentation API -------------------------------------------------------------------------


@router.get(
    "/item/{item_id}/manifest",
    summary="The IIIF Presentation 3 manifest of an item",
    responses=_documented(PRESENTATION_PROFILE, "A IIIF Presentation 3 Manifest"),
)
def manifest(
    item_id: Id,
    request: Request,
    session: DbSession,
    settings: AppSettings,
    audience: CurrentAudience,
) -> JSONResponse:
    item = _readable(session, audience, item_id)
    document = presentation.manifest_for(
        session=session,
        settings=settings,
        item=item,
        base=public_base(request, settings),
        place_labels=item_labels(recent_gazetteer(session), item),
    )
    return _json(document, cache_control(item), PresentationJson)


@router.get(
    "/collection",
    summary="Every collection, as a IIIF Collection",
    responses=_documented(PRESENTATION_PROFILE, "A IIIF Presentation 3 Collection"),
)
def top_collection(request: Request, session: DbSession, settings: AppSettings) -> JSONResponse:
    collections = sorted(session.scalars(select(Collection)), key=lambda c: sort_key(c.title))
    document = presentation.top_collection(
        base=public_base(request, settings), collections=collections
    )
    return _json(document, "public, max-age=300", PresentationJson)


@router.get(
    "/collection/{collection_id}",
    summary="A collection's items, as a IIIF Collection",
    responses=_documented(PRESENTATION_PROFILE, "A IIIF Presentation 3 Collection"),
)
def collection(
    collection_id: Id,
    request: Request,
    session: DbSession,
    settings: AppSettings,
    audience: CurrentAudience,
) -> JSONResponse:
    found = session.get(Collection, collection_id)
    if found is None:
        raise NotFound(
            f"Không có bộ sưu tập số {collection_id}.", message_en=f"no collection {collection_id}"
        )
    items = [
        (item.id, item.title)
        for item in session.scalars(
            select(Item)
            .where(
                Item.collection_id == collection_id,
                Item.status == ItemStatus.PUBLISHED,
                Item.access.in_((Access.PUBLIC, Access.ONSITE)),
            )
            .order_by(Item.id)
        )
        if may_read(item, audience.user, at_point=audience.at_point)
    ]
    items.sort(key=lambda pair: sort_key(pair[1]))
    document = presentation.collection_of(
        base=public_base(request, settings), collection=found, items=items
    )
    cache = "public, max-age=300" if not audience.at_point else "private, max-age=300"
    return _json(document, cache, PresentationJson)


# --- Content Search ---------------------------------------------------------------------------


SEARCH_PAGE_SIZE = 50


@dataclass(frozen=True)
class Searched:
    """Search inside a readable item, as both versions of Content Search answer it."""

    urls: presentation.Urls
    q: str
    result: searching.ItemSearchResult


def _searched(
    item_id: Id,
    request: Request,
    session: DbSession,
    settings: AppSettings,
    audience: CurrentAudience,
    q: Q = "",
    page: SearchPage = 1,
) -> Searched:
    _readable(session, audience, item_id)
    limit_search(request, settings)
    result = searching.search_item(
        meili.ready_engine(settings),
        item_id=item_id,
        q=q,
        page=page,
        per_page=SEARCH_PAGE_SIZE,
        scope=audience.scope,
    )
    return Searched(presentation.Urls(public_base(request, settings), item_id), q, result)


SearchedInside = Annotated[Searched, Depends(_searched)]


@router.get(
    "/item/{item_id}/search",
    summary="IIIF Content Search 2.0 inside an item",
    responses=_documented(LD_JSON, "An AnnotationPage of the pages that match"),
)
def content_search_2(found: SearchedInside) -> JSONResponse:
    return _json(content_search.search2(found.urls, found.q, found.result), "private, no-store")


@router.get(
    "/item/{item_id}/search/v1",
    summary="IIIF Content Search 1.0 inside an item",
    responses=_documented(LD_JSON, "An sc:AnnotationList with search:Hits"),
)
def content_search_1(found: SearchedInside) -> JSONResponse:
    return _json(content_search.search1(found.urls, found.q, found.result), "private, no-store")
