"""Help when a search finds nothing, or not what was typed: "did you mean" from the collection's
own vocabulary (the terms index, on a real Meilisearch), the query without its rarest word, and
a way to browse; never a word of what the public may not see."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from collection.config import Settings
from collection.db import session_scope
from collection.queue import huey
from collection.search import meili, vocabulary
from collection.search.routes import SearchOut
from collection.search.tasks import PAGES_DONE_KEY, STALE_KEYS, refresh_terms_if_stale
from tests.helpers import Api, add_pages, new_item, run_search_tasks


def _search(client: TestClient, q: str, **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/search", params={"q": q, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    SearchOut.model_validate(body)
    return body


def _refresh(settings: Settings) -> None:
    with session_scope(settings.sqlalchemy_url) as session:
        vocabulary.refresh(session, meili.ready_engine(settings))


@pytest.fixture
def corpus(api: Api, settings: Settings) -> dict[str, int]:
    items = {
        "drum": new_item(api, title="Trống đồng Đông Sơn", document_type="Hiện vật"),
        "river": new_item(api, title="Sông Mã anh hùng", document_type="Sách"),
        "paper": new_item(api, title="Báo Thanh Hóa số 1523", document_type="Báo"),
        "onsite": new_item(api, title="Gia phả họ Lê", access="onsite"),
        "staff": new_item(api, title="Danh sách Xuyến Chi mật", access="staff"),
        "draft": new_item(api, title="Bản thảo Khuê Văn", status="draft"),
    }
    add_pages(
        settings,
        items["paper"],
        ["Hợp tác xã dệt chiếu cói Nga Sơn vượt kế hoạch.", "Chiếu cói Nga Sơn xuất khẩu."],
    )
    add_pages(settings, items["onsite"], ["Phả hệ Quỳnh Hoa bí truyền.", "Quỳnh Hoa đời thứ ba."])
    run_search_tasks(settings)
    _refresh(settings)
    return items


def test_a_misspelt_query_is_offered_what_the_collection_holds(
    client: TestClient, corpus: dict[str, int]
) -> None:
    body = _search(client, "trong dog")
    assert body["did_you_mean"][0] == "trống đồng"
    followed = _search(client, body["did_you_mean"][0])
    assert followed["hits"][0]["id"] == corpus["drum"]
    assert followed["did_you_mean"] == []  # found as typed: no help
    # Mis-toned: found folded, but nothing holds these marks.
    assert _search(client, "sông Mả")["did_you_mean"] == ["sông Mã"]
    assert _search(client, "Sông Mã")["did_you_mean"] == []
    # Page words count too, and case follows what was typed.
    assert "chiếu cói" in _search(client, "chieu coii")["did_you_mean"]


def test_nothing_found_offers_the_query_without_its_rarest_word(
    client: TestClient, corpus: dict[str, int]
) -> None:
    body = _search(client, "xyzzyq trống đồng")
    assert body["total"] == 0
    assert body["shorter"] == {"query": "trống đồng", "dropped": "xyzzyq"}
    # Without one word is not enough: without the two found least.
    assert _search(client, "xyzzyq trong dog")["shorter"] == {
        "query": "trong",
        "dropped": "xyzzyq dog",
    }
    assert _search(client, "xyzzyq trong dog")["did_you_mean"] == ["trống đồng"]
    lost = _search(client, "xyzzyq")
    assert lost["total"] == 0 and lost["did_you_mean"] == [] and lost["shorter"] is None
    # Under a filter that excludes everything, nothing is offered that would find nothing.
    assert _search(client, "trong dog", type="Báo")["did_you_mean"] == []


def test_suggestions_never_reveal_hidden_material(
    client: TestClient, corpus: dict[str, int], settings: Settings
) -> None:
    with session_scope(settings.sqlalchemy_url) as session:
        terms = {d["term"].lower() for d in vocabulary.term_documents(session)}
    words = {w for t in terms for w in t.split()}
    assert "trống đồng đông sơn" in terms and "gia phả họ lê" in terms  # on-site metadata
    assert not words & {"xuyến", "khuê", "quỳnh"}  # staff, draft, on-site page text
    for typed in ("xuyen chii", "khue vann", "quynh hoaa", "Xuyến Chi", "khuê văn"):
        offered = " ".join(_search(client, typed)["did_you_mean"]).lower()
        assert not {"xuyến", "khuê", "quỳnh"} & set(offered.split()), (typed, offered)


@pytest.mark.parametrize("typed", ['"', '""', '"trong dog', "trong dog" * 30, "’’", "\u0301"])
def test_odd_queries_get_help_or_nothing_never_an_error(
    client: TestClient, corpus: dict[str, int], typed: str
) -> None:
    response = client.get("/api/v1/search", params={"q": typed[:200]})
    assert response.status_code == 200, response.text


def test_the_worker_keeps_the_vocabulary_up_to_date(
    api: Api, client: TestClient, settings: Settings, corpus: dict[str, int]
) -> None:
    new_item(api, title="Chèo Thanh Hóa")
    run_search_tasks(settings)
    assert _search(client, "cheo thanh hoaa")["did_you_mean"] == []  # not in the vocabulary yet
    for key in STALE_KEYS.values():
        huey.put(key, 1.0)  # what search.sync_item leaves behind
    huey.put(PAGES_DONE_KEY, 1_000.0)
    assert refresh_terms_if_stale(settings, now=1_060.0) == ["metadata"]  # page terms: hourly
    assert refresh_terms_if_stale(settings, now=1_120.0) == []
    assert refresh_terms_if_stale(settings, now=4_700.0) == ["pages"]
    assert _search(client, "cheo thanh hoaa")["did_you_mean"] == ["chèo thanh hóa"]


def test_the_zero_result_page_helps(client: TestClient, corpus: dict[str, int]) -> None:
    page = client.get("/tim-kiem", params={"q": "xyzzyq trong dog"}).text
    assert "Không tìm thấy tài liệu nào" in page
    assert "Có phải bạn muốn tìm" in page and "trống đồng" in page
    assert "Tìm không có «xyzzyq dog»" in page
    assert 'href="/duyet"' in page
    partial = client.get("/tim-kiem", params={"q": "trong dog", "type": "Hiện vật"}).text
    assert (
        'href="/tim-kiem?type=Hi%E1%BB%87n+v%E1%BA%ADt&amp;q=tr%E1%BB%91ng+%C4%91%E1%BB%93ng"'
        in partial
    )
