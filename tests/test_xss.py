"""Hostile text everywhere a person can put text, rendered in Chromium on every page.

Every metadata field, page text (OCR and a correction), a file name, a collection, an access
point, a staff account, places staff add, a harvest source and its errors, a failed job, the
reports' queries and a point's figures carry markup that would run script if it were not
escaped. One browser context visits every public and staff page, the widget on another origin
and its iframe fallback; on each page no script may have run (a ``window.__xss`` trap, dialogs),
and no element or attribute of the payload may be in the DOM (shadow DOM and frames included).
The context bypasses our Content-Security-Policy: the test is of escaping alone, which must hold
even if the policy were loosened (the policy itself is tested in test_security_headers.py).
The IIIF manifest, OAI-PMH XML and JSON-LD are data: they must parse and keep the text as text."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import date
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Dialog, Frame, Page

from collection.config import Settings
from collection.db import session_scope
from collection.ingest.pipeline import run_job
from collection.models import (
    AccessPoint,
    Collection,
    HarvestRun,
    HarvestSource,
    IngestJob,
    JobState,
    PointKind,
    PointLevel,
    Role,
    User,
)
from collection.points.service import create_point
from collection.search import meili, vocabulary
from collection.stats import rollup
from tests.browsing import (
    CHROME_109,
    VIEWPORT,
    ConsoleErrors,
    HostSite,
    LiveApp,
    needs_chromium,
    shot,
    sign_in,
)
from tests.helpers import PASSWORD, Api, add_pages, make_user, new_item, run_search_tasks, upload
from tests.material import born_digital_pdf

pytestmark = needs_chromium


def hostile(tag: str, short: bool = False) -> str:
    """Markup that runs ``__xss.push(tag)`` or leaves an <xss-probe> wherever it is not escaped:
    in text, in a double- or single-quoted attribute, inside <script>, <textarea>, <title>."""
    run = f"__xss.push('{tag}')"
    if short:  # fields of at most 100 characters
        return f"\"'><img src=x onerror={run}><xss-probe>{tag}"
    return (
        f'{tag} <img src=x onerror="{run}"><xss-probe></xss-probe>"><svg onload={run}>'
        f"'><img src=x onerror={run}></script><script>{run}</script></textarea></title>"
        f'<a href="javascript:{run}">{tag}</a>'
    )


JAVASCRIPT_URL = "javascript:__xss.push('url')//"

TRAP = """
window.__xss = [];
window.alert = window.confirm = window.prompt = function (m) { window.__xss.push('dialog:' + m); };
"""

# Everything in the DOM (shadow roots, templates) that the payload could have left.
FIND_INJECTED = """
() => {
  const found = [];
  const scheme = (v) => v.replace(/[\\s\\u0000-\\u001f]/g, '').toLowerCase();
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.localName === 'xss-probe') found.push('<xss-probe>');
      for (const a of el.attributes) {
        const name = a.name.toLowerCase();
        if (name.startsWith('on')) found.push(`<${el.localName} ${name}>`);
        if (['href', 'src', 'action', 'formaction', 'xlink:href', 'data'].includes(name)
            && scheme(a.value).startsWith('javascript:')) found.push(`<${el.localName} ${name}=js>`);
      }
      if (el.localName === 'script' && !el.src && el.type === 'application/ld+json') {
        try { JSON.parse(el.textContent); } catch (e) { found.push('broken JSON-LD'); }
      } else if (el.localName === 'script' && el.textContent.includes('__xss')) {
        found.push('<script>' + el.textContent.slice(0, 60));
      }
      if (el.shadowRoot) walk(el.shadowRoot);
      if (el.localName === 'template') walk(el.content);
    }
  };
  walk(document);
  return {found, ran: window.__xss || ['no trap']};
}
"""


WIDGET_ANSWERED = """() => {
  const root = document.querySelector('kho-search-widget').shadowRoot;
  const said = root.querySelector('.status').textContent + root.querySelector('.error').textContent;
  return said && !said.includes('Đang tìm');
}"""


class Checker:
    """Visits pages in one context and collects what ran or was injected, page by page."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.problems: list[str] = []
        self.visited: list[str] = []
        self.console = ConsoleErrors()
        self.console.watch(page)
        page.on("dialog", self._on_dialog)

    def _on_dialog(self, dialog: Dialog) -> None:
        self.problems.append(f"dialog on {self.page.url}: {dialog.message}")
        dialog.dismiss()

    def check(self, label: str) -> None:
        for frame in self.page.frames:
            self._check_frame(frame, label)

    def _check_frame(self, frame: Frame, label: str) -> None:
        if frame.url in ("about:blank", ""):
            return
        result = frame.evaluate(FIND_INJECTED)
        if result["found"] or result["ran"]:
            self.problems.append(f"{label} ({frame.url}): {result}")

    def visit(self, path: str, base: str, *, status: int = 200, name: str | None = None) -> None:
        response = self.page.goto(base + path)
        assert response is not None
        assert response.status == status, (path, response.status)
        self.page.wait_for_load_state("load")
        self.visited.append(path)
        self.check(path)
        if name:
            shot(self.page, name)


@pytest.fixture
def hostile_corpus(settings: Settings, api: Api, host_site: HostSite) -> dict[str, Any]:
    ids: dict[str, Any] = {}
    with session_scope(settings.sqlalchemy_url) as session:
        books = Collection(slug="sach-doc-hai", title=hostile("collection"),
                           description=hostile("collection-description"))  # fmt: skip
        session.add(books)
        session.flush()
        ids["collection"] = books.id
    # A place staff add (a village), with a hostile name and alias.
    village = api(
        "POST",
        "/api/v1/places",
        json={
            "name": hostile("place", short=True),
            "kind": "làng",
            "under": "cu-398",
            "aliases": [hostile("alias", short=True)],
        },
    )
    assert village.status_code == 201, village.text
    ids["place"] = village.json()["key"]
    fields = {
        "title": "trống đồng " + hostile("title"),
        "alternative": hostile("alternative"),
        "creator": [hostile("creator")],
        "contributor": [hostile("contributor")],
        # Short: a filter value is at most 200 characters (longer subjects: see the report).
        "subject": ["trống đồng", hostile("subject", short=True)],
        "description": hostile("description"),
        "publisher": hostile("publisher"),
        "type": hostile("type", short=True),
        "format": hostile("format", short=True),
        "identifier": JAVASCRIPT_URL,
        "source": JAVASCRIPT_URL,
        "relation": JAVASCRIPT_URL,
        "coverage": hostile("coverage"),
        "rights": JAVASCRIPT_URL,
        "period": hostile("period", short=True),
        "document_type": hostile("document-type", short=True),
        "place": [ids["place"]],
        "collection_id": ids["collection"],
        "date": "1972",
    }
    ids["item"] = new_item(api, **fields)
    pdf = born_digital_pdf(["Trang một: trống đồng " + hostile("pdf-text"), "Trang hai."])
    uploaded = upload(api, ids["item"], hostile("filename", short=True) + ".pdf", pdf)
    assert uploaded.status_code == 202, uploaded.text
    run_job(uploaded.json()["job_id"], settings=settings)
    pages = api("GET", f"/api/v1/items/{ids['item']}/pages")
    assert pages.status_code == 200, pages.text
    second = next(p for p in pages.json() if p["number"] == 2)
    saved = api(
        "PUT",
        f"/api/v1/items/{ids['item']}/pages/2/text",
        json={
            "text": "trống đồng " + hostile("correction"),
            "based_on": second["text_version"],
        },
    )
    assert saved.status_code == 200, saved.text
    ids["onsite"] = new_item(api, title=hostile("onsite-title"), access="onsite")
    add_pages(settings, ids["onsite"], ["trống đồng " + hostile("ocr")])
    run_search_tasks(settings)
    with session_scope(settings.sqlalchemy_url) as session:
        vocabulary.refresh(session, meili.ready_engine(settings))
        point = create_point(
            session=session, name=hostile("point"), kind=PointKind.TVCC,
            level=PointLevel.DISTRICT, district="Nga Sơn", ip_ranges=["127.0.0.0/8"],
            allowed_origins=[host_site.origin],
        )  # fmt: skip
        ids["point"] = point.id
        ids["widget_key"] = point.widget_key
        job = session.get(IngestJob, uploaded.json()["job_id"])
        assert job is not None
        session.add(
            IngestJob(
                item_id=ids["item"],
                state=JobState.FAILED,
                stage="extract",
                error=hostile("job-error"),
            )
        )
        source = HarvestSource(url="https://thuvien.example.vn/oai?a=<b>&c='d'",
                               set_spec="sach", collection_id=ids["collection"],
                               repository_name=hostile("repository"))  # fmt: skip
        session.add(source)
        session.flush()
        session.add(
            HarvestRun(
                source_id=source.id,
                status="failed",
                error=hostile("harvest-error"),
                failed=1,
                failures=[{"identifier": hostile("oai-id"), "reason": hostile("reason")}],
            )
        )
    make_user(settings, "quan.tri@thuvien.vn", Role.ADMIN)
    with session_scope(settings.sqlalchemy_url) as session:
        admin = session.query(User).filter_by(email="quan.tri@thuvien.vn").one()
        admin.display_name = hostile("staff-name", short=True)
        assert session.query(AccessPoint).count() == 1
    return ids


def _search_as_a_citizen(base: str, queries: list[str]) -> None:
    # Queries people typed end up in the report's top and zero-result lists.
    with httpx.Client(base_url=base, headers={"User-Agent": CHROME_109}) as client:
        for q in queries:
            assert client.get("/tim-kiem", params={"q": q}).status_code == 200


def test_no_hostile_text_runs_or_is_injected_on_any_page(
    browser: Browser,
    live_app: LiveApp,
    settings: Settings,
    host_site: HostSite,
    hostile_corpus: dict[str, Any],
    api: Api,
) -> None:
    ids = hostile_corpus
    base = live_app.url
    live_app.app.state.points.forget()
    query = hostile("query", short=True)
    _search_as_a_citizen(base, [query, "trống đồng"])
    live_app.app.state.usage.flush()
    with session_scope(settings.sqlalchemy_url) as session:
        rollup.rebuild(session, date(date.today().year, 1, 1), date.today())

    context = browser.new_context(
        viewport=VIEWPORT, locale="vi-VN", user_agent=CHROME_109, bypass_csp=True
    )
    context.add_init_script(TRAP)
    page = context.new_page()
    checker = Checker(page)
    from urllib.parse import quote

    item, q = ids["item"], quote(query)
    try:
        # The trap works: the payload left unescaped on a page of the host site is caught.
        (host_site.root / "raw.html").write_text(
            f"<!doctype html><title>x</title><p>{hostile('raw')}</p>", encoding="utf-8"
        )
        page.goto(host_site.url("raw.html"))
        checker.check("unescaped")
        assert "'raw'" in "".join(checker.problems) and "<xss-probe>" in checker.problems[0]
        checker.problems.clear()
        checker.console.messages.clear()

        # --- the public site, from inside the access point (on-site text, "Kết thúc phiên") --
        checker.visit("/", base, name="xss-home.png")
        checker.visit(f"/tim-kiem?q={q}", base)
        checker.visit("/tim-kiem?q=trong+dong", base, name="xss-results.png")
        # Type in the live search: the results are replaced by site.js.
        page.get_by_label("Tìm tài liệu").fill("")
        page.get_by_label("Tìm tài liệu").press_sequentially("trong dong ", delay=20)
        page.wait_for_function("() => location.search.includes('dong+')")
        page.locator(".hit").first.wait_for()
        checker.check("live results")
        facets = [a.get_attribute("href") or "" for a in page.locator("aside a").all()]
        assert len(facets) >= 6
        for href in facets:  # every facet value, one by one
            assert href.startswith("/tim-kiem"), href
            checker.visit(href, base)
        checker.visit(f"/tim-kiem?subject={quote(hostile('subject', short=True))}", base)
        checker.visit(f"/tim-kiem?place={ids['place']}&type={quote(query)}", base)
        checker.visit(f"/tai-lieu/{item}", base, name="xss-item.png")
        page.get_by_role("link", name="Trang sau ›").click()  # the viewer turns the page
        page.wait_for_function("() => location.search.includes('trang=2')")
        page.locator("#page-text").filter(has_text="correction").wait_for()
        checker.check("viewer page 2")
        checker.visit(f"/tai-lieu/{item}?trang=2&q={q}", base)
        checker.visit(f"/tai-lieu/{item}?q=trong+dong", base, name="xss-inside.png")
        checker.visit(f"/tai-lieu/{ids['onsite']}?q=trong+dong", base)
        checker.visit("/bo-suu-tap", base)
        checker.visit(f"/bo-suu-tap/{ids['collection']}", base)
        for browse in ("", "/dia-danh", "/chu-de", "/thap-nien", "/loai-tai-lieu"):
            checker.visit(f"/duyet{browse}", base)
        checker.visit("/ban-do", base, name="xss-map.png")
        checker.visit(f"/khong-co/{q}", base, status=404)
        checker.visit(f"/login?next={quote(JAVASCRIPT_URL)}", base)
        page.goto(f"{base}/ngon-ngu/en?next=/tai-lieu/{item}")
        checker.check("English item page")
        page.goto(f"{base}/ngon-ngu/vi?next=/")

        # --- the widget on an access point's own site, and its iframe fallback --------------
        key = ids["widget_key"]
        (host_site.root / "widget.html").write_text(
            f'<!doctype html><meta charset="utf-8"><title>Thư viện</title>'
            f'<script src="{base}/widget.js" data-point="{key}" async></script>',
            encoding="utf-8",
        )
        (host_site.root / "frame.html").write_text(
            f'<!doctype html><meta charset="utf-8"><title>Thư viện</title>'
            f'<iframe src="{base}/widget/frame?key={key}&amp;q=trong+dong" width="600" '
            f'height="560"></iframe>'
            f'<iframe src="{base}/widget/frame?key={key}&amp;q={q}" width="600" '
            f'height="200"></iframe>',
            encoding="utf-8",
        )
        page.goto(host_site.url("widget.html"))
        box = page.get_by_label("Tìm trong Kho số Thanh Hóa")
        status = page.locator("kho-search-widget p.status")
        for typed in (query, "trong dong"):
            box.fill(typed)
            box.press("Enter")
            page.wait_for_function(WIDGET_ANSWERED)
            checker.check(f"widget: {typed[:20]}")
        assert "Tìm thấy" in status.inner_text()
        shot(page, "xss-widget.png")
        page.goto(host_site.url("frame.html"))
        page.frame_locator("iframe").first.locator("li a").first.wait_for()
        checker.check("widget frame")
        shot(page, "xss-widget-frame.png")

        # --- the staff workspace -------------------------------------------------------------
        sign_in(page, live_app, "quan.tri@thuvien.vn", PASSWORD, then="/staff")
        page.wait_for_url(f"{base}/staff")
        checker.check("/staff")
        shot(page, "xss-staff.png")
        staff_pages = [
            "/staff/tai-lieu",
            f"/staff/tai-lieu?q={q}",
            f"/staff/tai-lieu/{item}",
            f"/staff/tai-lieu/{item}/trang/2",
            f"/staff/tai-lieu/{ids['onsite']}",
            "/staff/bo-suu-tap",
            f"/staff/bo-suu-tap/{ids['collection']}",
            "/staff/nhap-lo",
            "/staff/cong-viec",
            "/staff/diem-truy-cap",
            f"/staff/diem-truy-cap/{ids['point']}",
            "/staff/tai-khoan",
            "/staff/thu-hoach",
            "/staff/dia-danh",
            f"/staff/dia-danh/{ids['place']}",
            "/staff/bao-cao",
            f"/staff/bao-cao/diem/{ids['point']}",
            "/staff/so-lieu",
            "/staff/nhat-ky",
        ]
        for path in staff_pages:
            checker.visit(path, base, name="xss-audit.png" if path == "/staff/nhat-ky" else None)
        # A form sent back with an error keeps what was typed (values in attributes, textareas).
        checker.visit("/staff/tai-lieu/moi", base)
        page.locator("input[name=title]").fill(hostile("typed", short=True))
        page.locator("input[name=date]").fill("2023-02-30")
        page.get_by_role("button", name="Tạo tài liệu").click()
        page.wait_for_load_state("load")
        checker.check("refused form")
        shot(page, "xss-refused-form.png")
    finally:
        context.close()

    unexpected = [
        m for m in checker.console.messages if "status of 404" not in m and "status of 422" not in m
    ]
    assert checker.problems == [], "\n".join(checker.problems)
    assert unexpected == []
    assert len(checker.visited) >= 40
    print(f"\n{len(checker.visited)} pages visited, besides the widget and its frame")


def test_manifests_oai_and_sitemap_are_well_formed_with_the_text_as_text(
    client: Any, settings: Settings, hostile_corpus: dict[str, Any]
) -> None:
    item = hostile_corpus["item"]
    with session_scope(settings.sqlalchemy_url) as session:
        session.query(AccessPoint).delete()  # seen from anywhere: public material only
    manifest = client.get(f"/iiif/item/{item}/manifest")
    assert manifest.status_code == 200
    document = json.loads(manifest.text)
    assert document["label"]["vi"] == ["trống đồng " + hostile("title")]
    search = client.get(f"/iiif/item/{item}/search", params={"q": "trống đồng"})
    assert search.status_code == 200 and json.loads(search.text)["items"]
    for prefix in ("oai_dc", "marc21"):
        oai = client.get("/oai", params={"verb": "ListRecords", "metadataPrefix": prefix})
        assert oai.status_code == 200
        root = ET.fromstring(oai.content)  # noqa: S314 -- our own answer; raises if not well-formed
        texts = " ".join(t for t in root.itertext())
        assert hostile("title") in texts, prefix
        assert not root.findall(".//{*}script") and not root.findall(".//{*}img")
    listed = client.get("/oai", params={"verb": "ListSets"}).content
    sets = ET.fromstring(listed)  # noqa: S314 -- our own answer, in a test
    assert hostile("collection") in " ".join(sets.itertext())
    item_page = client.get(f"/tai-lieu/{item}").text
    start = item_page.index('<script type="application/ld+json">') + 35
    json_ld = json.loads(item_page[start : item_page.index("</script>", start)])
    assert json_ld["name"] == "trống đồng " + hostile("title")


MARKUP_FILES = {
    "trang.html": b"<!doctype html><script>alert(1)</script>",
    "anh.svg": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
    "du-lieu.xml": b'<?xml version="1.0"?><x:script xmlns:x="http://www.w3.org/1999/xhtml">'
    b"alert(1)</x:script>",
    "trang.xhtml": b'<html xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></html>',
    "gia-pdf.pdf": b"<html><body onload=alert(1)>",  # markup named as a PDF
    "anh.jpg": b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",  # … as a JPEG
}


@pytest.mark.parametrize("name", sorted(MARKUP_FILES))
def test_markup_uploads_are_refused_by_their_bytes(api: Api, name: str) -> None:
    item = new_item(api, title="Tài liệu")
    refused = upload(api, item, name, MARKUP_FILES[name])
    assert refused.status_code == 415, refused.text
    assert refused.json()["error"] == "unsupported_media_type"


def test_files_are_downloaded_never_shown_inline(client: Any, api: Api, settings: Settings) -> None:
    # A real PDF whose text is markup, under a name that says HTML: stored, and served as a
    # PDF attachment that the browser may not sniff.
    item = new_item(api, title="Tài liệu")
    pdf = born_digital_pdf(["<script>alert(1)</script>"])
    uploaded = upload(api, item, "trang.html.pdf", pdf)
    assert uploaded.status_code == 202, uploaded.text
    run_job(uploaded.json()["job_id"], settings=settings)
    files = api("GET", f"/api/v1/items/{item}").json()["files"]
    for stored in files:
        response = client.get(f"/tai-lieu/{item}/tep/{stored['id']}")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/pdf"
        assert response.headers["content-disposition"].startswith("attachment;")
        assert response.headers["x-content-type-options"] == "nosniff"
    image = client.get(f"/tai-lieu/{item}/trang/1/anh", follow_redirects=False)
    assert image.status_code in (200, 302, 303, 307)
    if image.status_code == 200:
        assert image.headers["content-type"].startswith("image/")
        assert image.headers["x-content-type-options"] == "nosniff"
