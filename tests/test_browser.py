"""The web pages in a real browser: Playwright drives Debian's Chromium against a real uvicorn
server on a loopback port, as a librarian would use them. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Error,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)

from collection.app import create_app
from collection.config import Settings
from collection.models import Role
from collection.stack import free_port
from tests.helpers import PASSWORD, make_user

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
VIEWPORT: ViewportSize = {"width": 1024, "height": 768}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")


@pytest.fixture
def base_url(settings: Settings) -> Iterator[str]:
    """The app behind a real uvicorn server in a background thread."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="uvicorn-browser-test", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            assert thread.is_alive(), "uvicorn stopped during start-up"
            try:
                httpx.get(f"{url}/healthz", timeout=2)  # any answer, even 503, means it serves
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        assert not thread.is_alive(), "uvicorn did not stop"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@dataclass
class ConsoleErrors:
    """Console messages of type "error" and uncaught page errors, as text."""

    messages: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", self._on_page_error)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.messages.append(f"console: {message.text} at {message.location}")

    def _on_page_error(self, error: Error) -> None:
        self.messages.append(f"pageerror: {error}")


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT, locale="vi-VN")
    try:
        yield context.new_page()
    finally:
        context.close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


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
    expect(page.get_by_text("Vai trò:")).to_contain_text("Biên mục viên")
    expect(page).to_have_title("Khu làm việc cán bộ — Kho số Thanh Hóa")
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
