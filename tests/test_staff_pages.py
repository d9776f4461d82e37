"""The staff workspace's pages as a browser without JavaScript uses them: forms that keep what
was typed and say in Vietnamese what is wrong, edits that never silently overwrite another's,
the OCR editor, collections, the job monitor with retry, bulk import with a per-row report."""

from __future__ import annotations

import csv
import io
import re
import zipfile

from fastapi.testclient import TestClient
from sqlalchemy import select

from collection.config import Settings
from collection.db import session_scope
from collection.ingest.pipeline import run_job
from collection.models import IngestJob, Item, JobState, Role
from tests import material
from tests.helpers import PASSWORD, Api, add_pages, make_user, new_item, run_search_tasks, upload

CATALOGUER = "bien.muc@thuvien.vn"


def browser_login(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """Log in through the login form like a browser; returns the form token for later forms."""
    client.get("/login")
    token = client.cookies["kho_csrf"]
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token, "next": "/staff"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return str(client.cookies["kho_csrf"])


ITEM_FORM = {
    "title": "Hương ước làng Đông Sơn",
    "creator": "Lê Văn A\nNguyễn Thị B",
    "subject": "hương ước; làng xã",
    "date": "1942",
    "language": "vi",
    "place": "huyện Đông Sơn",
    "document_type": "tài liệu",
    "access": "public",
    "status": "draft",
    "ocr_languages": "vie",
}


def test_create_item_form_keeps_values_and_explains_errors(api: Api, client: TestClient) -> None:
    token = browser_login(client, CATALOGUER)
    page = client.get("/staff/tai-lieu/moi")
    assert page.status_code == 200
    assert "Nhan đề" in page.text and "data-place-picker" in page.text  # the place picker

    bad = client.post(
        "/staff/tai-lieu/moi",
        data={
            **ITEM_FORM,
            "title": "",
            "date": "năm ngoái",
            "place": "Hà Nội",
            "csrf_token": token,
        },
    )
    assert bad.status_code == 422
    assert "Không được để trống." in bad.text
    assert "YYYY" in bad.text  # the date's own message
    assert "Lê Văn A" in bad.text  # nothing typed is lost

    made = client.post(
        "/staff/tai-lieu/moi", data={**ITEM_FORM, "csrf_token": token}, follow_redirects=False
    )
    assert made.status_code == 303
    item_page = client.get(made.headers["location"])
    assert item_page.status_code == 200
    assert "Đã tạo." in item_page.text and "Hương ước làng Đông Sơn" in item_page.text
    assert "Tạo tài liệu" in item_page.text  # its history


def test_two_staff_editing_at_once_the_second_is_told(api: Api, client: TestClient) -> None:
    item_id = new_item(api, title="Bản đồ Thanh Hóa")
    token = browser_login(client, CATALOGUER)
    form = client.get(f"/staff/tai-lieu/{item_id}").text
    version = re.search(r'name="version" value="(\d+)"', form)
    assert version is not None
    first = {**ITEM_FORM, "title": "Bản đồ tỉnh Thanh Hóa 1909", "version": version[1]}
    second = {**ITEM_FORM, "title": "Bản đồ Thanh Hóa (bản in)", "version": version[1]}
    saved = client.post(
        f"/staff/tai-lieu/{item_id}", data={**first, "csrf_token": token}, follow_redirects=False
    )
    assert saved.status_code == 303
    late = client.post(f"/staff/tai-lieu/{item_id}", data={**second, "csrf_token": token})
    assert late.status_code == 409
    assert "người khác sửa" in late.text
    assert "Bản đồ Thanh Hóa (bản in)" in late.text  # their typing is still in the form
    assert api("GET", f"/api/v1/items/{item_id}").json()["title"] == "Bản đồ tỉnh Thanh Hóa 1909"


def test_forms_without_the_token_change_nothing(api: Api, client: TestClient) -> None:
    browser_login(client, CATALOGUER)
    response = client.post("/staff/tai-lieu/moi", data=ITEM_FORM)
    assert response.status_code == 403
    assert "Biểu mẫu đã hết hạn" in response.text
    assert api("GET", "/api/v1/staff/search?q=hương").status_code in (200, 503)


def test_reporter_reads_but_cannot_change(settings: Settings, api: Api, client: TestClient) -> None:
    item_id = new_item(api)
    make_user(settings, "bao.cao@thuvien.vn", Role.REPORTER)
    token = browser_login(client, "bao.cao@thuvien.vn")
    assert client.get(f"/staff/tai-lieu/{item_id}").status_code == 200
    assert "Lưu thay đổi" not in client.get(f"/staff/tai-lieu/{item_id}").text
    assert client.get("/staff/tai-lieu/moi").status_code == 403
    response = client.post(
        f"/staff/tai-lieu/{item_id}", data={**ITEM_FORM, "version": "1", "csrf_token": token}
    )
    assert response.status_code == 403


def test_correcting_a_page_survives_a_rerun_and_is_found(
    api: Api, client: TestClient, settings: Settings
) -> None:
    item_id = new_item(api, title="Sổ bộ thuế")
    add_pages(settings, item_id, ["Thu thuế ruộng đất năm Bảo Đại", "trang hai"])
    token = browser_login(client, CATALOGUER)
    editor = client.get(f"/staff/tai-lieu/{item_id}/trang/1")
    assert editor.status_code == 200
    based_on = re.search(r'name="based_on" value="([0-9a-f]+)"', editor.text)
    assert based_on is not None
    saved = client.post(
        f"/staff/tai-lieu/{item_id}/trang/1",
        data={
            "text": "Thu thuế ruộng đất năm Khải Định",
            "based_on": based_on[1],
            "action": "save",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    # Someone else's editor opened before the save: told, not silently overwritten.
    stale = client.post(
        f"/staff/tai-lieu/{item_id}/trang/1",
        data={"text": "bản khác", "based_on": based_on[1], "action": "save", "csrf_token": token},
    )
    assert stale.status_code == 409 and "vừa được người khác sửa" in stale.text
    assert "bản khác" in stale.text
    run_search_tasks(settings)
    hits = api("GET", "/api/v1/staff/search", params={"q": "Khải Định"}).json()
    assert [h["id"] for h in hits["hits"]] == [item_id]


def test_collections_are_created_and_listed_in_vietnamese_order(
    api: Api, client: TestClient
) -> None:
    token = browser_login(client, CATALOGUER)
    for title in ("Ảnh tư liệu", "Báo Thanh Hóa", "Ấn phẩm Hán Nôm"):
        made = client.post(
            "/staff/bo-suu-tap", data={"title": title, "csrf_token": token}, follow_redirects=False
        )
        assert made.status_code == 303, made.text
    listing = client.get("/staff/bo-suu-tap").text
    positions = [listing.index(t) for t in ("Ảnh tư liệu", "Ấn phẩm Hán Nôm", "Báo Thanh Hóa")]
    assert positions == sorted(positions)
    twice = client.post("/staff/bo-suu-tap", data={"title": "Báo Thanh Hóa", "csrf_token": token})
    assert twice.status_code == 409 and "Đã có bộ sưu tập" in twice.text


def test_the_job_monitor_shows_a_failure_in_words_and_retries(
    api: Api, client: TestClient, settings: Settings
) -> None:
    item_id = new_item(api, title="Tệp bị mã hóa")
    job_id = upload(api, item_id, "khoa.pdf", material.encrypted_pdf()).json()["job_id"]
    run_job(job_id, settings=settings)
    token = browser_login(client, CATALOGUER)
    monitor = client.get("/staff/cong-viec?trang-thai=failed")
    assert monitor.status_code == 200
    assert "Tệp bị mã hóa" in monitor.text and "Lỗi" in monitor.text
    retried = client.post(
        f"/staff/cong-viec/{job_id}/thu-lai",
        data={"csrf_token": token, "next": "/staff/cong-viec"},
        follow_redirects=False,
    )
    assert retried.status_code == 303
    with session_scope(settings.sqlalchemy_url) as session:
        job = session.get(IngestJob, job_id)
        assert job is not None and job.state == JobState.QUEUED and job.error is None
    again = client.post(f"/staff/cong-viec/{job_id}/thu-lai", data={"csrf_token": token})
    assert again.status_code == 409 and "Chỉ thử lại được công việc bị lỗi" in again.text


def test_bulk_import_page_reports_each_row(
    api: Api, client: TestClient, settings: Settings
) -> None:
    sheet = io.StringIO()
    writer = csv.writer(sheet)
    writer.writerow(["Tệp", "Nhan đề", "Năm", "Mã định danh"])
    writer.writerow(["a.pdf", "Địa chí huyện Nga Sơn", "2001", "NS-1"])
    writer.writerow(["", "Ngày sai", "ngày 30 tháng 2", "NS-2"])
    writer.writerow(["../../etc/passwd", "Thoát thư mục", "2001", "NS-3"])
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("a.pdf", material.born_digital_pdf(material.PAGES[:1]))
    token = browser_login(client, CATALOGUER)
    files = {
        "sheet": ("bang-ke.csv", sheet.getvalue().encode("utf-8"), "text/csv"),
        "archive": ("tep.zip", archive.getvalue(), "application/zip"),
    }
    first = client.post("/staff/nhap-lo", data={"csrf_token": token}, files=files)
    assert first.status_code == 200, first.text
    assert "1 tạo mới" in first.text.replace("<strong>", "").replace("</strong>", "")
    assert "YYYY" in first.text and "ra ngoài thư mục" in first.text
    again = client.post("/staff/nhap-lo", data={"csrf_token": token}, files=files)
    assert "Trùng, bỏ qua" in again.text
    with session_scope(settings.sqlalchemy_url) as session:
        assert len(session.scalars(select(Item)).all()) == 1


def test_session_cookie_is_httponly_samesite_and_secure_over_https(
    settings: Settings, api: Api
) -> None:
    from collection.app import create_app

    for base, secure in (("http://testserver", False), ("https://testserver", True)):
        with TestClient(create_app(settings), base_url=base) as browser:
            browser.get("/login")
            response = browser.post(
                "/login",
                data={
                    "email": CATALOGUER,
                    "password": PASSWORD,
                    "csrf_token": browser.cookies["kho_csrf"],
                },
                follow_redirects=False,
            )
            assert response.status_code == 303
            session_cookie = next(
                c for c in response.headers.get_list("set-cookie") if c.startswith("kho_session=")
            )
            flags = session_cookie.lower()
            assert "httponly" in flags and "samesite=lax" in flags
            assert ("secure" in flags.split("; ")) is secure
