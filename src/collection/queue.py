"""The job queue: Huey, with SQLite storage by default and Redis for many worker machines.

Huey needs one module-level instance for its task decorators, so it is built from the settings at
import time. Job *state* is not kept here but in the database (see models/ingest.py).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey, crontab

from collection.config import Settings, get_settings
from collection.errors import ServiceUnavailable

HEARTBEAT_KEY = "worker-heartbeat"


SEARCH_QUEUE = "collection-search"
# How long the index lane's thread sleeps when its queue is empty (Huey's default backs off to
# 10 s: the first edit after a quiet spell waited that long to be found).
SEARCH_POLL_S = 0.1


def make_huey(settings: Settings, name: str = "collection") -> Huey:
    url = settings.huey_url
    if url.startswith("redis"):
        return RedisHuey(name, url=url)
    path = Path(url.removeprefix("sqlite:///"))
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(path), timeout=30)


huey: Huey = make_huey(get_settings())


def locks_expire(queue: Huey) -> bool:
    """Whether the queue's storage lets a task lock expire (Redis does; Huey's SQLite storage
    does not: its locks are released when the one worker of the machine starts again)."""
    return isinstance(queue, RedisHuey)


# Index updates have a queue of their own, read by a thread of their own in every worker: an
# edit is searchable at once even while OCR jobs hold every ingest thread. One thread, so the
# syncs of one item run in the order they were queued (each reads the database when it runs).
search_huey: Huey = make_huey(get_settings(), SEARCH_QUEUE)


@huey.periodic_task(crontab(minute="*"))
def system_heartbeat() -> None:
    """Written every minute by a running worker, so /healthz can say when one was last seen."""
    huey.put(HEARTBEAT_KEY, time.time())


def queue_status(queue: Huey | None = None) -> dict[str, Any]:
    """Pending jobs and the last worker heartbeat; ServiceUnavailable if the storage is down."""
    queue = queue or huey
    try:
        pending = queue.pending_count()
        beat = queue.get(HEARTBEAT_KEY, peek=True)
    except Exception as exc:  # Huey's storages raise their driver's errors (sqlite3, redis)
        raise ServiceUnavailable(message_en=f"queue storage unreachable: {exc}") from exc
    return {
        "pending": pending,
        "worker_seen_seconds_ago": None if beat is None else round(time.time() - float(beat)),
    }
