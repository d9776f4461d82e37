"""The public site without JavaScript (as the server renders it): home, results with facets and
snippets, item pages with the viewer, on-site material inside and outside an access point,
downloads, browse lists, usage events, and what happens when Meilisearch is down."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from collection.app import create_app
from collection.config import Settings
from collection.db import session_scope
from collection.models import Collection, PointKind, PointLevel, UsageEvent, UsageKind
from collection.points.service import create_point
from collection.stack import free_port
from tests.helpers import Api, add_pages, new_item, run_search_tasks, upload
from tests.material import born_digital_pdf

BROWSER = {"User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/109.0 Safari/537.36"}
POINT_IP = "113.160.12.34"


@pytest.fixture
def site(settings: Settings, api: Api) -> dict[str, Any]:
    with session_scope(settings.sqlalchemy_url) as session:
        books = Collection(slug="sach-dia-chi", title="Sách địa chí")
        photos = Collection(slug="anh-tu-lieu", title="Ảnh tư liệu")
        session.add_all([books, photos])
        session.flush()
        ids = {"books": books.id, "photos": photos.id}
        create_point(
            session=session,
            name="Thư viện huyện Nga Sơn",
            kind=PointKind.TVCC,
            level=PointLevel.DISTRICT,
            ip_ranges=["113.160.12.0/24"],
        )
    ids["chemistry"] = new_item(
        api, title="Hóa học ở Thanh Hóa", collection_id=ids["books"], place="huyện Thiệu Hóa",
        document_type="Sách", date="1998", subject=["Giáo dục"], language=["vi"],
    )  # fmt: skip
    ids["river"] = new_item(
        api, title="Sông Mã <script>alert('x')</script>", collection_id=ids["books"],
        place="huyện Đông Sơn", document_type="Sách", date="1972", description="Về <b>sông</b> Mã",
    )  # fmt: skip
    ids["onsite"] = new_item(
        api, title="Gia phả họ Lê Đông Sơn", access="onsite", collection_id=ids["books"]
    )
    ids["draft"] = new_item(api, title="Hóa học bản nháp", status="draft")
    ids["staff"] = new_item(api, title="Hóa học nội bộ", access="staff")
    ids["long"] = new_item(api, title="Địa chí " + "rất dài " * 120, collection_id=ids["photos"])
    add_pages(
        settings,
        ids["river"],
        ["Trang một về sông Mã.", "Dòng sông Mã <img src=x onerror=alert(1)> chảy qua Đông Sơn."],
    )
    add_pages(settings, ids["onsite"], ["Phả hệ bí mật của dòng họ Lê."])
    run_search_tasks(settings)
    return ids


@pytest.fixture
def at_point(settings: Settings) -> Iterator[TestClient]:
    """A browser on a PC inside the Nga Sơn library's IP range."""
    with TestClient(create_app(settings), client=(POINT_IP, 50000), headers=BROWSER) as client:
        yield client


def _events(client: TestClient, settings: Settings) -> list[UsageEvent]:
    client.app.state.usage.flush()  # type: ignore[attr-defined]
    with session_scope(settings.sqlalchemy_url) as session:
        events = list(
            session.scalars(
                select(UsageEvent)
                .where(UsageEvent.kind != UsageKind.COOKIE_KEPT)
                .order_by(UsageEvent.id)
            )
        )
        session.expunge_all()
    return events


def _unmarked(response: Any) -> str:
    return str(response.text).replace("<mark>", "").replace("</mark>", "")


def test_home_lists_collections_and_new_items(client: TestClient, site: dict[str, Any]) -> None:
    html = client.get("/").text
    assert "Sách địa chí" in html and "Ảnh tư liệu" in html
    assert re.search(r"Sách địa chí</a></h3>\s*<p class=\"meta\">3 tài liệu", html)
    assert "Hóa học ở Thanh Hóa" in html
    assert "bản nháp" not in html and "nội bộ" not in html
    # Collections in Vietnamese alphabetical order: Ảnh (A) before Sách.
    assert html.index("Ảnh tư liệu") < html.index("Sách địa chí")


def test_results_page_without_javascript(client: TestClient, site: dict[str, Any]) -> None:
    response = client.get("/tim-kiem", params={"q": "song ma"})
    assert response.status_code == 200
    html = response.text
    assert 'value="song ma"' in html  # the query stays in the box
    assert "<mark>Sông</mark> <mark>Mã</mark>" in html
    assert "2 trang khớp" in html
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "<img src=x" not in html
    assert "Đông Sơn" in html and "/tim-kiem?q=song+ma&amp;place=" in html  # a facet link
    narrowed = _unmarked(client.get("/tim-kiem", params={"q": "hoa hoc", "place": "Thiệu Hóa"}))
    assert "Hóa học ở Thanh Hóa" in narrowed and "Đang lọc" in narrowed
    assert "Bỏ lọc Địa danh: huyện Thiệu Hóa (cũ)" in narrowed
    by_title = client.get("/tim-kiem", params={"sort": "title", "collection": site["books"]}).text
    assert by_title.index("Gia phả") < by_title.index("Hóa học") < by_title.index("Sông Mã")


def test_no_results_suggests_the_unaccented_form(client: TestClient, site: dict[str, Any]) -> None:
    html = client.get("/tim-kiem", params={"q": "khủng long bạo chúa"}).text
    assert "Không tìm thấy tài liệu nào" in html
    assert 'href="/tim-kiem?q=khung+long+bao+chua"' in html


def test_bad_search_input_is_not_an_error(client: TestClient, site: dict[str, Any]) -> None:
    for q in ["x" * 10_000, "\u200b\u200d", "\u0301\u0300", "🙂📚", "\u202eمرحبا", '" OR 1=1']:
        assert client.get("/tim-kiem", params={"q": q}).status_code == 200, q
    assert client.get("/tim-kiem", params={"q": "a", "page": 40}).status_code == 200
    bad = client.get("/tim-kiem", params={"decade": "abc"})
    assert bad.status_code == 422 and "không hợp lệ" in bad.text


def test_item_page_viewer_and_search_inside(client: TestClient, site: dict[str, Any]) -> None:
    river = site["river"]
    html = client.get(f"/tai-lieu/{river}").text
    for label in ("Nhan đề", "Tác giả", "Địa danh", "Loại tài liệu", "Thời gian"):
        assert f"<dt>{label}</dt>" in html
    assert "Trang một về sông Mã." in html and 'max="2"' in html
    assert "&lt;script&gt;" in html and "<script>alert" not in html
    assert "Về &lt;b&gt;sông&lt;/b&gt; Mã" in html
    assert f"http://127.0.0.1:8000/tai-lieu/{river}" in html and "Trích dẫn" in html
    forged = client.get(f"/tai-lieu/{river}", headers={"Host": "evil.example"}).text
    assert "evil.example" not in forged  # a client's Host never makes our links
    second = client.get(f"/tai-lieu/{river}", params={"trang": 2}).text
    assert "&lt;img src=x onerror=alert(1)&gt;" in second
    inside = client.get(f"/tai-lieu/{river}", params={"q": "Đông Sơn"}).text
    assert 'href="?trang=2&amp;q=%C4%90%C3%B4ng%20S%C6%A1n">Trang 2</a>' in inside
    page = client.get(f"/tai-lieu/{river}/trang/2", headers={"Accept": "application/json"}).json()
    assert page["number"] == 2 and page["of"] == 2 and "Đông Sơn" in page["text"]
    # No image yet: a placeholder picture, not a broken page.
    image = client.get(f"/tai-lieu/{river}/trang/1/anh")
    assert image.status_code == 200 and image.headers["content-type"] == "image/svg+xml"


def test_hidden_and_unknown_items_are_a_vietnamese_404(
    client: TestClient, site: dict[str, Any]
) -> None:
    for item_id in (site["draft"], site["staff"], 999_999):
        response = client.get(f"/tai-lieu/{item_id}")
        assert response.status_code == 404
        assert "Không tìm thấy" in response.text and "Không có tài liệu số" in response.text
    assert client.get("/khong-co-trang-nay").status_code == 404


def test_onsite_item_inside_and_outside_an_access_point(
    client: TestClient, at_point: TestClient, site: dict[str, Any], settings: Settings
) -> None:
    onsite = site["onsite"]
    outside = client.get(f"/tai-lieu/{onsite}").text
    assert "Gia phả họ Lê Đông Sơn" in outside and "chỉ đọc được tại" in outside
    assert "Phả hệ bí mật" not in outside
    assert client.get(f"/tai-lieu/{onsite}/trang/1").status_code == 404
    assert "Phả hệ" not in client.get("/tim-kiem", params={"q": "phả hệ bí mật"}).text
    inside = at_point.get(f"/tai-lieu/{onsite}").text
    assert "Phả hệ bí mật của dòng họ Lê." in inside and "chỉ đọc được tại" not in inside
    assert (
        "<mark>Phả</mark> <mark>hệ</mark>"
        in at_point.get("/tim-kiem", params={"q": "phả hệ bí mật"}).text
    )


def test_downloads_follow_the_access_level(
    client: TestClient, at_point: TestClient, api: Api, settings: Settings, site: dict[str, Any]
) -> None:
    item = new_item(api, title="Báo cáo có tệp", access="onsite")
    assert upload(api, item, "bao-cao.pdf", born_digital_pdf(["Một trang."])).status_code == 202
    html = at_point.get(f"/tai-lieu/{item}").text
    link = re.search(rf'href="(/tai-lieu/{item}/tep/\d+)"', html)
    assert link, html
    got = at_point.get(link.group(1))
    assert got.status_code == 200 and got.content.startswith(b"%PDF")
    assert "bao-cao.pdf" in got.headers["content-disposition"]
    assert client.get(link.group(1)).status_code == 404
    assert "tep/" not in client.get(f"/tai-lieu/{item}").text
    kinds = [e.kind for e in _events(at_point, settings)]
    assert UsageKind.DOWNLOAD in kinds


def test_usage_events_are_counted_for_the_point(
    at_point: TestClient, client: TestClient, site: dict[str, Any], settings: Settings
) -> None:
    at_point.get("/tim-kiem", params={"q": "sông Mã"})
    at_point.get(f"/tai-lieu/{site['river']}")
    at_point.get(f"/tai-lieu/{site['river']}/trang/2")
    client.get("/tim-kiem", params={"q": "sông Mã"}, headers={"User-Agent": "Googlebot/2.1"})
    events = _events(at_point, settings)
    assert [e.kind for e in events] == [UsageKind.SEARCH, UsageKind.ITEM_VIEW, UsageKind.PAGE_VIEW]
    assert {e.access_point_id for e in events} != {None} and len(
        {e.access_point_id for e in events}
    ) == 1
    # The reader cookie given with the first answer comes back with the next requests.
    assert len({e.reader for e in events}) == 1 and events[0].reader is not None
    assert [e.reader_new for e in events] == [True, False, False]
    assert events[0].query == "sông Mã" and events[0].hits == 1
    assert events[1].page_number == 1 and events[2].page_number == 2
    assert "kho_doc" in at_point.cookies and at_point.cookies["kho_doc"] not in str(events)
    # Only a keyed hash of the address is kept (a hex digest may start with "113" by chance).
    assert POINT_IP not in events[0].visitor_id
    assert re.fullmatch("[0-9a-f]{32}", events[0].visitor_id)


def test_browse_lists_in_vietnamese_order(client: TestClient, site: dict[str, Any]) -> None:
    html = client.get("/duyet/dia-danh").text
    assert html.index("huyện Đông Sơn") < html.index("huyện Thiệu Hóa")
    assert 'href="/tim-kiem?place=dp-huyen-dong-son"' in html
    assert client.get("/duyet/khong-co").status_code == 404
    collection = client.get(f"/bo-suu-tap/{site['books']}").text
    assert "3 tài liệu" in collection and collection.index("Gia phả") < collection.index("Sông Mã")


def test_results_page_fits_the_budget(client: TestClient, site: dict[str, Any]) -> None:
    html = client.get("/tim-kiem", params={"q": "hoa"}).content
    assets = [client.get(p).content for p in ("/static/site.css", "/static/site.js")]
    assert len(html) + sum(map(len, assets)) < 100_000


def test_an_item_with_2000_pages_stays_light(
    client: TestClient, api: Api, settings: Settings
) -> None:
    item = new_item(api, title="Tuyển tập báo Thanh Hóa")
    add_pages(settings, item, [f"Trang số {n}." for n in range(1, 2001)])
    response = client.get(f"/tai-lieu/{item}", params={"trang": 1500})
    assert response.status_code == 200 and "Trang số 1500." in response.text
    assert len(response.content) < 30_000  # no list of 2,000 pages in the page


def test_meilisearch_down_breaks_search_only(
    settings: Settings, api: Api, site: dict[str, Any]
) -> None:
    down = settings.model_copy(update={"meili_url": f"http://127.0.0.1:{free_port()}"})
    with TestClient(create_app(down), headers=BROWSER) as client:
        page = client.get("/tim-kiem", params={"q": "sông Mã"})
        assert page.status_code == 503 and "Máy tìm kiếm đang tạm dừng" in page.text
        api_answer = client.get("/api/v1/search", params={"q": "sông Mã"})
        assert api_answer.status_code == 503 and api_answer.json()["message"]
        assert client.get("/").status_code == 200
        assert client.get(f"/tai-lieu/{site['river']}").status_code == 200
    # A change made meanwhile reaches the index once it is back.
    changed = new_item(api, title="Làng nghề chiếu cói Nga Sơn")
    run_search_tasks(settings)
    found = api("GET", "/api/v1/search", params={"q": "chieu coi"}).json()
    assert [hit["id"] for hit in found["hits"]] == [changed]


def test_the_site_in_english(client: TestClient, site: dict[str, Any]) -> None:
    switched = client.get("/ngon-ngu/en", params={"next": "/tim-kiem?q=song+ma"})
    assert switched.url.path == "/tim-kiem" and '<html lang="en">' in switched.text
    html = switched.text
    assert "Search (with or without diacritics)" in html and "2 matching pages" in html
    assert "<h2>Place</h2>" in html and "<h2>Decade</h2>" in html and "1970s" in html
    assert "Tìm kiếm" not in html and "trang khớp" not in html
    item = client.get(f"/tai-lieu/{site['river']}").text
    assert "<dt>Title</dt>" in item and "<dt>Place</dt>" in item and "About this item" in item
    assert "Next page ›" in item and "Search inside this item" in item
    assert "Đông Sơn" in item  # the material itself stays as catalogued
    missing = client.get("/tai-lieu/999999")
    assert missing.status_code == 404 and "Not found" in missing.text
    assert client.get("/ngon-ngu/vi", params={"next": "//evil.example"}).url.path == "/"
    assert '<html lang="vi">' in client.get("/").text
