"""Shared by the browser tests (a pytest plugin, see conftest.py): the app on a real uvicorn,
Debian's Chromium through Playwright, a citizen's page, console errors, screenshots under
tests/artifacts/."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Error,
    Page,
    ViewportSize,
    sync_playwright,
)

from collection.app import create_app
from collection.config import Settings
from collection.stack import free_port

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

needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")


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


# A citizen's old PC: headless Chromium's own user agent says "HeadlessChrome", which usage
# events do not count.
CHROME_109 = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/109.0.0.0 Safari/537.36"
)


@pytest.fixture
def citizen(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT, locale="vi-VN", user_agent=CHROME_109)
    try:
        yield context.new_page()
    finally:
        context.close()


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


@dataclass
class LiveApp:
    url: str
    app: FastAPI  # e.g. to make it re-read the access points at once


def sign_in(page: Page, live_app: LiveApp, email: str, password: str, *, then: str) -> None:
    """Sign in through the login form, as staff do, and land on ``then``."""
    page.goto(f"{live_app.url}/login?next={then}")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()


@pytest.fixture
def live_app(settings: Settings) -> Iterator[LiveApp]:
    """The app behind a real uvicorn server in a background thread (for the browser)."""
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
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
        yield LiveApp(url, app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        assert not thread.is_alive(), "uvicorn did not stop"


@pytest.fixture
def base_url(live_app: LiveApp) -> str:
    return live_app.url


@dataclass(frozen=True)
class HostSite:
    """Static pages of an access point's own site, served from another origin than ours."""

    root: Path
    port: int

    def url(self, name: str, host: str = "localhost") -> str:
        return f"http://{host}:{self.port}/{name}"

    @property
    def origin(self) -> str:
        return f"http://localhost:{self.port}"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def host_site(tmp_path: Path) -> Iterator[HostSite]:
    root = tmp_path / "host-site"
    root.mkdir()
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, name="host-site", daemon=True)
    thread.start()
    try:
        yield HostSite(root, server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
