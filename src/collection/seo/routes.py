"""robots.txt and the sitemaps: public, no login, the same answer for everyone."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response, StreamingResponse

from collection.api.deps import AppSettings, DbSession
from collection.db import unit_of_work
from collection.errors import NotFound
from collection.seo import sitemaps
from collection.urls import public_base

router = APIRouter(include_in_schema=False)
XML = "application/xml"
CACHED = {"Cache-Control": "public, max-age=3600"}

# Staff pages, the API and search results (endless combinations of filters: a crawl trap) are
# not for crawlers; items are, and the sitemap lists them all.
ROBOTS = """User-agent: *
Allow: /tai-lieu/
Disallow: /staff
Disallow: /login
Disallow: /api/
Disallow: /tim-kiem
Disallow: /ngon-ngu/
Disallow: /widget/
Disallow: /healthz

Sitemap: {base}/sitemap.xml
"""


@router.get("/robots.txt")
def robots_txt(request: Request, settings: AppSettings) -> Response:
    return PlainTextResponse(ROBOTS.format(base=public_base(request, settings)), headers=CACHED)


@router.get("/sitemap.xml")
def sitemap_index(request: Request, session: DbSession, settings: AppSettings) -> Response:
    body = sitemaps.sitemap_index(session=session, base=public_base(request, settings))
    return Response(body, media_type=XML, headers=CACHED)


@router.get(f"/sitemap-{sitemaps.SITE_PART}.xml")
def site_sitemap(request: Request, session: DbSession, settings: AppSettings) -> Response:
    body = sitemaps.site_part(session=session, base=public_base(request, settings))
    return Response(body, media_type=XML, headers=CACHED)


@router.get("/sitemap-{number:int}.xml")
def item_sitemap(number: int, request: Request, settings: AppSettings) -> Response:
    if not sitemaps.part_exists(number):
        raise NotFound("Không có sơ đồ trang này.", message_en=f"no sitemap part {number}")
    base = public_base(request, settings)

    def written() -> Iterator[str]:
        # The request's session closes before a streamed body is sent: the stream has its own.
        with unit_of_work(request.app.state.sessions) as session:
            yield from sitemaps.item_part(session=session, base=base, number=number)

    return StreamingResponse(written(), media_type=XML, headers=CACHED)
