"""Small helpers shared by tests: staff accounts and logged-in clients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from fastapi.testclient import TestClient

from collection.accounts import service
from collection.config import Settings
from collection.db import session_scope
from collection.models import Role

PASSWORD = "mật-khẩu-đủ-dài-123"


def make_user(
    settings: Settings,
    email: str,
    role: Role,
    password: str = PASSWORD,
    *,
    point_id: int | None = None,
) -> None:
    with session_scope(settings.sqlalchemy_url) as session:
        service.create_user(
            session=session, email=email, role=role, password=password, point_id=point_id
        )


def make_token(settings: Settings, email: str) -> str:
    with session_scope(settings.sqlalchemy_url) as session:
        user = service.get_user_by_email(session=session, email=email)
        token, _ = service.create_api_token(session=session, user=user)
    return token


def login(client: TestClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    """Log in through the API; returns the CSRF header to send with changes."""
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"X-CSRF-Token": client.cookies["kho_csrf"]}


Api = Callable[..., httpx.Response]


def new_item(api: Api, **fields: Any) -> int:
    body = {
        "title": "Địa chí Thanh Hóa",
        "creator": "Nhiều tác giả",
        "date": "2000",
        "status": "published",
        **fields,
    }
    response = api("POST", "/api/v1/items", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def upload(api: Api, item_id: int, name: str, data: bytes) -> httpx.Response:
    return api("POST", f"/api/v1/items/{item_id}/files", files={"file": (name, data)})


def run_search_tasks(settings: Settings) -> list[int]:
    """Do what a worker does with the queued search tasks (re-index items), with this test's
    settings, and wait until Meilisearch has applied them. Other queued tasks are dropped: tests
    run ingest jobs themselves. Returns the item ids re-indexed."""
    from collection.queue import huey, search_huey
    from collection.search import meili
    from collection.search.sync import sync_item

    synced = []
    while (task := search_huey.dequeue()) is not None:
        if task.name == "search.sync_item":
            sync_item(*task.args, settings=settings)
            synced.append(int(task.args[0]))
    while huey.dequeue() is not None:
        pass
    meili.ready_engine(settings).wait_for_idle()
    return synced


def add_pages(settings: Settings, item_id: int, texts: list[str]) -> None:
    """Give an item pages of text as the ingest pipeline would have (no file): for search tests
    that need many pages fast. Queues the item's re-indexing like any change."""
    from collection.models import Page, TextSource
    from collection.search.sync import schedule_sync

    with session_scope(settings.sqlalchemy_url) as session:
        for number, text in enumerate(texts, start=1):
            session.add(
                Page(item_id=item_id, number=number, text=text, text_source=TextSource.EMBEDDED)
            )
        schedule_sync(session, item_id)
