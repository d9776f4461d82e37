"""The OAI-PMH 2.0 provider at /oai, driven through a real uvicorn by two harvesters nobody here
wrote (Sickle and pyoai), and every error condition of the spec through plain HTTP.

No copy of the OAI-PMH XSD can be had on this machine (no network), so ``check_structure``
checks the response against the schema's structure by hand: element order, required elements,
the request element's attributes, the datestamp and setSpec forms."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit
from xml.etree import ElementTree as ET

import httpx
import oaipmh.client
import oaipmh.metadata
import pytest
from lxml import etree as lxml_etree  # type: ignore[import-untyped]  # no stubs installed
from oaipmh.client import Client as PyoaiClient
from oaipmh.metadata import MetadataRegistry, oai_dc_reader
from sickle import Sickle
from sqlalchemy import insert, select

from collection.catalogue.schemas import ItemUpdate
from collection.config import Settings
from collection.db import session_scope, utcnow
from collection.models import Access, Item, ItemStatus, OaiTombstone, Role
from collection.oai import resumption_token
from collection.oai.identifiers import oai_identifier, record_url, repository_identifier
from tests.browsing import LiveApp
from tests.helpers import make_token, make_user

PAGE = 3
PUBLIC_URL = "http://kho.thuvien-thanhhoa.vn"
REPO = "kho.thuvien-thanhhoa.vn"
NS = {
    "o": "http://www.openarchives.org/OAI/2.0/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "oai_dc": "http://www.openarchives.org/OAI/2.0/oai_dc/",
    "marc": "http://www.loc.gov/MARC21/slim",
}
OAI = "{http://www.openarchives.org/OAI/2.0/}"
SECOND = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
FORM = {"content-type": "application/x-www-form-urlencoded"}
SET_SPEC = re.compile(r"^[A-Za-z0-9\-_.!~*'()]+(:[A-Za-z0-9\-_.!~*'()]+)*$")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A small page, so that a dozen items make a list in several parts; a public URL, so that
    identifiers have a domain in them."""
    return settings.model_copy(update={"oai_page_size": PAGE, "public_url": PUBLIC_URL})


class Repo:
    """The live app: staff calls with a cataloguer's token, and OAI requests."""

    def __init__(self, live_app: LiveApp, settings: Settings) -> None:
        make_user(settings, "bien.muc@thuvien.vn", Role.CATALOGUER)
        token = make_token(settings, "bien.muc@thuvien.vn")
        self.url = live_app.url
        self.oai_url = f"{live_app.url}/oai"
        self.settings = settings
        self.staff = httpx.Client(
            base_url=live_app.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    def item(self, **fields: Any) -> int:
        body = {"title": "Địa chí Thanh Hóa", "creator": ["Nhiều tác giả"], "status": "published"}
        response = self.staff.post("/api/v1/items", json={**body, **fields})
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    def edit(self, item_id: int, **changes: Any) -> None:
        current = self.staff.get(f"/api/v1/items/{item_id}").json()
        body = {name: current[name] for name in ItemUpdate.model_fields if name in current}
        response = self.staff.put(f"/api/v1/items/{item_id}", json={**body, **changes})
        assert response.status_code == 200, response.text

    def delete(self, item_id: int) -> None:
        assert self.staff.delete(f"/api/v1/items/{item_id}").status_code == 204

    def collection(self, title: str) -> int:
        response = self.staff.post("/api/v1/collections", json={"title": title})
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    def oai(self, method: str = "GET", **params: str) -> ET.Element:
        if method == "GET":
            response = httpx.get(self.oai_url, params=params, timeout=30)
        else:
            response = httpx.post(self.oai_url, data=params, timeout=30)
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/xml; charset=utf-8"
        root = parse(response.content)
        check_structure(root)
        return root

    def oid(self, item_id: int) -> str:
        return f"oai:{REPO}:{item_id}"


@pytest.fixture
def repo(live_app: LiveApp, settings: Settings) -> Iterator[Repo]:
    found = Repo(live_app, settings)
    yield found
    found.staff.close()


def parse(content: bytes) -> ET.Element:
    return ET.fromstring(content)  # noqa: S314 -- our own server's answer, in a test


def check_structure(root: ET.Element) -> None:
    """The OAI-PMH schema's structure (OAI-PMH.xsd), checked by hand."""
    assert root.tag == f"{OAI}OAI-PMH"
    children = list(root)
    assert [c.tag for c in children[:2]] == [f"{OAI}responseDate", f"{OAI}request"]
    assert SECOND.match(children[0].text or "")
    assert (children[1].text or "").endswith("/oai")
    rest = children[2:]
    errors = [c for c in rest if c.tag == f"{OAI}error"]
    if errors:
        assert len(errors) == len(rest)
        if {e.get("code") for e in errors} & {"badVerb", "badArgument"}:
            assert children[1].attrib == {}  # no arguments echoed (§3.2)
        return
    assert len(rest) == 1
    body = rest[0]
    verb = body.tag.removeprefix(OAI)
    assert children[1].get("verb") == verb
    for header in body.iter(f"{OAI}header"):
        parts = [c.tag.removeprefix(OAI) for c in header]
        assert parts[:2] == ["identifier", "datestamp"]
        assert set(parts[2:]) <= {"setSpec"}
        assert SECOND.match(header.findtext("o:datestamp", namespaces=NS) or "")
        assert all(SET_SPEC.match(s.text or "") for s in header.findall("o:setSpec", NS))
        assert header.get("status") in (None, "deleted")
    for record in body.iter(f"{OAI}record"):
        parts = [c.tag.removeprefix(OAI) for c in record]
        assert parts in (["header"], ["header", "metadata"])
        deleted = record.find("o:header", NS).get("status") == "deleted"  # type: ignore[union-attr]
        assert deleted == (parts == ["header"])
        if not deleted:
            assert len(record.find("o:metadata", NS) or []) == 1
    if verb in ("ListRecords", "ListIdentifiers", "ListSets"):
        inner = [c.tag.removeprefix(OAI) for c in body]
        wanted = {"ListRecords": "record", "ListIdentifiers": "header", "ListSets": "set"}[verb]
        assert (inner and set(inner[:-1]) == {wanted}) or inner == [wanted]
        assert inner[-1] in (wanted, "resumptionToken")
    if verb == "Identify":
        order = [c.tag.removeprefix(OAI) for c in body]
        assert order[:7] == [
            "repositoryName",
            "baseURL",
            "protocolVersion",
            "adminEmail",
            "earliestDatestamp",
            "deletedRecord",
            "granularity",
        ]
        assert set(order[7:]) <= {"compression", "description"}


def error_of(root: ET.Element) -> str | None:
    found = root.find("o:error", NS)
    return None if found is None else found.get("code")


def identifiers(root: ET.Element) -> list[str]:
    return [h.findtext("o:identifier", namespaces=NS) or "" for h in root.iter(f"{OAI}header")]


def sickle_harvest(url: str, **params: str) -> dict[str, Any]:
    """Every record of a ListRecords harvest by Sickle: identifier → record."""
    sickle = Sickle(url, max_retries=0)
    records = sickle.ListRecords(ignore_deleted=False, **params)
    return {r.header.identifier: r for r in records}


class _Evaluator:
    """pyoai 2.5.0 (the last release) calls ``XPathEvaluator(...).evaluate``, an alias lxml 5
    removed; calling the evaluator is the same thing. Given to pyoai alone, as its ``etree``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.evaluate = lxml_etree.XPathEvaluator(*args, **kwargs)


class _PyoaiEtree:
    def __getattr__(self, name: str) -> Any:
        return _Evaluator if name == "XPathEvaluator" else getattr(lxml_etree, name)


@pytest.fixture(autouse=True)
def _pyoai_on_lxml_5(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (oaipmh.client, oaipmh.metadata):
        monkeypatch.setattr(module, "etree", _PyoaiEtree())


def pyoai_client(url: str) -> PyoaiClient:
    registry = MetadataRegistry()
    registry.registerReader("oai_dc", oai_dc_reader)
    client = PyoaiClient(url, registry)
    client.updateGranularity()  # reads Identify: seconds
    return client


# --- the whole repository, by two harvesters ---------------------------------------------------


def test_harvest_everything_with_sickle_and_pyoai(repo: Repo) -> None:
    bao = repo.collection("Báo xưa")
    exposed = {
        repo.item(title=f"Địa chí Thanh Hóa, tập {n}", document_type="Sách") for n in range(1, 5)
    }
    exposed.add(repo.item(title="Báo Thanh Hóa 1960", document_type="Báo", collection_id=bao))
    exposed.add(repo.item(title="Gia phả họ Lê", access="onsite", subject=["Gia phả"]))
    draft = repo.item(title="Bản nháp", status="draft")
    staff_only = repo.item(title="Hồ sơ nội bộ", access="staff")
    deleted, withdrawn, hidden = (repo.item(title=f"Sẽ rút {n}") for n in range(3))
    repo.delete(deleted)
    repo.edit(withdrawn, status="withdrawn")
    repo.edit(hidden, access="staff")
    republished = repo.item(title="Rút rồi công bố lại")
    repo.edit(republished, status="withdrawn")
    repo.edit(republished, status="published")
    exposed.add(republished)
    gone = {deleted, withdrawn, hidden}

    records = sickle_harvest(repo.oai_url, metadataPrefix="oai_dc")
    live = {k for k, r in records.items() if not r.header.deleted}
    dead = {k for k, r in records.items() if r.header.deleted}
    assert live == {repo.oid(i) for i in exposed}
    assert dead == {repo.oid(i) for i in gone}
    assert repo.oid(draft) not in records and repo.oid(staff_only) not in records
    assert not any(hasattr(records[k], "metadata") for k in dead)  # a header only
    newspaper = next(r for r in records.values() if r.metadata and "Báo" in r.metadata["title"][0])
    assert newspaper.metadata["relation"] == ["Báo xưa"]
    assert "collection:bao-xua" in newspaper.header.setSpecs
    assert "type:bao" in newspaper.header.setSpecs
    onsite = next(
        r for r in records.values() if r.metadata and r.metadata["title"] == ["Gia phả họ Lê"]
    )
    assert any("điểm truy cập" in right for right in onsite.metadata["rights"])

    # MARCXML too, the same records.
    marc = sickle_harvest(repo.oai_url, metadataPrefix="marc21")
    assert set(marc) == set(records)

    # pyoai: the same list, deleted records flagged, and the headers alone.
    client = pyoai_client(repo.oai_url)
    pyoai_records = list(client.listRecords(metadataPrefix="oai_dc"))
    assert {h.identifier() for h, _, _ in pyoai_records if not h.isDeleted()} == live
    assert {h.identifier() for h, _, _ in pyoai_records if h.isDeleted()} == dead
    headers = list(client.listIdentifiers(metadataPrefix="oai_dc"))
    assert {h.identifier() for h in headers} == live | dead
    assert len(headers) == len(live | dead)  # each once: no page repeats or skips one
    identify = client.identify()
    assert identify.deletedRecord() == "persistent"
    assert identify.granularity() == "YYYY-MM-DDThh:mm:ssZ"
    assert identify.baseURL() == f"{PUBLIC_URL}/oai"
    assert identify.protocolVersion() == "2.0"
    formats = {prefix for prefix, _, _ in client.listMetadataFormats()}
    assert formats == {"oai_dc", "marc21"}
    header, metadata, _ = client.getRecord(
        identifier=repo.oid(min(exposed)), metadataPrefix="oai_dc"
    )
    assert header.identifier() == repo.oid(min(exposed))
    assert metadata["title"] == ["Địa chí Thanh Hóa, tập 1"]


def test_incremental_harvest_from_the_last_response_date(repo: Repo) -> None:
    first = {repo.item(title=f"Sách {n}") for n in range(5)}
    time.sleep(1.1)
    response_date = repo.oai(verb="Identify").findtext("o:responseDate", namespaces=NS)
    assert response_date is not None
    assert len(sickle_harvest(repo.oai_url, metadataPrefix="oai_dc")) == 5
    time.sleep(1.1)
    changed, removed = sorted(first)[:2]
    repo.edit(changed, title="Sách 0 (sửa)")
    repo.delete(removed)
    added = repo.item(title="Sách mới")
    repo.item(title="Nháp mới", status="draft")

    since = sickle_harvest(repo.oai_url, metadataPrefix="oai_dc", **{"from": response_date})
    assert set(since) == {repo.oid(changed), repo.oid(removed), repo.oid(added)}
    assert since[repo.oid(removed)].header.deleted
    assert since[repo.oid(changed)].metadata["title"] == ["Sách 0 (sửa)"]
    # pyoai, from a datetime (it writes seconds, having read the granularity)
    client = pyoai_client(repo.oai_url)
    moment = datetime.strptime(response_date, "%Y-%m-%dT%H:%M:%SZ")
    found = {
        h.identifier() for h, _, _ in client.listRecords(metadataPrefix="oai_dc", from_=moment)
    }
    assert found == set(since)
    # until before the changes: the three of the first five that did not change since
    before = sickle_harvest(repo.oai_url, metadataPrefix="oai_dc", until=response_date)
    assert set(before) == {repo.oid(i) for i in first - {changed, removed}}
    # day granularity works as well
    day = response_date[:10]  # the five, one of them deleted since, and the new one
    assert len(sickle_harvest(repo.oai_url, metadataPrefix="oai_dc", **{"from": day})) == 6


def test_sets(repo: Repo) -> None:
    bao = repo.collection("Báo xưa")
    anh = repo.collection("Ảnh cũ Thanh Hóa")
    in_bao = {repo.item(title=f"Báo {n}", collection_id=bao, document_type="Báo") for n in range(4)}
    photo = repo.item(title="Ảnh chợ", collection_id=anh, document_type="Ảnh")
    repo.item(title="Bản đồ", document_type="Bản đồ")
    repo.item(title="Nháp", collection_id=bao, status="draft")
    left = sorted(in_bao)[0]
    repo.delete(left)

    sets = {s.setSpec: s.setName for s in Sickle(repo.oai_url).ListSets()}
    assert sets == {
        "collection": "Bộ sưu tập",
        "collection:bao-xua": "Báo xưa",
        "collection:anh-cu-thanh-hoa": "Ảnh cũ Thanh Hóa",
        "type": "Loại tài liệu",
        "type:anh": "Loại tài liệu: Ảnh",
        "type:bao": "Loại tài liệu: Báo",
        "type:ban-do": "Loại tài liệu: Bản đồ",
    }
    in_set = sickle_harvest(repo.oai_url, metadataPrefix="oai_dc", set="collection:bao-xua")
    assert set(in_set) == {repo.oid(i) for i in in_bao}
    assert in_set[repo.oid(left)].header.deleted  # the deleted one still reported in its set
    by_type = sickle_harvest(repo.oai_url, metadataPrefix="oai_dc", set="type:anh")
    assert set(by_type) == {repo.oid(photo)}
    all_collections = sickle_harvest(repo.oai_url, metadataPrefix="oai_dc", set="collection")
    assert set(all_collections) == {repo.oid(i) for i in in_bao | {photo}}
    root = repo.oai(verb="ListIdentifiers", metadataPrefix="oai_dc", set="collection:khong-co")
    assert error_of(root) == "noRecordsMatch"


# --- resumption tokens -------------------------------------------------------------------------


def _page(repo: Repo, **params: str) -> tuple[list[str], ET.Element | None]:
    root = repo.oai(verb="ListIdentifiers", **params)
    assert error_of(root) is None, ET.tostring(root)
    return identifiers(root), root.find("o:ListIdentifiers/o:resumptionToken", NS)


def test_paged_harvest_survives_changes_made_during_it(repo: Repo) -> None:
    ids = [repo.item(title=f"Tập {n}") for n in range(10)]  # four pages of three
    seen: list[str] = []
    got, token = _page(repo, metadataPrefix="oai_dc")
    seen += got
    assert token is not None and token.get("cursor") == "0"
    assert token.get("completeListSize") == "10"
    assert re.fullmatch(r"[A-Za-z0-9_\-.]+", token.text or "")
    assert SECOND.match(token.get("expirationDate") or "")
    # During the harvest: an item already sent is edited, one not sent yet is edited, one not
    # sent yet is deleted. None may be lost; the edited ones come again at the end.
    repo.edit(ids[0], title="Tập 0 (sửa)")
    repo.edit(ids[5], title="Tập 5 (sửa)")
    repo.delete(ids[7])
    cursors = ["0"]
    while token is not None and token.text:
        got, token = _page(repo, resumptionToken=token.text)
        seen += got
        assert token is not None  # the last part carries an empty token
        cursors.append(token.get("cursor") or "")
    assert token is not None and token.text is None
    assert cursors == ["0", "3", "6", "9", "12"][: len(cursors)]
    assert set(seen) == {repo.oid(i) for i in ids}
    assert seen.count(repo.oid(ids[0])) == 2  # before and after its edit
    assert seen.count(repo.oid(ids[5])) == 1  # moved behind the harvest, sent once
    assert seen[-1] == repo.oid(ids[7])  # its deletion comes last
    # ListRecords pages the same way (Sickle follows the tokens)
    assert len(sickle_harvest(repo.oai_url, metadataPrefix="oai_dc")) == 10


def test_a_token_after_its_items_were_deleted(repo: Repo) -> None:
    ids = [repo.item(title=f"Tập {n}") for n in range(7)]
    _, token = _page(repo, metadataPrefix="oai_dc")
    assert token is not None and token.text
    for item_id in ids:
        repo.delete(item_id)
    seen: list[str] = []
    while token is not None and token.text:
        got, token = _page(repo, resumptionToken=token.text)
        seen += got
    # Every item is reported as deleted after the page sent: the harvester learns they went.
    assert set(seen) == {repo.oid(i) for i in ids}


# --- errors, each for its condition ------------------------------------------------------------


def test_every_error_code_for_its_condition(repo: Repo, settings: Settings) -> None:
    # Before any set exists: noSetHierarchy.
    assert error_of(repo.oai(verb="ListSets")) == "noSetHierarchy"
    root = repo.oai(verb="ListRecords", metadataPrefix="oai_dc", set="collection:x")
    assert error_of(root) == "noSetHierarchy"
    assert root.find("o:request", NS).get("set") == "collection:x"  # type: ignore[union-attr]

    ids = [repo.item(title=f"Tập {n}", document_type="Sách") for n in range(5)]
    draft = repo.item(title="Nháp", status="draft")
    repo.delete(ids[4])
    ok = repo.oai(verb="ListIdentifiers", metadataPrefix="oai_dc")
    token = ok.findtext("o:ListIdentifiers/o:resumptionToken", namespaces=NS) or ""
    record_token = repo.oai(verb="ListRecords", metadataPrefix="oai_dc").findtext(
        "o:ListRecords/o:resumptionToken", namespaces=NS
    )
    assert token and record_token
    expired = resumption_token.encode(
        resumption_token.decode(
            token, verb="ListIdentifiers", secret=settings.app_secret(), now=utcnow()
        ).__class__(
            **{
                **resumption_token.decode(
                    token, verb="ListIdentifiers", secret=settings.app_secret(), now=utcnow()
                ).__dict__,
                "issued": utcnow() - resumption_token.TOKEN_LIFETIME - timedelta(minutes=1),
            }
        ),
        secret=settings.app_secret(),
    )
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    cases: list[tuple[str, list[tuple[str, str]], str]] = [
        ("no verb", [], "badVerb"),
        ("no verb, other arguments", [("metadataPrefix", "oai_dc")], "badVerb"),
        ("unknown verb", [("verb", "ListThings")], "badVerb"),
        ("verb in the wrong case", [("verb", "identify")], "badVerb"),
        ("repeated verb", [("verb", "Identify"), ("verb", "Identify")], "badVerb"),
        ("illegal argument", [("verb", "Identify"), ("foo", "bar")], "badArgument"),
        ("missing argument", [("verb", "ListRecords")], "badArgument"),
        (
            "GetRecord without identifier",
            [("verb", "GetRecord"), ("metadataPrefix", "oai_dc")],
            "badArgument",
        ),
        (
            "repeated argument",
            [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("metadataPrefix", "marc21")],
            "badArgument",
        ),
        ("empty argument", [("verb", "ListRecords"), ("metadataPrefix", "")], "badArgument"),
        (
            "token with other arguments",
            [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("resumptionToken", token)],
            "badArgument",
        ),
        (
            "bad date",
            [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("from", "2025-13-01")],
            "badArgument",
        ),
        (
            "not a date",
            [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("from", "hôm qua")],
            "badArgument",
        ),
        (
            "a date without its Z",
            [
                ("verb", "ListRecords"),
                ("metadataPrefix", "oai_dc"),
                ("until", "2025-01-01T10:00:00"),
            ],
            "badArgument",
        ),
        (
            "granularities mixed",
            [
                ("verb", "ListRecords"),
                ("metadataPrefix", "oai_dc"),
                ("from", "2025-01-01"),
                ("until", "2025-02-01T00:00:00Z"),
            ],
            "badArgument",
        ),
        (
            "until before from",
            [
                ("verb", "ListRecords"),
                ("metadataPrefix", "oai_dc"),
                ("from", "2025-02-01"),
                ("until", "2025-01-01"),
            ],
            "badArgument",
        ),
        (
            "not a setSpec",
            [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("set", "a b")],
            "badArgument",
        ),
        ("ListSets with a date", [("verb", "ListSets"), ("from", "2025-01-01")], "badArgument"),
        (
            "garbage token",
            [("verb", "ListRecords"), ("resumptionToken", "abc")],
            "badResumptionToken",
        ),
        (
            "tampered token",
            [("verb", "ListIdentifiers"), ("resumptionToken", tampered)],
            "badResumptionToken",
        ),
        (
            "expired token",
            [("verb", "ListIdentifiers"), ("resumptionToken", expired)],
            "badResumptionToken",
        ),
        (
            "another verb's token",
            [("verb", "ListRecords"), ("resumptionToken", token)],
            "badResumptionToken",
        ),
        (
            "a token to ListSets",
            [("verb", "ListSets"), ("resumptionToken", token)],
            "badResumptionToken",
        ),
        (
            "unknown format",
            [("verb", "ListRecords"), ("metadataPrefix", "mods")],
            "cannotDisseminateFormat",
        ),
        (
            "unknown format, one record",
            [("verb", "GetRecord"), ("metadataPrefix", "mods"), ("identifier", repo.oid(ids[0]))],
            "cannotDisseminateFormat",
        ),
        (
            "another repository's identifier",
            [
                ("verb", "GetRecord"),
                ("metadataPrefix", "oai_dc"),
                ("identifier", f"oai:example.org:{ids[0]}"),
            ],
            "idDoesNotExist",
        ),
        (
            "a draft",
            [("verb", "GetRecord"), ("metadataPrefix", "oai_dc"), ("identifier", repo.oid(draft))],
            "idDoesNotExist",
        ),
        (
            "no such item",
            [("verb", "ListMetadataFormats"), ("identifier", repo.oid(99999))],
            "idDoesNotExist",
        ),
        (
            "not a number",
            [("verb", "GetRecord"), ("metadataPrefix", "oai_dc"), ("identifier", f"oai:{REPO}:1x")],
            "idDoesNotExist",
        ),
        (
            "nothing since",
            [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("from", "2100-01-01")],
            "noRecordsMatch",
        ),
        (
            "nothing before",
            [
                ("verb", "ListIdentifiers"),
                ("metadataPrefix", "oai_dc"),
                ("until", "2000-01-01T00:00:00Z"),
            ],
            "noRecordsMatch",
        ),
        (
            "no such set",
            [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("set", "type:khong-co")],
            "noRecordsMatch",
        ),
        (
            "a deleted record's formats",
            [("verb", "ListMetadataFormats"), ("identifier", repo.oid(ids[4]))],
            "noMetadataFormats",
        ),
    ]
    wrong = []
    for method in ("GET", "POST"):
        for name, pairs, code in cases:
            if method == "GET":
                response = httpx.get(f"{repo.oai_url}?{urlencode(pairs)}")
            else:
                response = httpx.post(repo.oai_url, content=urlencode(pairs), headers=FORM)
            root = parse(response.content)
            check_structure(root)
            if error_of(root) != code:
                wrong.append(f"{method} {name}: {error_of(root)}, not {code}")
            echoed = root.find("o:request", NS).attrib  # type: ignore[union-attr]
            if code not in ("badVerb", "badArgument") and echoed != dict(pairs):
                wrong.append(f"{method} {name}: echoed {echoed}")
    assert wrong == [], "\n".join(wrong)
    # A POST that is not a form is not read as one.
    response = httpx.post(
        repo.oai_url, content=b'{"verb": "Identify"}', headers={"content-type": "application/json"}
    )
    assert error_of(parse(response.content)) in ("badVerb", "badArgument")
    # A deleted record: GetRecord gives its header, marked deleted, and no metadata.
    root = repo.oai(verb="GetRecord", metadataPrefix="marc21", identifier=repo.oid(ids[4]))
    assert root.find("o:GetRecord/o:record/o:header", NS).get("status") == "deleted"  # type: ignore[union-attr]
    assert root.find("o:GetRecord/o:record/o:metadata", NS) is None


def test_get_and_post_give_the_same_answer(repo: Repo) -> None:
    repo.item(title="Một")
    get = repo.oai(verb="ListRecords", metadataPrefix="oai_dc")
    post = repo.oai("POST", verb="ListRecords", metadataPrefix="oai_dc")
    strip = lambda root: [el for el in root if el.tag != f"{OAI}responseDate"]  # noqa: E731
    assert [ET.tostring(e) for e in strip(get)] == [ET.tostring(e) for e in strip(post)]


# --- what a record holds -----------------------------------------------------------------------


def test_marc21_record_from_the_dublin_core(repo: Repo) -> None:
    item_id = repo.item(
        title="Địa chí huyện Thiệu Hóa",
        alternative="Thiệu Hóa địa chí",
        creator=["Lê Văn Hòa", "Nguyễn Thị Mai"],
        contributor=["Thư viện tỉnh Thanh Hóa"],
        subject=["Địa chí", "Lịch sử địa phương"],
        description="Lịch sử, địa lý & con người <huyện> Thiệu Hóa.",
        publisher="Nxb. Thanh Hóa",
        date="1999",
        type="Text",
        identifier="978-604-0-00000-1",
        language=["vi", "fr"],
        document_type="Sách",
        place=["cu-398"],
        period="1945–1999",
        rights="Tài liệu công khai",
    )
    root = repo.oai(verb="GetRecord", metadataPrefix="marc21", identifier=repo.oid(item_id))
    marc = root.find("o:GetRecord/o:record/o:metadata/marc:record", NS)
    assert marc is not None
    leader = marc.findtext("marc:leader", namespaces=NS) or ""
    assert len(leader) == 24 and leader[6:8] == "am" and leader[9] == "a"
    control = {c.get("tag"): c.text or "" for c in marc.findall("marc:controlfield", NS)}
    assert control["001"] == str(item_id)
    assert len(control["008"]) == 40 and control["008"][7:11] == "1999"
    assert control["008"][35:38] == "vie"

    def fields(tag: str) -> list[tuple[str, dict[str, list[str]]]]:
        found = []
        for field in marc.findall(f"marc:datafield[@tag='{tag}']", NS):
            codes: dict[str, list[str]] = {}
            for sub in field.findall("marc:subfield", NS):
                codes.setdefault(sub.get("code") or "", []).append(sub.text or "")
            found.append((field.get("ind1", "") + field.get("ind2", ""), codes))
        return found

    assert fields("020") == [("  ", {"a": ["9786040000001"]})]
    assert fields("041") == [("0 ", {"a": ["vie", "fre"]})]
    assert fields("100") == [("0 ", {"a": ["Lê Văn Hòa"], "e": ["tác giả"]})]
    assert fields("245") == [("10", {"a": ["Địa chí huyện Thiệu Hóa"]})]
    assert fields("246")[0][1]["a"] == ["Thiệu Hóa địa chí"]
    assert fields("260") == [("  ", {"b": ["Nxb. Thanh Hóa"], "c": ["1999"]})]
    assert fields("520")[0][1]["a"] == ["Lịch sử, địa lý & con người <huyện> Thiệu Hóa."]
    assert [f[1]["b"] for f in fields("546")] == [["vie"], ["fre"]]
    assert [f[1]["a"][0] for f in fields("650")] == ["Địa chí", "Lịch sử địa phương"]
    assert fields("651")[0][1]["a"] == ["huyện Thiệu Hóa (cũ)"]
    assert fields("648")[0][1]["a"] == ["1945–1999"]
    assert [f[1]["a"][0] for f in fields("700")] == ["Nguyễn Thị Mai", "Thư viện tỉnh Thanh Hóa"]
    assert fields("856")[0][0] == "40"
    assert fields("856")[0][1]["u"] == [f"{PUBLIC_URL}/tai-lieu/{item_id}"]
    # and the Dublin Core of the same item
    root = repo.oai(verb="GetRecord", metadataPrefix="oai_dc", identifier=repo.oid(item_id))
    dc = root.find("o:GetRecord/o:record/o:metadata/oai_dc:dc", NS)
    assert dc is not None
    assert [e.text for e in dc.findall("dc:creator", NS)] == ["Lê Văn Hòa", "Nguyễn Thị Mai"]
    assert [e.text for e in dc.findall("dc:identifier", NS)] == [
        "978-604-0-00000-1",
        f"{PUBLIC_URL}/tai-lieu/{item_id}",
    ]
    assert "huyện Thiệu Hóa (cũ)" in [e.text for e in dc.findall("dc:coverage", NS)]


def test_control_characters_and_markup_never_break_the_xml(repo: Repo, settings: Settings) -> None:
    # The catalogue refuses control characters; a row written some other way may hold them.
    with session_scope(settings.sqlalchemy_url) as session:
        item = Item(
            title="Tiêu đề\x01 có\x0b ký tự <b>điều khiển</b> & \ufffe",
            creator=["A\x00B"],
            status=ItemStatus.PUBLISHED,
            access=Access.PUBLIC,
        )
        session.add(item)
        session.flush()
        item_id = item.id
    for prefix in ("oai_dc", "marc21"):
        root = repo.oai(verb="GetRecord", metadataPrefix=prefix, identifier=repo.oid(item_id))
        text = "".join(root.itertext())
        assert "Tiêu đề có ký tự <b>điều khiển</b> & " in text
        assert "AB" in text
    root = repo.oai(verb="GetRecord", metadataPrefix="oai_dc", identifier=f"oai:{REPO}:\x01<1>")
    assert error_of(root) == "idDoesNotExist"


def test_identifiers_and_the_record_url(repo: Repo, settings: Settings) -> None:
    item_id = repo.item(title="Một")
    assert repository_identifier(settings) == REPO
    assert oai_identifier(item_id, settings=settings) == repo.oid(item_id)
    url = record_url(repo.url, item_id, settings=settings, metadata_prefix="marc21")
    parts = urlsplit(url)
    assert parts.path == "/oai"
    assert dict(parse_qsl(parts.query)) == {
        "verb": "GetRecord",
        "metadataPrefix": "marc21",
        "identifier": repo.oid(item_id),
    }
    root = parse(httpx.get(url).content)
    assert error_of(root) is None
    assert root.find("o:GetRecord/o:record/o:metadata/marc:record", NS) is not None
    # Without a public URL with a domain in it: a fixed domain-like name, never an address.
    local = settings.model_copy(update={"public_url": None})
    assert repository_identifier(local) == "localhost.localdomain"
    identify = repo.oai(verb="Identify")
    sample = identify.findtext(
        ".//{http://www.openarchives.org/OAI/2.0/oai-identifier}sampleIdentifier"
    )
    assert sample == f"oai:{REPO}:1"
    # The default admin@localhost is not an address the OAI schema accepts: a dotted domain
    # stands in for it.
    email = identify.findtext("o:Identify/o:adminEmail", namespaces=NS)
    assert settings.admin_email == "admin@localhost" and email == f"admin@{REPO}"
    assert re.fullmatch(r"\S+@(\S+\.)+\S+", email or "")


# --- at scale ----------------------------------------------------------------------------------


def test_deep_pages_are_keyset_ranges(repo: Repo, settings: Settings) -> None:
    """20,000 rows inserted directly: the last page costs what the first does, and the query
    plan walks the (status, updated_at, id) index without sorting."""
    start = utcnow() - timedelta(days=1)
    rows = [
        {
            "title": f"Tài liệu {n}",
            "status": ItemStatus.PUBLISHED,
            "access": Access.PUBLIC,
            "updated_at": start + timedelta(seconds=n // 3),  # three to a second: ties on time
            "created_at": start,
        }
        for n in range(20_000)
    ]
    with session_scope(settings.sqlalchemy_url) as session:
        session.execute(insert(Item), rows)
    with session_scope(settings.sqlalchemy_url) as session:
        from sqlalchemy import text

        last = session.execute(
            select(Item.updated_at, Item.id).order_by(Item.id.desc()).limit(1)
        ).one()
        plan = session.execute(
            text(
                "EXPLAIN QUERY PLAN SELECT * FROM items WHERE status = 'published' "
                "AND access IN ('onsite', 'public') AND (updated_at, id) > (:t, :i) "
                "ORDER BY updated_at, id LIMIT 101"
            ),
            {"t": "2000-01-01 00:00:00.000000", "i": 0},
        ).all()
        detail = " ".join(str(row[-1]) for row in plan)
        assert "ix_items_status_updated_at" in detail and "TEMP B-TREE" not in detail, detail
    big = settings.model_copy(update={"oai_page_size": 100})
    deep = resumption_token.ListPosition(
        verb="ListRecords",
        metadata_prefix="oai_dc",
        set_spec=None,
        from_=None,
        until=None,
        after=(last.updated_at - timedelta(seconds=40), 0),
        cursor=19_880,
        complete_list_size=20_000,
        issued=utcnow(),
    )
    token = resumption_token.encode(deep, secret=big.app_secret())

    def timed(**params: str) -> float:
        began = time.perf_counter()
        response = httpx.get(repo.oai_url, params=params, timeout=60)
        assert error_of(parse(response.content)) is None
        return time.perf_counter() - began

    first = min(timed(verb="ListRecords", metadataPrefix="oai_dc") for _ in range(3))
    last_page = min(timed(verb="ListRecords", resumptionToken=token) for _ in range(3))
    print(
        f"\nListRecords with 20,000 items: first page {first * 1000:.0f} ms, last {last_page * 1000:.0f} ms"
    )
    assert last_page < max(3 * first, 0.5)
    with session_scope(settings.sqlalchemy_url) as session:
        assert session.scalar(select(OaiTombstone.item_id)) is None
