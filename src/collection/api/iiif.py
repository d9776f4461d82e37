"""IIIF Image API 3, level 0: the static tiles the pipeline cut for each page, served from S3.

A page's identifier is ``<item id>-<page number>``. Only the files libvips wrote exist (level 0):
viewers read ``info.json`` and ask for exactly those tiles; anything else is a 404."""

from __future__ import annotations

import json
import re
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select

from collection.api.audience import Audience, CurrentAudience
from collection.api.deps import AppSettings, DbSession
from collection.catalogue.service import cache_control, readable_item
from collection.errors import NotFound, ObjectNotFound
from collection.models import Page
from collection.storage import store_for
from collection.urls import public_base

router = APIRouter(prefix="/iiif/3", tags=["iiif"])
PageId = Annotated[str, Path(pattern=r"^\d{1,12}-\d{1,6}$", description="<item id>-<page number>")]
_REGION = re.compile(r"^(full|\d{1,6},\d{1,6},\d{1,6},\d{1,6})$")
_SIZE = re.compile(r"^(max|\d{1,6},\d{0,6}|\d{0,6},\d{1,6})$")


def _page(session: DbSession, audience: Audience, page_id: str) -> tuple[Page, str]:
    """The page with tiles, and its Cache-Control."""
    item_id, number = (int(part) for part in page_id.split("-"))
    item = readable_item(
        session=session, item_id=item_id, viewer=audience.user, at_point=audience.at_point
    )
    page = session.scalar(select(Page).where(Page.item_id == item_id, Page.number == number))
    if page is None or page.tiles_prefix is None:
        raise NotFound(
            f"Trang {number} của tài liệu số {item_id} chưa có ảnh phóng to.",
            message_en=f"no tiles for page {number} of item {item_id}",
        )
    return page, cache_control(item)


@router.get("/{page_id}/info.json", summary="IIIF image information of a page (level 0)")
def info(
    page_id: PageId,
    request: Request,
    session: DbSession,
    settings: AppSettings,
    audience: CurrentAudience,
) -> JSONResponse:
    page, cache = _page(session, audience, page_id)
    document = json.loads(store_for(settings).get_bytes(f"{page.tiles_prefix}info.json"))
    base = public_base(request, settings)
    document["id"] = f"{base}/iiif/3/{page_id}"
    return JSONResponse(
        document,
        media_type="application/ld+json",
        headers={"Cache-Control": cache, "Access-Control-Allow-Origin": "*"},
    )


@router.get(
    "/{page_id}/{region}/{size}/{rotation}/{name}",
    summary="One tile of a page, exactly as listed by its info.json",
    response_class=Response,
)
def tile(
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
    if not (_REGION.match(region) and _SIZE.match(size) and rotation == "0"):
        raise NotFound("Không có ô ảnh này.", message_en="level 0: no such tile")
    if name != "default.jpg":
        raise NotFound("Không có ô ảnh này.", message_en="level 0: only default.jpg")
    try:  # a tile is ~10-60 KB: read it whole
        data = store_for(settings).get_bytes(f"{page.tiles_prefix}{region}/{size}/0/default.jpg")
    except ObjectNotFound as exc:
        raise NotFound("Không có ô ảnh này.", message_en="level 0: no such tile") from exc
    return Response(
        data,
        media_type="image/jpeg",
        headers={"Cache-Control": cache, "Access-Control-Allow-Origin": "*"},
    )
