"""Usage events: search, item view, page view, download and widget search, each with the access
point it came from, an anonymous visitor id and a visit id.

- The visitor id is a keyed hash of the day, the IP address and the browser: the raw address is
  never stored, and the same person gets a new id the next day.
- A visit ends after 30 minutes without an event; its id is kept per process and, for a visitor
  this process has not seen, taken from the last stored event (another worker may have served them).
- Known bots and tools are not counted.
- Events are buffered and written every ``flush_seconds`` by a background thread: a search must
  not wait for a database commit. At most that many seconds of events are lost if the process
  is killed; a normal stop writes them."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from collection.db import utcnow
from collection.models import UsageEvent, UsageKind

log = logging.getLogger(__name__)

VISIT_IDLE = timedelta(minutes=30)
_BOTS = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|archiver|facebookexternalhit|headless|phantomjs|"
    r"python-|curl/|wget/|go-http-client|java/|libwww|scrapy|httpclient|okhttp",
    re.IGNORECASE,
)


def is_bot(user_agent: str) -> bool:
    return not user_agent.strip() or _BOTS.search(user_agent) is not None


@dataclass(frozen=True)
class Visitor:
    """Who is asking, as usage events record it."""

    visitor_id: str
    point_id: int | None
    bot: bool


def visitor(
    secret: str, *, ip: str | None, user_agent: str, point_id: int | None, day: str | None = None
) -> Visitor:
    day = day or utcnow().date().isoformat()
    message = f"{day}|{ip or ''}|{user_agent}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]
    return Visitor(visitor_id=digest, point_id=point_id, bot=is_bot(user_agent))


class UsageRecorder:
    def __init__(self, sessions: sessionmaker[Session], *, flush_seconds: float = 2.0) -> None:
        self._sessions = sessions
        self._flush_seconds = flush_seconds
        self._lock = threading.Lock()
        self._pending: list[dict[str, Any]] = []  # rows of usage_events, written in one insert
        self._visits: dict[str, tuple[str, datetime]] = {}  # visitor → (visit id, last event)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
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
    ) -> None:
        if who.bot:
            return
        now = utcnow()
        event = {
            "occurred_at": now,
            "kind": kind,
            "access_point_id": who.point_id,
            "visitor_id": who.visitor_id,
            "visit_id": self._visit(who.visitor_id, now),
            "item_id": item_id,
            "page_number": page_number,
            "query": (query or None) and query[:500],
        }
        with self._lock:
            self._pending.append(event)

    def _visit(self, visitor_id: str, now: datetime) -> str:
        with self._lock:
            known = self._visits.get(visitor_id)
        if known is None:
            known = self._stored_visit(visitor_id)
        visit_id = known[0] if known and now - known[1] <= VISIT_IDLE else secrets.token_hex(12)
        with self._lock:
            self._visits[visitor_id] = (visit_id, now)
        return visit_id

    def _stored_visit(self, visitor_id: str) -> tuple[str, datetime] | None:
        with self._sessions() as session:
            row = session.execute(
                select(UsageEvent.visit_id, UsageEvent.occurred_at)
                .where(UsageEvent.visitor_id == visitor_id)
                .order_by(UsageEvent.occurred_at.desc())
                .limit(1)
            ).first()
        return (row[0], row[1]) if row else None

    def flush(self) -> int:
        """Write what is pending; returns how many events were written."""
        with self._lock:
            pending, self._pending = self._pending, []
            cutoff = utcnow() - VISIT_IDLE
            self._visits = {k: v for k, v in self._visits.items() if v[1] >= cutoff}
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

    def _run(self) -> None:
        while not self._stop.wait(self._flush_seconds):
            self.flush()
