"""Health of the backing services, each checked on its own with a short timeout."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from collection import migrate
from collection.config import Settings
from collection.errors import CollectionError
from collection.queue import queue_status
from collection.search import meili
from collection.storage import store_for


def check_database(sessions: sessionmaker[Session], settings: Settings) -> dict[str, Any]:
    with sessions() as session:
        session.execute(text("SELECT 1"))
    return {"migrated": migrate.is_current(settings.sqlalchemy_url)}


def check_storage(settings: Settings) -> dict[str, Any]:
    store_for(settings).ping()
    return {"bucket": settings.s3_bucket}


def check_search(settings: Settings) -> dict[str, Any]:
    meili.ping(settings.meili_endpoint_url)
    return {}


def check_queue(settings: Settings) -> dict[str, Any]:
    return queue_status()


def report(sessions: sessionmaker[Session], settings: Settings) -> tuple[bool, dict[str, Any]]:
    """Check every service at once; returns (all healthy, per-service report)."""
    checks: dict[str, Callable[[], dict[str, Any]]] = {
        "database": lambda: check_database(sessions, settings),
        "storage": lambda: check_storage(settings),
        "search": lambda: check_search(settings),
        "queue": lambda: check_queue(settings),
    }
    with ThreadPoolExecutor(max_workers=len(checks)) as pool:
        futures = {name: pool.submit(_timed, check) for name, check in checks.items()}
        results = {name: future.result() for name, future in futures.items()}
    healthy = all(r["status"] == "ok" for r in results.values())
    return healthy, results


def _timed(check: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        details = check()
        result: dict[str, Any] = {"status": "ok", **details}
    except CollectionError as exc:
        result = {"status": "down", "error": exc.message_en or exc.message}
    except Exception as exc:  # a driver error we did not foresee is still "down", not a 500
        result = {"status": "down", "error": f"{type(exc).__name__}: {exc}"}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result
