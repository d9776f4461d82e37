"""The staff workspace's main flows in a real browser (Debian's Chromium): log in, create an
item, upload a PDF in chunks across a dropped connection and watch it get processed and become
findable, bulk import a ZIP with a bad row, correct a page's text and find the corrected word.
A worker thread does what the queue's consumer does, with this test's settings."""

from __future__ import annotations

import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, expect
from pydantic import AnyHttpUrl

from collection.config import Settings
from collection.ingest.pipeline import run_job, run_ocr_chunk
from collection.models import Role
from collection.search import meili
from collection.search.sync import sync_item
from tests import material
from tests.browsing import ConsoleErrors, HostSite, needs_chromium, shot
from tests.helpers import PASSWORD, Api, add_pages, make_user, new_item

EMAIL = "bien.muc@thuvien.vn"
pytestmark = needs_chromium


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # 1 MB chunks: a 2.5 MB file arrives in three, so a dropped chunk can be tested.
    return settings.model_copy(update={"upload_chunk_mb": 1})


@pytest.fixture
def worker(settings: Settings) -> Iterator[None]:
    """A consumer for the queued tasks (ingest jobs, OCR chunks, index updates)."""
    from collection.queue import huey, search_huey

    stop = threading.Event()

    def consume() -> None:
        while not stop.is_set():
            task = search_huey.dequeue() or huey.dequeue()
            if task is None:
                stop.wait(0.2)
                continue
            if task.name == "ingest.run_job":
                run_job(task.args[0], settings=settings)
            elif task.name == "ingest.ocr_chunk":
                if run_ocr_chunk(*task.args, settings=settings):
                    run_job(task.args[0], settings=settings)
            elif task.name == "search.sync_item":
                sync_item(task.args[0], settings=settings)

    thread = threading.Thread(target=consume, name="test-worker", daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=60)


def log_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/staff")
    expect(page).to_have_url(f"{base_url}/login?next=/staff")
    page.get_by_label("E-mail").fill(EMAIL)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("heading", name="Xin chào", exact=False)).to_be_visible()


def public_search_finds(
    page: Page, base_url: str, settings: Settings, words: str, title: str
) -> None:
    meili.ready_engine(settings).wait_for_idle()
    for _ in range(20):  # the index update is queued after the commit; give the worker time
        page.goto(f"{base_url}/tim-kiem?q={words}")
        if page.get_by_role("link", name=title).count():
            break
        page.wait_for_timeout(500)
    expect(page.get_by_role("link", name=title)).to_be_visible()


def test_create_upload_publish_and_find(
    page: Page, base_url: str, settings: Settings, worker: None, tmp_path: Path
) -> None:
    make_user(settings, EMAIL, Role.CATALOGUER)
    errors = ConsoleErrors()
    errors.watch(page)
    log_in(page, base_url)
    shot(page, "staff-dashboard.png")

    page.get_by_role("link", name="+ Tạo tài liệu mới").first.click()
    page.get_by_role("button", name="Tạo tài liệu").click()  # nothing filled in
    expect(page.get_by_text("Không được để trống.")).to_be_visible()
    page.get_by_role("textbox", name="Nhan đề", exact=True).fill("Địa chí huyện Hoằng Hóa")
    page.get_by_label("Tác giả").fill("Ban biên soạn")
    page.get_by_label("Thời gian").fill("2000")
    page.get_by_label("Địa danh (Thanh Hóa)").fill("huyện Hoằng Hóa")  # typed, no picking
    page.get_by_label("Trạng thái").select_option("published")
    page.get_by_role("button", name="Tạo tài liệu").click()
    expect(page.get_by_text("Đã tạo.")).to_be_visible()
    item_url = page.url

    # 2.5 MB: three chunks. The second one's connection drops once; the page sends it again
    # and goes on, never sending the first again.
    pdf = material.born_digital_pdf(material.PAGES[:3])
    padded = pdf + b"\n%" + b"x" * (2_500_000 - len(pdf)) + b"\n"
    path = tmp_path / "dia-chi-hoang-hoa.pdf"
    path.write_bytes(padded)
    chunk_puts: list[str] = []
    dropped: list[str] = []

    def flaky(route: Route) -> None:
        url = route.request.url
        chunk_puts.append(url.rsplit("/", 1)[-1])
        if url.endswith("/chunks/1") and not dropped:
            dropped.append(url)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/v1/uploads/*/chunks/*", flaky)
    page.get_by_label("Chọn tệp để tải lên", exact=False).set_input_files(str(path))
    page.get_by_role("button", name="Tải lên", exact=True).click()
    expect(page.get_by_text("Đang xử lý (công việc", exact=False)).to_be_visible(timeout=30_000)
    assert chunk_puts == ["0", "1", "1", "2"]
    jobs = page.locator("table.jobs")
    expect(jobs.locator(".job-label").first).to_have_text("Hoàn tất", timeout=90_000)
    shot(page, "staff-item-uploaded.png")
    expect(page.get_by_text("Xử lý đã có kết quả mới.")).to_be_visible()

    page.goto(item_url)
    expect(page.get_by_role("link", name="Trang 3")).to_be_visible()
    public_search_finds(page, base_url, settings, "Hoằng Hóa", "Địa chí huyện Hoằng Hóa")

    # The same bytes for another item: offered to link, not stored twice.
    page.goto(f"{base_url}/staff/tai-lieu/moi")
    page.get_by_role("textbox", name="Nhan đề", exact=True).fill("Bản sao địa chí")
    page.get_by_role("button", name="Tạo tài liệu").click()
    page.unroute("**/api/v1/uploads/*/chunks/*")
    page.get_by_label("Chọn tệp để tải lên", exact=False).set_input_files(str(path))
    page.get_by_role("button", name="Tải lên", exact=True).click()
    expect(page.get_by_text("Tệp này đã có trong kho", exact=False)).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Liên kết tệp có sẵn").click()
    expect(page.get_by_text("đã liên kết, không lưu lần hai", exact=False)).to_be_visible()
    # The browser logs the 4xx answers (form errors, the duplicate); no script error happened.
    assert [m for m in errors.messages if "Failed to load resource" not in m] == []


def test_bulk_import_with_a_bad_row(
    page: Page, base_url: str, settings: Settings, worker: None, tmp_path: Path
) -> None:
    make_user(settings, EMAIL, Role.CATALOGUER)
    sheet = tmp_path / "bang-ke.csv"
    sheet.write_text(
        "Tệp,Nhan đề,Năm,Địa danh,Mã định danh\n"
        "a.pdf,Lịch sử Đảng bộ huyện Nga Sơn,2005,huyện Nga Sơn,NS-01\n"
        "b.pdf,Văn bia Hà Trung,năm ngoái,huyện Hà Trung,HT-01\n"
        ",Ảnh chợ Vạn Hà,1930,cu-398,TH-01\n",
        encoding="utf-8",
    )
    archive = tmp_path / "tep.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("a.pdf", material.born_digital_pdf(material.PAGES[:1]))
        z.writestr("b.pdf", material.born_digital_pdf(material.PAGES[1:2]))
    errors = ConsoleErrors()
    errors.watch(page)
    log_in(page, base_url)
    page.get_by_role("link", name="Nhập hàng loạt").first.click()
    page.get_by_label("Bảng kê (.xlsx hoặc .csv)").set_input_files(str(sheet))
    page.get_by_label("Tệp ZIP", exact=False).set_input_files(str(archive))
    page.get_by_role("button", name="Bắt đầu nhập").click()
    rows = page.locator("table.import-rows tbody tr")
    expect(rows).to_have_count(3, timeout=30_000)
    expect(page.get_by_text("2 tạo mới · 0 trùng, bỏ qua · 1 lỗi")).to_be_visible()
    failed = page.locator("tr.row-failed")
    expect(failed).to_contain_text("Văn bia Hà Trung")
    expect(failed).to_contain_text("YYYY")
    shot(page, "staff-import.png")

    # Fixed sheet, run again: only the fixed row is created.
    sheet.write_text(
        sheet.read_text(encoding="utf-8").replace("năm ngoái", "1890"), encoding="utf-8"
    )
    page.get_by_label("Bảng kê (.xlsx hoặc .csv)").set_input_files(str(sheet))
    page.get_by_label("Tệp ZIP", exact=False).set_input_files(str(archive))
    page.get_by_role("button", name="Bắt đầu nhập").click()
    expect(page.get_by_text("1 tạo mới · 2 trùng, bỏ qua · 0 lỗi")).to_be_visible(timeout=30_000)
    assert errors.messages == []


def test_correct_a_page_and_find_the_corrected_word(
    page: Page, base_url: str, settings: Settings, worker: None
) -> None:
    make_user(settings, EMAIL, Role.CATALOGUER)
    log_in(page, base_url)
    page.goto(f"{base_url}/staff/tai-lieu/moi")
    page.get_by_role("textbox", name="Nhan đề", exact=True).fill("Gia phả họ Lê làng Bồng Trung")
    page.get_by_label("Trạng thái").select_option("published")
    page.get_by_role("button", name="Tạo tài liệu").click()
    item_id = int(page.url.split("/staff/tai-lieu/")[1].split("?")[0])
    add_pages(settings, item_id, ["Đời thứ nhất: cụ Lê Văn Thịnh", "Đời thứ hai"])
    page.goto(f"{base_url}/staff/tai-lieu/{item_id}")
    page.get_by_role("link", name="Trang 1", exact=True).click()
    text = page.get_by_label("Văn bản của trang")
    expect(text).to_have_value("Đời thứ nhất: cụ Lê Văn Thịnh")
    text.fill("Đời thứ nhất: cụ Lê Văn Thạnh, người làng Bồng Trung")
    page.get_by_role("button", name="Lưu bản sửa").click()
    expect(page.get_by_text("Đã lưu văn bản trang.", exact=False)).to_be_visible()
    expect(page.get_by_text("Trang này đã được sửa tay", exact=False)).to_be_visible()
    shot(page, "staff-page-editor.png")
    public_search_finds(page, base_url, settings, "Thạnh", "Gia phả họ Lê làng Bồng Trung")


def test_an_access_point_pastes_its_snippet_on_its_own_site(
    page: Page,
    base_url: str,
    settings: Settings,
    worker: None,
    host_site: HostSite,
    api: Api,
) -> None:
    settings.public_url = AnyHttpUrl(base_url)  # snippets name the address citizens use
    item_id = new_item(api, title="Địa chí huyện Thọ Xuân")
    add_pages(settings, item_id, ["Lam Kinh, đất Thọ Xuân"])
    make_user(settings, "quan.tri@thuvien.vn", Role.ADMIN)
    page.goto(f"{base_url}/login")
    page.get_by_label("E-mail").fill("quan.tri@thuvien.vn")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_role("link", name="Điểm truy cập").click()
    page.get_by_label("Tên điểm", exact=False).fill("Thư viện huyện Thọ Xuân")
    page.locator("#f-kind").select_option("tvcc")
    page.locator("#f-level").select_option("district")
    page.locator("#f-district").fill("huyện Thọ Xuân")
    page.locator("#f-allowed_origins").fill(host_site.origin)
    page.locator("#tao-moi button[type=submit]").click()
    expect(page.get_by_text("Đã tạo.")).to_be_visible()
    snippet = page.locator("#snippet-script").input_value()

    (host_site.root / "index.html").write_text(
        '<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Thư viện Thọ Xuân'
        f'</title><link rel="icon" href="data:,"></head><body><h1>Tìm tài liệu</h1>{snippet}'
        "</body></html>",
        encoding="utf-8",
    )
    meili.ready_engine(settings).wait_for_idle()
    page.goto(host_site.url("index.html"))
    widget = page.locator("kho-search-widget")
    box = widget.get_by_role("searchbox", name="Tìm trong Kho số Thanh Hóa")
    box.fill("Lam Kinh")
    box.press("Enter")
    expect(widget.get_by_role("link", name="Địa chí huyện Thọ Xuân")).to_be_visible()
    shot(page, "staff-point-snippet-on-host.png")
