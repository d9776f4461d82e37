"""The in-process cache of search answers (search/cache.py), against a real Meilisearch: a
repeated search is answered without Meilisearch, never across scopes, an edit synced in this
process shows at once, and every search is still counted. Requests to Meilisearch are counted
through ``engine.on_search``; nothing here measures time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from collection.app import create_app
from collection.config import Settings
from collection.db import session_scope
from collection.models import PointKind, PointLevel, UsageEvent, UsageKind
from collection.points.service import create_point
from collection.search import meili
from collection.search.cache import AnswerCache
from tests.helpers import Api, add_pages, new_item, run_search_tasks

BROWSER = {"User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/109.0 Safari/537.36"}
POINT_IP = "113.160.12.34"
OUTSIDE_IP = "203.0.113.9"
ORIGIN = "https://thuvien-thoxuan.vn"


class MeiliRequests:
    """How many requests our service sent Meilisearch (searches, completions, suggestions)."""

    def __init__(self, settings: Settings) -> None:
        self.engine = meili.ready_engine(settings)
        self.count = 0

    def __call__(self, path: str, headers: dict[str, str], body: bytes) -> None:
        self.count += 1

    def __enter__(self) -> MeiliRequests:
        self.engine.on_search = self
        return self

    def __exit__(self, *exc: object) -> None:
        self.engine.on_search = None


@pytest.fixture
def catalogue(settings: Settings, api: Api) -> dict[str, Any]:
    with session_scope(settings.sqlalchemy_url) as session:
        point = create_point(
            session=session,
            name="Thư viện huyện Thọ Xuân",
            kind=PointKind.TVCC,
            level=PointLevel.DISTRICT,
            district="Thọ Xuân",
            ip_ranges=["113.160.12.0/24"],
            allowed_origins=[ORIGIN],
        )
        ids: dict[str, Any] = {"point": point.id, "widget_key": point.widget_key}
    ids["public"] = new_item(api, title="Gia phả họ Trịnh ở Vĩnh Lộc", document_type="Gia phả")
    ids["onsite"] = new_item(
        api, title="Gia phả họ Lê ở Thọ Xuân", document_type="Gia phả", access="onsite"
    )
    add_pages(settings, ids["public"], ["Dòng họ Trịnh dời về Vĩnh Lộc."])
    add_pages(settings, ids["onsite"], ["Phả hệ bí truyền của dòng họ Lê Khắc."])
    run_search_tasks(settings)
    return ids


@pytest.fixture
def outside(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), client=(OUTSIDE_IP, 50000), headers=BROWSER) as c:
        yield c


@pytest.fixture
def at_point(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), client=(POINT_IP, 50000), headers=BROWSER) as c:
        yield c


def _search(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/search", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _events(client: TestClient, settings: Settings, kind: UsageKind) -> list[UsageEvent]:
    client.app.state.usage.flush()  # type: ignore[attr-defined]
    with session_scope(settings.sqlalchemy_url) as session:
        events = list(session.scalars(select(UsageEvent).where(UsageEvent.kind == kind)))
        session.expunge_all()
    return events


def test_the_same_search_twice_asks_meilisearch_once(
    outside: TestClient, settings: Settings, catalogue: dict[str, Any]
) -> None:
    with MeiliRequests(settings) as sent:
        first = _search(outside, q="gia phả", type=["Gia phả"])
        asked = sent.count
        assert asked >= 1
        # The same search, typed with other spaces and filters in another order.
        again = _search(outside, q="  gia   phả ", type=["Gia phả"])
        assert sent.count == asked
        assert again["hits"] == first["hits"] and again["total"] == first["total"]
        # Another page, another sort or other filters are other answers.
        _search(outside, q="gia phả", type=["Gia phả"], page=2)
        _search(outside, q="gia phả", type=["Gia phả"], sort="title")
        _search(outside, q="gia phả")
        assert sent.count >= asked + 3
        # The site's results page and the widget keep their answers too.
        before = sent.count
        for _ in range(2):
            assert outside.get("/tim-kiem", params={"q": "họ Trịnh"}).status_code == 200
            widget = outside.get(
                "/api/v1/widget/search",
                params={"key": catalogue["widget_key"], "q": "họ Trịnh"},
                headers={"Origin": ORIGIN},
            )
            assert widget.status_code == 200, widget.text
        assert 2 <= sent.count - before <= 4  # one search each (and its completion), once


def test_answers_are_not_shared_across_scopes(
    outside: TestClient,
    at_point: TestClient,
    settings: Settings,
    catalogue: dict[str, Any],
) -> None:
    """The text of an on-site item, found at the point, is not served to an outside address
    from the cache (nor the other way round)."""
    inside = _search(at_point, q="phả hệ bí truyền")
    best = {hit["id"]: hit for hit in inside["hits"]}
    assert best[catalogue["onsite"]]["best_page"] == 1
    assert "truyền" in best[catalogue["onsite"]]["snippet"]
    with MeiliRequests(settings) as sent:
        public = _search(outside, q="phả hệ bí truyền")
        assert sent.count >= 1  # asked Meilisearch, not the point's answer
    for hit in public["hits"]:
        assert hit["best_page"] is None and "truyền" not in hit["snippet"]
    # Both answers are now cached, each in its own scope.
    with MeiliRequests(settings) as sent:
        assert _search(at_point, q="phả hệ bí truyền")["hits"] == inside["hits"]
        assert _search(outside, q="phả hệ bí truyền")["hits"] == public["hits"]
        assert sent.count == 0


def test_an_edit_synced_here_is_found_by_the_next_search(
    outside: TestClient, api: Api, settings: Settings, catalogue: dict[str, Any]
) -> None:
    with MeiliRequests(settings) as sent:
        assert _search(outside, q="Vĩnh Lộc")["total"] == 1
        cached = sent.count
        _search(outside, q="Vĩnh Lộc")
        assert sent.count == cached  # cached
    # Created: found at once by the very search that was cached.
    created = new_item(api, title="Địa chí huyện Vĩnh Lộc")
    run_search_tasks(settings)
    found = _search(outside, q="Vĩnh Lộc")
    assert found["total"] == 2 and created in [hit["id"] for hit in found["hits"]]
    # Updated: the new title at once, the old one gone at once.
    item = api("GET", f"/api/v1/items/{created}").json()
    saved = api("PUT", f"/api/v1/items/{created}", json={**item, "title": "Địa chí Hà Trung"})
    assert saved.status_code == 200, saved.text
    run_search_tasks(settings)
    assert [hit["id"] for hit in _search(outside, q="Vĩnh Lộc")["hits"]] == [catalogue["public"]]
    assert [hit["id"] for hit in _search(outside, q="Hà Trung")["hits"]] == [created]


def test_cached_searches_are_still_counted(
    outside: TestClient, settings: Settings, catalogue: dict[str, Any]
) -> None:
    with MeiliRequests(settings) as sent:
        totals = [_search(outside, q="họ Trịnh")["total"] for _ in range(3)]
        for _ in range(2):
            widget = outside.get(
                "/api/v1/widget/search",
                params={"key": catalogue["widget_key"], "q": "họ Lê"},
                headers={"Origin": ORIGIN},
            )
            assert widget.status_code == 200, widget.text
        assert sent.count <= 4  # each answered once by Meilisearch (a search and its completion)
    searches = _events(outside, settings, UsageKind.SEARCH)
    assert [(e.query, e.hits) for e in searches] == [("họ Trịnh", totals[0])] * 3
    widget_searches = _events(outside, settings, UsageKind.WIDGET_SEARCH)
    assert [(e.query, e.access_point_id) for e in widget_searches] == [
        ("họ Lê", catalogue["point"])
    ] * 2


def test_an_answer_is_kept_no_longer_than_its_generation_and_ttl() -> None:
    """The cache alone, with a clock and a generation the test moves."""
    now = [0.0]
    generation = [7]
    written = [7]
    reads = []

    def read_generation() -> int:
        reads.append(generation[0])
        return generation[0]

    cache = AnswerCache(
        entries=2,
        ttl_s=5,
        generation=read_generation,
        written=lambda: written[0],
        clock=lambda: now[0],
    )
    computed: list[str] = []

    def compute(value: str) -> str:
        computed.append(value)
        return value

    assert cache.get("a", lambda: compute("a1")) == "a1"
    assert cache.get("a", lambda: compute("a2")) == "a1"
    # Another process changed the index: seen at the next check.
    generation[0] = 8
    assert cache.get("a", lambda: compute("a3")) == "a1"  # checked less than CHECK_EVERY_S ago
    now[0] = 0.3
    assert cache.get("a", lambda: compute("a4")) == "a4"
    # This process wrote (task 9): re-read at once until Meilisearch has done it.
    written[0] = 9
    assert cache.get("a", lambda: compute("a5")) == "a4"  # generation still 8: not done yet
    generation[0] = 9
    assert cache.get("a", lambda: compute("a6")) == "a6"
    # The time limit, and the size limit (least recently used out).
    now[0] = 5.4
    assert cache.get("a", lambda: compute("a7")) == "a7"
    cache.get("b", lambda: compute("b1"))
    cache.get("c", lambda: compute("c1"))
    assert len(cache) == 2 and cache.get("a", lambda: compute("a8")) == "a8"
    assert computed == ["a1", "a4", "a6", "a7", "b1", "c1", "a8"]
    assert cache.stats()["hits"] == 3
