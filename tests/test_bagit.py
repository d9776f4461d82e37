"""BagIt export and import: bags valid for the Library of Congress's `bagit` validator, with
the originals under their names, page text as readers see it, the searchable PDF, Dublin Core
and JSON; imported again through the normal ingest (round trip); a changed byte or a bag from
elsewhere refused, with nothing imported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import bagit
import pytest
from sqlalchemy import func, select

from collection.config import Settings
from collection.db import session_factory, session_scope
from collection.ingest.pipeline import run_job
from collection.models import Item, Role, User
from collection.preservation import bags
from collection.storage import store_for
from tests import material
from tests.helpers import Api, new_item, run_search_tasks, upload

DC = "{http://purl.org/dc/elements/1.1/}"
TEXTS = ["Trống đồng Đông Sơn ở Thiệu Hóa.", "Bỉm Sơn và sông Mã.", "Hàm Rồng, cầu và núi."]
CORRECTED = "Bỉm Sơn và sông Mã (đã sửa)."


def ingest(api: Api, settings: Settings, item_id: int, name: str, data: bytes) -> None:
    response = upload(api, item_id, name, data)
    assert response.status_code == 202, response.text
    run_job(response.json()["job_id"], settings=settings)


def cataloguer_id(settings: Settings) -> int:
    with session_scope(settings.sqlalchemy_url) as session:
        found = session.scalar(select(User.id).where(User.role == Role.CATALOGUER))
        assert found is not None
        return int(found)


def item_count(settings: Settings) -> int:
    with session_scope(settings.sqlalchemy_url) as session:
        return int(session.scalar(select(func.count()).select_from(Item)) or 0)


@pytest.fixture
def described(api: Api, settings: Settings) -> int:
    """An item with two originals (one name unsafe on disk), pages, a correction, a PDF."""
    item_id = new_item(
        api,
        title="Văn hóa Đông Sơn",
        creator=["Lê Văn A", "Trần Thị B"],
        subject=["Khảo cổ", "Lịch sử"],
        date="1998",
        description="Trống đồng và di chỉ.",
        language=["vi", "fr"],
        place=["cu-398"],
        access="onsite",
    )
    ingest(api, settings, item_id, "../đông sơn:1.pdf", material.born_digital_pdf(TEXTS[:2]))
    ingest(api, settings, item_id, "ham-rong.png", material.png(material.scanned_image(TEXTS[2])))
    corrected = api("PUT", f"/api/v1/items/{item_id}/pages/2/text", json={"text": CORRECTED})
    assert corrected.status_code == 200, corrected.text
    run_search_tasks(settings)
    return item_id


def export(settings: Settings, folder: Path, **selection: int) -> bags.ExportResult:
    return bags.export_items(
        settings,
        store_for(settings),
        session_factory(settings.sqlalchemy_url),
        folder,
        **selection,  # type: ignore[arg-type]
    )


def test_an_exported_bag_is_valid_and_holds_the_item(
    api: Api, settings: Settings, described: int, tmp_path: Path
) -> None:
    result = export(settings, tmp_path / "bags", item_id=described)
    assert result.failed == [] and len(result.bags) == 1
    path = result.bags[0]
    assert path.name == f"item-{described}"
    bag = bagit.Bag(str(path))
    bag.validate()  # completeness, Payload-Oxum and every SHA-256
    assert bag.version_info == (1, 0) and bag.algorithms == ["sha256"]
    assert bag.info["Source-Organization"] == "Thư viện tỉnh Thanh Hóa"
    assert bag.info["External-Identifier"] == [
        f"{settings.base_url}/tai-lieu/{described}",
        f"oai:localhost.localdomain:{described}",
    ]
    assert bag.info["Bagging-Date"]
    payload = {p.relative_to(path).as_posix() for p in bags.bag_files(path)}
    assert {
        "data/originals/đông sơn_1.pdf",  # the name kept, the path and colon made safe
        "data/originals/ham-rong.png",
        "data/pdf/ham-rong (tìm kiếm được).pdf",
        "data/text/page-00001.txt",
        "data/text/page-00002.txt",
        "data/text/page-00003.txt",
        "data/metadata/dc.xml",
        "data/metadata/item.json",
        "data/metadata/kho.json",
    } <= payload, payload
    item = api("GET", f"/api/v1/items/{described}").json()
    originals = [f for f in item["files"] if f["role"] == "original"]
    assert (path / "data/originals/ham-rong.png").stat().st_size == originals[1]["size"]
    pages = api("GET", f"/api/v1/items/{described}/pages").json()
    for page in pages:
        text = (path / f"data/text/page-{page['number']:05d}.txt").read_text(encoding="utf-8")
        assert text == page["text"]  # what a reader sees: the correction on page 2
    assert (path / "data/text/page-00002.txt").read_text(encoding="utf-8") == CORRECTED
    assert json.loads((path / "data/metadata/item.json").read_text(encoding="utf-8")) == item
    dc = ET.parse(path / "data/metadata/dc.xml").getroot()  # noqa: S314 -- our own file
    assert dc.tag == "{http://www.openarchives.org/OAI/2.0/oai_dc/}dc"
    assert [e.text for e in dc.iter(f"{DC}creator")] == ["Lê Văn A", "Trần Thị B"]
    assert f"{settings.base_url}/tai-lieu/{described}" in [
        e.text for e in dc.iter(f"{DC}identifier")
    ]
    manifest = (path / "manifest-sha256.txt").read_text(encoding="utf-8")
    assert originals[0]["sha256"] in manifest  # the bag's checksum is the one kept at ingest


def test_bags_are_imported_again_through_the_ingest(
    api: Api, settings: Settings, described: int, tmp_path: Path
) -> None:
    other = new_item(api, title="Không có tệp", status="draft")
    folder = tmp_path / "bags"
    assert len(export(settings, folder).bags) == 2
    imported = bags.import_bags(
        settings,
        store_for(settings),
        session_factory(settings.sqlalchemy_url),
        folder,
        actor_id=cataloguer_id(settings),
    )
    assert [r.status for r in imported] == ["created", "created"]
    copy = next(r for r in imported if r.path.name == f"item-{described}")
    assert len(copy.jobs) == 2 and copy.failed_jobs == [] and copy.corrections == 1

    before = api("GET", f"/api/v1/items/{described}").json()
    after = api("GET", f"/api/v1/items/{copy.item_id}").json()
    for name in ("title", "creator", "subject", "date", "description", "language", "place"):
        assert after[name] == before[name], name
    assert (after["access"], after["status"]) == ("onsite", "published")

    def files(item: dict[str, Any], role: str) -> list[tuple[str, str]]:
        return sorted((f["original_name"], f["sha256"]) for f in item["files"] if f["role"] == role)

    assert files(after, "original") == files(before, "original")  # the same bytes, same names
    # The searchable PDFs are made again (a PDF's bytes hold the time it was made).
    assert [n for n, _ in files(after, "searchable_pdf")] == [
        n for n, _ in files(before, "searchable_pdf")
    ]
    pages_before = api("GET", f"/api/v1/items/{described}/pages").json()
    pages_after = api("GET", f"/api/v1/items/{copy.item_id}/pages").json()
    assert [(p["number"], p["text"], p["corrected"], p["text_source"]) for p in pages_after] == [
        (p["number"], p["text"], p["corrected"], p["text_source"]) for p in pages_before
    ]
    empty = next(r for r in imported if r.path.name == f"item-{other}")
    assert (
        empty.jobs == []
        and api("GET", f"/api/v1/items/{empty.item_id}").json()["status"] == "draft"
    )

    # Importing the same bags again creates nothing.
    again = bags.import_bags(
        settings,
        store_for(settings),
        session_factory(settings.sqlalchemy_url),
        folder,
        actor_id=cataloguer_id(settings),
    )
    assert [(r.status, r.item_id) for r in again] == [
        (r.status.replace("created", "duplicate"), r.item_id) for r in imported
    ]


def test_a_bag_with_a_changed_byte_is_refused_and_nothing_imported(
    api: Api, settings: Settings, described: int, tmp_path: Path
) -> None:
    other = new_item(api, title="Một tài liệu khác")
    folder = tmp_path / "bags"
    export(settings, folder)
    original = folder / f"item-{described}" / "data/originals/ham-rong.png"
    data = bytearray(original.read_bytes())
    data[len(data) // 2] ^= 0x01
    original.write_bytes(bytes(data))
    count = item_count(settings)
    with pytest.raises(bags.BadBag) as refused:
        bags.import_bags(
            settings,
            store_for(settings),
            session_factory(settings.sqlalchemy_url),
            folder,
            actor_id=cataloguer_id(settings),
        )
    assert f"item-{described}" in refused.value.message
    assert "không nhập gì" in refused.value.message
    assert "ham-rong.png" in refused.value.message  # which file, as the validator says
    assert item_count(settings) == count  # not even the good bag of item `other`
    assert (folder / f"item-{other}").exists()


def test_a_bag_from_elsewhere_gets_a_clear_message(settings: Settings, tmp_path: Path) -> None:
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "scan.txt").write_text("không phải của ta", encoding="utf-8")
    bagit.make_bag(str(foreign), {"Source-Organization": "Another Library"}, checksums=["sha256"])
    actor = 1

    def attempt(folder: Path) -> str:
        with pytest.raises(bags.NotOurBag) as refused:
            bags.import_bags(
                settings,
                store_for(settings),
                session_factory(settings.sqlalchemy_url),
                folder,
                actor_id=actor,
            )
        return refused.value.message

    assert "không do Kho số Thanh Hóa tạo" in attempt(foreign)
    assert "Another Library" in attempt(foreign)
    (tmp_path / "nothing").mkdir()
    assert "không có gói BagIt" in attempt(tmp_path / "nothing")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "bagit.txt").write_text("not a bag declaration", encoding="utf-8")
    assert "không phải gói BagIt" in attempt(broken)


def test_safe_names() -> None:
    assert bags.safe_name("../../etc/passwd", "x") == "passwd"
    assert bags.safe_name("C:\\Tài liệu\\bản đồ.tif", "x") == "bản đồ.tif"
    assert bags.safe_name("..", "tep-3") == "tep-3"
    assert bags.safe_name("a\x00b\nc.pdf", "x") == "a_b_c.pdf"
    long = bags.safe_name("đ" * 300 + ".pdf", "x")
    assert long.endswith(".pdf") and len(long.encode()) <= bags.MAX_NAME_BYTES
