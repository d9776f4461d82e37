"""The public site in a real browser (Debian's Chromium through Playwright), as a citizen at an
old public PC would use it: search with and without JavaScript, facets, the item viewer and
search inside an item, an on-site item from inside and outside an access point. Screenshots of
each main page go to tests/artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from collection.config import Settings
from collection.db import session_scope
from collection.ingest.pipeline import run_job
from collection.models import AccessPoint, Collection, PointKind, PointLevel
from collection.points.service import create_point
from collection.search import meili, vocabulary
from tests.browsing import CHROME_109, VIEWPORT, ConsoleErrors, LiveApp, needs_chromium, shot
from tests.helpers import Api, add_pages, new_item, run_search_tasks, upload
from tests.material import born_digital_pdf

pytestmark = needs_chromium


@pytest.fixture
def corpus(settings: Settings, api: Api) -> dict[str, Any]:
    with session_scope(settings.sqlalchemy_url) as session:
        books = Collection(slug="sach-dia-chi", title="Sách địa chí")
        session.add(books)
        session.flush()
        collection_id = books.id
    ids: dict[str, Any] = {"collection": collection_id}
    ids["book"] = new_item(
        api, title="Văn hóa Đông Sơn bên dòng sông Mã", collection_id=collection_id,
        place="huyện Đông Sơn", document_type="Sách", date="1972", creator="Nguyễn Văn A",
        subject=["Khảo cổ"], language=["vi"], description="Trống đồng và <b>làng cổ</b>.",
    )  # fmt: skip
    pages = [
        "Lời nói đầu. Cuốn sách kể về vùng đất xứ Thanh.",
        "Chương 1. Trống đồng Đông Sơn được tìm thấy bên bờ sông Mã năm 1924.",
        "Chương 2. Làng cổ Đông Sơn và nghề đúc đồng <script>alert(1)</script>.",
    ]
    uploaded = upload(api, ids["book"], "van-hoa.pdf", born_digital_pdf(pages))
    assert uploaded.status_code == 202, uploaded.text
    run_job(uploaded.json()["job_id"], settings=settings)  # what a worker does
    ids["photo"] = new_item(
        api, title="Ảnh chợ Phủ Thanh Hóa", collection_id=collection_id, place="Thành phố Thanh Hóa",
        document_type="Ảnh", date="1930",
    )  # fmt: skip
    ids["onsite"] = new_item(
        api, title="Gia phả họ Lê làng Đông Sơn", access="onsite", place="huyện Đông Sơn",
        document_type="Gia phả",
    )  # fmt: skip
    add_pages(settings, ids["onsite"], ["Phả hệ đời thứ nhất: cụ Lê Văn Bình."])
    run_search_tasks(settings)
    with session_scope(settings.sqlalchemy_url) as session:
        vocabulary.refresh(session, meili.ready_engine(settings))  # what the worker does
    return ids


@pytest.fixture
def no_js(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        viewport=VIEWPORT, locale="vi-VN", user_agent=CHROME_109, java_script_enabled=False
    )
    try:
        yield context.new_page()
    finally:
        context.close()


def test_search_without_javascript(no_js: Page, live_app: LiveApp, corpus: dict[str, Any]) -> None:
    page = no_js
    page.goto(f"{live_app.url}/")
    shot(page, "site-home.png")
    page.get_by_label("Tìm trong").fill("trong dong")
    page.get_by_role("button", name="Tìm kiếm").click()
    expect(page.get_by_label("Tìm tài liệu")).to_have_value("trong dong")
    hit = page.locator(".hit").first
    expect(hit.locator("h3")).to_contain_text("Văn hóa Đông Sơn")
    expect(hit.locator(".snippet mark").first).to_have_text("Trống")
    expect(hit.get_by_text("1 trang khớp")).to_be_visible()
    shot(page, "site-results.png")
    # Facets narrow: the place facet.
    page.get_by_role("complementary").get_by_role("link", name="Đông Sơn").click()
    expect(page.get_by_text("Đang lọc:")).to_be_visible()
    expect(page.locator(".hit")).to_have_count(1)
    page.get_by_role("link", name="Bỏ lọc Địa danh: huyện Đông Sơn").click()
    expect(page.get_by_text("Đang lọc:")).to_have_count(0)


def test_a_misspelt_search_is_helped(
    citizen: Page, no_js: Page, live_app: LiveApp, corpus: dict[str, Any]
) -> None:
    errors = ConsoleErrors()
    errors.watch(citizen)
    for page in (citizen, no_js):
        page.goto(f"{live_app.url}/tim-kiem")
        page.get_by_label("Tìm tài liệu").fill("xyzzy trong dog")
        page.get_by_role("button", name="Tìm kiếm").click()
        expect(page.get_by_text("Không tìm thấy tài liệu nào")).to_be_visible()
        expect(page.locator(".did-you-mean")).to_contain_text("Có phải bạn muốn tìm: trống đồng")
        expect(page.get_by_role("link", name="Duyệt kho theo chủ đề")).to_be_visible()
        shot(page, "site-did-you-mean.png" if page is citizen else "site-did-you-mean-nojs.png")
        page.locator(".did-you-mean a").first.click()
        expect(page.locator(".hit").first.locator("h3")).to_contain_text("Văn hóa Đông Sơn")
        expect(page.locator(".did-you-mean")).to_have_count(0)
    assert errors.messages == []


def test_search_as_you_type_and_the_viewer(
    citizen: Page, live_app: LiveApp, corpus: dict[str, Any]
) -> None:
    errors = ConsoleErrors()
    errors.watch(citizen)
    page = citizen
    page.goto(f"{live_app.url}/tim-kiem")
    page.get_by_label("Tìm tài liệu").press_sequentially("sông Mã", delay=30)
    expect(page.locator(".hit").first.locator("h3")).to_contain_text("sông Mã")
    expect(page).to_have_url(f"{live_app.url}/tim-kiem?q=s%C3%B4ng+M%C3%A3")
    page.locator(".hit h3 a").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Văn hóa Đông Sơn bên dòng sông Mã")
    expect(page.locator("dl.dc")).to_contain_text("Nguyễn Văn A")
    expect(page.locator("dl.dc")).to_contain_text("Trống đồng và <b>làng cổ</b>.")
    image = page.locator("#page-img")
    expect(image).to_have_js_property("complete", True)
    assert image.evaluate("img => img.naturalWidth") > 100
    # The hit opens its best page; the viewer turns pages without reloading.
    expect(page.locator("#page-text")).to_contain_text("Chương 1. Trống đồng")
    expect(page).to_have_url(f"{live_app.url}/tai-lieu/{corpus['book']}?trang=2")
    shot(page, "site-item.png")
    page.get_by_role("link", name="‹ Trang trước").click()
    expect(page.locator("#page-text")).to_contain_text("Lời nói đầu")
    expect(page).to_have_url(f"{live_app.url}/tai-lieu/{corpus['book']}?trang=1")
    page.get_by_role("link", name="Trang sau ›").click()
    expect(page.locator("#page-text")).to_contain_text("Chương 1. Trống đồng")
    page.locator("#page-text").focus()
    page.keyboard.press("ArrowRight")  # the arrow keys turn pages too
    expect(page.locator("#page-text")).to_contain_text("<script>alert(1)</script>")
    page.get_by_role("button", name="Phóng to").click()
    # Search inside the item jumps to the matching page.
    page.get_by_label("Từ cần tìm trong tài liệu").fill("trống đồng")
    page.get_by_label("Từ cần tìm trong tài liệu").press("Enter")
    expect(page.locator(".inside-hits li")).to_have_count(1)
    expect(page.locator(".inside-hits mark").first).to_have_text("Trống")
    page.locator(".inside-hits a").first.click()
    expect(page.locator("#page-text")).to_contain_text("Chương 1. Trống đồng")
    shot(page, "site-item-inside.png")
    downloads = page.locator("a[download]")
    expect(downloads.first).to_contain_text("van-hoa.pdf")
    assert errors.messages == []


def test_onsite_item_inside_and_outside_a_point(
    citizen: Page, live_app: LiveApp, corpus: dict[str, Any], settings: Settings
) -> None:
    url = f"{live_app.url}/tai-lieu/{corpus['onsite']}"
    citizen.goto(url)
    expect(citizen.locator(".notice")).to_contain_text("chỉ đọc được tại các thư viện")
    expect(citizen.get_by_text("Phả hệ đời thứ nhất")).to_have_count(0)
    shot(citizen, "site-onsite-outside.png")
    with session_scope(settings.sqlalchemy_url) as session:  # this PC becomes a point's
        create_point(
            session=session, name="Thư viện tỉnh", kind=PointKind.TVCC,
            level=PointLevel.PROVINCE, ip_ranges=["127.0.0.0/8"],
        )  # fmt: skip
    live_app.app.state.points.forget()
    citizen.goto(url)
    expect(citizen.locator("#page-text")).to_contain_text("Phả hệ đời thứ nhất")
    expect(citizen.locator(".notice")).to_have_count(0)
    shot(citizen, "site-onsite-inside.png")
    with session_scope(settings.sqlalchemy_url) as session:
        assert session.query(AccessPoint).count() == 1


def test_unknown_item_and_browse_pages(
    citizen: Page, live_app: LiveApp, corpus: dict[str, Any]
) -> None:
    response = citizen.goto(f"{live_app.url}/tai-lieu/987654")
    assert response is not None and response.status == 404
    expect(citizen.get_by_role("heading", level=1)).to_have_text("Không tìm thấy")
    shot(citizen, "site-404.png")
    citizen.goto(f"{live_app.url}/duyet/dia-danh")
    # The old city holds both items: one placed there, one in the former huyện Đông Sơn.
    expect(citizen.locator("a.district")).to_have_text(["thành phố Thanh Hóa"])
    citizen.locator("summary .n").click()
    expect(citizen.locator("details .browse-list a")).to_have_text(["huyện Đông Sơn"])
    shot(citizen, "site-browse.png")
    citizen.goto(f"{live_app.url}/bo-suu-tap/{corpus['collection']}")
    expect(citizen.locator(".hit h3")).to_have_text(
        ["Ảnh chợ Phủ Thanh Hóa", "Văn hóa Đông Sơn bên dòng sông Mã"]
    )
    shot(citizen, "site-collection.png")


def test_english_is_one_click_away(
    citizen: Page, live_app: LiveApp, corpus: dict[str, Any]
) -> None:
    citizen.goto(f"{live_app.url}/tai-lieu/{corpus['book']}")
    citizen.get_by_role("link", name="English").click()
    expect(citizen.locator("html")).to_have_attribute("lang", "en")
    expect(citizen).to_have_url(f"{live_app.url}/tai-lieu/{corpus['book']}")
    expect(citizen.get_by_role("heading", name="About this item")).to_be_visible()
    citizen.get_by_role("link", name="Next page ›").click()
    expect(citizen.locator("#page-text")).to_contain_text("Chương 1. Trống đồng")
    shot(citizen, "site-item-en.png")
    citizen.get_by_role("link", name="Tiếng Việt").click()
    expect(citizen.get_by_role("heading", name="Thông tin tài liệu")).to_be_visible()
