"""Harvesting in: our own OAI-PMH provider run as a second instance (its own database, indexes and
public URL) behind a real uvicorn, harvested into a collection of this one; and a small real HTTP
server (stdlib, in a thread) playing the hostile sources: HTML, broken XML, OAI errors, a token
that loops, down, slow, a set that does not exist, records with no title or with markup and
control characters, and a long list streamed part by part and resumed after a failure."""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from xml.sax.saxutils import escape

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import select

from collection.app import create_app
from collection.catalogue import service as catalogue
from collection.catalogue.schemas import CollectionIn, ItemIn, ItemUpdate
from collection.config import Settings
from collection.db import session_factory, session_scope
from collection.harvest import runner, service
from collection.harvest.tasks import queue_due
from collection.models import (
    AuditEvent,
    Collection,
    HarvestedRecord,
    HarvestRun,
    HarvestSource,
    Item,
    ItemStatus,
    Role,
    User,
)
from collection.queue import huey, search_huey
from collection.stack import free_port
from tests.helpers import login, make_user, run_search_tasks

OAI = "http://www.openarchives.org/OAI/2.0/"


# --- this instance ------------------------------------------------------------------------------


def local_collection(settings: Settings, title: str = "Thư viện số quốc gia") -> int:
    with session_scope(settings.sqlalchemy_url) as session:
        actor = User(id=None, email="test", role=Role.ADMIN)
        if found := session.scalar(select(Collection.id).where(Collection.title == title)):
            return int(found)
        return catalogue.save_collection(
            session=session, actor=actor, data=CollectionIn(title=title)
        ).id


def add_source(settings: Settings, url: str, collection: int, set_spec: str = "") -> int:
    with session_scope(settings.sqlalchemy_url) as session:
        actor = User(id=None, email="test", role=Role.ADMIN)
        return service.add_source(
            session=session, actor=actor, url=url, collection=collection, set_spec=set_spec
        ).id


def harvest(settings: Settings, source_id: int, progress: list[str] | None = None) -> HarvestRun:
    return runner.run_source(
        source_id,
        settings=settings,
        sessions=session_factory(settings.sqlalchemy_url),
        on_progress=(lambda p: progress.append(p.line())) if progress is not None else None,
    )


def source_row(settings: Settings, source_id: int) -> HarvestSource:
    with session_scope(settings.sqlalchemy_url) as session:
        found = session.get(HarvestSource, source_id)
        assert found is not None
        return found


def harvested_items(settings: Settings) -> dict[str, Item]:
    """OAI identifier → the item it became."""
    with session_scope(settings.sqlalchemy_url) as session:
        rows = session.execute(
            select(HarvestedRecord.oai_identifier, Item).join(
                Item, Item.id == HarvestedRecord.item_id
            )
        ).all()
        return {identifier: item for identifier, item in rows}


def drain_queues() -> None:
    while search_huey.dequeue() is not None:
        pass
    while huey.dequeue() is not None:
        pass


# --- another instance of ours, as the source ------------------------------------------------------


@dataclass
class Provider:
    url: str
    settings: Settings

    def item(self, **fields: Any) -> int:
        body = {"creator": ["Nhiều tác giả"], "status": "published", **fields}
        with session_scope(self.settings.sqlalchemy_url) as session:
            actor = User(id=None, email="nguon", role=Role.CATALOGUER)
            return catalogue.create_item(session=session, actor=actor, data=ItemIn(**body)).id

    def edit(self, item_id: int, **changes: Any) -> None:
        with session_scope(self.settings.sqlalchemy_url) as session:
            actor = User(id=None, email="nguon", role=Role.CATALOGUER)
            item = catalogue.get_item(session=session, item_id=item_id)
            values = {**catalogue.item_fields(session, item), **changes, "version": item.version}
            catalogue.update_item(
                session=session, actor=actor, item_id=item_id, data=ItemUpdate(**values)
            )

    def delete(self, item_id: int) -> None:
        with session_scope(self.settings.sqlalchemy_url) as session:
            actor = User(id=None, email="nguon", role=Role.CATALOGUER)
            catalogue.delete_item(session=session, actor=actor, item_id=item_id)


@pytest.fixture
def provider(settings: Settings, template_db: Path, tmp_path: Path) -> Iterator[Provider]:
    """A second instance: its own database and indexes, its own public URL (so its identifiers
    are its own), served by uvicorn; lists come in parts of 3."""
    shutil.copyfile(template_db, tmp_path / "nguon.db")
    remote = settings.model_copy(
        update={
            "database_url": f"sqlite:///{tmp_path / 'nguon.db'}",
            "meili_index_prefix": settings.meili_index_prefix + "n",
            "public_url": "http://thuvienso.nlv.example.vn",
            "oai_page_size": 3,
        }
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(remote), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="uvicorn-provider", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(f"{url}/healthz", timeout=2)
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the provider did not start"
            time.sleep(0.1)
    try:
        yield Provider(f"{url}/oai", remote)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_harvest_from_our_own_provider(
    provider: Provider, settings: Settings, client: TestClient
) -> None:
    ids = [
        provider.item(title=f"Địa chí huyện số {n}", subject=["Địa chí"], date="1998")
        for n in range(1, 7)
    ]
    ids.append(
        provider.item(
            title="Trống đồng Đông Sơn",
            alternative="Đông Sơn bronze drums",
            creator=["Nguyễn Văn Hòa", "Lê Thị Thu"],
            subject=["Khảo cổ", "Văn hóa Đông Sơn"],
            description="Sưu tập trống đồng.\n\nTìm thấy ở Thiệu Hóa.",
            publisher="Nxb Thanh Hóa",
            date="2001-05-03",
            type="Text",
            document_type="Sách",
            language=["vi", "en"],
            rights="CC BY 4.0",
        )
    )
    drain_queues()  # the provider's own index updates: not this instance's business
    target = local_collection(settings)
    source_id = add_source(settings, provider.url, target)

    progress: list[str] = []
    first = harvest(settings, source_id, progress)
    assert (first.status, first.error) == ("done", None)
    assert (first.created, first.failed, first.records) == (7, 0, 7)
    assert len(progress) == 3 and progress[-1].startswith(f"nguồn {source_id}: 7/7 bản ghi")
    source = source_row(settings, source_id)
    assert source.granularity == "YYYY-MM-DDThh:mm:ssZ"
    assert source.last_datestamp and source.resumption_token is None

    items = harvested_items(settings)
    assert set(items) == {f"oai:thuvienso.nlv.example.vn:{i}" for i in ids}
    drum = items[f"oai:thuvienso.nlv.example.vn:{ids[-1]}"]
    assert drum.title == "Trống đồng Đông Sơn" and drum.alternative == "Đông Sơn bronze drums"
    assert drum.creator == ["Nguyễn Văn Hòa", "Lê Thị Thu"]
    assert drum.subject == ["Khảo cổ", "Văn hóa Đông Sơn"]
    assert drum.description == "Sưu tập trống đồng.\n\nTìm thấy ở Thiệu Hóa."
    assert (drum.publisher, drum.date, drum.type, drum.document_type) == (
        "Nxb Thanh Hóa",
        "2001-05-03",
        "Text",
        "Sách",
    )
    assert drum.language == ["vi", "en"] and drum.rights == "CC BY 4.0"
    assert (drum.status, drum.access.value, drum.collection_id) == (
        ItemStatus.PUBLISHED,
        "public",
        target,
    )
    link = f"http://thuvienso.nlv.example.vn/tai-lieu/{ids[-1]}"
    assert drum.identifier == link  # the provider gives only its item page
    assert drum.extra["harvested"] == {
        "source_id": source_id,
        "oai_identifier": f"oai:thuvienso.nlv.example.vn:{ids[-1]}",
        "link": link,
    }
    with session_scope(settings.sqlalchemy_url) as session:
        actors = set(
            session.scalars(
                select(AuditEvent.actor).where(
                    AuditEvent.action.in_(["item.create", "harvest.run"])
                )
            )
        )
    assert actors == {f"thu hoạch OAI-PMH #{source_id}"}

    # Searchable like our own items.
    run_search_tasks(settings)
    found = client.get("/api/v1/search", params={"q": "trong dong dong son"}).json()
    assert [hit["id"] for hit in found["hits"]] == [drum.id]
    found = client.get("/api/v1/search", params={"q": "địa chí huyện"}).json()
    assert found["total"] == 6

    # Again: nothing new, nothing made twice; it asked `from` the last datestamp.
    second = harvest(settings, source_id)
    assert (second.status, second.created, second.updated, second.failed) == ("done", 0, 0, 0)
    assert second.from_datestamp == source.last_datestamp
    assert len(harvested_items(settings)) == 7

    # Changed and deleted at the source: updated, and withdrawn here (never deleted).
    time.sleep(1.1)  # the provider's datestamps are seconds
    provider.edit(ids[0], title="Địa chí huyện Nga Sơn")
    provider.delete(ids[1])
    drain_queues()
    third = harvest(settings, source_id)
    assert (third.status, third.created, third.updated, third.withdrawn) == ("done", 0, 1, 1)
    items = harvested_items(settings)
    assert items[f"oai:thuvienso.nlv.example.vn:{ids[0]}"].title == "Địa chí huyện Nga Sơn"
    assert items[f"oai:thuvienso.nlv.example.vn:{ids[1]}"].status == ItemStatus.WITHDRAWN
    assert len(items) == 7

    # The staff page lists the source with its last run.
    make_user(settings, "quan.tri@thuvien.vn", Role.ADMIN)
    login(client, "quan.tri@thuvien.vn")
    page = client.get("/staff/thu-hoach")
    assert page.status_code == 200
    assert provider.url in page.text and "Thư viện số quốc gia" in page.text
    assert "1 cập nhật" in page.text and "1 rút" in page.text
    api = client.get("/api/v1/harvest/sources").json()
    assert api[0]["items"] == 7 and api[0]["last_run"]["withdrawn"] == 1


# --- a hostile source -------------------------------------------------------------------------


@dataclass
class Fake:
    """A scripted OAI-PMH source: records made on the fly, answers in parts of ``page``."""

    count: int = 0
    page: int = 500
    granularity: str = "YYYY-MM-DD"
    make: Callable[[int], str] | None = None  # record number → <record> XML
    # Per verb (or "*"), what to answer instead: a status and a body, or a delay first.
    override: dict[str, Callable[[dict[str, str]], tuple[int, bytes] | None]] = field(
        default_factory=dict
    )
    asked: list[dict[str, str]] = field(default_factory=list)
    sets: list[str] = field(default_factory=lambda: ["sach"])

    def answer(self, params: dict[str, str]) -> tuple[int, bytes]:
        self.asked.append(params)
        verb = params.get("verb", "")
        for key in (verb, "*"):
            if key in self.override and (found := self.override[key](params)) is not None:
                return found
        if verb == "Identify":
            return 200, envelope(
                "<Identify><repositoryName>Nguồn thử</repositoryName>"
                "<baseURL>http://x/oai</baseURL><protocolVersion>2.0</protocolVersion>"
                "<adminEmail>a@b.vn</adminEmail><earliestDatestamp>2000-01-01"
                "</earliestDatestamp><deletedRecord>persistent</deletedRecord>"
                f"<granularity>{self.granularity}</granularity></Identify>"
            )
        if verb == "ListSets":
            listed = "".join(
                f"<set><setSpec>{s}</setSpec><setName>{s}</setName></set>" for s in self.sets
            )
            return 200, envelope(f"<ListSets>{listed}</ListSets>")
        if verb == "ListRecords":
            if params.get("set") and params["set"] not in self.sets:
                return 200, envelope('<error code="noRecordsMatch">none</error>')
            start = int(params.get("resumptionToken", "p0").removeprefix("p"))
            end = min(start + self.page, self.count)
            if start >= self.count:
                return 200, envelope('<error code="noRecordsMatch">nothing</error>')
            assert self.make is not None
            body = "".join(self.make(n) for n in range(start, end))
            token = (
                f'<resumptionToken completeListSize="{self.count}" cursor="{start}">p{end}'
                "</resumptionToken>"
                if end < self.count
                else f'<resumptionToken completeListSize="{self.count}" cursor="{start}"/>'
            )
            return 200, envelope(f"<ListRecords>{body}{token}</ListRecords>")
        return 200, envelope('<error code="badVerb">?</error>')


def envelope(body: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><OAI-PMH xmlns="{OAI}">'
        f"<responseDate>2026-12-07T00:00:00Z</responseDate><request>http://x/oai</request>"
        f"{body}</OAI-PMH>"
    ).encode()


def dc_record(oai_id: str, stamp: str, **elements: str | list[str]) -> str:
    inner = "".join(
        f"<dc:{name}>{value}</dc:{name}>"
        for name, values in elements.items()
        for value in ([values] if isinstance(values, str) else values)
    )
    return (
        f"<record><header><identifier>{oai_id}</identifier><datestamp>{stamp}"
        "</datestamp></header><metadata><oai_dc:dc "
        'xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
        f'xmlns:dc="http://purl.org/dc/elements/1.1/">{inner}</oai_dc:dc></metadata></record>'
    )


def deleted_record(identifier: str, datestamp: str) -> str:
    return (
        f'<record><header status="deleted"><identifier>{identifier}</identifier>'
        f"<datestamp>{datestamp}</datestamp></header></record>"
    )


@pytest.fixture
def fake() -> Iterator[tuple[Fake, str]]:
    source = Fake()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            params = dict(parse_qsl(urlsplit(self.path).query))
            status, body = source.answer(params)
            self.send_response(status)
            self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)  # (the harvester may have given up on the slow source)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="fake-oai", daemon=True)
    thread.start()
    try:
        yield source, f"http://127.0.0.1:{server.server_address[1]}/oai"
    finally:
        server.shutdown()
        server.server_close()


def titled(n: int) -> str:
    return dc_record(f"oai:nguon:{n}", f"2026-11-0{1 + n % 9}", title=f"Tài liệu số {n}")


def test_markup_control_characters_and_a_record_without_title(
    fake: tuple[Fake, str], settings: Settings, client: TestClient
) -> None:
    source, url = fake
    records = [
        dc_record(
            "oai:nguon:1",
            "2026-11-01",
            title=escape("<script>alert(1)</script> Bản đồ\x01 Thanh") + "&#x7; Hóa\x7f",
            description="<b>đậm</b> và <i>nghiêng</i>",
            identifier=["ISBN 978-604-0-00000-0", "https://nguon.example.vn/item/1"],
            date="[1998?]",
            type=["StillImage", "Bản đồ"],
        ),
        dc_record("oai:nguon:2", "2026-11-02", creator="Không nhan đề"),
        dc_record("oai:nguon:3", "2026-11-03", title="Còn lại vẫn vào"),
    ]
    source.count, source.make = 3, lambda n: records[n]
    source_id = add_source(settings, url, local_collection(settings))
    run = harvest(settings, source_id)
    assert (run.status, run.created, run.failed) == ("done", 2, 1)
    assert run.failures == [
        {
            "identifier": "oai:nguon:2",
            "reason": "Bản ghi không có nhan đề (dc:title): không tạo tài liệu.",
        }
    ]
    items = harvested_items(settings)
    first = items["oai:nguon:1"]
    assert first.title == "<script>alert(1)</script> Bản đồ Thanh Hóa"
    assert first.description == "đậm và nghiêng"  # markup inside an element is read as text
    assert first.identifier == "ISBN 978-604-0-00000-0"
    assert first.extra["harvested"]["link"] == "https://nguon.example.vn/item/1"
    assert (first.date, first.type, first.document_type) == ("1998", "StillImage", "Bản đồ")
    page = client.get(f"/tai-lieu/{first.id}")
    assert page.status_code == 200
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;alert(1)" in page.text

    make_user(settings, "quan.tri@thuvien.vn", Role.ADMIN)
    login(client, "quan.tri@thuvien.vn")
    staff = client.get("/staff/thu-hoach").text
    assert "1 lỗi" in staff and "Bản ghi không có nhan đề" in staff
    item_page = client.get(f"/staff/tai-lieu/{first.id}").text
    assert "<code>oai:nguon:1</code>" in item_page
    assert '<a href="https://nguon.example.vn/item/1" rel="noopener noreferrer">' in item_page
    assert "<script>alert(1)" not in item_page


def test_incremental_from_and_deletions_at_the_source(
    fake: tuple[Fake, str], settings: Settings
) -> None:
    source, url = fake
    source.count, source.page, source.make = 5, 2, titled
    source_id = add_source(settings, url, local_collection(settings))
    first = harvest(settings, source_id)
    assert (first.status, first.created) == ("done", 5)
    assert source_row(settings, source_id).last_datestamp == "2026-11-05"
    assert "from" not in source.asked[1]  # Identify, then the whole list
    asked = len(source.asked)

    source.make = lambda n: deleted_record(f"oai:nguon:{n}", "2026-11-09") if n == 2 else titled(n)
    second = harvest(settings, source_id)
    listed = [p for p in source.asked[asked:] if p.get("verb") == "ListRecords"]
    assert listed[0] == {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2026-11-05"}
    assert (second.created, second.withdrawn, second.unchanged) == (0, 1, 4)
    items = harvested_items(settings)
    assert items["oai:nguon:2"].status == ItemStatus.WITHDRAWN and len(items) == 5
    assert source_row(settings, source_id).last_datestamp == "2026-11-09"

    # Seconds granularity: `from` is written in seconds.
    source.granularity = "YYYY-MM-DDThh:mm:ssZ"
    asked = len(source.asked)
    harvest(settings, source_id)
    listed = [p for p in source.asked[asked:] if p.get("verb") == "ListRecords"]
    assert listed[0]["from"] == "2026-11-09T00:00:00Z"


def failed_run(settings: Settings, url: str) -> HarvestRun:
    source_id = add_source(settings, url, local_collection(settings))
    run = harvest(settings, source_id)
    assert run.status == "failed" and run.error
    assert source_row(settings, source_id).lease_until is None  # free to run again
    return run


def test_html_broken_xml_and_oai_errors(fake: tuple[Fake, str], settings: Settings) -> None:
    source, url = fake
    html = "<!DOCTYPE html><html><body><h1>Trang chủ</h1><p>Xin chào</body></html>".encode()
    source.override["*"] = lambda p: (200, html)
    assert "trang HTML" in (failed_run(settings, url).error or "")

    source.override["*"] = lambda p: (200, b"<html><body>ok</body></html>")  # well-formed
    assert "trang HTML" in (failed_run(settings, url).error or "")

    source.override = {"ListRecords": lambda p: (200, envelope("<ListRecords><record><hea"))}
    source.count, source.make = 3, titled
    run = failed_run(settings, url)
    assert "XML hỏng" in (run.error or "") and run.created == 0

    source.override = {
        "ListRecords": lambda p: (200, envelope('<error code="badArgument">from?</error>'))
    }
    assert "badArgument" in (failed_run(settings, url).error or "")

    source.override = {"ListRecords": lambda p: (500, b"Internal Server Error")}
    assert "HTTP 500" in (failed_run(settings, url).error or "")

    # noRecordsMatch is "nothing new", not an error.
    source.override, source.count = {}, 0
    source_id = add_source(settings, url, local_collection(settings))
    run = harvest(settings, source_id)
    assert (run.status, run.created, run.error) == ("done", 0, None)


def test_a_set_that_does_not_exist(fake: tuple[Fake, str], settings: Settings) -> None:
    source, url = fake
    source.count, source.make = 2, titled
    source_id = add_source(settings, url, local_collection(settings), set_spec="khong-co")
    run = harvest(settings, source_id)
    assert run.status == "failed" and run.error == "Nguồn không có tập (set) «khong-co»."


def test_down_and_slow_sources(fake: tuple[Fake, str], settings: Settings) -> None:
    down = failed_run(settings, f"http://127.0.0.1:{free_port()}/oai")
    assert "Không kết nối được" in (down.error or "")

    source, url = fake

    def stall(params: dict[str, str]) -> None:
        time.sleep(3)

    source.override["Identify"] = stall
    quick = settings.model_copy(update={"harvest_timeout": 0.5})
    started = time.monotonic()
    slow = failed_run(quick, url)
    assert "không trả lời trong 0.5 giây" in (slow.error or "")
    assert time.monotonic() - started < 2.5


def test_a_looping_token_stops_and_keeps_what_was_harvested(
    fake: tuple[Fake, str], settings: Settings
) -> None:
    source, url = fake
    source.count, source.page, source.make = 6, 2, titled

    def loop(params: dict[str, str]) -> tuple[int, bytes] | None:
        if params.get("resumptionToken") == "p2":  # answers with the token it was given
            body = titled(2) + titled(3) + "<resumptionToken>p2</resumptionToken>"
            return 200, envelope(f"<ListRecords>{body}</ListRecords>")
        return None

    source.override["ListRecords"] = loop
    source_id = add_source(settings, url, local_collection(settings))
    run = harvest(settings, source_id)
    assert run.status == "failed" and "lặp vòng" in (run.error or "")
    assert run.created == 4 and len(harvested_items(settings)) == 4
    assert len([p for p in source.asked if p.get("verb") == "ListRecords"]) == 2


def test_a_long_list_is_streamed_and_a_failed_run_resumes(
    fake: tuple[Fake, str], settings: Settings
) -> None:
    source, url = fake
    source.count, source.page, source.make = 2000, 250, titled
    failing = {"p1000"}

    def flaky(params: dict[str, str]) -> tuple[int, bytes] | None:
        if params.get("resumptionToken") in failing:
            return 503, b"busy"
        return None

    source.override["ListRecords"] = flaky
    source_id = add_source(settings, url, local_collection(settings))
    progress: list[str] = []
    started = time.monotonic()
    first = harvest(settings, source_id, progress)
    assert first.status == "failed" and "HTTP 503" in (first.error or "")
    assert (first.created, first.records, first.complete_list_size) == (1000, 1000, 2000)
    assert len(progress) == 4  # one line per part of 250
    assert source_row(settings, source_id).resumption_token == "p1000"

    failing.clear()
    asked = len(source.asked)
    second = harvest(settings, source_id)
    listed = [p for p in source.asked[asked:] if p.get("verb") == "ListRecords"]
    assert listed[0] == {"verb": "ListRecords", "resumptionToken": "p1000"}
    assert len(listed) == 4  # the parts not harvested yet, one answer each
    assert (second.status, second.resumed, second.created) == ("done", True, 1000)
    assert len(harvested_items(settings)) == 2000
    assert source_row(settings, source_id).resumption_token is None
    elapsed = time.monotonic() - started
    print(f"2000 records in 8 parts, created and committed: {elapsed:.1f} s")
    drain_queues()


def test_the_schedule_queues_due_sources(fake: tuple[Fake, str], settings: Settings) -> None:
    _, url = fake
    source_id = add_source(settings, url, local_collection(settings))
    drain_queues()
    assert queue_due(settings.model_copy(update={"harvest_hours": 0})) == []
    assert queue_due(settings) == [source_id]  # never ran
    drain_queues()
    assert harvest(settings, source_id).status == "done"
    assert queue_due(settings) == []  # ran less than harvest_hours ago
    with session_scope(settings.sqlalchemy_url) as session:  # as if it stopped halfway 2 h ago
        run = session.scalars(select(HarvestRun)).one()
        run.started_at -= timedelta(hours=2)
        session.get(HarvestSource, source_id).resumption_token = "p1"  # type: ignore[union-attr]
    assert queue_due(settings) == [source_id]  # an unfinished run is tried again within the hour
    drain_queues()


def test_api_and_staff_form(fake: tuple[Fake, str], settings: Settings, client: TestClient) -> None:
    _, url = fake
    collection_id = local_collection(settings)
    make_user(settings, "bien.muc@thuvien.vn", Role.CATALOGUER)
    headers = login(client, "bien.muc@thuvien.vn")
    assert client.get("/api/v1/harvest/sources").status_code == 403
    assert client.get("/staff/thu-hoach").status_code == 403
    client.post("/api/v1/auth/logout", headers=headers)
    client.cookies.clear()

    make_user(settings, "quan.tri@thuvien.vn", Role.ADMIN)
    headers = login(client, "quan.tri@thuvien.vn")
    bad = client.post(
        "/api/v1/harvest/sources",
        json={"url": "ftp://x", "collection": str(collection_id)},
        headers=headers,
    )
    assert bad.status_code == 422 and "URL http(s)" in bad.json()["message"]
    missing = client.post(
        "/api/v1/harvest/sources", json={"url": url, "collection": "khong-co"}, headers=headers
    )
    assert missing.status_code == 422 and "Không có bộ sưu tập" in missing.json()["message"]
    made = client.post(
        "/api/v1/harvest/sources",
        json={"url": url, "collection": "thu-vien-so-quoc-gia", "set_spec": "sach"},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    source_id = made.json()["id"]
    assert made.json()["collection_id"] == collection_id and made.json()["last_run"] is None
    drain_queues()
    queued = client.post(f"/api/v1/harvest/sources/{source_id}/run", headers=headers)
    assert queued.status_code == 202
    assert [t.name for t in iter(huey.dequeue, None)] == ["harvest.run_source"]
    assert client.post("/api/v1/harvest/sources/999/run", headers=headers).status_code == 404

    form = client.get("/staff/thu-hoach")
    csrf = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    refused = client.post(
        "/staff/thu-hoach", data={"csrf_token": csrf, "url": "", "collection": ""}
    )
    assert refused.status_code == 422 and "Cần nhập." in refused.text
    added = client.post(
        "/staff/thu-hoach",
        data={"csrf_token": csrf, "url": url, "collection": str(collection_id), "set_spec": ""},
        follow_redirects=False,
    )
    assert added.status_code == 303
    run_now = client.post(
        f"/staff/thu-hoach/{source_id}/chay", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert run_now.status_code == 303
    assert client.post(f"/staff/thu-hoach/{source_id}/chay", data={}).status_code == 403
    drain_queues()
