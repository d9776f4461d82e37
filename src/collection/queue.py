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


def make_huey(settings: Settings) -> Huey:
    url = settings.huey_url
    if url.startswith("redis"):
        return RedisHuey("collection", url=url)
    path = Path(url.removeprefix("sqlite:///"))
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("collection", filename=str(path), timeout=30)


huey: Huey = make_huey(get_settings())


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
