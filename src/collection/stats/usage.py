"""Usage events: search, item view, page view, download and widget search, each with the access
point it came from and who read, as a pseudonym (see readers.py and keys.py).

- Not recorded at all: robots and machines (the COUNTER-Robots list, robots.py), staff signed in,
  calls with an API token, and requests that failed (events are recorded after the work is done).
- Visits, the double-click rule and distinct users are not decided here but by the rollup, from the
  stored events (rollup.py), so every figure can be rebuilt from them.
- Events are buffered and written every ``flush_seconds`` by a background thread: a search must
  not wait for a database commit. At most that many seconds of events are lost if the process
  is killed; a normal stop writes them."""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from collection.db import utcnow
from collection.models import RobotList, UsageEvent, UsageKind
from collection.stats import robots
from collection.stats.keys import YearKeys
from collection.stats.periods import local_day

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Visitor:
    """Who is asking, as usage events record it."""

    visitor_id: str  # the daily fallback: a keyed hash of day, IP and browser
    point_id: int | None
    counted: bool  # False for robots and machines, staff and API tokens
    reader: str | None = None  # the cookie id's hash in this reporting year
    reader_new: bool = False


def fallback_id(secret: str, *, ip: str | None, user_agent: str, day: str | None = None) -> str:
    day = day or utcnow().date().isoformat()
    message = f"{day}|{ip or ''}|{user_agent}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def _row(
    occurred_at: datetime,
    kind: UsageKind,
    *,
    point_id: int | None = None,
    reader: str | None = None,
    reader_new: bool = False,
    visitor_id: str = "",
    item_id: int | None = None,
    page_number: int | None = None,
    query: str | None = None,
    hits: int | None = None,
) -> dict[str, Any]:
    """A row of usage_events, as the buffer keeps it until the one insert."""
    return {
        "occurred_at": occurred_at,
        "kind": kind,
        "access_point_id": point_id,
        "reader": reader,
        "reader_new": reader_new,
        "visitor_id": visitor_id,
        "item_id": item_id,
        "page_number": page_number,
        "query": query,
        "hits": hits,
    }


class UsageRecorder:
    def __init__(self, sessions: sessionmaker[Session], *, flush_seconds: float = 2.0) -> None:
        self._sessions = sessions
        self._flush_seconds = flush_seconds
        self._lock = threading.Lock()
        self._writing = threading.Lock()  # a flush waits for one in progress (tests, shutdown)
        self._pending: list[dict[str, Any]] = []  # rows of usage_events, written in one insert
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.keys = YearKeys(sessions)
        self._kept: set[str] = set()  # readers whose kept cookie is recorded today
        self._kept_day = ""

    def start(self) -> None:
        if self._thread is None:
            self._note_robot_list()
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="usage-events", daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.flush()

    def record(
        self,
        kind: UsageKind,
        who: Visitor,
        *,
        item_id: int | None = None,
        page_number: int | None = None,
        query: str | None = None,
        hits: int | None = None,
    ) -> None:
        if not who.counted:
            return
        event = _row(
            utcnow(),
            kind,
            point_id=who.point_id,
            reader=who.reader,
            reader_new=who.reader_new,
            visitor_id=who.visitor_id,
            item_id=item_id,
            page_number=page_number,
            query=(query or None) and query[:500],
            hits=hits,
        )
        with self._lock:
            self._pending.append(event)

    def cookie_kept(self, reader_id: str) -> None:
        """The browser sent its reader cookie back: note it once a day (see UsageKind)."""
        now = utcnow()
        reader = self.keys.reader_hash(reader_id, now)
        if reader is None:
            return
        today = local_day(now).isoformat()
        with self._lock:
            if today != self._kept_day:
                self._kept, self._kept_day = set(), today
            if reader in self._kept:
                return
            self._kept.add(reader)
            self._pending.append(_row(now, UsageKind.COOKIE_KEPT, reader=reader))

    def flush(self) -> int:
        """Write what is pending; returns how many events were written."""
        with self._writing:
            return self._write()

    def _write(self) -> int:
        with self._lock:
            pending, self._pending = self._pending, []
        if not pending:
            return 0
        try:
            with self._sessions() as session, session.begin():
                session.execute(insert(UsageEvent), pending)
        except Exception:  # a stats hiccup must never break the site; try again next time
            log.exception("could not write %d usage events; keeping them", len(pending))
            with self._lock:
                self._pending[:0] = pending
            return 0
        return len(pending)

    def _note_robot_list(self) -> None:
        try:
            with self._sessions() as session, session.begin():
                if session.get(RobotList, robots.VERSION) is None:
                    session.add(RobotList(version=robots.VERSION))
        except IntegrityError:
            pass  # another process noted it first
        except Exception:
            log.exception("could not note the robot list's version")

    def _run(self) -> None:
        while not self._stop.wait(self._flush_seconds):
            self.flush()
