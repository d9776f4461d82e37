"""Vietnamese search through the public API, against a real Meilisearch: every way of typing a
query, ranking of exact diacritics, snippets, page counts, facets, access rules, and the index
following every change to an item."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from fastapi.testclient import TestClient

from collection.config import Settings
from collection.search.routes import ItemSearchOut, SearchOut, SuggestionOut
from tests.helpers import Api, add_pages, new_item, run_search_tasks


def _search(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/search", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _titles(client: TestClient, q: str, **params: Any) -> list[str]:
    return [hit["title"] for hit in _search(client, q=q, **params)["hits"]]


@pytest.fixture
def corpus(api: Api, settings: Settings) -> dict[str, int]:
    """A few items that differ only in diacritics, with pages, plus hidden ones."""
    items = {
        "chemistry": new_item(
            api,
            title="Hóa học hữu cơ",
            subject=["Giáo dục"],
            document_type="Sách",
            place="Thành phố Thanh Hóa",
            date="1998",
        ),
        "peace": new_item(
            api,
            title="Hòa bình cho xứ Thanh",
            document_type="Sách",
            place="huyện Hà Trung",
            date="1975",
        ),
        "flowers": new_item(
            api, title="Hoa cỏ quê hương", document_type="Ảnh", place="huyện Nga Sơn", date="2005"
        ),
        "newspaper": new_item(
            api, title="Báo Thanh Hóa số 1523", document_type="Báo", place="Thành phố Thanh Hóa"
        ),
        "coal": new_item(api, title="Than đá ở miền núi", document_type="Sách", date="1965"),
        "song": new_item(api, title="Thanh âm dân ca", document_type="Sách", date="1966"),
        "river": new_item(api, title="Sông Mã anh hùng", document_type="Sách", date="1970"),
        "ghost": new_item(api, title="Chuyện ma làng cổ", document_type="Sách", date="1990"),
        "catalogue_only": new_item(api, title="Địa chí huyện Thiệu Hóa", date="2010"),
        "onsite": new_item(api, title="Gia phả họ Lê ở Thọ Xuân", access="onsite"),
        "draft": new_item(api, title="Hóa học bản nháp bí mật", status="draft"),
        "staff": new_item(api, title="Hóa học nội bộ", access="staff"),
    }
    add_pages(
        settings,
        items["newspaper"],
        [
            "Tin tức trong tỉnh. Giá lúa tăng.",
            "Thể thao: bóng đá thiếu niên.",
            "Phóng sự: nghề dệt chiếu cói ở Nga Sơn <script>alert(1)</script> và cói xuất khẩu.",
            "Quảng cáo chiếu cói Nga Sơn.",
        ],
    )
    add_pages(settings, items["chemistry"], ["Chương 1. Hóa học là khoa học về chất."])
    add_pages(settings, items["onsite"], ["Phả hệ bí truyền của dòng họ Lê Khắc."])
    add_pages(settings, items["draft"], ["Chiếu cói bản nháp."])
    run_search_tasks(settings)
    return items


def test_every_way_of_typing_finds_the_same_item(
    client: TestClient, corpus: dict[str, int]
) -> None:
    target = "Hóa học hữu cơ"
    for typed in [
        "hoa hoc huu co",
        "Hóa học hữu cơ",
        "Hoá học hữu cơ",  # old tone placement
        unicodedata.normalize("NFD", "Hóa học hữu cơ"),
        "hoas hocj hwux cow",  # Telex with the keyboard off
        "hoas hocj huwux cow",
        "ho1a ho5c hu74u co7",  # VNI
    ]:
        assert _titles(client, typed)[0] == target, typed


def test_exact_diacritics_rank_first(client: TestClient, corpus: dict[str, int]) -> None:
    assert _titles(client, "hóa")[0] == "Hóa học hữu cơ"
    assert _titles(client, "hòa")[0] == "Hòa bình cho xứ Thanh"
    assert _titles(client, "hoa cỏ")[0] == "Hoa cỏ quê hương"
    assert _titles(client, "than đá")[0] == "Than đá ở miền núi"
    assert "Thanh âm dân ca" not in _titles(client, "than đá")  # no typo from than to thanh
    assert _titles(client, "sông Mã")[0] == "Sông Mã anh hùng"
    assert _titles(client, "ma")[0] in {"Chuyện ma làng cổ", "Sông Mã anh hùng"}
    unaccented = set(_titles(client, "hoa"))  # without diacritics every variant is found
    assert {"Hóa học hữu cơ", "Hòa bình cho xứ Thanh", "Hoa cỏ quê hương"} <= unaccented


def test_full_text_hits_show_the_best_page_marked_and_counted(
    client: TestClient, corpus: dict[str, int]
) -> None:
    result = _search(client, q="chieu coi")
    hit = result["hits"][0]
    assert hit["id"] == corpus["newspaper"] and hit["title"] == "Báo Thanh Hóa số 1523"
    assert hit["matching_pages"] == 2 and hit["best_page"] in (3, 4)
    assert "<mark>chiếu</mark> <mark>cói</mark>" in hit["snippet"]  # original diacritics
    assert "<script>" not in hit["snippet"]
    if hit["best_page"] == 3:
        assert "&lt;script&gt;" in hit["snippet"]
    inside = client.get(f"/api/v1/items/{corpus['newspaper']}/search", params={"q": "chiếu cói"})
    assert inside.status_code == 200
    assert sorted(h["number"] for h in inside.json()["hits"]) == [3, 4]
    assert inside.json()["total"] == 2
    # The answers are exactly what the OpenAPI models document.
    assert SearchOut.model_validate(result).model_dump() == result
    assert ItemSearchOut.model_validate(inside.json()).model_dump() == inside.json()


def test_hidden_material_never_reaches_the_public(
    client: TestClient, corpus: dict[str, int]
) -> None:
    titles = _titles(client, "hóa học", per_page=100)
    assert "Hóa học bản nháp bí mật" not in titles and "Hóa học nội bộ" not in titles
    assert _search(client, q="chieu coi ban nhap")["hits"][0]["id"] != corpus["draft"]
    # On-site material: its record is public, its text is not (outside an access point).
    assert _titles(client, "gia phả Thọ Xuân")[0] == "Gia phả họ Lê ở Thọ Xuân"
    for hit in _search(client, q="phả hệ bí truyền")["hits"]:  # its title has "phả"
        assert hit["best_page"] is None and "truyền" not in hit["snippet"]
    assert (
        client.get(f"/api/v1/items/{corpus['draft']}/search", params={"q": "chiếu"}).json()["hits"]
        == []
    )


def test_staff_search_sees_everything_the_public_does_not(
    api: Api, client: TestClient, corpus: dict[str, int]
) -> None:
    assert client.get("/api/v1/staff/search", params={"q": "hóa học"}).status_code == 401
    response = api("GET", "/api/v1/staff/search", params={"q": "hóa học", "per_page": 100})
    assert response.status_code == 200, response.text
    hits = {hit["title"]: hit for hit in response.json()["hits"]}
    assert hits["Hóa học bản nháp bí mật"]["status"] == "draft"
    assert hits["Hóa học nội bộ"]["access"] == "staff"
    pages = api("GET", "/api/v1/staff/search", params={"q": "phả hệ bí truyền"}).json()
    assert pages["hits"][0]["id"] == corpus["onsite"] and pages["hits"][0]["best_page"] == 1


def test_search_works_before_any_page_is_indexed(api: Api, settings: Settings) -> None:
    """A new library catalogues records before it uploads files (meilisearch#5921)."""
    item = new_item(api, title="Địa chí huyện Nga Sơn")
    run_search_tasks(settings)
    response = api("GET", "/api/v1/search", params={"q": "Nga Sơn"})
    assert response.status_code == 200, response.text
    assert [hit["id"] for hit in response.json()["hits"]] == [item]


def test_long_forms_find_their_abbreviation_and_back(api: Api, settings: Settings) -> None:
    short = new_item(api, title="Nghị quyết của HĐND tỉnh về du lịch biển")
    long = new_item(api, title="Báo cáo của Ủy ban nhân dân huyện Nga Sơn")
    run_search_tasks(settings)
    expected_for = {"hội đồng nhân dân tỉnh du lịch": short, "hoi dong nhan dan du lich": short}
    expected_for |= {"UBND huyện Nga Sơn": long, "uy ban nhan dan nga son": long}
    for q, expected in expected_for.items():
        response = api("GET", "/api/v1/search", params={"q": q})
        assert response.status_code == 200, response.text
        assert response.json()["hits"][0]["id"] == expected, q
    marked = api("GET", "/api/v1/search", params={"q": "hội đồng nhân dân"}).json()["hits"][0]
    assert "<mark>HĐND</mark>" in marked["title_html"]


def test_catalogue_records_without_files_are_found(
    client: TestClient, corpus: dict[str, int]
) -> None:
    hit = _search(client, q="dia chi thieu hoa")["hits"][0]
    assert hit["id"] == corpus["catalogue_only"]
    assert hit["matching_pages"] == 0 and hit["best_page"] is None
    assert (
        hit["title_html"]
        == "<mark>Địa</mark> <mark>chí</mark> huyện <mark>Thiệu</mark> <mark>Hóa</mark>"
    )


def test_facets_filters_and_sorting(client: TestClient, corpus: dict[str, int]) -> None:
    result = _search(client, q="")
    types = {f["value"]: f["count"] for f in result["facets"]["document_type"]}
    assert types["Sách"] == 6 and types["Báo"] == 1 and types["Ảnh"] == 1
    assert result["total"] == 10  # public and on-site, published: not the draft or staff item
    books = _search(client, q="", type="Sách", decade=1960)
    assert {h["title"] for h in books["hits"]} == {"Than đá ở miền núi", "Thanh âm dân ca"}
    two_places = _search(client, q="", place=["Nga Sơn", "Hà Trung"])
    assert {h["title"] for h in two_places["hits"]} == {"Hoa cỏ quê hương", "Hòa bình cho xứ Thanh"}
    by_title = [h["title"] for h in _search(client, q="", sort="title", per_page=100)["hits"]]
    assert by_title == [
        "Báo Thanh Hóa số 1523",
        "Chuyện ma làng cổ",
        "Địa chí huyện Thiệu Hóa",  # đ after d, not after z
        "Gia phả họ Lê ở Thọ Xuân",
        "Hòa bình cho xứ Thanh",  # letters first (b < c), tones only break ties
        "Hoa cỏ quê hương",
        "Hóa học hữu cơ",
        "Sông Mã anh hùng",
        "Than đá ở miền núi",
        "Thanh âm dân ca",
    ]
    oldest = _titles(client, "", sort="oldest")
    assert oldest[:2] == ["Than đá ở miền núi", "Thanh âm dân ca"]
    # The most frequent values of each facet, as many as asked for (20 unless told).
    two = _search(client, q="", facet_values=2)["facets"]
    assert [f["value"] for f in two["document_type"]] == ["Sách", "Ảnh"]  # 6, then ties by name
    assert all(len(values) <= 2 for values in two.values())
    for wrong in (0, 101, "nhiều"):
        refused = client.get("/api/v1/search", params={"q": "", "facet_values": wrong})
        assert refused.status_code == 422, refused.text
    paged = _search(client, q="", sort="title", per_page=3, page=2)
    assert [h["title"] for h in paged["hits"]] == by_title[3:6]


def test_quoted_phrases_match_the_sequence(client: TestClient, corpus: dict[str, int]) -> None:
    """A phrase matches its words together and in order: folded when typed without diacritics,
    exactly when typed with them; mixed with plain words, with filters, and inside one item."""
    assert _titles(client, '"song ma"') == ["Sông Mã anh hùng"]
    assert _titles(client, '"ma song"') == []  # the same words the other way round
    assert _titles(client, '"Sông Mã"') == ["Sông Mã anh hùng"]
    assert _titles(client, '"sông mà"') == []  # typed with other marks: exact, so not found
    assert _titles(client, '"hoa co" quê') == ["Hoa cỏ quê hương"]
    assert _titles(client, '"chiếu cói" Nga Sơn')[0] == "Báo Thanh Hóa số 1523"
    assert _titles(client, '"than đá"', type="Sách") == ["Than đá ở miền núi"]
    assert _titles(client, '"than đá"', type="Báo") == []
    marked = _search(client, q='"chiếu cói"')["hits"][0]["snippet"]
    assert "<mark>chiếu</mark> <mark>cói</mark>" in marked
    inside = client.get(
        f"/api/v1/items/{corpus['newspaper']}/search", params={"q": '"chiếu cói" xuất khẩu'}
    )
    assert [h["number"] for h in inside.json()["hits"]] == [3]


@pytest.mark.parametrize(
    "typed",
    [
        '"sông Mã',  # unbalanced: read as plain words
        'sông Mã"',
        '"',
        '""',
        '" "',
        "“Sông Mã”",  # typographic quotes
        " ".join(f'"Mã {n}"' for n in range(20)),  # 20 phrases (past MAX_PHRASES: plain words)
        '"' + " ".join(["Sông Mã anh hùng"] * 10) + '"',  # longer than any title
        '"\\" OR "',
    ],
)
def test_odd_quotes_give_a_result_never_an_error(
    client: TestClient, corpus: dict[str, int], typed: str
) -> None:
    body = _search(client, q=typed)
    assert isinstance(body["hits"], list)
    if typed in ('"sông Mã', 'sông Mã"', "“Sông Mã”"):
        assert body["hits"][0]["title"] == "Sông Mã anh hùng"
    assert client.get("/api/v1/suggest", params={"q": typed}).status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        {"per_page": 101},
        {"page": 0},
        {"sort": "ngẫu nhiên"},
        {"language": "tiếng Việt"},
        {"decade": "nineteen-sixties"},
        {"q": "x" * 201},
        {"page": 60, "per_page": 20},  # beyond the 1,000 results one can page through
    ],
)
def test_bad_parameters_are_refused_clearly(
    client: TestClient, settings: Settings, params: dict[str, Any]
) -> None:
    response = client.get("/api/v1/search", params=params)
    assert response.status_code == 422, params
    assert response.json()["message"]


def test_a_filter_value_cannot_inject_filter_syntax(
    client: TestClient, corpus: dict[str, int]
) -> None:
    # Not a place: refused with a message, and nothing else is searched.
    response = client.get("/api/v1/search", params={"place": 'Nga Sơn" OR status = "draft'})
    assert response.status_code == 422 and "Không có địa danh" in response.json()["message"]


def test_suggestions_complete_titles(client: TestClient, corpus: dict[str, int]) -> None:
    suggestions = client.get("/api/v1/suggest", params={"q": "song m"}).json()
    assert suggestions[0]["title"] == "Sông Mã anh hùng"
    assert [SuggestionOut.model_validate(s).model_dump() for s in suggestions] == suggestions
    assert client.get("/api/v1/suggest", params={"q": ""}).json() == []


def test_the_index_follows_every_change(
    api: Api, client: TestClient, settings: Settings, corpus: dict[str, int]
) -> None:
    item_id = corpus["coal"]
    item = api("GET", f"/api/v1/items/{item_id}").json()
    # Edit: the new title is found, the old one is not.
    edited = {**item, "title": "Than đá Quan Hóa", "creator": ["Sở Công nghiệp"]}
    saved = api("PUT", f"/api/v1/items/{item_id}", json=edited)
    assert saved.status_code == 200, saved.text
    assert item_id in run_search_tasks(settings)
    assert _titles(client, "than đá")[0] == "Than đá Quan Hóa"
    # A second editor working from the old version is told, and nothing is overwritten.
    stale = api("PUT", f"/api/v1/items/{item_id}", json={**item, "title": "Bản cũ"})
    assert stale.status_code == 409 and "người khác" in stale.json()["message"]
    # Withdraw: gone for the public.
    current = api("GET", f"/api/v1/items/{item_id}").json()
    api("PUT", f"/api/v1/items/{item_id}", json={**current, "status": "withdrawn"})
    run_search_tasks(settings)
    assert "Than đá Quan Hóa" not in _titles(client, "than da")
    # An OCR correction is searchable by the corrected word, and the wrong word is gone.
    newspaper = corpus["newspaper"]
    fixed = api(
        "PUT",
        f"/api/v1/items/{newspaper}/pages/2/text",
        json={"text": "Thể thao: bóng chuyền thiếu niên."},
    )
    assert fixed.status_code == 200 and fixed.json()["corrected"] is True
    run_search_tasks(settings)
    assert _search(client, q="bóng chuyền")["hits"][0]["best_page"] == 2
    for hit in _search(client, q="bóng đá")["hits"]:  # found by "bóng" alone, if at all
        assert "đá" not in hit["snippet"]
    # Delete: gone, pages too.
    assert api("DELETE", f"/api/v1/items/{newspaper}").status_code == 204
    run_search_tasks(settings)
    assert newspaper not in [h["id"] for h in _search(client, q="chiếu cói")["hits"]]
    assert api("GET", f"/api/v1/items/{newspaper}").status_code == 404
