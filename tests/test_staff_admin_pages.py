"""The staff pages for access points and accounts, used like a browser does: log in through the
form, send each form with its CSRF field, follow the redirects, read the page."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Dialog, Page, expect
from sqlalchemy import select

from collection.accounts import service as accounts
from collection.config import Settings
from collection.db import session_scope
from collection.models import AccessPoint, AuditEvent, Role, User
from collection.points.widget import embed_snippets
from tests.browsing import LiveApp, needs_chromium, shot
from tests.helpers import PASSWORD, make_user

ADMIN = "quan.tri@thuvien.vn"
HOST_ORIGIN = "https://thuvien-thoxuan.example.vn"


def form_login(client: TestClient, email: str, password: str = PASSWORD) -> None:
    """Log in through the HTML form, as a browser does."""
    assert client.get("/login").status_code == 200
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": client.cookies["kho_csrf"]},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/staff"


def send(client: TestClient, path: str, data: dict[str, str] | None = None) -> httpx.Response:
    """Submit a staff form (its hidden CSRF field is the cookie's value)."""
    response: httpx.Response = client.post(
        path, data={**(data or {}), "csrf_token": client.cookies["kho_csrf"]}
    )
    return response


def another_client(client: TestClient) -> TestClient:
    """A second browser on the same app (its own cookies)."""
    return TestClient(client.app, base_url="http://testserver")


def textarea(page: str, element_id: str) -> str:
    found = re.search(rf'<textarea id="{element_id}"[^>]*>(.*?)</textarea>', page, re.S)
    assert found, f"no textarea #{element_id}"
    return html.unescape(found.group(1))


def shown_password(page: str) -> str:
    found = re.search(r'<input id="new-password"[^>]*value="([^"]*)"', page)
    assert found, "no password shown"
    return html.unescape(found.group(1))


def staff_nav(page: str) -> str:
    found = re.search(r'<nav class="staff-nav".*?</nav>', page, re.S)
    assert found, "no staff navigation"
    return found.group(0)


def widget(client: TestClient, key: str, origin: str = HOST_ORIGIN) -> int:
    """A widget's call from the point's site (no query: checking the key costs no search)."""
    response: httpx.Response = client.get(
        "/api/v1/widget/search", params={"key": key, "q": ""}, headers={"Origin": origin}
    )
    return response.status_code


def point_id_of(response: httpx.Response) -> int:
    found = re.fullmatch(r"/staff/diem-truy-cap/(\d+)", response.url.path)
    assert found, response.url
    return int(found.group(1))


def stored_point(settings: Settings, point_id: int) -> AccessPoint:
    with session_scope(settings.sqlalchemy_url) as session:
        point = session.get(AccessPoint, point_id)
        assert point is not None
        session.expunge(point)
        return point


def stored_user(settings: Settings, email: str) -> User:
    with session_scope(settings.sqlalchemy_url) as session:
        user = accounts.get_user_by_email(session=session, email=email)
        session.expunge(user)
        return user


NEW_POINT = {
    "name": "Thư viện huyện Thọ Xuân",
    "kind": "tvcc",
    "level": "district",
    "district": "huyện Thọ Xuân",
    "allowed_origins": f"{HOST_ORIGIN}\nhttp://THOXUAN.example.vn:8080/",
    "ip_ranges": "113.160.12.0/24\n10.1.2.3",
}


@pytest.fixture
def admin(client: TestClient, settings: Settings) -> TestClient:
    make_user(settings, ADMIN, Role.ADMIN)
    form_login(client, ADMIN)
    return client


# --- access points -----------------------------------------------------------------------------


def test_an_admin_creates_a_point_and_gets_its_key_and_snippets(
    admin: TestClient, settings: Settings
) -> None:
    listing = admin.get("/staff/diem-truy-cap")
    assert listing.status_code == 200
    assert "Chưa có điểm truy cập nào." in listing.text
    assert "ví dụ: https://thuvien.thanhhoa.gov.vn" in listing.text
    assert "ví dụ: 113.160.12.0/24" in listing.text
    assert 'data-place-picker data-levels="district"' in listing.text  # picks from the gazetteer
    assert widget(admin, "w_chua-co") == 401  # the widget's directory has read the points

    response = send(admin, "/staff/diem-truy-cap", NEW_POINT)
    assert response.status_code == 200
    assert response.url.query == b"tb=da-tao"
    assert "Đã tạo." in response.text
    point = stored_point(settings, point_id_of(response))
    assert point.allowed_origins == [HOST_ORIGIN, "http://thoxuan.example.vn:8080"]
    assert point.ip_ranges == ["113.160.12.0/24", "10.1.2.3/32"]
    assert point.district_key == "cu-395" and point.active

    key = point.widget_key
    assert key in response.text
    snippets = embed_snippets(base_url=settings.base_url, widget_key=key)
    assert textarea(response.text, "snippet-script") == snippets.script
    assert textarea(response.text, "snippet-iframe") == snippets.iframe
    assert key in snippets.script and key in snippets.iframe
    assert "Tạo điểm truy cập</td>" in response.text  # the point's history
    assert widget(admin, key) == 200  # seen at once, not after the directory's 10 s

    listing = admin.get("/staff/diem-truy-cap")
    row = re.search(r"<tr>\s*<td><a href=\"/staff/diem-truy-cap/\d+\">.*?</tr>", listing.text, re.S)
    assert row is not None
    cells = [
        re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row[0], re.S)
    ]
    assert cells == [
        "Thư viện huyện Thọ Xuân",
        "Thư viện công cộng",
        "Cấp huyện",
        "huyện Thọ Xuân (cũ)",
        "2",
        "2",
        "Đang hoạt động",
    ]


def test_bad_point_input_is_explained_in_vietnamese_and_keeps_what_was_typed(
    admin: TestClient, settings: Settings
) -> None:
    typed = {
        **NEW_POINT,
        "name": "Bưu điện văn hóa xã Xuân Lam",
        "kind": "",
        "district": "Huyện Không Có",
        "allowed_origins": "thuvien.example.vn/trang-chu",
        "ip_ranges": "113.160.12.0/33\n10.0.0.1",
    }
    response = send(admin, "/staff/diem-truy-cap", typed)
    assert response.status_code == 422
    page = response.text
    assert "Chưa lưu được: hãy sửa các ô được đánh dấu đỏ." in page
    assert "Dải địa chỉ IP không hợp lệ: 113.160.12.0/33 (ví dụ đúng: 113.160.12.0/24)." in page
    assert "Địa chỉ trang web không hợp lệ: thuvien.example.vn/trang-chu" in page
    assert "Không có địa danh «Huyện Không Có» trong danh mục" in page
    assert "Chọn loại điểm trong danh sách." in page
    assert 'value="Bưu điện văn hóa xã Xuân Lam"' in page
    assert textarea(page, "f-ip_ranges") == "113.160.12.0/33\n10.0.0.1"
    assert '<option value="district" selected>' in page
    with session_scope(settings.sqlalchemy_url) as session:
        assert session.scalars(select(AccessPoint)).all() == []


def test_a_new_key_replaces_the_old_one_at_once(admin: TestClient, settings: Settings) -> None:
    created = send(admin, "/staff/diem-truy-cap", NEW_POINT)
    point_id = point_id_of(created)
    old_key = stored_point(settings, point_id).widget_key
    assert widget(admin, old_key) == 200
    assert "Chưa cấp mới lần nào" in created.text
    assert 'data-confirm="Cấp mã nhúng mới cho' in created.text

    rotated = send(admin, f"/staff/diem-truy-cap/{point_id}/ma-moi")
    assert rotated.status_code == 200
    assert rotated.url.path == f"/staff/diem-truy-cap/{point_id}"
    assert "Đã cấp mã nhúng mới." in rotated.text
    new_key = stored_point(settings, point_id).widget_key
    assert new_key != old_key
    assert new_key in textarea(rotated.text, "snippet-script")
    assert old_key not in rotated.text
    assert "Cấp mới lần cuối lúc" in rotated.text
    assert "Cấp mã nhúng mới</td>" in rotated.text  # in the point's history
    assert widget(admin, old_key) == 401
    assert widget(admin, new_key) == 200

    # Editing: an inactive point's key stops working at once too.
    edited = {**NEW_POINT, "name": "Thư viện Thọ Xuân (cũ)"}  # "active" unchecked
    saved = send(admin, f"/staff/diem-truy-cap/{point_id}", edited)
    assert saved.status_code == 200
    assert "Đã lưu." in saved.text
    assert "Điểm đang tạm ngừng" in saved.text
    assert not stored_point(settings, point_id).active
    assert widget(admin, new_key) == 401
    bad = send(
        admin, f"/staff/diem-truy-cap/{point_id}", {**edited, "active": "1", "ip_ranges": "x"}
    )
    assert bad.status_code == 422
    assert "Dải địa chỉ IP không hợp lệ: x" in bad.text
    assert 'name="active" value="1" checked' in bad.text  # as typed, not as stored
    assert not stored_point(settings, point_id).active


# --- who may --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.CATALOGUER, Role.REPORTER])
def test_other_roles_neither_see_nor_open_the_admin_pages(
    client: TestClient, settings: Settings, role: Role
) -> None:
    email = f"{role.value}@thuvien.vn"
    make_user(settings, email, role)
    form_login(client, email)
    home = client.get("/staff")
    assert home.status_code == 200
    nav = staff_nav(home.text)
    assert 'href="/staff/tai-lieu"' in nav
    assert "/staff/diem-truy-cap" not in nav
    assert "/staff/tai-khoan" not in nav
    for path in ("/staff/diem-truy-cap", "/staff/tai-khoan", "/staff/tai-khoan/1"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "không được phép" in response.text
    assert send(client, "/staff/diem-truy-cap", NEW_POINT).status_code == 403
    refused = send(
        client, "/staff/tai-khoan", {"email": "moi@thuvien.vn", "role": "admin", "password": ""}
    )
    assert refused.status_code == 403
    assert send(client, "/staff/tai-khoan/1", {"role": "admin", "active": "1"}).status_code == 403
    with session_scope(settings.sqlalchemy_url) as session:
        assert session.scalars(select(AccessPoint)).all() == []
        assert [u.email for u in accounts.list_users(session=session)] == [email]
        assert session.scalars(select(User.role)).all() == [role]


def test_an_admin_sees_the_links_and_a_form_without_its_token_is_refused(
    admin: TestClient, settings: Settings
) -> None:
    nav = staff_nav(admin.get("/staff").text)
    assert 'href="/staff/diem-truy-cap"' in nav
    assert 'href="/staff/tai-khoan"' in nav
    assert admin.post("/staff/diem-truy-cap", data=NEW_POINT).status_code == 403
    forged = admin.post("/staff/diem-truy-cap", data={**NEW_POINT, "csrf_token": "gia-mao"})
    assert forged.status_code == 403
    assert "Biểu mẫu đã hết hạn" in forged.text
    new_account = {"email": "moi@thuvien.vn", "role": "admin", "password": ""}
    assert admin.post("/staff/tai-khoan", data=new_account).status_code == 403
    with session_scope(settings.sqlalchemy_url) as session:
        assert session.scalars(select(AccessPoint)).all() == []
        assert [u.email for u in accounts.list_users(session=session)] == [ADMIN]


# --- accounts ----------------------------------------------------------------------------------


def test_an_admin_creates_an_account_whose_password_is_shown_once(
    admin: TestClient, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    listing = admin.get("/staff/tai-khoan")
    assert listing.status_code == 200
    assert "Quản trị viên" in listing.text and "Chưa đăng nhập" not in listing.text

    account = {"email": " Le.Thu@ThuVien.vn ", "display_name": "Lê Thị Thu", "role": "reporter"}
    created = send(admin, "/staff/tai-khoan", {**account, "password": ""})
    assert created.status_code == 200
    assert not created.history  # rendered, not redirected: the password is in no URL
    assert "Đã tạo." in created.text
    password = shown_password(created.text)
    assert len(password) >= 10
    assert "chỉ hiện <strong>một lần</strong>" in created.text
    assert created.headers["cache-control"] == "no-store"
    assert password not in str(created.url)

    user = stored_user(settings, "le.thu@thuvien.vn")
    assert user.role == Role.REPORTER and user.display_name == "Lê Thị Thu"
    again = admin.get(f"/staff/tai-khoan/{user.id}")
    assert password not in again.text  # once
    assert "Tạo tài khoản</td>" in again.text  # the account's history
    listing = admin.get("/staff/tai-khoan")
    assert "le.thu@thuvien.vn" in listing.text and "Chưa đăng nhập" in listing.text

    newcomer = another_client(admin)
    form_login(newcomer, "le.thu@thuvien.vn", password)
    assert newcomer.get("/staff").status_code == 200

    # Mistakes: the form again, in Vietnamese, with what was typed (never the password).
    bad_email = send(admin, "/staff/tai-khoan", {**account, "email": "le.thu", "password": ""})
    assert bad_email.status_code == 422
    assert "Địa chỉ e-mail không hợp lệ." in bad_email.text
    assert 'value="Lê Thị Thu"' in bad_email.text
    short = send(
        admin, "/staff/tai-khoan", {**account, "email": "b@thuvien.vn", "password": "ngan"}
    )
    assert short.status_code == 422
    assert "Mật khẩu phải có ít nhất 10 ký tự" in short.text
    assert 'value="ngan"' not in short.text
    taken = send(admin, "/staff/tai-khoan", {**account, "password": ""})
    assert taken.status_code == 409
    assert "Đã có tài khoản với e-mail le.thu@thuvien.vn." in taken.text
    chosen = send(
        admin,
        "/staff/tai-khoan",
        {**account, "email": "c@thuvien.vn", "password": "mot-mat-khau-dai"},
    )
    assert chosen.status_code == 200 and chosen.url.query == b"tb=da-tao"
    assert 'id="new-password"' not in chosen.text  # the admin typed it: nothing to show

    with session_scope(settings.sqlalchemy_url) as session:
        logged = [f"{e.summary} {e.changes}" for e in session.scalars(select(AuditEvent))]
    assert logged and not any(password in entry for entry in logged)
    assert password not in caplog.text


def test_an_admin_cannot_lock_themselves_out_but_can_lock_others_out(
    admin: TestClient, settings: Settings
) -> None:
    me = stored_user(settings, ADMIN)
    refused = send(admin, f"/staff/tai-khoan/{me.id}", {"display_name": "Tôi", "role": "admin"})
    assert refused.status_code == 422
    assert "Bạn không thể tự đổi vai trò hoặc tự khóa tài khoản của mình." in refused.text
    assert stored_user(settings, ADMIN).active
    demoted = send(admin, f"/staff/tai-khoan/{me.id}", {"role": "reporter", "active": "1"})
    assert demoted.status_code == 422
    assert '<option value="reporter" selected>' in demoted.text  # the form as sent
    assert stored_user(settings, ADMIN).role == Role.ADMIN
    renamed = send(
        admin,
        f"/staff/tai-khoan/{me.id}",
        {"display_name": "Quản trị", "role": "admin", "active": "1"},
    )
    assert renamed.status_code == 200 and "Đã lưu." in renamed.text
    assert admin.get("/staff").status_code == 200

    make_user(settings, "bien.muc@thuvien.vn", Role.CATALOGUER)
    colleague = stored_user(settings, "bien.muc@thuvien.vn")
    other = another_client(admin)
    form_login(other, "bien.muc@thuvien.vn")
    assert other.get("/staff", follow_redirects=False).status_code == 200

    locked = send(
        admin, f"/staff/tai-khoan/{colleague.id}", {"display_name": "", "role": "cataloguer"}
    )
    assert locked.status_code == 200 and "Đã lưu." in locked.text
    assert "Đã khóa" in locked.text
    assert not stored_user(settings, "bien.muc@thuvien.vn").active
    after = other.get("/staff", follow_redirects=False)
    assert after.status_code == 303
    assert after.headers["location"].startswith("/login")


def test_resetting_a_password_shows_the_new_one_once_and_ends_sessions(
    admin: TestClient, settings: Settings
) -> None:
    make_user(settings, "bien.muc@thuvien.vn", Role.CATALOGUER)
    colleague = stored_user(settings, "bien.muc@thuvien.vn")
    other = another_client(admin)
    form_login(other, "bien.muc@thuvien.vn")

    page = admin.get(f"/staff/tai-khoan/{colleague.id}")
    assert 'data-confirm="Đặt lại mật khẩu của bien.muc@thuvien.vn?' in page.text
    reset = send(admin, f"/staff/tai-khoan/{colleague.id}/mat-khau")
    assert reset.status_code == 200
    assert "Đã đặt mật khẩu mới." in reset.text
    password = shown_password(reset.text)
    assert password != PASSWORD
    assert "Đặt lại mật khẩu</td>" in reset.text  # the history
    assert other.get("/staff", follow_redirects=False).status_code == 303
    form_login(other, "bien.muc@thuvien.vn", password)
    assert other.get("/staff").status_code == 200


# --- in a real browser: the copy button, the confirmation, screenshots ------------------------


@pytest.fixture
def admin_page(page: Page, live_app: LiveApp, settings: Settings) -> Iterator[Page]:
    make_user(settings, ADMIN, Role.ADMIN)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_app.url)
    page.goto(f"{live_app.url}/login")
    page.fill("#email", ADMIN)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{live_app.url}/staff")
    yield page


@needs_chromium
def test_in_a_browser_snippets_copy_and_a_new_key_asks_first(
    admin_page: Page, live_app: LiveApp
) -> None:
    page = admin_page
    page.goto(f"{live_app.url}/staff/diem-truy-cap")
    page.fill("#f-name", NEW_POINT["name"])
    page.select_option("#f-kind", "tvcc")
    page.select_option("#f-level", "district")
    # The place picker: typed without diacritics, chosen from what the gazetteer offers.
    page.fill("#f-district", "tho xuan")
    option = page.get_by_role("option", name="huyện Thọ Xuân (cũ)")
    expect(option).to_be_visible()
    shot(page, "staff-place-picker.png")
    option.click()
    expect(page.locator("#f-district")).to_have_value("huyện Thọ Xuân (cũ)")
    page.fill("#f-allowed_origins", NEW_POINT["allowed_origins"])
    page.fill("#f-ip_ranges", NEW_POINT["ip_ranges"])
    page.click("#tao-moi button[type=submit]")
    page.wait_for_url(re.compile(r"/staff/diem-truy-cap/\d+\?tb=da-tao"))

    script = page.locator("#snippet-script")
    page.locator("button[data-copy=snippet-script]").click()
    box = page.locator(".snippet-box", has=script)
    expect(box.locator(".copy-status")).to_have_text("Đã sao chép")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == script.input_value()
    shot(page, "staff-point.png")

    old_key = page.locator(".widget-key").inner_text()
    questions: list[str] = []

    def decline(dialog: Dialog) -> None:
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", decline)
    page.click("button:has-text('Cấp mã nhúng mới')")
    assert questions and "Mã cũ ngừng hoạt động ngay" in questions[0]
    assert page.locator(".widget-key").inner_text() == old_key  # dismissed: nothing sent
    page.once("dialog", Dialog.accept)
    page.click("button:has-text('Cấp mã nhúng mới')")
    page.wait_for_url(re.compile(r"tb=ma-moi"))
    assert page.locator(".widget-key").inner_text() != old_key

    page.goto(f"{live_app.url}/staff/tai-khoan")
    page.click("summary")
    shot(page, "staff-users.png")
    page.fill("#f-email", "le.thu@thuvien.vn")
    page.fill("#f-display_name", "Lê Thị Thu")
    page.get_by_role("button", name="Tạo tài khoản").click()
    expect(page.locator("#new-password")).to_have_value(re.compile(r".{10,}"))
    assert page.url == f"{live_app.url}/staff/tai-khoan"  # no password in the address
    shot(page, "staff-user-password.png")
