"""The gazetteer of Thanh Hóa before and after 1 July 2025: what the packages give, how places are
found and asked about, items placed at several units and found through old and new names, the
browse page and the map, points by commune and old district, staff names and link corrections,
and a package upgrade that renames a unit without losing what is placed there."""

from __future__ import annotations

import dataclasses
import io
import re
import zipfile
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect
from sqlalchemy import select

from collection.config import Settings
from collection.db import session_scope
from collection.errors import InvalidInput
from collection.models import (
    AuditEvent,
    GazetteerSource,
    Item,
    Place,
    PlaceLevel,
    PlaceLink,
    Role,
)
from collection.places import sources
from collection.places.service import gazetteer, recent_gazetteer
from collection.places.sync import ensure_gazetteer
from tests.browsing import LiveApp, needs_chromium, shot
from tests.helpers import PASSWORD, Api, make_user, new_item, run_search_tasks

THIEU_TRUNG_OLD = "cu-15841"  # xã Thiệu Trung, huyện Thiệu Hóa (before 07/2025)
THIEU_TRUNG_NEW = "moi-15835"  # xã Thiệu Trung since 07/2025
THIEU_HOA = "cu-398"  # huyện Thiệu Hóa
HAC_THANH = "moi-14797"  # phường Hạc Thành, made of the old city's wards


def test_the_packages_give_every_unit_with_its_source(settings: Settings) -> None:
    with session_scope(settings.sqlalchemy_url) as session:
        places = list(session.scalars(select(Place)))
        levels = {lv: [p for p in places if p.level == lv] for lv in PlaceLevel}
        new = [p for p in places if p.key.startswith("moi-")]
        old_communes = [p for p in places if p.key.startswith("cu-") and p.level == "commune"]
        assert len(levels[PlaceLevel.PROVINCE]) == 1
        assert len(levels[PlaceLevel.DISTRICT]) == 26
        assert len(old_communes) == 547
        assert len(new) == 166 and {p.kind for p in new} == {"xã", "phường"}
        assert all(p.lat and p.lon for p in new)  # every new commune can be drawn
        versions = {s.package: s.version for s in session.scalars(select(GazetteerSource))}
        assert versions == sources.installed_versions()
        hac_thanh = next(p for p in places if p.key == HAC_THANH)
        assert (hac_thanh.name, hac_thanh.code) == ("Hạc Thành", "14797")
        assert hac_thanh.source.startswith("vietnam-provinces 2025.10.1")
        assert all(p.source for p in places)
        links = list(session.scalars(select(PlaceLink)))
        assert len(links) == 558  # 537 whole communes; 10 split between new ones (21 parts)
        split = [link for link in links if not link.whole]
        assert len(split) == 21 and sum(link.is_default for link in split) == 10
        # Where the packages disagree on a code, the place says so.
        assert any("vietnamadminunits ghi mã" in p.note for p in new)


def test_a_place_is_found_with_or_without_diacritics_and_shows_where_it_lies(
    client: TestClient,
) -> None:
    found = client.get("/api/v1/places", params={"q": "thieu trung"}).json()
    assert [f["key"] for f in found[:2]] == [THIEU_TRUNG_OLD, THIEU_TRUNG_NEW]
    assert found[0]["hierarchy"] == ("xã Thiệu Trung — huyện Thiệu Hóa (cũ) → xã Thiệu Trung (mới)")
    assert found[1]["hierarchy"].startswith("xã Thiệu Trung (mới) ← ")
    assert "xã Thiệu Vận" in found[1]["hierarchy"]
    # A former name finds the unit that carries it.
    assert client.get("/api/v1/places", params={"q": "tinh gia"}).json()[0]["label"] == (
        "thị xã Nghi Sơn (cũ)"
    )
    only_new = client.get("/api/v1/places", params={"q": "hac thanh", "level": "commune"}).json()
    assert only_new[0]["key"] == HAC_THANH
    one = client.get(f"/api/v1/places/{HAC_THANH}").json()
    assert one["label"] == "phường Hạc Thành (mới)" and len(one["came_from"]) >= 10
    assert client.get("/api/v1/places/cu-0").status_code == 404
    assert client.get("/api/v1/places", params={"q": ""}).json() == []


def test_a_name_two_places_share_is_asked_never_guessed(api: Api, settings: Settings) -> None:
    asked = api("POST", "/api/v1/items", json={"title": "Đình làng", "place": "Ba Đình"})
    assert asked.status_code == 422
    message = asked.json()["message"]
    assert "có ở nhiều nơi" in message
    for label in (
        "phường Ba Đình, thành phố Thanh Hóa (cũ)",
        "phường Ba Đình, thị xã Bỉm Sơn (cũ)",
        "xã Ba Đình, huyện Nga Sơn (cũ)",
        "xã Ba Đình (mới)",
    ):
        assert label in message
    # Each way of saying which is understood: the label, the unit it lies in, the era, the key.
    for said, key in [
        ("xã Ba Đình, huyện Nga Sơn (cũ)", "cu-16096"),
        ("Ba Đình, Nga Sơn", "cu-16096"),
        ("xa ba dinh (moi)", "moi-16171"),
        ("cu-14812", "cu-14812"),
    ]:
        made = api("POST", "/api/v1/items", json={"title": "Đình làng", "place": said})
        assert made.status_code == 201, (said, made.text)
        assert made.json()["places"][0]["key"] == key, said
    unknown = api("POST", "/api/v1/items", json={"title": "Phố", "place": "Thieu Trungg"})
    assert unknown.status_code == 422
    assert "Có phải: " in unknown.json()["message"] and "Thiệu Trung" in unknown.json()["message"]
    with session_scope(settings.sqlalchemy_url) as session:  # nothing half-made
        assert session.scalars(select(Item).where(Item.title == "Phố")).all() == []


def test_search_by_a_place_finds_what_lies_in_it_and_what_it_became_or_came_from(
    client: TestClient, api: Api, settings: Settings
) -> None:
    at_old = new_item(api, title="Hương ước làng Trung", place=[THIEU_TRUNG_OLD])
    at_new = new_item(api, title="Báo cáo xã Thiệu Trung 2026", place=[THIEU_TRUNG_NEW])
    at_ward = new_item(api, title="Phố cổ Điện Biên", place=["phường Điện Biên (cũ)"])
    two = new_item(api, title="Hai nơi", place=["xã Thiệu Trung (mới)", "phường Hạc Thành (mới)"])
    elsewhere = new_item(api, title="Lễ hội Nga Sơn", place=["huyện Nga Sơn"])
    run_search_tasks(settings)

    def found(**params: Any) -> set[int]:
        response = client.get("/api/v1/search", params={"q": "", "per_page": 50, **params})
        assert response.status_code == 200, response.text
        return {h["id"] for h in response.json()["hits"]}

    assert found(place=THIEU_HOA) == {at_old, at_new, two}  # its commune, and what that became
    assert found(place=THIEU_TRUNG_NEW) == {at_old, at_new, two}  # what was catalogued before
    assert found(place=THIEU_TRUNG_OLD) == {at_old, at_new, two}  # and what it became
    assert found(place=HAC_THANH) == {at_ward, two}
    assert found(place="cu-380") == {at_ward, two}  # the old city: its ward, then Hạc Thành
    assert found(place="38") == {at_old, at_new, at_ward, two, elsewhere}
    assert elsewhere not in found(place="Thiệu Hóa")  # a name: every place so named
    # Typed words find places too: the district's name finds its communes' items.
    text = client.get("/api/v1/search", params={"q": "Thiệu Hóa"}).json()
    assert {at_old, at_new} <= {h["id"] for h in text["hits"]}
    hit = next(h for h in text["hits"] if h["id"] == at_old)
    assert hit["place"] == ["xã Thiệu Trung, huyện Thiệu Hóa (cũ)"]
    facets = {f["value"]: f["label"] for f in text["facets"]["place"]}
    assert facets[THIEU_TRUNG_OLD] == "xã Thiệu Trung, huyện Thiệu Hóa (cũ)"

    # Searches read the gazetteer as it was up to a second ago, but a change made here is seen
    # by the very next search: a village staff add under the commune, and its items' facet.
    village = api(
        "POST",
        "/api/v1/places",
        json={"name": "Trung Thượng", "kind": "làng", "under": THIEU_TRUNG_OLD},
    ).json()
    in_village = new_item(api, title="Đình làng Trung Thượng", place=[village["key"]])
    run_search_tasks(settings)
    renamed = api(
        "PUT",
        f"/api/v1/places/{village['key']}",
        json={"name": "Trung Thượng Đông", "kind": "làng", "under": THIEU_TRUNG_OLD},
    )
    assert renamed.status_code == 200, renamed.text
    text = client.get("/api/v1/search", params={"q": "Đình làng Trung Thượng"}).json()
    assert text["hits"][0]["id"] == in_village
    facets = {f["value"]: f["label"] for f in text["facets"]["place"]}
    assert facets[village["key"]] == "làng Trung Thượng Đông, xã Thiệu Trung, huyện Thiệu Hóa (cũ)"


def test_searches_read_a_recent_gazetteer_that_a_write_here_makes_current(
    client: TestClient, settings: Settings
) -> None:
    with session_scope(settings.sqlalchemy_url) as session:
        before = recent_gazetteer(session)
        assert recent_gazetteer(session) is before  # within the second: not read again
        place = session.scalars(select(Place).where(Place.key == THIEU_TRUNG_OLD)).one()
        place.aliases = [*place.aliases, "Kẻ Trung Xưa"]
    with session_scope(settings.sqlalchemy_url) as session:
        after = recent_gazetteer(session)  # the flush of that change said so
        assert after is not before
        assert "Kẻ Trung Xưa" in after.by_key[THIEU_TRUNG_OLD].aliases


def test_browse_by_place_the_item_page_and_the_map(
    client: TestClient, api: Api, settings: Settings
) -> None:
    item = new_item(api, title="Hương ước làng Trung", place=[THIEU_TRUNG_OLD])
    new_item(api, title="Phố cổ", place=["phường Điện Biên (cũ)"])
    run_search_tasks(settings)

    html = client.get("/duyet/dia-danh").text
    assert "Xã, phường từ 01/07/2025" in html and "Huyện, thị xã, thành phố trước 07/2025" in html
    row = re.search(
        r'<a[^>]*href="/tim-kiem\?place=cu-398"[^>]*>huyện Thiệu Hóa</a> <span class="n">(\d+)',
        html,
    )
    assert row is not None and row[1] == "1"
    new_row = re.search(
        rf'<a href="/tim-kiem\?place={THIEU_TRUNG_NEW}"[^>]*>xã Thiệu Trung</a> <span class="n">(\d+)',
        html,
    )
    assert new_row is not None and new_row[1] == "1"
    assert "2 trong 166 xã, phường có tài liệu." in html  # Thiệu Trung, Hạc Thành; no empty ones
    assert html.index("huyện Thiệu Hóa") > html.index("thành phố Thanh Hóa")  # Vietnamese order

    page = client.get(f"/tai-lieu/{item}").text
    assert "Xã Thiệu Trung, huyện Thiệu Hóa (cũ)" in page
    assert "nay là xã Thiệu Trung (mới)" in page

    drawn = client.get("/ban-do").text
    assert "<svg" in drawn and drawn.count("<circle") >= 166 + 2
    assert "xã Thiệu Trung, huyện Thiệu Hóa (cũ): 1 tài liệu" in drawn
    assert f'href="/tim-kiem?place={THIEU_TRUNG_OLD}"' in drawn


def test_points_carry_their_new_commune_and_old_district(
    client: TestClient, settings: Settings
) -> None:
    from tests.test_staff_api import ADMIN, bearer, caller

    admin = caller(client, bearer(settings, ADMIN, Role.ADMIN))
    body = {"name": "BĐVHX Thiệu Trung", "kind": "bdvhx", "level": "commune"}
    old = admin("POST", "/api/v1/points", json={**body, "commune": "xã Thiệu Trung (cũ)"})
    assert old.status_code == 201, old.text
    assert (old.json()["commune"], old.json()["district"]) == (THIEU_TRUNG_NEW, THIEU_HOA)
    assert old.json()["place_label"] == "xã Thiệu Trung (mới), huyện Thiệu Hóa (cũ)"
    new = admin("POST", "/api/v1/points", json={**body, "commune": THIEU_TRUNG_NEW})
    assert new.json()["district"] == THIEU_HOA  # all it came from lay in one district
    # A ward made from two old districts' land: which one is asked.
    mixed = admin("POST", "/api/v1/points", json={**body, "commune": "phường Bỉm Sơn (mới)"})
    assert mixed.status_code == 422 and "hãy chọn huyện cũ" in mixed.json()["message"]
    chosen = admin(
        "POST",
        "/api/v1/points",
        json={**body, "commune": "phường Bỉm Sơn (mới)", "district": "thị xã Bỉm Sơn"},
    )
    assert chosen.status_code == 201 and chosen.json()["district"] == "cu-381"
    assert admin("GET", "/api/v1/points").status_code == 200
    assert "BĐVHX Thiệu Trung" in client.get("/ban-do").text


def test_staff_add_local_names_and_correct_links_with_history(
    client: TestClient, api: Api, settings: Settings
) -> None:
    village = api(
        "POST",
        "/api/v1/places",
        json={
            "name": "Làng Trung",
            "kind": "làng",
            "under": THIEU_TRUNG_OLD,
            "aliases": ["Kẻ Trung"],
        },
    )
    assert village.status_code == 201, village.text
    key = village.json()["key"]
    assert village.json()["label"] == "làng Làng Trung, xã Thiệu Trung, huyện Thiệu Hóa (cũ)"
    again = api(
        "POST",
        "/api/v1/places",
        json={"name": "làng trung", "kind": "làng", "under": THIEU_TRUNG_OLD},
    )
    assert again.status_code == 409
    placed = new_item(api, title="Gia phả làng Trung", place=["Kẻ Trung"])
    run_search_tasks(settings)
    assert placed in {
        h["id"]
        for h in client.get("/api/v1/search", params={"place": THIEU_TRUNG_NEW}).json()["hits"]
    }
    assert api("DELETE", f"/api/v1/places/{key}").status_code == 409  # an item is placed there
    assert api("DELETE", f"/api/v1/places/{THIEU_HOA}").status_code == 422  # a package unit

    # A later decision puts the old commune in another new one: the link is edited, not lost.
    no_reason = api(
        "PUT", f"/api/v1/places/{THIEU_TRUNG_OLD}/links", json={"new": [HAC_THANH], "note": ""}
    )
    assert no_reason.status_code == 422
    moved = api(
        "PUT",
        f"/api/v1/places/{THIEU_TRUNG_OLD}/links",
        json={"new": ["moi-15772"], "note": "Quyết định điều chỉnh (thử nghiệm)"},
    )
    assert moved.status_code == 200, moved.text
    history = api("GET", f"/api/v1/places/{THIEU_TRUNG_OLD}/links").json()
    assert [h["retired_at"] is None for h in history] == [True, False]
    assert history[1]["new_key"] == THIEU_TRUNG_NEW
    assert history[1]["retired_reason"] == "Quyết định điều chỉnh (thử nghiệm)"
    run_search_tasks(settings)  # the items there were re-indexed
    assert placed not in {
        h["id"]
        for h in client.get("/api/v1/search", params={"place": THIEU_TRUNG_NEW}).json()["hits"]
    }
    assert placed in {
        h["id"] for h in client.get("/api/v1/search", params={"place": "moi-15772"}).json()["hits"]
    }
    with session_scope(settings.sqlalchemy_url) as session:
        actions = set(session.scalars(select(AuditEvent.action)))
    assert {"place.create", "place.links"} <= actions
    # The next start's sync leaves the staff's decision alone.
    with session_scope(settings.sqlalchemy_url) as session:
        ensure_gazetteer(session, data=sources.package_data())
        gaz = gazetteer(session)
        old = gaz.by_key[THIEU_TRUNG_OLD].id
        assert [gaz.places[n].key for n in gaz.successors[old]] == ["moi-15772"]


def test_a_package_upgrade_that_renames_a_unit_keeps_items_placed_there(
    api: Api, settings: Settings
) -> None:
    item = new_item(api, title="Lịch sử xã", place=[THIEU_TRUNG_NEW])
    data = sources.package_data()
    renamed = [
        dataclasses.replace(u, name="Thiệu Trung Mới") if u.key == THIEU_TRUNG_NEW else u
        for u in data.units
        if u.key != "cu-15847"  # and one old commune the new data no longer lists
    ]
    upgraded = dataclasses.replace(
        data,
        units=tuple(renamed),
        links=tuple(link for link in data.links if link.old_key != "cu-15847"),
        versions={**data.versions, "vietnam-provinces": "2099.1.1"},
    )
    with session_scope(settings.sqlalchemy_url) as session:
        report = ensure_gazetteer(session, data=upgraded)
    lines = report.lines()
    assert "Đổi tên: xã Thiệu Trung → xã Thiệu Trung Mới (moi-15835)" in lines
    assert any(line.startswith("Không còn trong gói (vẫn giữ): ") for line in lines)
    assert any(line.startswith("Bỏ liên kết: ") for line in lines)
    with session_scope(settings.sqlalchemy_url) as session:
        place = session.scalar(select(Place).where(Place.key == THIEU_TRUNG_NEW))
        assert place is not None and place.name == "Thiệu Trung Mới"
        assert "Thiệu Trung" in place.aliases  # the former name still finds it
        gone = session.scalar(select(Place).where(Place.key == "cu-15847"))
        assert gone is not None and gone.in_source is False
        recorded = session.get(GazetteerSource, "vietnam-provinces")
        assert recorded is not None and recorded.version == "2099.1.1"
    got = api("GET", f"/api/v1/items/{item}").json()
    assert got["places"] == [{"key": THIEU_TRUNG_NEW, "label": "xã Thiệu Trung Mới (mới)"}]
    assert (
        api(
            "POST", "/api/v1/items", json={"title": "x", "place": "xa thieu trung (moi)"}
        ).status_code
        == 201
    )


def test_free_text_places_from_before_are_linked_and_unknown_ones_kept(
    settings: Settings,
) -> None:
    with session_scope(settings.sqlalchemy_url) as session:
        session.add_all(
            [
                Item(title="Trống đồng", legacy_place="Đông Sơn"),
                Item(title="Biển", legacy_place="Thành phố Sầm Sơn"),
                Item(title="Địa chí", legacy_place="Toàn tỉnh Thanh Hóa"),
                Item(title="Lạ", legacy_place="Châu Ái"),
            ]
        )
    with session_scope(settings.sqlalchemy_url) as session:
        report = ensure_gazetteer(session)
        gaz = gazetteer(session)
        placed = {
            item.title: ([gaz.places[p.place_id].key for p in item.places], item.legacy_place)
            for item in session.scalars(select(Item))
        }
    assert placed == {
        "Trống đồng": (["dp-huyen-dong-son"], ""),
        "Biển": (["cu-382"], ""),
        "Địa chí": (["38"], ""),
        "Lạ": ([], "Châu Ái"),  # nothing lost: kept as written, and reported
    }
    assert any("Châu Ái" in line for line in report.lines())


def test_bulk_import_takes_place_names_and_codes(api: Api) -> None:
    sheet = ("Nhan đề,Địa danh\nMột,moi-14797; huyện Thiệu Hóa\nHai,Ba Đình\nBa,Hà Nội\n").encode()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w"):
        pass
    response = api(
        "POST",
        "/api/v1/imports",
        files={"sheet": ("bang-ke.csv", sheet), "archive": ("tep.zip", archive.getvalue())},
    )
    assert response.status_code == 200, response.text
    rows = response.json()["rows"]
    assert [r["status"] for r in rows] == ["created", "failed", "failed"]
    assert "có ở nhiều nơi" in rows[1]["reason"] and "Có phải" in rows[2]["reason"]


def test_the_gazetteer_resolves_what_staff_type() -> None:
    """The resolver on its own, over the real data (no database)."""
    from collection.places.gazetteer import Gazetteer, PlaceView, era_flags

    data = sources.package_data()
    ids = {u.key: n for n, u in enumerate(data.units, start=1)}
    views = [
        PlaceView(
            id=ids[u.key],
            key=u.key,
            code=u.code,
            name=u.name,
            kind=u.kind,
            level=u.level,
            parent_id=ids[u.parent_key] if u.parent_key else None,
            is_old=era_flags(u.valid_from, u.valid_to)[0],
            is_new=era_flags(u.valid_from, u.valid_to)[1],
            lat=u.lat,
            lon=u.lon,
            aliases=u.aliases,
        )
        for u in data.units
    ]
    gaz = Gazetteer.build(views, [(ids[lk.old_key], ids[lk.new_key]) for lk in data.links])
    assert gaz.resolve("tỉnh Thanh Hoá").key == "38"  # old tone placement
    assert gaz.resolve("TP Thanh Hóa").key == "cu-380"
    assert gaz.resolve("phuong hac thanh").key == HAC_THANH
    assert gaz.resolve("Hạc Thành").key == HAC_THANH
    for label in (gaz.label(pid) for pid in gaz.places):
        assert gaz.label(gaz.resolve(label).id) == label  # every label reads back
    with pytest.raises(InvalidInput, match="ambiguous"):
        gaz.resolve("Quảng Phú")


@needs_chromium
def test_in_a_browser_the_cataloguer_picks_places_as_they_type(
    page: Page, live_app: LiveApp, settings: Settings
) -> None:
    make_user(settings, "bien.muc.2@thuvien.vn", Role.CATALOGUER)
    page.goto(f"{live_app.url}/login")
    page.fill("#email", "bien.muc.2@thuvien.vn")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{live_app.url}/staff")
    page.goto(f"{live_app.url}/staff/tai-lieu/moi")
    page.fill("#f-title", "Hương ước làng Trung")
    page.fill("#f-place", "thieu tr")
    option = page.get_by_role("option", name=re.compile("^xã Thiệu Trung, huyện Thiệu Hóa"))
    expect(option).to_be_visible()
    expect(page.get_by_text("→ xã Thiệu Trung (mới)")).to_be_visible()
    shot(page, "staff-item-place-picker.png")
    option.click()
    page.type("#f-place", "hac th")
    page.get_by_role("option", name=re.compile("^phường Hạc Thành")).click()
    expect(page.locator("#f-place")).to_have_value(
        "xã Thiệu Trung, huyện Thiệu Hóa (cũ); phường Hạc Thành (mới); "
    )
    page.get_by_role("button", name=re.compile("Tạo|Lưu")).first.click()
    page.wait_for_url(re.compile(r"/staff/tai-lieu/\d+"))
    expect(page.locator("#f-place")).to_have_value(
        "xã Thiệu Trung, huyện Thiệu Hóa (cũ); phường Hạc Thành (mới)"
    )


def test_staff_pages_for_the_gazetteer(client: TestClient, settings: Settings) -> None:
    from tests.test_staff_pages import browser_login

    make_user(settings, "bien.muc.3@thuvien.vn", Role.CATALOGUER)
    token = browser_login(client, "bien.muc.3@thuvien.vn")
    listing = client.get("/staff/dia-danh", params={"q": "thieu trung"}).text
    assert f'href="/staff/dia-danh/{THIEU_TRUNG_OLD}"' in listing
    assert "xã Thiệu Trung — huyện Thiệu Hóa (cũ) → xã Thiệu Trung (mới)" in listing
    detail = client.get(f"/staff/dia-danh/{THIEU_TRUNG_OLD}").text
    assert "Đơn vị mới tương ứng và lịch sử" in detail and "vietnamadminunits 1.0.4" in detail

    added = client.post(
        f"/staff/dia-danh/{THIEU_TRUNG_OLD}/them",
        data={
            "new_name": "Bồng Trung",
            "new_kind": "làng",
            "new_aliases": "Kẻ Bồng",
            "csrf_token": token,
        },
    )
    assert added.status_code == 200 and "Đã tạo." in added.text
    assert "làng Bồng Trung, xã Thiệu Trung, huyện Thiệu Hóa (cũ)" in added.text.replace(
        "Làng", "làng"
    )

    no_reason = client.post(
        f"/staff/dia-danh/{THIEU_TRUNG_OLD}/lien-ket",
        data={"new": "xã Thiệu Hóa (mới)", "note": "", "csrf_token": token},
    )
    assert no_reason.status_code == 422 and "Hãy ghi căn cứ" in no_reason.text
    assert 'value="xã Thiệu Hóa (mới)"' in no_reason.text  # what was typed stays
    moved = client.post(
        f"/staff/dia-danh/{THIEU_TRUNG_OLD}/lien-ket",
        data={"new": "xã Thiệu Hóa (mới)", "note": "Nghị quyết điều chỉnh", "csrf_token": token},
    )
    assert moved.status_code == 200 and "liên kết cũ được giữ trong lịch sử" in moved.text
    assert "Bỏ từ" in moved.text and "Nghị quyết điều chỉnh" in moved.text
    forged = client.post(f"/staff/dia-danh/{THIEU_TRUNG_OLD}", data={"aliases": "x", "note": ""})
    assert forged.status_code == 403  # no form token: refused
    log = client.get("/staff/nhat-ky").text
    assert "Sửa đơn vị mới tương ứng" in log and "Thêm địa danh" in log


@needs_chromium
def test_in_a_browser_the_map_and_the_browse_page_lead_to_the_items(
    citizen: Page, live_app: LiveApp, api: Api, settings: Settings
) -> None:
    new_item(api, title="Hương ước làng Trung", place=[THIEU_TRUNG_OLD])
    new_item(api, title="Phố cổ Điện Biên", place=["phường Điện Biên (cũ)"])
    run_search_tasks(settings)
    citizen.goto(f"{live_app.url}/ban-do")
    expect(citizen.locator("svg.map")).to_be_visible()
    shot(citizen, "site-map.png")
    citizen.locator(f'a[href="/tim-kiem?place={THIEU_TRUNG_OLD}"] circle').click()
    expect(citizen.locator(".hit")).to_have_count(1)
    expect(citizen.get_by_text("Hương ước làng Trung")).to_be_visible()
    citizen.goto(f"{live_app.url}/duyet/dia-danh")
    city = citizen.locator(
        "summary", has=citizen.get_by_role("link", name="thành phố Thanh Hóa", exact=True)
    )
    city.locator(".n").click()  # opens the list of its wards and communes
    shot(citizen, "site-browse-places.png")
    citizen.get_by_role("link", name="phường Điện Biên", exact=True).click()
    expect(citizen.get_by_text("Phố cổ Điện Biên")).to_be_visible()
