"""Harvest sources: register, list, find what is due, and apply one harvested record to the
catalogue. Services take the session and the acting user explicitly and never commit; the run
itself (runner.py) commits after each part of the list."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from collection.audit import service as audit
from collection.catalogue import service as catalogue
from collection.catalogue.schemas import ItemIn, ItemUpdate
from collection.errors import InvalidInput, NotFound
from collection.harvest.client import SourceRecord
from collection.harvest.mapping import RecordRefused, map_record
from collection.models import (
    Access,
    Collection,
    HarvestedRecord,
    HarvestRun,
    HarvestSource,
    Item,
    ItemStatus,
    Role,
    User,
)

# setSpec and metadataPrefix as the OAI-PMH schema allows them.
SET_SPEC = re.compile(r"^[A-Za-z0-9\-_.!~*'()]+(:[A-Za-z0-9\-_.!~*'()]+)*$")
METADATA_PREFIX = re.compile(r"^[A-Za-z0-9\-_.!~*'()]+$")
MAX_URL = 1000
RETRY_UNFINISHED = timedelta(hours=1)  # a source that failed halfway, before its next turn


def harvester(source_id: int) -> User:
    """The actor of what a harvest changes, as the audit log names it. Not an account: it is
    never stored, and nobody can sign in as it."""
    return User(id=None, email=f"thu hoạch OAI-PMH #{source_id}", role=Role.CATALOGUER)


def checked_url(url: str) -> str:
    """An OAI-PMH base URL: http or https, a host, no query or fragment (the verbs go there)."""
    url = url.strip()
    parts = urlsplit(url)
    if (
        len(url) > MAX_URL
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or any(c.isspace() or ord(c) < 32 for c in url)
    ):
        raise InvalidInput(
            "Địa chỉ nguồn phải là một URL http(s) đầy đủ, không có phần ?… "
            "(ví dụ: https://thuvien.example.vn/oai).",
            message_en="the source URL must be an absolute http(s) URL without a query",
            field="url",
        )
    return url


def find_collection(*, session: Session, ref: str | int) -> Collection:
    """A collection by id or slug."""
    text = str(ref).strip()
    found = None
    if text.isascii() and text.isdigit() and len(text) < 18:
        found = session.get(Collection, int(text))
    if found is None:
        found = session.scalar(select(Collection).where(Collection.slug == text))
    if found is None:
        raise InvalidInput(
            f"Không có bộ sưu tập «{text[:100]}» (ghi số hoặc đường dẫn của bộ sưu tập).",
            message_en=f"no collection {text[:100]!r}",
            field="collection",
        )
    return found


def add_source(
    *,
    session: Session,
    actor: User,
    url: str,
    collection: str | int,
    set_spec: str = "",
    metadata_prefix: str = "oai_dc",
) -> HarvestSource:
    """Register a source whose records are harvested into ``collection`` (id or slug)."""
    set_spec, metadata_prefix = set_spec.strip(), metadata_prefix.strip() or "oai_dc"
    if set_spec and (len(set_spec) > 200 or not SET_SPEC.match(set_spec)):
        raise InvalidInput(
            "Tên tập (set) không đúng dạng OAI-PMH (chữ, số và - _ . : …).",
            message_en="set is not a setSpec",
            field="set_spec",
        )
    if len(metadata_prefix) > 50 or not METADATA_PREFIX.match(metadata_prefix):
        raise InvalidInput(
            "Định dạng siêu dữ liệu không đúng dạng (ví dụ: oai_dc).",
            message_en="metadata_prefix is not a metadataPrefix",
            field="metadata_prefix",
        )
    source = HarvestSource(
        url=checked_url(url),
        set_spec=set_spec,
        metadata_prefix=metadata_prefix,
        collection_id=find_collection(session=session, ref=collection).id,
        created_by_id=actor.id,
    )
    session.add(source)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="harvest.add",
        target_type="harvest_source",
        target_id=source.id,
        summary=f"{source.url} {source.set_spec}".strip(),
    )
    return source


def list_sources(*, session: Session) -> list[HarvestSource]:
    """Every source, oldest first."""
    return list(session.scalars(select(HarvestSource).order_by(HarvestSource.id)))


def get_source(*, session: Session, source_id: int) -> HarvestSource:
    source = session.get(HarvestSource, source_id)
    if source is None:
        raise NotFound(
            f"Không có nguồn thu hoạch số {source_id}.", message_en=f"no source {source_id}"
        )
    return source


def last_runs(session: Session) -> dict[int, HarvestRun]:
    """The latest run of each source."""
    latest = select(func.max(HarvestRun.id)).group_by(HarvestRun.source_id)
    runs = session.scalars(select(HarvestRun).where(HarvestRun.id.in_(latest)))
    return {run.source_id: run for run in runs}


def record_counts(session: Session) -> dict[int, int]:
    """How many items each source has made that are still here."""
    rows = session.execute(
        select(HarvestedRecord.source_id, func.count())
        .where(HarvestedRecord.item_id.is_not(None))
        .group_by(HarvestedRecord.source_id)
    )
    return {source_id: count for source_id, count in rows}


def due_sources(*, session: Session, now: datetime, every: timedelta) -> list[int]:
    """Sources whose last run started ``every`` ago or more (or never ran), and none running;
    a run that stopped halfway is tried again after RETRY_UNFINISHED if that comes sooner."""
    started = last_runs(session)
    due = []
    for source in list_sources(session=session):
        if source.lease_until is not None and source.lease_until > now:
            continue
        run = started.get(source.id)
        wait = min(every, RETRY_UNFINISHED) if source.resumption_token else every
        if run is None or run.started_at <= now - wait:
            due.append(source.id)
    return due


def origin_of(*, session: Session, item_id: int) -> tuple[HarvestSource, HarvestedRecord] | None:
    """The source and record an item was harvested from, if it was."""
    record = session.scalar(select(HarvestedRecord).where(HarvestedRecord.item_id == item_id))
    return None if record is None else (record.source, record)


# --- one record ------------------------------------------------------------------------------


def describe(exc: ValidationError) -> str:
    """Why the catalogue refused a record, in Vietnamese, one reason per field."""
    reasons = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "bản ghi"
        message = str(error["msg"]).removeprefix("Value error, ")
        reasons.append(f"{name}: {message}")
    return "; ".join(reasons)[:500]


def apply_record(
    *, session: Session, source: HarvestSource, record: SourceRecord
) -> tuple[str, str | None]:
    """Make the catalogue show what the source says of one record: (outcome, reason), outcome
    being created | updated | unchanged | withdrawn | failed. A deleted record withdraws the
    local copy (never deletes it); a record seen before updates its item; a record changed
    nowhere writes nothing."""
    if record.problem:
        return "failed", record.problem
    actor = harvester(source.id)
    kept = session.scalar(
        select(HarvestedRecord).where(
            HarvestedRecord.source_id == source.id,
            HarvestedRecord.oai_identifier == record.identifier,
        )
    )
    if record.deleted:
        return _withdraw(session, actor, kept, record)
    try:
        mapped = map_record(record.metadata)
    except RecordRefused as exc:
        return "failed", str(exc)
    if kept is not None and kept.item_id is None:
        return "unchanged", None  # staff deleted the local copy: not made again
    if kept is not None and kept.fingerprint == mapped.fingerprint and not kept.deleted:
        kept.datestamp = record.datestamp[:40]
        return "unchanged", None
    origin = {"source_id": source.id, "oai_identifier": record.identifier, "link": mapped.link}
    try:
        if kept is None:
            data = ItemIn(
                **mapped.fields,
                status=ItemStatus.PUBLISHED,
                access=Access.PUBLIC,
                collection_id=source.collection_id,
            )
            item = catalogue.create_item(session=session, actor=actor, data=data)
            item.extra = {**(item.extra or {}), "harvested": origin}
            kept = HarvestedRecord(
                source_id=source.id, oai_identifier=record.identifier[:500], item_id=item.id
            )
            session.add(kept)
            outcome = "created"
        else:
            assert kept.item_id is not None
            item = catalogue.get_item(session=session, item_id=kept.item_id)
            values = catalogue.item_fields(session, item)
            values.update(mapped.fields, status=ItemStatus.PUBLISHED, version=item.version)
            catalogue.update_item(
                session=session, actor=actor, item_id=item.id, data=ItemUpdate(**values)
            )
            item.extra = {**(item.extra or {}), "harvested": origin}
            outcome = "updated"
    except ValidationError as exc:
        return "failed", describe(exc)
    except InvalidInput as exc:
        return "failed", exc.message
    kept.datestamp, kept.deleted = record.datestamp[:40], False
    kept.fingerprint, kept.link = mapped.fingerprint, mapped.link
    session.flush()
    return outcome, None


def _withdraw(
    session: Session, actor: User, kept: HarvestedRecord | None, record: SourceRecord
) -> tuple[str, str | None]:
    if kept is None or kept.item_id is None or kept.deleted:
        return "unchanged", None  # never harvested, deleted here, or already withdrawn
    item = session.get(Item, kept.item_id)
    kept.deleted, kept.datestamp = True, record.datestamp[:40]
    if item is None or item.status == ItemStatus.WITHDRAWN:
        return "unchanged", None
    values: dict[str, Any] = catalogue.item_fields(session, item)
    values.update(status=ItemStatus.WITHDRAWN, version=item.version)
    catalogue.update_item(session=session, actor=actor, item_id=item.id, data=ItemUpdate(**values))
    return "withdrawn", None
