"""The Meilisearch adapter: index settings from search/, narrow keys, rebuilding from the DB."""

from __future__ import annotations

import json

import httpx
import pytest

from collection.config import PROJECT_ROOT, Settings
from collection.db import session_scope
from collection.models import Access, Item, ItemStatus, Page, TextSource
from collection.search import meili
from collection.search.service import rebuild_index


def test_index_settings_are_applied_as_in_the_search_folder(settings: Settings) -> None:
    engine = meili.engine_for(settings)
    engine.ensure_indexes(wait=True)
    for kind in ("items", "pages"):
        wanted = json.loads((PROJECT_ROOT / "search" / f"{kind}.json").read_text(encoding="utf-8"))
        applied = engine.current_settings(kind)
        assert applied["searchableAttributes"] == wanted["searchableAttributes"]
        assert set(applied["filterableAttributes"]) == set(wanted["filterableAttributes"])
        assert set(applied["sortableAttributes"]) == set(wanted["sortableAttributes"])
        assert applied["rankingRules"] == wanted["rankingRules"]
        # No Vietnamese syllable gets a typo match (thanh ≠ than), and no stop words.
        assert applied["typoTolerance"]["minWordSizeForTypos"]["oneTypo"] >= 8
        assert applied["stopWords"] == []
        assert "thành phố" in applied["synonyms"]["tp"]
        assert "tp" in applied["synonyms"]["thành phố"]
    # Idempotent: a second start changes nothing and does not fail.
    engine.ensure_indexes(wait=True)


def test_app_keys_are_narrow(settings: Settings) -> None:
    keys = meili.provision_keys(
        settings.meili_endpoint_url, settings.meili_key(), settings.meili_index_prefix
    )
    assert settings.meili_key() not in (keys.indexer, keys.searcher)
    # The same keys come back on the next start (derived from fixed uids).
    assert keys == meili.provision_keys(
        settings.meili_endpoint_url, settings.meili_key(), settings.meili_index_prefix
    )
    meili.engine_for(settings).ensure_indexes()
    base = settings.meili_endpoint_url
    items = settings.index_names["items"]

    def call(method: str, path: str, key: str, body: object = None) -> int:
        response = httpx.request(
            method, base + path, headers={"Authorization": f"Bearer {key}"}, json=body
        )
        return response.status_code

    # The search key may search and nothing else.
    assert call("POST", f"/indexes/{items}/search", keys.searcher, {"q": "x"}) == 200
    assert call("POST", f"/indexes/{items}/documents", keys.searcher, [{"id": "1"}]) == 403
    assert call("GET", "/keys", keys.searcher) == 403
    # The indexer key may write our indexes, but not read keys or touch other indexes.
    assert call("POST", f"/indexes/{items}/documents", keys.indexer, [{"id": "1"}]) == 202
    assert call("GET", "/keys", keys.indexer) == 403
    assert call("POST", "/indexes/someone_else/documents", keys.indexer, [{"id": "1"}]) == 403


def _add_item(settings: Settings, title: str, pages: list[str], **fields: object) -> int:
    with session_scope(settings.sqlalchemy_url) as session:
        item = Item(title=title, language=["vi"], **fields)
        item.pages = [
            Page(number=n, text=text, text_source=TextSource.OCR)
            for n, text in enumerate(pages, start=1)
        ]
        session.add(item)
        session.flush()
        return item.id


def test_reindex_rebuilds_both_indexes_from_the_database(settings: Settings) -> None:
    engine = meili.engine_for(settings)
    with session_scope(settings.sqlalchemy_url) as session:
        assert rebuild_index(session=session, engine=engine) == {"items": 0, "pages": 0, "terms": 0}
    assert engine.document_count("items") == 0

    first = _add_item(
        settings,
        "Địa chí Thanh Hóa",
        ["Thanh Hóa là tỉnh cực bắc Trung Bộ.", "", "Sông Mã chảy qua Thanh Hóa."],
        status=ItemStatus.PUBLISHED,
        access=Access.PUBLIC,
        year_start=2000,
    )
    _add_item(settings, "Bản nháp", [], status=ItemStatus.DRAFT)
    # A stale document that the database does not have must vanish on reindex.
    engine.upsert("items", [{"id": "999999", "title": "stale"}], wait=True)

    with session_scope(settings.sqlalchemy_url) as session:
        counts = rebuild_index(session=session, engine=engine)
    assert counts["items"] == 2 and counts["pages"] == 2  # the blank page has no text to index
    found = {hit["term"] for hit in engine.raw_search("terms", "", limit=100)}
    assert {"Địa chí Thanh Hóa", "sông mã", "thanh hóa"} <= found  # title, page words
    assert "Bản nháp" not in found and len(found) == counts["terms"]  # never the draft
    assert engine.document_count("items") == 2
    assert engine.document_count("pages") == 2
    # The swapped-in index keeps the settings from search/.
    assert engine.current_settings("pages")["searchableAttributes"] == [
        "text",
        "text_t",
    ]  # and its Telex twin

    reader = httpx.post(
        f"{settings.meili_endpoint_url}/indexes/{settings.index_names['pages']}/search",
        headers={"Authorization": f"Bearer {settings.meili_key()}"},
        json={"q": "song ma", "filter": f"item_id = {first}"},
    ).json()
    assert [hit["number"] for hit in reader["hits"]] == [3]
    assert reader["hits"][0]["text"] == "Sông Mã chảy qua Thanh Hóa."  # NFC, diacritics kept
    assert reader["hits"][0]["decade"] == 2000


def test_search_down_is_our_error(settings: Settings) -> None:
    from collection.errors import SearchUnavailable
    from collection.stack import free_port

    with pytest.raises(SearchUnavailable):
        meili.ping(f"http://127.0.0.1:{free_port()}")
