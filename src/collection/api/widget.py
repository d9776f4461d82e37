"""The embeddable search widget: its script, its cross-origin search API and the iframe page for
sites that forbid third-party scripts. Every widget search is counted for the key's point."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, TypeAdapter

from collection.api.audience import audience_for, points, usage
from collection.api.deps import AppSettings
from collection.api.limits import limit_search
from collection.config import Settings
from collection.errors import CollectionError, InvalidInput
from collection.models import UsageKind
from collection.points import widget
from collection.points.service import Point
from collection.search import meili
from collection.search.cache import answers_for
from collection.search.query import MAX_QUERY_CHARS
from collection.search.routes import ShorterOut
from collection.web.templating import FRONTEND_DIR, templates

SCRIPT = FRONTEND_DIR / "static" / "widget.js"

Key = Annotated[str, Query(max_length=100, description="The access point's widget key.")]
WidgetQ = Annotated[str, Query(description=f"What to look for (first {MAX_QUERY_CHARS} chars).")]
WidgetPage = Annotated[int, Query(ge=1, le=widget.MAX_PAGE, description="Result page, from 1.")]

# Errors carry these so the widget's script may read the message on any site (never results:
# only successful answers name the requesting origin).
READABLE_ERROR = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Retry-After",
    "Vary": "Origin",
    "Cache-Control": "no-store",
}


class _ReadableErrors(APIRoute):
    """Errors of the widget API, bad parameters included, reach the widget as JSON it can read."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                raise InvalidInput(
                    "Yêu cầu tìm kiếm không hợp lệ.",
                    message_en=f"invalid widget request: {exc.errors()}",
                    headers=READABLE_ERROR,
                ) from exc
            except CollectionError as exc:
                exc.headers = {**exc.headers, **READABLE_ERROR}
                raise

        return guarded


api = APIRouter(prefix="/api/v1/widget", tags=["widget"], route_class=_ReadableErrors)
pages = APIRouter(tags=["widget"])


class WidgetHitOut(BaseModel):
    id: int
    title_html: str = Field(description="The title, HTML-escaped, query words in <mark>.")
    snippet: str = Field(description="HTML-escaped text, query words in <mark>.")
    matching_pages: int = Field(description='How many pages match ("N trang khớp").')
    date: str
    url: str = Field(description="The item page on our site, carrying the point (?w=KEY).")


class WidgetSearchOut(BaseModel):
    query: str
    total: int
    total_exact: bool = Field(description="False when `total` is an estimate.")
    page: int
    per_page: int
    hits: list[WidgetHitOut]
    more_url: str = Field(description="All results on our site, carrying the point.")
    did_you_mean: list[str] = Field(
        default_factory=list,
        description="As in /api/v1/search: spellings from the collection's vocabulary that do "
        "find something, when nothing (or nothing with every word, or with the marks typed) was.",
    )
    shorter: ShorterOut | None = Field(
        None, description="When nothing was found: the query without its rarest word."
    )


_RESULT = TypeAdapter(widget.WidgetResult)
_limiter_lock = threading.Lock()


def _limiter(request: Request, settings: Settings) -> widget.RateLimiter:
    # Kept on the app so each app (each test) has its own buckets.
    with _limiter_lock:
        limiter: widget.RateLimiter | None = getattr(request.app.state, "widget_limiter", None)
        if limiter is None:
            limiter = widget.RateLimiter(settings.widget_searches_per_minute)
            request.app.state.widget_limiter = limiter
        return limiter


def _search(
    request: Request, settings: Settings, point: Point, q: str, page: int
) -> widget.WidgetResult:
    """Rate-limit, search and count: what the script and the frame share once the key passed."""
    q = widget.clean_query(q)
    if q:
        _limiter(request, settings).check(point.id)
        limit_search(request, settings)
    audience = audience_for(request, settings, None, point=point)
    result = widget.widget_search(
        engine=meili.ready_engine(settings),
        point=point,
        q=q,
        page=page,
        scope=audience.scope,
        base_url=settings.base_url,
        answers=answers_for(settings),
    )
    if q and page == 1:  # turning pages is the same search
        usage(request).record(UsageKind.WIDGET_SEARCH, audience.visitor, query=q, hits=result.total)
    return result


@api.get(
    "/search",
    response_model=WidgetSearchOut,
    summary="Search from a point's widget (only from the point's registered sites)",
    responses={
        401: {"description": "Unknown, missing or revoked key."},
        403: {"description": "The calling page's origin is not registered for the key."},
        429: {"description": "Too many searches for this key; see Retry-After."},
    },
)
def search_from_widget(
    request: Request, settings: AppSettings, key: Key = "", q: WidgetQ = "", page: WidgetPage = 1
) -> Response:
    point = widget.point_for_key(points(request).for_key, key)
    origin = widget.check_origin(point, request.headers.get("origin"))
    result = _search(request, settings, point, q, page)
    return Response(
        _RESULT.dump_json(result),
        media_type="application/json",
        headers={
            "Access-Control-Allow-Origin": origin,
            "Vary": "Origin",
            "Cache-Control": "no-store",  # each search is counted
        },
    )


@pages.get("/widget.js", include_in_schema=False)
def widget_script() -> FileResponse:
    return FileResponse(
        SCRIPT,
        media_type="text/javascript; charset=utf-8",
        headers={
            "Cache-Control": "public, max-age=3600",
            # Hosts that isolate themselves (COEP require-corp) may still load it.
            "Cross-Origin-Resource-Policy": "cross-origin",
            "X-Content-Type-Options": "nosniff",
        },
    )


@pages.get("/widget/frame", response_class=HTMLResponse, include_in_schema=False)
def widget_frame(
    request: Request, settings: AppSettings, key: Key = "", q: WidgetQ = "", page: WidgetPage = 1
) -> Response:
    """The iframe fallback: works without JavaScript; errors are shown inside the frame."""
    point: Point | None = None
    result: widget.WidgetResult | None = None
    error: CollectionError | None = None
    try:
        point = widget.point_for_key(points(request).for_key, key)
        result = _search(request, settings, point, q, page)
    except CollectionError as exc:
        error = exc
    nonce = secrets.token_urlsafe(16)
    headers = {
        **(error.headers if error else {}),
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'nonce-{nonce}'; form-action 'self'; "
            f"base-uri 'none'; frame-ancestors {widget.frame_ancestors(point)}"
        ),
        "Cache-Control": "no-store",
        "Referrer-Policy": "strict-origin-when-cross-origin",
    }
    return templates.TemplateResponse(
        request,
        "widget/frame.html",
        {
            "key": key,
            "q": widget.clean_query(q),
            "result": result,
            "error": error,
            "nonce": nonce,
            "pages": _page_links(key, result) if result else {},
            "help": _help_links(key, result) if result else {},
        },
        status_code=error.status if error else 200,
        headers=headers,
    )


def _frame_url(key: str, q: str) -> str:
    return "/widget/frame?" + urlencode({"key": key, "q": q})


def _help_links(key: str, result: widget.WidgetResult) -> dict[str, Any]:
    """The frame's "did you mean" and shorter query, as links to the frame itself."""
    shorter = result.shorter
    return {
        "did_you_mean": [(text, _frame_url(key, text)) for text in result.did_you_mean],
        "shorter": shorter and (shorter.query, shorter.dropped, _frame_url(key, shorter.query)),
    }


def _page_links(key: str, result: widget.WidgetResult) -> dict[str, str]:
    def link(page: int) -> str:
        return "/widget/frame?" + urlencode({"key": key, "q": result.query, "page": page})

    links = {}
    if result.page > 1:
        links["previous"] = link(result.page - 1)
    if result.page * result.per_page < result.total and result.page < widget.MAX_PAGE:
        links["next"] = link(result.page + 1)
    return links


router = APIRouter()
router.include_router(api)
router.include_router(pages)
