"""The web pages in a real browser: Playwright drives Debian's Chromium against a real uvicorn
server on a loopback port, as a librarian would use them. Screenshots go to tests/artifacts/."""

from __future__ import annotations

from playwright.sync_api import (
    Page,
    expect,
)

from collection.config import Settings
from collection.models import Role
from tests.browsing import ConsoleErrors, needs_chromium, shot
from tests.helpers import PASSWORD, make_user

pytestmark = needs_chromium


def test_home_page_is_vietnamese_and_clean(page: Page, base_url: str) -> None:
    errors = ConsoleErrors()
    errors.watch(page)
    response = page.goto(f"{base_url}/")
    assert response is not None
    assert response.status == 200
    expect(page).to_have_title("Kho số Thanh Hóa")
    assert "Kho số Thanh Hóa" in page.title()
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.get_by_role("heading", level=1)).to_have_text("Kho số Thanh Hóa")
    expect(page.get_by_role("link", name="Đăng nhập cho cán bộ")).to_be_visible()
    # The stylesheet was served and applied (the header is the brand's dark red).
    header_colour = page.locator("header.site-header").evaluate(
        "el => getComputedStyle(el).backgroundColor"
    )
    assert header_colour == "rgb(138, 28, 28)"
    shot(page, "home.png")
    assert errors.messages == []


def test_login_by_keyboard_then_logout(page: Page, base_url: str, settings: Settings) -> None:
    make_user(settings, "bien.muc@thuvien.vn", Role.CATALOGUER)
    errors = ConsoleErrors()
    errors.watch(page)

    # Anonymous visitors to the staff area are sent to the login form, remembering where to go.
    page.goto(f"{base_url}/staff")
    assert "/login?next=" in page.url
    expect(page.get_by_role("heading", level=1)).to_have_text("Đăng nhập cho cán bộ thư viện")
    expect(page.get_by_label("E-mail")).to_be_focused()  # autofocus
    expect(page.get_by_role("alert")).to_have_count(0)
    shot(page, "login.png")

    # A wrong password: a Vietnamese error, announced to screen readers; e-mail kept, password not.
    page.get_by_label("E-mail").fill("bien.muc@thuvien.vn")
    page.get_by_label("Mật khẩu").fill("sai-mat-khau")
    page.get_by_role("button", name="Đăng nhập").click()
    alert = page.get_by_role("alert")
    expect(alert).to_have_text("E-mail hoặc mật khẩu không đúng.")
    expect(page.get_by_label("E-mail")).to_have_value("bien.muc@thuvien.vn")
    expect(page.get_by_label("Mật khẩu")).to_have_value("")
    shot(page, "login-error.png")

    # The right password, with the keyboard only: e-mail, Tab, password, Enter.
    email = page.get_by_label("E-mail")
    email.focus()
    expect(email).to_be_focused()
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type("bien.muc@thuvien.vn")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Mật khẩu")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")

    page.wait_for_url(f"{base_url}/staff")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Xin chào")
    expect(page.locator("p", has_text="Vai trò:")).to_contain_text("Biên mục viên")
    expect(page).to_have_title("Tổng quan — Khu làm việc cán bộ — Kho số Thanh Hóa")
    shot(page, "staff.png")

    # Logging out from the header returns to the home page, signed out.
    page.get_by_role("banner").get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url(f"{base_url}/")
    expect(page.get_by_role("link", name="Đăng nhập cho cán bộ")).to_be_visible()
    expect(page.get_by_role("button", name="Đăng xuất")).to_have_count(0)
    page.goto(f"{base_url}/staff")
    assert "/login?next=" in page.url  # the session really ended

    # The 401 answer to the wrong password is the only thing the console may complain about.
    expected = "console: Failed to load resource: the server responded with a status of 401"
    unexpected = [
        m for m in errors.messages if not (m.startswith(expected) and f"{base_url}/login'" in m)
    ]
    assert unexpected == []


def test_unknown_page_is_a_vietnamese_404(page: Page, base_url: str) -> None:
    response = page.goto(f"{base_url}/khong-co")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Không tìm thấy")
    expect(page.get_by_text("Không tìm thấy trang này.")).to_be_visible()
    expect(page.get_by_role("link", name="Về trang chủ")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    shot(page, "not-found.png")
