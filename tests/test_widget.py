"""The search widget other access points embed: its API (key, origin, rate limit, counting,
escaping), the iframe fallback, the snippets staff hand out, and the script in a real browser on a
hostile host page served from another origin."""

from __future__ import annotations

import time
from html import escape
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Frame, Locator, Page, expect
from pydantic import AnyHttpUrl
from sqlalchemy import select

from collection.api.widget import WidgetSearchOut
from collection.config import Settings
from collection.db import session_scope
from collection.errors import TooManyRequests
from collection.models import AccessPoint, PointKind, PointLevel, UsageEvent, UsageKind
from collection.points.service import Point, create_point, rotate_key
from collection.points.widget import RateLimiter, embed_snippets, origin_allowed
from collection.search import meili, vocabulary
from tests.browsing import CHROME_109, ConsoleErrors, HostSite, needs_chromium, shot
from tests.helpers import Api, add_pages, new_item, run_search_tasks

HOST_ORIGIN = "https://thuvien-thoxuan.example.vn"
CITIZEN = {"User-Agent": CHROME_109}
HOSTILE_TITLE = 'Sắc phong <script>alert("x")</script> <img src=x onerror="window.__pwned=1">'


def make_point(
    settings: Settings, *, origins: tuple[str, ...] = (HOST_ORIGIN,), name: str = "TV Thọ Xuân"
) -> tuple[int, str]:
    with session_scope(settings.sqlalchemy_url) as session:
        point = create_point(
            session=session,
            name=name,
            kind=PointKind.TVCC,
            level=PointLevel.DISTRICT,
            district="Thọ Xuân",
            allowed_origins=origins,
        )
        return point.id, point.widget_key


def widget_events(settings: Settings) -> list[UsageEvent]:
    with session_scope(settings.sqlalchemy_url) as session:
        rows = session.scalars(
            select(UsageEvent).where(UsageEvent.kind == UsageKind.WIDGET_SEARCH)
        ).all()
        session.expunge_all()
        return list(rows)


@pytest.fixture
def corpus(api: Api, settings: Settings) -> dict[str, int]:
    items = {
        "annals": new_item(api, title="Địa chí huyện Thọ Xuân", date="2005"),
        "hostile": new_item(api, title=HOSTILE_TITLE, date="1890"),
        "onsite": new_item(api, title="Gia phả họ Lê ở Thọ Xuân", access="onsite"),
        "draft": new_item(api, title="Thọ Xuân bản nháp", status="draft"),
    }
    add_pages(
        settings,
        items["annals"],
        [
            "Huyện Thọ Xuân nằm bên sông Chu.",
            "Lam Kinh ở Thọ Xuân là di tích quốc gia đặc biệt.",
            "Trang này nói về nghề dệt.",
            "Người Thọ Xuân giữ nhiều lễ hội cổ.",
        ],
    )
    add_pages(settings, items["hostile"], ['Sắc phong <img src=x onerror="alert(1)"> làng Xuân'])
    run_search_tasks(settings)
    return items


def search(
    client: TestClient, key: str, q: str, origin: str | None = HOST_ORIGIN, **params: Any
) -> httpx.Response:
    headers = dict(CITIZEN)
    if origin is not None:
        headers["Origin"] = origin
    response: httpx.Response = client.get(
        "/api/v1/widget/search", params={"key": key, "q": q, **params}, headers=headers
    )
    return response


# --- the API ---------------------------------------------------------------------------------


def test_registered_site_gets_results_with_cors_and_links_carrying_the_point(
    client: TestClient, settings: Settings, corpus: dict[str, int]
) -> None:
    _, key = make_point(settings)
    response = search(client, key, "Thọ Xuân")
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == HOST_ORIGIN
    assert "Origin" in response.headers["vary"]
    assert response.headers["cache-control"] == "no-store"
    body = WidgetSearchOut.model_validate(response.json())
    ids = [hit.id for hit in body.hits]
    assert ids[0] == corpus["annals"]
    assert corpus["draft"] not in ids
    annals = body.hits[0]
    assert annals.url == f"{settings.base_url}/tai-lieu/{corpus['annals']}?w={key}"
    assert annals.matching_pages == 3
    assert "<mark>" in annals.snippet
    assert body.more_url.startswith(f"{settings.base_url}/tim-kiem?q=")
    assert body.more_url.endswith(f"&w={key}")
    assert body.per_page == 5

    # Browsers never send a default port; a point registered with one still matches.
    assert origin_allowed(_point(key, (HOST_ORIGIN + ":443",)), HOST_ORIGIN)
    assert not origin_allowed(_point(key, (HOST_ORIGIN,)), HOST_ORIGIN.replace("https", "http"))


def _point(key: str, origins: tuple[str, ...]) -> Point:
    return Point(id=1, name="x", widget_key=key, allowed_origins=origins, networks=())


def _refresh_terms(settings: Settings) -> None:
    with session_scope(settings.sqlalchemy_url) as session:
        vocabulary.refresh(session, meili.ready_engine(settings))


def test_a_misspelt_widget_search_is_offered_what_the_site_would_offer(
    client: TestClient, settings: Settings, corpus: dict[str, int]
) -> None:
    _, key = make_point(settings)
    _refresh_terms(settings)
    mistoned = WidgetSearchOut.model_validate(search(client, key, "Địa chỉ Thọ Xuân").json())
    assert mistoned.did_you_mean == ["Địa chí Thọ Xuân"]
    lost = WidgetSearchOut.model_validate(search(client, key, "xyzzyq Lam Kinh").json())
    assert lost.total == 0
    assert lost.shorter is not None and lost.shorter.model_dump() == {
        "query": "Lam Kinh",
        "dropped": "xyzzyq",
    }
    assert search(client, key, "Thọ Xuân").json()["did_you_mean"] == []
    # The frame offers the same, as links to itself.
    frame = client.get(
        "/widget/frame", params={"key": key, "q": "Địa chỉ Thọ Xuân"}, headers=CITIZEN
    ).text
    assert "Có phải bạn muốn tìm:" in frame
    link = escape(f"/widget/frame?{urlencode({'key': key, 'q': 'Địa chí Thọ Xuân'})}")
    assert f'<a href="{link}">Địa chí Thọ Xuân</a>' in frame
    frame = client.get(
        "/widget/frame", params={"key": key, "q": "xyzzyq Lam Kinh"}, headers=CITIZEN
    ).text
    assert "Tìm không có «xyzzyq»:" in frame


def test_titles_and_snippets_come_back_escaped(
    client: TestClient, settings: Settings, corpus: dict[str, int]
) -> None:
    _, key = make_point(settings)
    hits = search(client, key, "sắc phong").json()["hits"]
    hostile = next(hit for hit in hits if hit["id"] == corpus["hostile"])
    for html in (hostile["title_html"], hostile["snippet"]):
        assert "<script" not in html
        assert "<img" not in html
        assert "&lt;" in html
        assert set(_tags(html)) <= {"mark"}


def _tags(html: str) -> list[str]:
    found: list[str] = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append(tag)

    Tags().feed(html)
    return found


def test_other_sites_and_calls_without_an_origin_are_refused_without_results(
    client: TestClient, settings: Settings, corpus: dict[str, int]
) -> None:
    _, key = make_point(settings)
    for origin, expected in (
        ("https://evil.example.com", "https://evil.example.com chưa được đăng ký"),
        (HOST_ORIGIN + ".evil.example.com", "chưa được đăng ký"),
        ("http://thuvien-thoxuan.example.vn", "chưa được đăng ký"),  # not the registered scheme
        ("null", "chỉ hoạt động khi được nhúng"),
        (None, "chỉ hoạt động khi được nhúng"),
    ):
        response = search(client, key, "Thọ Xuân", origin=origin)
        assert response.status_code == 403, origin
        body = response.json()
        assert body["error"] == "origin_refused"
        assert expected in body["message"]
        assert body["message_en"]
        assert "hits" not in body and "Thọ Xuân" not in response.text
        # The widget may read the refusal (to show it), but nothing names the refused origin.
        assert response.headers["access-control-allow-origin"] == "*"
    assert widget_events(settings) == []


def test_unknown_revoked_and_rotated_keys_are_refused_with_a_message(
    client: TestClient, settings: Settings, corpus: dict[str, int]
) -> None:
    point_id, key = make_point(settings)
    assert search(client, key, "Thọ Xuân").status_code == 200

    for wrong in ("w_khong-co-ma-nay", ""):
        response = search(client, wrong, "Thọ Xuân")
        assert response.status_code == 401
        body = response.json()
        assert body["error"] == "widget_key_refused"
        assert "mã" in body["message"].lower()
        assert "hits" not in body
        assert response.headers["access-control-allow-origin"] == "*"
    assert "thiếu mã điểm truy cập" in search(client, "", "x").json()["message"]

    with session_scope(settings.sqlalchemy_url) as session:
        new_key = rotate_key(session=session, point_id=point_id).widget_key
    client.app.state.points.forget()  # type: ignore[attr-defined]
    old = search(client, key, "Thọ Xuân")
    assert old.status_code == 401
    assert "đã bị thu hồi" in old.json()["message"]
    assert search(client, new_key, "Thọ Xuân").status_code == 200

    with session_scope(settings.sqlalchemy_url) as session:
        point = session.get(AccessPoint, point_id)
        assert point is not None
        point.active = False
    client.app.state.points.forget()  # type: ignore[attr-defined]
    assert search(client, new_key, "Thọ Xuân").status_code == 401


def test_searches_beyond_the_rate_get_429_with_retry_after(
    client: TestClient, settings: Settings, corpus: dict[str, int]
) -> None:
    settings.widget_searches_per_minute = 3
    _, key = make_point(settings)
    _, other_key = make_point(settings, name="BĐVHX Xuân Lam")
    for _ in range(3):
        assert search(client, key, "Thọ Xuân").status_code == 200
    assert search(client, key, "").status_code == 200  # checking the key costs no search
    limited = search(client, key, "Thọ Xuân")
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.headers["access-control-allow-origin"] == "*"
    body = limited.json()
    assert body["error"] == "too_many_requests"
    assert "Vui lòng thử lại sau" in body["message"]
    assert "hits" not in body
    assert search(client, other_key, "Thọ Xuân").status_code == 200  # per key

    # The iframe page shares the key's bucket.
    frame = client.get("/widget/frame", params={"key": key, "q": "Thọ Xuân"}, headers=CITIZEN)
    assert frame.status_code == 429
    assert "Vui lòng thử lại sau" in frame.text


def test_rate_limiter_refills_over_time() -> None:
    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0])  # one a second, bursts of 60
    assert all(limiter.take(1) == 0 for _ in range(60))
    assert limiter.take(1) == pytest.approx(1.0)
    assert limiter.take(2) == 0  # other points have their own bucket
    now[0] += 2.5
    assert limiter.take(1) == 0
    assert limiter.take(1) == 0
    assert limiter.take(1) > 0
    with pytest.raises(TooManyRequests) as refused:
        limiter.check(1)
    assert refused.value.headers["Retry-After"] == "1"


def test_a_widget_search_is_counted_for_the_point_without_the_address(
    client: TestClient, settings: Settings, corpus: dict[str, int]
) -> None:
    point_id, key = make_point(settings)
    assert search(client, key, "Thọ Xuân").status_code == 200
    assert search(client, key, "Thọ Xuân", page=2).status_code == 200  # the same search
    assert search(client, key, "").status_code == 200  # the widget checking its key
    bot = client.get(
        "/api/v1/widget/search",
        params={"key": key, "q": "Lam Kinh"},
        headers={"Origin": HOST_ORIGIN, "User-Agent": "curl/8.5.0"},
    )
    assert bot.status_code == 200  # bots get answers but are not counted
    client.app.state.usage.flush()  # type: ignore[attr-defined]

    events = widget_events(settings)
    assert len(events) == 1
    event = events[0]
    assert event.access_point_id == point_id
    assert event.query == "Thọ Xuân"
    assert len(event.visitor_id) >= 16
    assert event.reader is None  # no reader cookie on other sites: counted as an estimate
    assert event.hits is not None and event.hits >= 1
    client_ip = "testclient"  # what TestClient gives as the client address
    stored = [str(getattr(event, c.key)) for c in UsageEvent.__table__.columns]
    assert not any(client_ip in value for value in stored)


def test_bad_parameters_are_readable_errors(client: TestClient, settings: Settings) -> None:
    _, key = make_point(settings)
    response = search(client, key, "Thọ Xuân", page=0)
    assert response.status_code == 422
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.json()["message"] == "Yêu cầu tìm kiếm không hợp lệ."


def test_the_script_is_served_as_cacheable_javascript(client: TestClient) -> None:
    response = client.get("/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert "max-age=" in response.headers["cache-control"]
    assert "attachShadow" in response.text
    assert "Tìm trong Kho số Thanh Hóa" in response.text


# --- the iframe fallback ---------------------------------------------------------------------


def test_the_frame_shows_results_only_to_the_points_sites_and_is_counted(
    client: TestClient, settings: Settings, corpus: dict[str, int]
) -> None:
    point_id, key = make_point(settings, origins=(HOST_ORIGIN, "http://localhost:8080"))
    empty = client.get("/widget/frame", params={"key": key}, headers=CITIZEN)
    assert empty.status_code == 200
    assert 'name="q"' in empty.text
    assert "Tìm thấy" not in empty.text

    response = client.get("/widget/frame", params={"key": key, "q": "Thọ Xuân"}, headers=CITIZEN)
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert f"frame-ancestors {HOST_ORIGIN} http://localhost:8080" in policy
    assert "script-src" not in policy and "default-src 'none'" in policy  # no script at all
    html = response.text
    assert "<script" not in html.replace("&lt;script", "")
    url = f"{settings.base_url}/tai-lieu/{corpus['annals']}?w={key}"
    assert f'href="{url}" target="_blank" rel="noopener"' in html
    assert "3 trang khớp" in html
    assert "Xem tất cả kết quả" in html

    hostile = client.get("/widget/frame", params={"key": key, "q": "sắc phong"}, headers=CITIZEN)
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in hostile.text  # as text
    assert "<img" not in hostile.text

    client.app.state.usage.flush()  # type: ignore[attr-defined]
    assert [(e.access_point_id, e.query) for e in widget_events(settings)] == [
        (point_id, "Thọ Xuân"),
        (point_id, "sắc phong"),
    ]


def test_the_frame_tells_a_wrong_key_inside_the_frame(client: TestClient) -> None:
    response = client.get("/widget/frame", params={"key": "w_sai", "q": "Thọ Xuân"})
    assert response.status_code == 401
    assert "frame-ancestors *" in response.headers["content-security-policy"]
    assert 'role="alert"' in response.text
    assert "không đúng hoặc đã bị thu hồi" in response.text
    assert "<ol>" not in response.text


def test_a_point_without_sites_cannot_be_framed(client: TestClient, settings: Settings) -> None:
    _, key = make_point(settings, origins=())
    response = client.get("/widget/frame", params={"key": key})
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


# --- the snippets staff hand out -------------------------------------------------------------


def test_snippets_for_a_point(client: TestClient, settings: Settings) -> None:
    _, key = make_point(settings)
    snippets = embed_snippets(base_url="https://kho.thuvien.thanhhoa.gov.vn/", widget_key=key)
    assert snippets.script == (
        f'<script src="https://kho.thuvien.thanhhoa.gov.vn/widget.js" data-point="{key}" async>'
        "</script>"
    )
    attributes = _attributes(snippets.iframe, "iframe")
    assert attributes["src"] == f"https://kho.thuvien.thanhhoa.gov.vn/widget/frame?key={key}"
    assert attributes["title"] == "Tìm trong Kho số Thanh Hóa"
    # The frame address works as given.
    path = attributes["src"].removeprefix("https://kho.thuvien.thanhhoa.gov.vn")
    assert client.get(path).status_code == 200

    odd = embed_snippets(base_url="https://kho.example.vn", widget_key='a"b<c')
    assert _attributes(odd.script, "script")["data-point"] == 'a"b<c'
    assert "<c" not in odd.script


def _attributes(html: str, tag: str) -> dict[str, str]:
    found: dict[str, str] = {}

    class Parser(HTMLParser):
        def handle_starttag(self, name: str, attrs: list[tuple[str, str | None]]) -> None:
            if name == tag:
                found.update({k: v or "" for k, v in attrs})

    Parser().feed(html)
    return found


# --- the script in a real browser ------------------------------------------------------------


@pytest.fixture
def site(base_url: str, settings: Settings) -> str:
    # The server's port is chosen when it starts; the app builds its links from public_url.
    settings.public_url = AnyHttpUrl(base_url)
    return base_url


HOSTILE_CSS = """
* { color: red !important; font-size: 40px; font-family: "Courier New", monospace !important; }
input { display: none; }
button { display: none !important; }
p, ol, li { margin: 50px !important; padding: 30px !important; }
a { text-decoration: line-through !important; }
mark { background: black; }
label { visibility: hidden; }
"""


def host_page(site: HostSite, name: str, snippet: str) -> str:
    (site.root / name).write_text(
        f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Thư viện huyện Thọ Xuân</title>
<link rel="icon" href="data:,">
<style>{HOSTILE_CSS}</style></head>
<body>
<h1 id="host-title">Thư viện huyện Thọ Xuân</h1>
<p id="host-text">Chào bạn đọc, <mark id="host-mark">tin mới</mark>
  <a id="host-link" href="#">liên hệ</a></p>
<input id="host-input" value="ô của trang chủ">
<div id="slot">{snippet}</div>
<p id="host-after">Cuối trang</p>
</body></html>""",
        encoding="utf-8",
    )
    return site.url(name)


def computed(locator: Locator, prop: str) -> str:
    value: str = locator.evaluate(f"el => getComputedStyle(el).{prop}")
    return value


def assert_host_intact(page: Page) -> None:
    """The host page's own styles still rule its own elements."""
    text = page.locator("#host-text")
    assert computed(text, "color") == "rgb(255, 0, 0)"
    assert computed(text, "fontSize") == "40px"
    assert computed(text, "marginTop") == "50px"
    assert computed(page.locator("#host-mark"), "backgroundColor") == "rgb(0, 0, 0)"
    assert "line-through" in computed(page.locator("#host-link"), "textDecorationLine")
    assert computed(page.locator("#host-input"), "display") == "none"
    expect(page.locator("#host-title")).to_have_text("Thư viện huyện Thọ Xuân")
    expect(page.locator("#host-after")).to_have_text("Cuối trang")


def wait_for_events(settings: Settings, count: int) -> list[UsageEvent]:
    deadline = time.monotonic() + 10  # the recorder writes every 2 s
    while True:
        events = widget_events(settings)
        if len(events) >= count or time.monotonic() > deadline:
            return events
        time.sleep(0.2)


@needs_chromium
def test_widget_on_another_sites_page(
    citizen: Page, site: str, host_site: HostSite, settings: Settings, corpus: dict[str, int]
) -> None:
    page = citizen
    point_id, key = make_point(settings, origins=(host_site.origin,))
    snippets = embed_snippets(base_url=site, widget_key=key)
    errors = ConsoleErrors()
    errors.watch(page)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(f"{r.method} {r.url}"))

    page.goto(host_page(host_site, "index.html", snippets.script))
    widget = page.locator("kho-search-widget")
    box = widget.get_by_role("searchbox", name="Tìm trong Kho số Thanh Hóa")
    expect(box).to_be_visible()
    expect(box).to_be_enabled()
    expect(widget.get_by_role("button", name="Tìm")).to_be_visible()
    assert widget.evaluate("el => el.shadowRoot !== null && el.shadowRoot.mode === 'open'")
    assert widget.evaluate("el => el.previousElementSibling.tagName") == "SCRIPT"

    # The host's aggressive CSS does not reach inside the widget.
    assert computed(box, "display") != "none"
    assert computed(box, "fontSize") == "16px"
    assert computed(box, "color") == "rgb(29, 38, 48)"
    label = widget.locator("label")
    assert computed(label, "visibility") == "visible"
    assert computed(label, "color") == "rgb(138, 28, 28)"
    assert "Courier" not in computed(label, "fontFamily")

    # Keyboard only: Tab into the box from the host page's last focusable element, type, Enter.
    page.locator("#host-link").focus()
    page.keyboard.press("Tab")
    expect(box).to_be_focused()
    page.keyboard.type("Thọ Xuân")
    page.keyboard.press("Enter")
    status = widget.get_by_role("status")
    expect(status).to_have_text("Tìm thấy 2 tài liệu.")
    assert status.get_attribute("aria-live") == "polite"
    results = widget.get_by_role("list", name="Kết quả tìm kiếm").get_by_role("listitem")
    expect(results).to_have_count(2)
    first = results.first.get_by_role("link")
    expect(first).to_have_text("Địa chí huyện Thọ Xuân")
    assert first.get_attribute("href") == f"{site}/tai-lieu/{corpus['annals']}?w={key}"
    expect(results.first).to_contain_text("3 trang khớp")
    assert results.first.locator("mark").count() >= 1
    assert computed(results.first.locator("mark").first, "backgroundColor") == "rgb(255, 240, 168)"
    assert computed(results.first.locator(".snippet"), "marginTop") == "4px"
    more = widget.get_by_role("link", name="Xem tất cả kết quả")
    expect(more).to_be_visible()
    assert (more.get_attribute("href") or "").startswith(f"{site}/tim-kiem?q=")

    # A hostile title is shown as text: nothing in it ran or loaded.
    box.fill("sắc phong")
    box.press("Enter")
    hostile = widget.get_by_role("link", name="Sắc phong", exact=False)
    expect(hostile).to_contain_text('<script>alert("x")</script>')
    assert page.evaluate("() => window.__pwned === undefined")
    assert widget.locator("li img, li script").count() == 0

    assert_host_intact(page)
    box.fill("Thọ Xuân")
    box.press("Enter")
    expect(status).to_have_text("Tìm thấy 2 tài liệu.")
    shot(page, "widget-host.png")

    # The widget's searches are simple CORS requests: no preflight.
    assert not any(r.startswith("OPTIONS ") for r in requests)
    events = wait_for_events(settings, 3)
    assert [(e.access_point_id, e.query) for e in events] == [
        (point_id, "Thọ Xuân"),
        (point_id, "sắc phong"),
        (point_id, "Thọ Xuân"),
    ]
    assert len({e.visitor_id for e in events}) == 1  # one reader (fallback id): one visit
    assert errors.messages == []


@needs_chromium
def test_widget_offers_a_spelling_that_finds_something_and_searches_it(
    citizen: Page, site: str, host_site: HostSite, settings: Settings, corpus: dict[str, int]
) -> None:
    page = citizen
    _, key = make_point(settings, origins=(host_site.origin,))
    _refresh_terms(settings)
    errors = ConsoleErrors()
    errors.watch(page)
    page.goto(
        host_page(host_site, "index.html", embed_snippets(base_url=site, widget_key=key).script)
    )
    widget = page.locator("kho-search-widget")
    box = widget.get_by_role("searchbox", name="Tìm trong Kho số Thanh Hóa")
    box.fill("Địa chỉ Thọ Xuân")
    box.press("Enter")
    offer = widget.locator(".help")
    expect(offer).to_have_text("Có phải bạn muốn tìm: Địa chí Thọ Xuân?")
    shot(page, "widget-did-you-mean.png")
    widget.get_by_role("button", name="Địa chí Thọ Xuân").click()
    expect(box).to_have_value("Địa chí Thọ Xuân")
    expect(widget.get_by_role("link", name="Địa chí huyện Thọ Xuân")).to_be_visible()
    expect(offer).to_have_text("")
    box.fill("xyzzyq Lam Kinh")
    box.press("Enter")
    expect(widget.get_by_role("status")).to_contain_text("Không tìm thấy")
    expect(offer).to_have_text("Tìm không có «xyzzyq»: Lam Kinh")
    widget.get_by_role("button", name="Lam Kinh").click()
    expect(widget.get_by_role("status")).to_have_text("Tìm thấy 1 tài liệu.")
    assert_host_intact(page)
    assert errors.messages == []


@needs_chromium
def test_widget_on_an_unregistered_site_says_so_and_leaves_the_page_alone(
    citizen: Page, site: str, host_site: HostSite, settings: Settings
) -> None:
    page = citizen
    _, key = make_point(settings, origins=(host_site.origin,))
    errors = ConsoleErrors()
    errors.watch(page)
    snippet = embed_snippets(base_url=site, widget_key=key).script
    host_page(host_site, "index.html", snippet)

    # The same page from http://127.0.0.1:PORT: another origin than the registered localhost.
    page.goto(host_site.url("index.html", host="127.0.0.1"))
    widget = page.locator("kho-search-widget")
    alert = widget.get_by_role("alert")
    expect(alert).to_contain_text("chưa được đăng ký để dùng ô tìm kiếm của Kho số Thanh Hóa")
    expect(widget.get_by_role("searchbox")).to_be_disabled()
    assert computed(alert, "color") == "rgb(155, 17, 17)"
    assert_host_intact(page)
    shot(page, "widget-refused.png")

    # A revoked key, on the registered site.
    page.goto(host_page(host_site, "old-key.html", snippet.replace(key, "w_da-thu-hoi")))
    alert = page.locator("kho-search-widget").get_by_role("alert")
    expect(alert).to_contain_text("không đúng hoặc đã bị thu hồi")
    assert_host_intact(page)
    shot(page, "widget-revoked.png")

    # The refused calls are the only thing the console may complain about.
    expected = "console: Failed to load resource: the server responded with a status of 40"
    unexpected = [
        m
        for m in errors.messages
        if not (m.startswith(expected) and f"'url': '{site}/api/v1/widget/search?" in m)
    ]
    assert unexpected == []
    assert len(errors.messages) == 2


@needs_chromium
def test_widget_survives_a_network_failure(
    citizen: Page, site: str, host_site: HostSite, settings: Settings
) -> None:
    page = citizen
    _, key = make_point(settings, origins=(host_site.origin,))
    errors = ConsoleErrors()
    errors.watch(page)
    page.goto(
        host_page(host_site, "index.html", embed_snippets(base_url=site, widget_key=key).script)
    )
    widget = page.locator("kho-search-widget")
    box = widget.get_by_role("searchbox")
    expect(box).to_be_enabled()
    page.route("**/api/v1/widget/search?**", lambda route: route.abort("connectionrefused"))
    box.fill("Thọ Xuân")
    box.press("Enter")
    expect(widget.get_by_role("alert")).to_have_text(
        "Không kết nối được với Kho số Thanh Hóa. Vui lòng kiểm tra mạng rồi thử lại."
    )
    expect(box).to_be_enabled()  # may try again
    assert_host_intact(page)
    unexpected = [m for m in errors.messages if "net::ERR_CONNECTION_REFUSED" not in m]
    assert unexpected == []


@needs_chromium
def test_iframe_fallback_on_another_sites_page(
    citizen: Page, site: str, host_site: HostSite, settings: Settings, corpus: dict[str, int]
) -> None:
    page = citizen
    point_id, key = make_point(settings, origins=(host_site.origin,))
    errors = ConsoleErrors()
    errors.watch(page)
    page.goto(
        host_page(host_site, "frame.html", embed_snippets(base_url=site, widget_key=key).iframe)
    )
    frame = page.frame_locator("iframe[title='Tìm trong Kho số Thanh Hóa']")
    box = frame.get_by_role("searchbox", name="Tìm trong Kho số Thanh Hóa")
    expect(box).to_be_visible()
    box.fill("Thọ Xuân")
    box.press("Enter")
    expect(frame.get_by_role("status")).to_have_text("Tìm thấy 2 tài liệu.")
    link = frame.get_by_role("link", name="Địa chí huyện Thọ Xuân")
    assert link.get_attribute("href") == f"{site}/tai-lieu/{corpus['annals']}?w={key}"
    assert link.get_attribute("target") == "_blank"
    expect(frame.get_by_text("3 trang khớp")).to_be_visible()
    inner: Frame | None = page.frame(url=lambda u: u.startswith(f"{site}/widget/frame"))
    assert inner is not None
    assert computed(inner.locator("label"), "color") == "rgb(138, 28, 28)"  # not the host's red
    assert_host_intact(page)
    shot(page, "widget-frame.png")
    events = wait_for_events(settings, 1)
    assert [(e.access_point_id, e.query) for e in events] == [(point_id, "Thọ Xuân")]
    assert errors.messages == []


@needs_chromium
def test_two_widgets_on_one_page_in_two_languages_page_through_results(
    citizen: Page, site: str, host_site: HostSite, settings: Settings, api: Api
) -> None:
    page = citizen
    for number in range(1, 8):
        new_item(api, title=f"Lam Kinh xưa và nay, tập {number}", date=str(1990 + number))
    run_search_tasks(settings)
    _, key = make_point(settings, origins=(host_site.origin,))
    script = embed_snippets(base_url=site, widget_key=key).script
    english = script.replace(" async>", ' data-lang="en" async>')
    errors = ConsoleErrors()
    errors.watch(page)
    page.goto(host_page(host_site, "two.html", script + "<p>giữa hai ô</p>" + english))

    widgets = page.locator("kho-search-widget")
    expect(widgets).to_have_count(2)
    vietnamese, other = widgets.nth(0), widgets.nth(1)
    expect(vietnamese.get_by_role("button", name="Tìm")).to_be_visible()
    box = other.get_by_role("searchbox", name="Search the Thanh Hóa digital collection")
    expect(box).to_be_enabled()
    box.fill("Lam Kinh")
    box.press("Enter")
    expect(other.get_by_role("status")).to_have_text("7 documents found.")
    results = other.get_by_role("listitem")
    expect(results).to_have_count(5)
    expect(vietnamese.get_by_role("listitem")).to_have_count(0)  # each box has its own results
    expect(other.get_by_role("button", name="← Previous page")).to_be_hidden()
    other.get_by_role("button", name="Next page →").click()
    expect(results).to_have_count(2)
    expect(results.first.get_by_role("link")).to_be_focused()  # not lost with the vanished button
    expect(other.get_by_role("button", name="Next page →")).to_be_hidden()
    # Keyboard: the previous-page button is reachable and works with Enter.
    previous = other.get_by_role("button", name="← Previous page")
    previous.focus()
    page.keyboard.press("Enter")
    expect(results).to_have_count(5)
    shot(page, "widget-two.png")
    assert_host_intact(page)
    assert errors.messages == []
