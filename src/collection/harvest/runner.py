"""One harvest run of a source, as a task or the CLI runs it: the flow around the service.

Like an ingest job, a run commits as it goes, so that nothing done is lost: each part of the list
(one OAI-PMH answer) is applied in one transaction together with the resumption token of the
next part, each record in a savepoint of its own (a bad record is counted and the others go on).
A run that stops (the source fails, the worker is killed) leaves the token on the source, and
the next run resumes there; a token the source no longer knows starts the list again from the
same ``from``. Only a run that reaches the end of the list moves the source's ``from`` on to the
greatest datestamp harvested (inclusive: those records come again and change nothing)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from collection.audit import service as audit
from collection.config import Settings
from collection.db import unit_of_work, utcnow
from collection.errors import CollectionError, Conflict
from collection.harvest import service
from collection.harvest.client import BadResumptionToken, HarvestError, ListPart, OaiSource
from collection.models import HarvestRun, HarvestSource

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=15)  # renewed after every part; a killed run frees the source soon
MAX_FAILURES_KEPT = 100
_DATESTAMP = re.compile(r"^\d{4}-\d\d-\d\d(T\d\d:\d\d:\d\dZ)?$")
OUTCOMES = ("created", "updated", "unchanged", "withdrawn", "failed")


@dataclass(frozen=True)
class Progress:
    """Where a run stands, after each part (for the CLI's stderr and logs)."""

    source_id: int
    records: int
    created: int
    updated: int
    unchanged: int
    withdrawn: int
    failed: int
    complete_list_size: int | None

    def line(self) -> str:
        of = f"/{self.complete_list_size}" if self.complete_list_size else ""
        return (
            f"nguồn {self.source_id}: {self.records}{of} bản ghi — {self.created} tạo mới, "
            f"{self.updated} cập nhật, {self.unchanged} không đổi, {self.withdrawn} rút, "
            f"{self.failed} lỗi"
        )


def from_argument(datestamp: str | None, granularity: str | None) -> str | None:
    """``datestamp`` written at the source's granularity (what `from` must be)."""
    if not datestamp:
        return None
    day = datestamp[:10]
    if granularity == "YYYY-MM-DDThh:mm:ssZ":
        return datestamp if len(datestamp) == 20 else f"{day}T00:00:00Z"
    return day


def _later(a: str | None, b: str) -> str | None:
    if not _DATESTAMP.match(b):
        return a
    return b if a is None or b > a else a


def start_run(session: Session, source_id: int) -> HarvestRun:
    """Take the source's lease and open a run; Conflict if a run holds it."""
    source = service.get_source(session=session, source_id=source_id)
    now = utcnow()
    if source.lease_until is not None and source.lease_until > now:
        raise Conflict(
            f"Nguồn {source_id} đang được thu hoạch; hãy đợi lần chạy đó xong.",
            message_en=f"source {source_id} is being harvested",
        )
    source.lease_until = now + LEASE
    resumed = bool(source.resumption_token)
    run = HarvestRun(
        source=source,
        resumed=resumed,
        from_datestamp=source.run_from if resumed else source.last_datestamp,
        failures=[],
    )
    session.add(run)
    session.flush()
    return run


def run_source(
    source_id: int,
    *,
    settings: Settings,
    sessions: sessionmaker[Session],
    on_progress: Callable[[Progress], None] | None = None,
) -> HarvestRun:
    """Harvest one source now, resuming an interrupted run; the run as it ended (its error, if
    the source failed, is on it and on the staff page: this does not raise for that)."""
    with unit_of_work(sessions) as session:
        run = start_run(session, source_id)
        run_id, url = run.id, run.source.url
    client = OaiSource(
        url, timeout=settings.harvest_timeout, max_bytes=settings.harvest_max_response_mb * 2**20
    )
    try:
        _harvest(run_id, client, sessions, on_progress)
    except HarvestError as exc:
        _finish(sessions, run_id, error=exc)
    except Exception as exc:
        log.exception("harvest of source %s failed", source_id)
        _finish(
            sessions,
            run_id,
            error=CollectionError(
                "Lỗi không mong đợi khi thu hoạch; xem nhật ký của worker.",
                message_en=f"{type(exc).__name__}: {exc}",
            ),
        )
        raise
    with unit_of_work(sessions) as session:
        ended = session.get(HarvestRun, run_id)
        assert ended is not None
        return ended


def _harvest(
    run_id: int,
    client: OaiSource,
    sessions: sessionmaker[Session],
    on_progress: Callable[[Progress], None] | None,
) -> None:
    with unit_of_work(sessions) as session:
        run = session.get(HarvestRun, run_id)
        assert run is not None
        source = run.source
        prefix, set_spec, token = source.metadata_prefix, source.set_spec, source.resumption_token
    identity = client.identify()
    with unit_of_work(sessions) as session:
        source = _source(session, run_id)
        source.granularity, source.repository_name = identity.granularity, identity.repository_name
        if not token:
            source.run_from = from_argument(source.last_datestamp, identity.granularity)
            source.run_datestamp = None
        run_from = source.run_from
    if token:
        try:
            parts = client.list_records(metadata_prefix=prefix, resumption_token=token)
            _apply_parts(run_id, parts, sessions, on_progress)
        except BadResumptionToken:
            log.info("harvest run %s: the source forgot its token, the list again", run_id)
            token = None  # the list again from the same `from`: what is done changes nothing
    if not token:
        parts = client.list_records(
            metadata_prefix=prefix, set_spec=set_spec or None, from_=run_from
        )
        if _apply_parts(run_id, parts, sessions, on_progress) == 0 and set_spec:
            specs = client.set_specs()
            if specs is None or set_spec not in specs:
                raise HarvestError(
                    f"Nguồn không có tập (set) «{set_spec}».",
                    message_en=f"the source has no set {set_spec!r}",
                )
    _finish(sessions, run_id, error=None)


def _source(session: Session, run_id: int) -> HarvestSource:
    run = session.get(HarvestRun, run_id)
    assert run is not None
    return run.source


def _apply_parts(
    run_id: int,
    parts: Iterator[ListPart],
    sessions: sessionmaker[Session],
    on_progress: Callable[[Progress], None] | None,
) -> int:
    """Apply each part in a transaction of its own, with the token of the next; records read."""
    read = 0
    for part in parts:
        with unit_of_work(sessions) as session:
            run = session.get(HarvestRun, run_id)
            assert run is not None
            source = run.source
            for record in part.records:
                try:
                    with session.begin_nested():
                        outcome, reason = service.apply_record(
                            session=session, source=source, record=record
                        )
                except CollectionError as exc:
                    outcome, reason = "failed", exc.message
                setattr(run, outcome, getattr(run, outcome) + 1)
                if outcome == "failed" and len(run.failures) < MAX_FAILURES_KEPT:
                    run.failures = [
                        *run.failures,
                        {"identifier": record.identifier[:500], "reason": reason or ""},
                    ]
                if outcome != "failed":
                    source.run_datestamp = _later(source.run_datestamp, record.datestamp)
            run.records += len(part.records)
            read += len(part.records)
            if part.complete_list_size is not None:
                run.complete_list_size = part.complete_list_size
            source.resumption_token = part.resumption_token
            source.lease_until = utcnow() + LEASE
            progress = Progress(
                source.id,
                run.records,
                run.created,
                run.updated,
                run.unchanged,
                run.withdrawn,
                run.failed,
                run.complete_list_size,
            )
        if on_progress:
            on_progress(progress)
    return read


def _finish(sessions: sessionmaker[Session], run_id: int, *, error: CollectionError | None) -> None:
    with unit_of_work(sessions) as session:
        run = session.get(HarvestRun, run_id)
        assert run is not None
        source = run.source
        run.finished_at = utcnow()
        source.lease_until = None
        if error is None:
            run.status = "done"
            source.last_datestamp = source.run_datestamp or source.last_datestamp
            source.run_from = source.run_datestamp = source.resumption_token = None
        else:
            run.status = "failed"
            run.error, run.error_en = error.message, error.message_en
        audit.record(
            session,
            actor=service.harvester(source.id),
            action="harvest.run",
            target_type="harvest_source",
            target_id=source.id,
            summary=(
                f"{source.url}: {run.created} tạo mới, {run.updated} cập nhật, "
                f"{run.withdrawn} rút, {run.failed} lỗi" + (f" — {run.error}" if run.error else "")
            ),
        )
