"""What search engines read, read by code nobody here wrote: robots.txt and the sitemaps walked
over HTTP from a real uvicorn by ultimate-sitemap-parser (as a crawler finds them: the home page →
robots.txt → the index → its parts), robots.txt's rules by the standard library's parser, and
the item pages' JSON-LD by extruct; the citation_* tags and the JSON-LD as Chromium reads them."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any
from urllib.robotparser import RobotFileParser

import extruct  # type: ignore[import-untyped]  # no stubs, no py.typed
import httpx
import pytest
from extruct.utils import parse_html  # type: ignore[import-untyped]
from fastapi.testclient import TestClient
from playwright.sync_api import Dialog, Page
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
from collection.models import Page as ItemPage
from collection.seo import sitemaps
from tests.browsing import CHROME_109, VIEWPORT, ConsoleErrors, LiveApp, needs_chromium
from tests.helpers import Api, add_pages, new_item, upload
from tests.material import born_digital_pdf

HOSTILE = "Sông Mã </script><script>alert('x')</script> <!-- & --> \u2028 «cũ»"


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


def _json_ld(client: TestClient, item_id: int) -> dict[str, Any]:
    html = client.get(f"/tai-lieu/{item_id}").text
    [data] = extruct.extract(html, base_url="http://testserver/", syntaxes=["json-ld"])["json-ld"]
    assert isinstance(data, dict)
    return data


def _citation(client: TestClient, item_id: int) -> list[tuple[str, str]]:
    tree = parse_html(client.get(f"/tai-lieu/{item_id}").content, encoding="utf-8")
    return [
        (meta.get("name"), meta.get("content"))
        for meta in tree.xpath("//head/meta[starts-with(@name, 'citation_')]")
    ]


@pytest.mark.parametrize(
    ("document_type", "dcmi_type", "expected"),
    [
        ("Sách", "Text", "Book"),
        ("sách điện tử", "", "Book"),
        ("Báo", "Text", "PublicationIssue"),
        ("Tạp chí", "", "PublicationIssue"),
        ("Báo cáo", "Text", "Report"),
        ("Ảnh", "StillImage", "Photograph"),
        ("Bản đồ", "Image", "Map"),
        ("Luận văn thạc sĩ", "", "Thesis"),
        ("Gia phả", "", "Manuscript"),
        ("Sắc phong", "", "Manuscript"),
        ("Băng ghi âm", "Sound", "AudioObject"),
        ("Hiện vật", "PhysicalObject", "CreativeWork"),
        ("", "Sound", "AudioObject"),
        ("", "MovingImage", "VideoObject"),
        ("", "", "CreativeWork"),
    ],
)
def test_json_ld_type_follows_the_document_type(
    client: TestClient, api: Api, document_type: str, dcmi_type: str, expected: str
) -> None:
    item = new_item(api, title="Một tài liệu", document_type=document_type, type=dcmi_type)
    data = _json_ld(client, item)
    assert data["@context"] == "https://schema.org" and data["@type"] == expected


def test_a_book_page_says_what_scholar_and_search_engines_read(
    client: TestClient, api: Api, settings: Settings
) -> None:
    with session_scope(settings.sqlalchemy_url) as session:
        books = Collection(slug="sach-dia-chi", title="Sách địa chí")
        session.add(books)
        session.flush()
        books_id = books.id
    book = new_item(
        api, title="Hóa học ở Thanh Hóa", creator=["Lê Văn Hưu", "Nhiều tác giả", "Trần Thị Mai"],
        document_type="Sách", type="Text", date="1998-08-19", language=["vi", "fr"],
        subject=["Giáo dục", "Hóa học"], description="Sách về <b>hóa học</b>.",
        publisher="Nxb. Thanh Hóa", place="huyện Thiệu Hóa", collection_id=books_id,
        identifier="TH-DC-0001", rights="https://creativecommons.org/licenses/by/4.0/",
    )  # fmt: skip
    assert upload(api, book, "hoa-hoc.pdf", born_digital_pdf(["Một trang."])).status_code == 202
    add_pages(settings, book, ["Trang một."])
    with session_scope(settings.sqlalchemy_url) as session:
        page = session.query(ItemPage).filter_by(item_id=book, number=1).one()
        page.thumbnail_key = "thumbs/not-read-here.jpg"
    base = settings.base_url  # the test client's Host is not this machine's name
    url = f"{base}/tai-lieu/{book}"
    html = client.get(f"/tai-lieu/{book}", params={"trang": 1, "q": "hóa"}).text
    assert f'<link rel="canonical" href="{url}">' in html  # one address whatever the query

    data = _json_ld(client, book)
    assert data["@type"] == "Book" and data["@id"] == url and data["url"] == url
    assert data["name"] == "Hóa học ở Thanh Hóa"
    assert data["author"] == [
        {"@type": "Person", "name": "Lê Văn Hưu"},
        {"@type": "Person", "name": "Trần Thị Mai"},
    ]
    assert data["datePublished"] == "1998-08-19" and data["inLanguage"] == ["vi", "fr"]
    assert [s["name"] for s in data["about"]] == ["Giáo dục", "Hóa học"]
    assert data["description"] == "Sách về <b>hóa học</b>."  # text, as written
    assert data["publisher"] == {"@type": "Organization", "name": "Nxb. Thanh Hóa"}
    [place] = data["contentLocation"]
    assert place["@type"] == "Place" and "Thiệu Hóa" in place["name"]
    assert data["isPartOf"] == [
        {
            "@type": "Collection",
            "name": "Sách địa chí",
            "url": f"{base}/bo-suu-tap/{books_id}",
        }
    ]
    assert data["image"] == f"{url}/trang/1/anh-nho"
    assert data["identifier"] == "TH-DC-0001"
    assert data["license"] == "https://creativecommons.org/licenses/by/4.0/"

    tags = _citation(client, book)
    pdf_url = dict(tags)["citation_pdf_url"]
    assert tags == [
        ("citation_title", "Hóa học ở Thanh Hóa"),
        ("citation_author", "Lê Văn Hưu"),
        ("citation_author", "Trần Thị Mai"),
        ("citation_publication_date", "1998/08/19"),
        ("citation_publisher", "Nxb. Thanh Hóa"),
        ("citation_language", "vi"),
        ("citation_language", "fr"),
        ("citation_keywords", "Giáo dục; Hóa học"),
        ("citation_pdf_url", pdf_url),
    ]
    assert pdf_url.startswith(f"{url}/tep/")
    pdf = client.get(pdf_url.removeprefix(base))  # as Scholar fetches it: anonymous
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert data["encoding"] == [
        {"@type": "MediaObject", "contentUrl": pdf_url, "encodingFormat": "application/pdf"}
    ]


def test_on_site_items_name_no_file_and_issues_name_their_paper(
    client: TestClient, api: Api, settings: Settings
) -> None:
    onsite = new_item(
        api, title="Báo cáo tổng kết", access="onsite", document_type="Báo cáo", date="1975"
    )
    assert upload(api, onsite, "bao-cao.pdf", born_digital_pdf(["Một trang."])).status_code == 202
    data = _json_ld(client, onsite)
    assert data["@type"] == "Report" and "isPartOf" not in data
    assert "encoding" not in data and "image" not in data
    assert data["conditionsOfAccess"] == "Chỉ đọc tại điểm truy cập"
    onsite_tags = dict(_citation(client, onsite))
    assert "citation_pdf_url" not in onsite_tags
    assert onsite_tags["citation_publication_date"] == "1975"

    issue = new_item(
        api, title="Báo Thanh Hóa số 1523", document_type="Báo", publisher="Báo Thanh Hóa",
        creator=[], date="1960–1961",
    )  # fmt: skip
    data = _json_ld(client, issue)
    assert data["@type"] == "PublicationIssue"
    assert data["isPartOf"] == [{"@type": "Newspaper", "name": "Báo Thanh Hóa"}]
    assert "author" not in data and "datePublished" not in data  # a range is not one date
    tags = _citation(client, issue)
    assert [name for name, _ in tags] == [
        "citation_title",
        "citation_publisher",
        "citation_language",
    ]

    thesis = new_item(api, title="Luận văn", document_type="Luận văn", publisher="Đại học Hồng Đức")
    assert ("citation_dissertation_institution", "Đại học Hồng Đức") in _citation(client, thesis)


def test_a_hostile_title_stays_data(client: TestClient, api: Api) -> None:
    item = new_item(api, title=HOSTILE, creator=["</script><b>x</b>"], subject=["a&b"])
    html = client.get(f"/tai-lieu/{item}").text
    head = html[: html.index("</head>")]
    block = head[head.index('<script type="application/ld+json">') :]
    block = block[: block.index("</script>")]
    assert "<" not in block.removeprefix("<script") and "&" not in block
    assert "\\u003c/script\\u003e" in block and "\u2028" not in block
    assert head.count("<script") == 1  # nothing broke out to start a script of its own
    data = _json_ld(client, item)
    assert data["name"] == HOSTILE and data["author"][0]["name"] == "</script><b>x</b>"
    assert ("citation_title", HOSTILE) in _citation(client, item)


@needs_chromium
def test_chromium_reads_the_json_ld_without_a_csp_complaint(
    live_app: LiveApp, api: Api, citizen: Page
) -> None:
    item = new_item(api, title=HOSTILE, creator=["Lê Văn Hưu"], document_type="Bản đồ")
    errors = ConsoleErrors()
    errors.watch(citizen)
    citizen.add_init_script(
        "window.__violations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:  # an alert() that broke out of the JSON-LD
        dialogs.append(dialog.message)
        dialog.dismiss()

    citizen.on("dialog", on_dialog)
    citizen.set_viewport_size(VIEWPORT)
    citizen.goto(f"{live_app.url}/tai-lieu/{item}")
    citizen.wait_for_load_state("load")
    text = citizen.locator('script[type="application/ld+json"]').text_content()
    assert text is not None
    data = json.loads(text)
    assert data["@type"] == "Map" and data["name"] == HOSTILE
    metas = citizen.eval_on_selector_all(
        "meta[name^=citation_]", "ms => ms.map(m => [m.name, m.content])"
    )
    assert ["citation_title", HOSTILE] in metas and ["citation_author", "Lê Văn Hưu"] in metas
    assert citizen.evaluate("window.__violations") == []
    assert dialogs == [] and errors.messages == []
    assert citizen.evaluate("navigator.userAgent") == CHROME_109
