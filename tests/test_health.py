"""/healthz reports each service, and turns 503 when one is down."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from collection.app import create_app
from collection.config import Settings
from collection.stack import Child, free_port, start_meilisearch
from tests.conftest import meili_binary


def test_healthz_reports_every_service(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200, response.text
    services = response.json()["services"]
    assert set(services) == {"database", "storage", "search", "queue"}
    assert all(s["status"] == "ok" for s in services.values())
    assert services["database"]["migrated"] is True
    assert response.headers["cache-control"] == "no-store"


@pytest.fixture
def own_meili(tmp_path: Path) -> Iterator[tuple[int, str, Path]]:
    """A Meilisearch this test may stop and start again on the same port and data."""
    yield free_port(), secrets.token_urlsafe(24), tmp_path / "meili"


def _start(port: int, key: str, data: Path) -> Child:
    return start_meilisearch(
        binary=meili_binary(), data_dir=data, port=port, master_key=key, log_path=data / "log.txt"
    )


def test_healthz_turns_503_when_meilisearch_stops_and_200_when_back(
    settings: Settings, own_meili: tuple[int, str, Path]
) -> None:
    port, key, data = own_meili
    child = _start(port, key, data)
    try:
        mine = settings.model_copy(
            update={"meili_url": f"http://127.0.0.1:{port}", "meili_master_key": key}
        )
        with TestClient(create_app(mine)) as client:
            assert client.get("/healthz").status_code == 200
            child.stop()
            down = client.get("/healthz")
            assert down.status_code == 503
            body = down.json()
            assert body["status"] == "degraded"
            assert body["services"]["search"]["status"] == "down"
            assert body["services"]["database"]["status"] == "ok"
            assert body["services"]["storage"]["status"] == "ok"
            assert body["services"]["search"]["ms"] < 10_000  # answers, does not hang
            child = _start(port, key, data)
            assert client.get("/healthz").status_code == 200
    finally:
        child.stop()


def test_healthz_503_when_storage_is_unreachable(settings: Settings) -> None:
    broken = settings.model_copy(update={"s3_endpoint": f"http://127.0.0.1:{free_port()}"})
    with TestClient(create_app(broken)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["services"]["storage"]["status"] == "down"


def test_queue_on_redis(redis_url: str, settings: Settings) -> None:
    from collection.queue import HEARTBEAT_KEY, make_huey, queue_status

    queue = make_huey(settings.model_copy(update={"queue_url": redis_url.rsplit("/", 1)[0] + "/7"}))
    queue.flush()  # a database of its own: other tests run workers on the shared server
    status = queue_status(queue)
    assert status["pending"] == 0
    assert status["worker_seen_seconds_ago"] is None
    queue.put(HEARTBEAT_KEY, time.time() - 120)  # what a worker writes, two minutes ago
    assert 119 <= queue_status(queue)["worker_seen_seconds_ago"] <= 180
