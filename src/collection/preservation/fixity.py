"""Fixity: read each stored original back from S3 and compare its SHA-256 with the one recorded
at ingest (``StoredFile.sha256``; originals are content-addressed, so one storage key may be
shared by several file rows and items, and is checked once).

A difference is recorded and reported (dashboard, audit log), never "repaired": the object is
left as found for a person to restore it from a copy. An object gone from S3 is ``missing``.
S3 being unreachable records nothing (that is not a fact about the object).

Each object is read as a stream into one reused 1 MiB buffer and hashed as it comes: memory
stays bounded whatever the size, and nothing is allocated per chunk (on two busy cores a reader
thread feeding the hash measured slower than this; see bench/fixity.py).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from collection.audit import service as audit
from collection.config import Settings
from collection.db import session_scope, utcnow
from collection.errors import ObjectNotFound
from collection.models import FixityCheck, FixityOutcome, Item, StoredFile
from collection.storage import ObjectStore

CHUNK = 1024 * 1024  # read and hashed at a time
TICK_MINUTES = 10  # how often the worker's fixity task runs (see preservation/tasks.py)
SAVE_EVERY_S = 1.0
STREAMS = 2  # objects read and hashed at once (see run)
# Each tick checks twice its even share of the originals, so a backlog (a repository that had
# no checks before, a worker that was down) is caught up within half a period.
CATCH_UP = 2


@dataclass(frozen=True)
class Original:
    storage_key: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Found:
    """What one check found."""

    storage_key: str
    outcome: FixityOutcome
    expected_sha256: str
    found_sha256: str | None
    found_size: int | None


@dataclass
class RunSummary:
    checked: int = 0
    bytes_read: int = 0
    seconds: float = 0.0
    outcomes: dict[str, int] = field(default_factory=lambda: {o.value: 0 for o in FixityOutcome})
    failures: list[Found] = field(default_factory=list)

    @property
    def mb_per_s(self) -> float:
        return self.bytes_read / 1024 / 1024 / self.seconds if self.seconds else 0.0


def sha256_of(store: ObjectStore, key: str) -> tuple[str, int]:
    """SHA-256 and size of an object, streamed through one reused buffer of CHUNK bytes (no
    allocation per chunk, memory bounded whatever the size). ObjectNotFound if there is none."""
    digest, size = hashlib.sha256(), 0
    for view in store.read_into(key, bytearray(CHUNK)):
        digest.update(view)
        size += len(view)
    return digest.hexdigest(), size


def check_object(store: ObjectStore, original: Original) -> Found:
    """Read one original back and say what was found (nothing is recorded here)."""
    try:
        found, size = sha256_of(store, original.storage_key)
    except ObjectNotFound:
        return Found(original.storage_key, FixityOutcome.MISSING, original.sha256, None, None)
    outcome = FixityOutcome.OK if found == original.sha256 else FixityOutcome.MISMATCH
    return Found(original.storage_key, outcome, original.sha256, found, size)


def _originals_query() -> Select[str, str, int, datetime]:
    """One row per stored original: key, the SHA-256 recorded, size, and when it was first
    stored (a key is due ``fixity_days`` after that until it has been checked)."""
    return (
        select(
            StoredFile.storage_key,
            func.min(StoredFile.sha256),
            func.max(StoredFile.size),
            func.min(StoredFile.created_at),
        )
        .where(StoredFile.role == "original")
        .group_by(StoredFile.storage_key)
    )


def originals(session: Session, *, keys: list[str] | None = None) -> list[Original]:
    """Every stored original (or those under ``keys``), one per storage key."""
    query = _originals_query()
    if keys is not None:
        query = query.where(StoredFile.storage_key.in_(keys))
    return [Original(k, sha, size) for k, sha, size, _ in session.execute(query)]


def _due_query(*, now: datetime, days: int) -> Select[str, str, int]:
    stored = _originals_query().subquery()
    last = func.coalesce(FixityCheck.checked_at, stored.c[3])
    return (
        select(stored.c[0], stored.c[1], stored.c[2])
        .outerjoin(FixityCheck, FixityCheck.storage_key == stored.c[0])
        .where(last <= now - timedelta(days=days))
        .order_by(last, stored.c[0])
    )


def due(session: Session, *, now: datetime, days: int, limit: int | None = None) -> list[Original]:
    """Originals not checked in the last ``days`` (never-checked ones count from when they were
    stored), the longest overdue first."""
    query = _due_query(now=now, days=days)
    if limit is not None:
        query = query.limit(limit)
    return [Original(k, sha, size) for k, sha, size in session.execute(query)]


def tick_budget(session: Session, *, days: int, max_mb: int) -> tuple[int, int]:
    """(objects, bytes) one worker tick may check: twice an even share of all originals over
    the period, and never more than ``max_mb``."""
    total = session.scalar(
        select(func.count(func.distinct(StoredFile.storage_key))).where(
            StoredFile.role == "original"
        )
    )
    ticks = days * 24 * 60 / TICK_MINUTES
    return max(1, math.ceil(CATCH_UP * int(total or 0) / ticks)), max_mb * 1024 * 1024


def record(session: Session, found: Found, *, now: datetime) -> None:
    """Store what a check found; a change to or from a failure goes in the audit log, once per
    item holding the object (one entry per change, not one per re-check)."""
    row = session.get(FixityCheck, found.storage_key)
    before = row.outcome if row is not None else None
    if row is None:
        row = FixityCheck(storage_key=found.storage_key)
        session.add(row)
    row.checked_at = now
    row.outcome = found.outcome
    row.expected_sha256 = found.expected_sha256
    row.found_sha256 = found.found_sha256
    row.found_size = found.found_size
    if found.outcome == FixityOutcome.OK:
        row.failing_since = None
    elif before in (None, FixityOutcome.OK) or row.failing_since is None:
        row.failing_since = now
    if found.outcome == before or (found.outcome == FixityOutcome.OK and before is None):
        return
    action = {
        FixityOutcome.OK: "fixity.restored",
        FixityOutcome.MISMATCH: "fixity.mismatch",
        FixityOutcome.MISSING: "fixity.missing",
    }[found.outcome]
    for item_id, title, name in session.execute(
        select(Item.id, Item.title, StoredFile.original_name)
        .join(StoredFile, StoredFile.item_id == Item.id)
        .where(StoredFile.storage_key == found.storage_key)
        .order_by(Item.id)
    ):
        audit.record(
            session,
            actor=None,
            action=action,
            target_type="item",
            target_id=item_id,
            summary=f"{title} — {name}",
            changes={
                "storage_key": [None, found.storage_key],
                "sha256": [found.expected_sha256, found.found_sha256],
                "outcome": [before.value if before else None, found.outcome.value],
            },
        )


def run(
    settings: Settings,
    store: ObjectStore,
    *,
    everything: bool = False,
    limit: int | None = None,
    max_bytes: int | None = None,
    progress: Callable[[Found], None] | None = None,
) -> RunSummary:
    """Check the originals that are due (or, with ``everything``, all of them), the most overdue
    first, each result committed as it comes: safe to interrupt and run again. ``limit`` and
    ``max_bytes`` bound the run (at least one object is checked)."""
    with session_scope(settings.sqlalchemy_url) as session:
        if everything:
            todo = originals(session)
        else:
            todo = due(session, now=utcnow(), days=settings.fixity_days, limit=limit)
    summary = RunSummary()
    started = last_saved = time.perf_counter()
    pending: list[Found] = []
    # Two objects in flight: while one is being hashed, the next is read (hashlib and socket
    # reads both release the GIL). One at a time read at 0.6-0.8× a plain GET here; SHA-256
    # costs as much CPU as the read. Two streams, not more: a tick must not flood S3.
    with ThreadPoolExecutor(STREAMS, thread_name_prefix="fixity") as pool:
        checked = pool.map(lambda o: check_object(store, o), _within(todo, limit, max_bytes))
        for found in checked:
            _tally(summary, found, progress)
            pending.append(found)
            # Results are saved at least every SAVE_EVERY_S (a failure at once): an interrupted
            # run loses at most that many seconds of checks, and a write per object is not paid.
            now = time.perf_counter()
            if found.outcome != FixityOutcome.OK or now - last_saved >= SAVE_EVERY_S:
                _save(settings, pending)
                pending, last_saved = [], now
    _save(settings, pending)
    summary.seconds = time.perf_counter() - started
    return summary


def _tally(summary: RunSummary, found: Found, progress: Callable[[Found], None] | None) -> None:
    summary.checked += 1
    summary.bytes_read += found.found_size or 0
    summary.outcomes[found.outcome.value] += 1
    if found.outcome != FixityOutcome.OK:
        summary.failures.append(found)
    if progress is not None:
        progress(found)


def _save(settings: Settings, results: list[Found]) -> None:
    if not results:
        return
    with session_scope(settings.sqlalchemy_url) as session:
        # An object deleted with its last item meanwhile: nothing to record.
        still = {o.storage_key for o in originals(session, keys=[f.storage_key for f in results])}
        now = utcnow()
        for found in results:
            if found.storage_key in still:
                record(session, found, now=now)


def _within(todo: list[Original], limit: int | None, max_bytes: int | None) -> Iterator[Original]:
    planned = 0
    for count, original in enumerate(todo):
        if limit is not None and count >= limit:
            return
        if max_bytes is not None and count and planned + original.size > max_bytes:
            return
        planned += original.size
        yield original


# --- what the dashboard shows --------------------------------------------------------------------


@dataclass(frozen=True)
class FailingObject:
    storage_key: str
    outcome: FixityOutcome
    checked_at: datetime
    failing_since: datetime | None
    expected_sha256: str
    found_sha256: str | None
    items: list[tuple[int, str, str]]  # (item id, title, file name)


@dataclass(frozen=True)
class FixityStatus:
    originals: int  # stored originals (distinct keys)
    checked: int  # checked within the period
    due: int  # not checked within the period
    failing: list[FailingObject]
    last_checked_at: datetime | None
    days: int


def status(session: Session, *, days: int, now: datetime | None = None) -> FixityStatus:
    """Counts for the dashboard, and every object whose last check failed, with its items."""
    now = now or utcnow()
    stored = _originals_query().subquery()
    total = int(session.scalar(select(func.count()).select_from(stored)) or 0)
    recent = int(
        session.scalar(
            select(func.count())
            .select_from(stored)
            .join(FixityCheck, FixityCheck.storage_key == stored.c[0])
            .where(FixityCheck.checked_at > now - timedelta(days=days))
        )
        or 0
    )
    overdue = int(
        session.scalar(select(func.count()).select_from(_due_query(now=now, days=days).subquery()))
        or 0
    )
    failing_rows = list(
        session.scalars(
            select(FixityCheck)
            .where(
                FixityCheck.outcome != FixityOutcome.OK,
                FixityCheck.storage_key.in_(select(stored.c[0])),
            )
            .order_by(FixityCheck.failing_since, FixityCheck.storage_key)
        )
    )
    failing = []
    for row in failing_rows:
        items = [
            (item_id, title, name)
            for item_id, title, name in session.execute(
                select(Item.id, Item.title, StoredFile.original_name)
                .join(StoredFile, StoredFile.item_id == Item.id)
                .where(StoredFile.storage_key == row.storage_key, StoredFile.role == "original")
                .order_by(Item.id)
            )
        ]
        failing.append(
            FailingObject(
                storage_key=row.storage_key,
                outcome=row.outcome,
                checked_at=row.checked_at,
                failing_since=row.failing_since,
                expected_sha256=row.expected_sha256,
                found_sha256=row.found_sha256,
                items=items,
            )
        )
    last = session.scalar(select(func.max(FixityCheck.checked_at)))
    return FixityStatus(
        originals=total,
        checked=recent,
        due=overdue,
        failing=failing,
        last_checked_at=last,
        days=days,
    )
