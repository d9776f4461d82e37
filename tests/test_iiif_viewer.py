"""Real IIIF viewers in Chromium: Mirador (npm, as a scholar's site would run it, on another
origin) opens one of our manifests and every image and tile it asks for answers 200; the public
viewer's deep zoom (OpenSeadragon, loaded on the first "+") reads the same tiles."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, Response

from collection.config import PROJECT_ROOT, Settings
from collection.web.public import DEEP_ZOOM_FILE
from tests import material
from tests.browsing import VIEWPORT, ConsoleErrors, HostSite, LiveApp, needs_chromium, shot
from tests.helpers import Api, new_item
from tests.test_iiif import ingest

MIRADOR = PROJECT_ROOT / "var" / "npm" / "mirador" / "mirador.min.js"  # scripts/setup.sh
pytestmark = needs_chromium

MIRADOR_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Mirador</title>
<style>html, body, #viewer { margin: 0; height: 100%; }</style></head>
<body><div id="viewer"></div>
<script src="mirador.min.js"></script>
<script>
Mirador.viewer({
  id: "viewer",
  windows: [{ manifestId: "MANIFEST", thumbnailNavigationPosition: "far-bottom" }],
  window: { sideBarOpenByDefault: false }
});
</script></body></html>
"""


def _images_seen(page: Page, base: str) -> Callable[[], list[tuple[str, int]]]:
    """Every answer from our IIIF image services to this page, as (url, status)."""
    seen: list[tuple[str, int]] = []

    def on_response(response: Response) -> None:
        if response.url.startswith(f"{base}/iiif/3/"):
            seen.append((response.url, response.status))

    page.on("response", on_response)
    return lambda: list(seen)


def _wait_for_tiles(page: Page, seen: Callable[[], list[tuple[str, int]]], at_least: int) -> None:
    """Until the viewer has asked for at least that many images and then gone quiet (waiting
    through Playwright, which delivers the page's events meanwhile)."""
    deadline = time.monotonic() + 60
    count = -1
    while time.monotonic() < deadline:
        tiles = [url for url, _ in seen() if not url.endswith("info.json")]
        if len(tiles) >= at_least and len(tiles) == count:
            return
        count = len(tiles)
        page.wait_for_timeout(1000)
    raise AssertionError(f"the viewer asked for {count} images: {seen()}")


@pytest.fixture
def big_scan(api: Api, settings: Settings) -> int:
    """A published map, scanned large enough to be cut into zoom tiles."""
    line = material.scanned_image("Bản đồ Thanh Hóa 1909 — sông Mã", width=1000).convert("L")
    page = Image.new("L", (3000, 2400), 255)
    for top in range(0, 2400, line.height):
        for left in range(0, 3000, line.width):
            page.paste(line, (left, top))
    item_id = new_item(api, title="Bản đồ tỉnh Thanh Hóa 1909", document_type="bản đồ")
    ingest(api, settings, item_id, "bản đồ.png", material.png(page))
    return item_id


@pytest.mark.skipif(not MIRADOR.exists(), reason="needs Mirador from scripts/setup.sh")
def test_mirador_opens_our_manifest(
    browser: Browser, live_app: LiveApp, host_site: HostSite, big_scan: int
) -> None:
    shutil.copy(MIRADOR, host_site.root / "mirador.min.js")
    manifest = f"{live_app.url}/iiif/item/{big_scan}/manifest"
    (host_site.root / "index.html").write_text(MIRADOR_PAGE.replace("MANIFEST", manifest))
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    errors = ConsoleErrors()
    errors.watch(page)
    seen = _images_seen(page, live_app.url)
    try:
        page.goto(host_site.url("index.html"))
        page.get_by_text("Bản đồ tỉnh Thanh Hóa 1909").first.wait_for(timeout=30_000)
        _wait_for_tiles(page, seen, at_least=1)  # the whole page, at the size that fits
        for _ in range(3):
            page.get_by_role("button", name="Zoom in").click()
        _wait_for_tiles(page, seen, at_least=3)  # then tiles of the parts in view
        shot(page, "iiif-mirador.png")
    finally:
        context.close()
    answers = seen()
    assert any(url.endswith("/info.json") for url, _ in answers), answers
    assert any("/0,0," in url for url, _ in answers), answers  # real tiles, not just the image
    assert [a for a in answers if a[1] != 200] == []
    # Mirador's own warnings (React's) are its business; nothing of ours may fail or throw.
    ours = [m for m in errors.messages if live_app.url in m or m.startswith("pageerror")]
    assert ours == [], errors.messages


@pytest.mark.skipif(not DEEP_ZOOM_FILE.exists(), reason="needs OpenSeadragon from scripts/setup.sh")
def test_public_viewer_zooms_into_the_tiles(
    citizen: Page, live_app: LiveApp, big_scan: int
) -> None:
    errors = ConsoleErrors()
    errors.watch(citizen)
    seen = _images_seen(citizen, live_app.url)
    citizen.goto(f"{live_app.url}/tai-lieu/{big_scan}")
    assert seen() == []  # the page image first: no library, no tiles until asked
    citizen.get_by_role("button", name="Phóng to").click()
    citizen.locator(".deep-zoom canvas").first.wait_for(timeout=30_000)
    _wait_for_tiles(citizen, seen, at_least=1)
    for _ in range(2):
        citizen.get_by_role("button", name="Phóng to").click()
    _wait_for_tiles(citizen, seen, at_least=3)
    shot(citizen, "iiif-deep-zoom.png")
    answers = seen()
    assert [a for a in answers if a[1] != 200] == []
    assert any("/0,0," in url for url, _ in answers), answers  # real tiles, not just the image
    assert errors.messages == [], errors.messages
