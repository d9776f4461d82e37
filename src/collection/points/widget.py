"""The search widget that access points embed in their own sites: which sites may use a point's
key, how often, what a widget search answers, and the snippets staff give to a point.

The widget runs on the point's pages, so its calls are cross-origin; the point's registered
origins are the only pages whose scripts may read results. Origins bind browsers only (any
program can claim any origin), so each key is also rate-limited."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from urllib.parse import urlencode

from collection.api.limits import TokenBuckets, refuse_if_waiting
from collection.errors import CollectionError
from collection.points.origins import normal_origin
from collection.points.service import Point
from collection.search import searching
from collection.search.cache import AnswerCache
from collection.search.meili import SearchEngine
from collection.search.query import MAX_QUERY_CHARS, Scope
from collection.search.spelling import Correction

# Pages of the public site the widget links to (the site's routes live in collection.web).
ITEM_PATH = "/tai-lieu/{item_id}"
SITE_SEARCH_PATH = "/tim-kiem"
POINT_PARAM = "w"  # carries the widget key to the site, which counts the visit for the point

PER_PAGE = 5  # a widget sits in a side column: a few results, then "see all" on our site
MAX_PAGE = 20
FRAME_HEIGHT = 560


class WidgetKeyRefused(CollectionError):
    # Not NotAuthenticated: that one sends browsers to the staff login page.
    status = 401
    code = "widget_key_refused"
    default_message = (
        "Mã nhúng của ô tìm kiếm không đúng hoặc đã bị thu hồi. Vui lòng báo quản trị viên "
        "trang web này liên hệ Thư viện tỉnh Thanh Hóa để lấy mã mới."
    )
    default_message_en = "Unknown or revoked widget key."


class OriginRefused(CollectionError):
    status = 403
    code = "origin_refused"
    default_message = (
        "Trang web này chưa được đăng ký để dùng ô tìm kiếm của Kho số Thanh Hóa. Vui lòng "
        "báo quản trị viên trang web liên hệ Thư viện tỉnh Thanh Hóa."
    )
    default_message_en = "This site is not registered for this widget key."


def point_for_key(points: Callable[[str], Point | None], key: str) -> Point:
    """The active point owning ``key``; WidgetKeyRefused for a missing, unknown or revoked key."""
    if not key.strip():
        raise WidgetKeyRefused(
            "Đoạn mã nhúng thiếu mã điểm truy cập (data-point). Vui lòng chép lại đoạn mã do "
            "Thư viện tỉnh Thanh Hóa cung cấp.",
            message_en="the widget key is missing",
        )
    point = points(key.strip())
    if point is None:
        raise WidgetKeyRefused()
    return point


def origin_allowed(point: Point, origin: str) -> bool:
    wanted = normal_origin(origin)
    return bool(wanted) and any(normal_origin(o) == wanted for o in point.allowed_origins)


def check_origin(point: Point, origin: str | None) -> str:
    """The request's origin if the point registered it; OriginRefused otherwise."""
    if not origin or origin == "null":
        # Browsers send Origin on every cross-origin fetch; without one this is not the widget
        # (an address typed into the browser, a sandboxed frame, a file:// page).
        raise OriginRefused(
            "Ô tìm kiếm chỉ hoạt động khi được nhúng vào trang web đã đăng ký của điểm truy cập.",
            message_en="widget calls must come from a registered site (no Origin header)",
        )
    if not origin_allowed(point, origin):
        shown = origin[:100]
        raise OriginRefused(
            f"Trang web {shown} chưa được đăng ký để dùng ô tìm kiếm của Kho số Thanh Hóa. "
            "Vui lòng báo quản trị viên trang web liên hệ Thư viện tỉnh Thanh Hóa.",
            message_en=f"origin {shown} is not registered for this widget key",
        )
    return origin


def frame_ancestors(point: Point | None) -> str:
    """The CSP ``frame-ancestors`` sources: the point's sites. A page that refuses an unknown
    key may be framed anywhere, so the refusal is read inside the host page's frame."""
    if point is None:
        return "*"
    sources = [o for o in (normal_origin(o) for o in point.allowed_origins) if o]
    return " ".join(sources) or "'none'"


class RateLimiter:
    """A token bucket per access point, in this process: ``per_minute`` searches a minute, in
    bursts of up to that many. With several web workers each has its own buckets."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._buckets = TokenBuckets(per_minute, per_minute / 60.0, clock=clock)

    def take(self, point_id: int) -> float:
        """0 if a search may run now (and count it), else the seconds until one may."""
        return self._buckets.take(str(point_id))

    def check(self, point_id: int) -> None:
        """TooManyRequests (with Retry-After) when the point's searches run ahead of the rate."""
        refuse_if_waiting(
            self.take(point_id),
            "Có quá nhiều lượt tìm kiếm từ điểm truy cập này trong thời gian ngắn.",
            "too many widget searches for this key",
        )


@dataclass
class WidgetHit:
    id: int
    title_html: str  # escaped, query words in <mark>
    snippet: str  # escaped, query words in <mark>
    matching_pages: int
    date: str
    url: str  # the item page on our site, carrying the point's key


@dataclass
class WidgetResult:
    query: str
    total: int
    total_exact: bool
    page: int
    per_page: int
    hits: list[WidgetHit]
    more_url: str  # all results on our site
    # As on the site: spellings that find something, and the query without its rarest word.
    did_you_mean: list[str] = field(default_factory=list)
    shorter: Correction | None = None


def item_url(*, base_url: str, item_id: int, widget_key: str) -> str:
    path = ITEM_PATH.format(item_id=item_id)
    return f"{base_url}{path}?{urlencode({POINT_PARAM: widget_key})}"


def site_search_url(*, base_url: str, q: str, widget_key: str) -> str:
    return f"{base_url}{SITE_SEARCH_PATH}?{urlencode({'q': q, POINT_PARAM: widget_key})}"


def clean_query(q: str) -> str:
    return q.strip()[:MAX_QUERY_CHARS]


def widget_search(
    *,
    engine: SearchEngine,
    point: Point,
    q: str,
    page: int,
    scope: Scope,
    base_url: str,
    answers: AnswerCache | None = None,
) -> WidgetResult:
    """One page of results for a widget; an empty query answers nothing (the widget does not
    browse the collection, and checking a key must not cost a search)."""
    q = clean_query(q)
    page = min(max(page, 1), MAX_PAGE)
    more_url = site_search_url(base_url=base_url, q=q, widget_key=point.widget_key)
    if not q:
        return WidgetResult(q, 0, True, page, PER_PAGE, [], more_url)
    found = searching.search(
        engine, q=q, page=page, per_page=PER_PAGE, scope=scope, answers=answers
    )
    hits = [
        WidgetHit(
            id=hit.id,
            title_html=hit.title_html,
            snippet=hit.snippet,
            matching_pages=hit.matching_pages,
            date=hit.date,
            url=item_url(base_url=base_url, item_id=hit.id, widget_key=point.widget_key),
        )
        for hit in found.hits
    ]
    return WidgetResult(
        q,
        found.total,
        found.total_exact,
        page,
        PER_PAGE,
        hits,
        more_url,
        did_you_mean=found.did_you_mean,
        shorter=found.shorter,
    )


@dataclass(frozen=True)
class EmbedSnippets:
    script: str  # the usual snippet
    iframe: str  # for sites whose policy forbids third-party scripts


def embed_snippets(*, base_url: str, widget_key: str) -> EmbedSnippets:
    """The HTML a point pastes into its site to embed the search box."""
    base = base_url.rstrip("/")
    key = escape(widget_key, quote=True)
    frame_src = escape(f"{base}/widget/frame?{urlencode({'key': widget_key})}", quote=True)
    return EmbedSnippets(
        script=f'<script src="{escape(base, quote=True)}/widget.js" data-point="{key}" async>'
        "</script>",
        iframe=f'<iframe src="{frame_src}" title="Tìm trong Kho số Thanh Hóa" width="100%" '
        f'height="{FRAME_HEIGHT}" style="border:0;max-width:640px" loading="lazy"></iframe>',
    )
