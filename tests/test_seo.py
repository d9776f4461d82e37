"""What search engines read, read by code nobody here wrote: robots.txt and the sitemaps walked
over HTTP from a real uvicorn by ultimate-sitemap-parser (as a crawler finds them: the home page →
robots.txt → the index → its parts), and robots.txt's rules by the standard library's parser."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from urllib.robotparser import RobotFileParser

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, insert
from usp.objects.sitemap import (
    IndexRobotsTxtSitemap,
    IndexXMLSitemap,
    InvalidSitemap,
    PagesXMLSitemap,
)
from usp.tree import sitemap_tree_for_homepage

from collection.config import Settings
from collection.db import session_scope
from collection.models import Access, Collection, Item, ItemStatus
from collection.seo import sitemaps
from tests.browsing import LiveApp
from tests.helpers import Api, new_item


def _set(settings: Settings, item_id: int, **values: Any) -> None:
    with session_scope(settings.sqlalchemy_url) as session:
        item = session.get(Item, item_id)
        assert item is not None
        for name, value in values.items():
            setattr(item, name, value)


def _updated(settings: Settings, ids: list[int]) -> dict[int, datetime]:
    with session_scope(settings.sqlalchemy_url) as session:
        return {i: session.get(Item, i).updated_at for i in ids}  # type: ignore[union-attr]


@pytest.fixture
def catalogue(settings: Settings, api: Api) -> dict[str, Any]:
    """Listed items (public, on-site) among items nobody outside may find, in two collections
    (one of them holding nothing listed)."""
    with session_scope(settings.sqlalchemy_url) as session:
        books = Collection(slug="sach-dia-chi", title="Sách địa chí")
        hidden = Collection(slug="noi-bo", title="Nội bộ")
        session.add_all([books, hidden])
        session.flush()
        ids: dict[str, Any] = {"books": books.id, "hidden": hidden.id}
    ids["book"] = new_item(api, title="Địa chí Thanh Hóa", collection_id=ids["books"])
    ids["draft"] = new_item(api, title="Bản nháp", status="draft", collection_id=ids["hidden"])
    ids["photo"] = new_item(api, title="Ảnh chợ Vạn Hà", document_type="Ảnh")
    ids["staff"] = new_item(api, title="Nội bộ", access="staff", collection_id=ids["hidden"])
    ids["onsite"] = new_item(api, title="Gia phả họ Lê", access="onsite", document_type="Gia phả")
    ids["withdrawn"] = new_item(api, title="Đã rút", collection_id=ids["hidden"])
    _set(settings, ids["withdrawn"], status=ItemStatus.WITHDRAWN)
    ids["map"] = new_item(api, title="Bản đồ tỉnh 1930", document_type="Bản đồ")
    ids["listed"] = [ids[k] for k in ("book", "photo", "onsite", "map")]
    ids["unlisted"] = [ids[k] for k in ("draft", "staff", "withdrawn")]
    return ids


def test_a_crawler_finds_every_listed_item_through_robots_txt(
    live_app: LiveApp, settings: Settings, catalogue: dict[str, Any], monkeypatch: Any
) -> None:
    monkeypatch.setattr(sitemaps, "URLS_PER_SITEMAP", 2)  # ids 1–2, 3–4, 5–6, 7: four parts
    base = live_app.url

    robots = httpx.get(f"{base}/robots.txt")
    assert robots.status_code == 200 and robots.headers["content-type"].startswith("text/plain")
    rules = RobotFileParser(f"{base}/robots.txt")
    rules.parse(robots.text.splitlines())
    assert rules.site_maps() == [f"{base}/sitemap.xml"]  # absolute, as the protocol asks
    for path in ("/", f"/tai-lieu/{catalogue['book']}", "/bo-suu-tap/1", "/duyet/chu-de"):
        assert rules.can_fetch("Googlebot", base + path), path
    for path in ("/tim-kiem?q=song+ma", "/staff", "/staff/tai-lieu", "/api/v1/items", "/login"):
        assert not rules.can_fetch("Googlebot", base + path), path

    for path in ("/sitemap.xml", "/sitemap-trang.xml", "/sitemap-1.xml"):
        answer = httpx.get(base + path)  # no cookie, no token
        assert answer.status_code == 200 and answer.headers["content-type"] == "application/xml"

    tree = sitemap_tree_for_homepage(f"{base}/", use_known_paths=False)
    [robots_entry] = tree.sub_sitemaps  # found through robots.txt, not by guessing paths
    assert isinstance(robots_entry, IndexRobotsTxtSitemap)
    [index] = robots_entry.sub_sitemaps
    assert isinstance(index, IndexXMLSitemap) and index.url == f"{base}/sitemap.xml"
    parts = {part.url.removeprefix(f"{base}/"): part for part in index.sub_sitemaps}
    assert not [p for p in parts.values() if isinstance(p, InvalidSitemap)], parts
    assert sorted(parts) == [f"sitemap-{n}.xml" for n in (1, 2, 3, 4)] + ["sitemap-trang.xml"]
    for name, part in parts.items():
        assert isinstance(part, PagesXMLSitemap)
        if name != "sitemap-trang.xml":
            assert 1 <= len(part.pages) <= 2, name

    pages = {page.url: page for page in tree.all_pages()}
    items = {f"{base}/tai-lieu/{i}" for i in catalogue["listed"]}
    assert items <= set(pages)
    for hidden in catalogue["unlisted"]:
        assert f"{base}/tai-lieu/{hidden}" not in pages
    assert f"{base}/bo-suu-tap/{catalogue['books']}" in pages
    assert f"{base}/bo-suu-tap/{catalogue['hidden']}" not in pages  # nothing listed in it
    assert {f"{base}{path}" for path in sitemaps.SITE_PAGES} <= set(pages)
    assert set(pages) - items - {f"{base}{p}" for p in sitemaps.SITE_PAGES} == {
        f"{base}/bo-suu-tap/{catalogue['books']}"
    }
    updated = _updated(settings, catalogue["listed"])
    for item_id, changed in updated.items():
        lastmod = pages[f"{base}/tai-lieu/{item_id}"].last_modified
        assert lastmod is not None and lastmod.tzinfo is not None
        assert lastmod == changed.replace(microsecond=0)
    assert all(page.last_modified is not None for page in pages.values())


def test_an_edit_moves_lastmod_and_withdrawing_takes_the_item_out(
    client: TestClient, settings: Settings, catalogue: dict[str, Any], monkeypatch: Any
) -> None:
    monkeypatch.setattr(sitemaps, "URLS_PER_SITEMAP", 2)
    book = catalogue["book"]
    later = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    _set(settings, book, updated_at=later)
    index = client.get("/sitemap.xml").text
    part = f"<loc>{settings.base_url}/sitemap-1.xml</loc><lastmod>2031-05-06T07:08:09Z</lastmod>"
    assert part in index  # the test client's Host is no name of this machine: our own address
    assert "<lastmod>2031-05-06T07:08:09Z</lastmod>" in client.get("/sitemap-trang.xml").text
    _set(settings, book, status=ItemStatus.WITHDRAWN)
    assert f"/tai-lieu/{book}<" not in client.get("/sitemap-1.xml").text
    assert client.get("/sitemap-0.xml").status_code == 404
    assert client.get("/sitemap-99999999999999999999.xml").status_code == 404


def test_the_sitemap_of_120_000_items_streams_without_loading_items(
    client: TestClient, settings: Settings
) -> None:
    total = 120_000
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    with session_scope(settings.sqlalchemy_url) as session:
        rows = [
            {"title": f"Tài liệu {n}", "status": ItemStatus.PUBLISHED, "access": Access.PUBLIC,
             "updated_at": now, "created_at": now}
            for n in range(total)
        ]  # fmt: skip
        rows[7]["status"] = ItemStatus.DRAFT
        session.execute(insert(Item), rows)
    loaded: list[object] = []

    def on_load(item: Item, _context: object) -> None:
        loaded.append(item)

    event.listen(Item, "load", on_load)
    try:
        started = time.monotonic()
        index = client.get("/sitemap.xml").text
        first = client.get("/sitemap-1.xml")
        last = client.get("/sitemap-3.xml")
        took = time.monotonic() - started
    finally:
        event.remove(Item, "load", on_load)
    assert loaded == []  # rows of (id, updated_at), never Item objects
    assert [f"/sitemap-{n}.xml" in index for n in (1, 2, 3, 4)] == [True, True, True, False]
    assert first.text.count("<url>") == 50_000 - 1  # the draft is not there
    assert "/tai-lieu/8<" not in first.text and "/tai-lieu/50000<" in first.text
    assert last.text.count("<url>") == total - 100_000
    assert first.headers["content-type"] == "application/xml"
    assert took < 20, took  # 0.8 s on the 2-core machine for the index and 70,000 URLs
