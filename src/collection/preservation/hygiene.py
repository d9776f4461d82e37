"""Storage hygiene: no object leaks, none is lost.

Every object in the bucket belongs to a namespace whose owner is a database row:

=============================  =========================================================
``originals/<xx>/<sha256>``     ``files.storage_key`` (content-addressed, shared by dedupe)
``derived/<item>/<file>/…``     ``files.storage_key`` (the searchable PDF)
``pages/<item>/<n>.jpg``,       ``pages.image_key`` / ``pages.thumbnail_key``
``pages/<item>/<n>-thumb.jpg``
``pages/<item>/<n>-ocr.pdf``    the page row (item, n) (Tesseract's page, kept for re-runs)
``tiles/<item>/<n>/…``          ``pages.tiles_prefix``
``uploads/<upload>/<chunk>``    an upload not completed (``uploads`` row)
=============================  =========================================================

An object no row claims is an *orphan*; a row whose object is gone points at a *missing* one.
Objects under any other prefix are *unknown*: listed, never removed (someone else's).

Deleting an item removes what only it used, after the commit (a task), and only objects older
than the deletion: SQLite may give a deleted item's id to the next new item, whose objects
must survive a late clean-up. Originals go only when no file row references them any more.
Every step here is idempotent and may be interrupted and run again.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from collection.config import Settings
from collection.db import after_commit, session_scope, utcnow
from collection.errors import ObjectNotFound
from collection.models import ChunkedUpload, Collection, FixityCheck, Item, Page, StoredFile
from collection.storage import ListedObject, ObjectStore

log = logging.getLogger(__name__)

_PAGE_KEY = re.compile(r"^pages/(\d+)/(\d+)(\.jpg|-thumb\.jpg|-ocr\.pdf)$")
_TILE_KEY = re.compile(r"^tiles/(\d+)/(\d+)/")
_UPLOAD_KEY = re.compile(r"^uploads/(\d+)/")
_ITEM_SPACE = re.compile(r"^(pages|tiles|derived)/(\d+)/")
KNOWN_SPACES = ("originals/", "derived/", "pages/", "tiles/", "uploads/")
DEFAULT_GRACE = timedelta(hours=24)


def item_prefixes(item_id: int) -> list[str]:
    """Where an item's derivatives live (its originals are content-addressed elsewhere)."""
    return [f"pages/{item_id}/", f"tiles/{item_id}/", f"derived/{item_id}/"]


def upload_prefix(upload_id: int) -> str:
    return f"uploads/{upload_id}/"


# --- who references a key ----------------------------------------------------------------------


class References:
    """Answers "does a row claim this object?" for keys in listing order, loading each item's
    pages once (an item's keys are contiguous in a listing) and the file keys once."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._file_keys: set[str] | None = None
        self._open_uploads: set[int] | None = None
        self._cover_keys: set[str] | None = None
        self._item: int | None = None
        self._pages: dict[int, Page] = {}

    def file_keys(self) -> set[str]:
        if self._file_keys is None:
            self._file_keys = set(self.session.scalars(select(StoredFile.storage_key)))
        return self._file_keys

    def pages_of(self, item_id: int) -> dict[int, Page]:
        if self._item != item_id:
            self._item = item_id
            self._pages = {
                page.number: page
                for page in self.session.scalars(select(Page).where(Page.item_id == item_id))
            }
        return self._pages

    def claimed(self, key: str) -> bool | None:
        """True if a row claims ``key``, False if none does, None if it is not ours to judge."""
        if key.startswith(("originals/", "derived/")):
            return key in self.file_keys()
        if key.startswith("pages/"):
            match = _PAGE_KEY.match(key)
            if match is None:
                return False
            page = self.pages_of(int(match[1])).get(int(match[2]))
            if page is None:
                return False
            if match[3] == "-ocr.pdf":
                return True
            return key in (page.image_key, page.thumbnail_key)
        if key.startswith("tiles/"):
            match = _TILE_KEY.match(key)
            if match is None:
                return False
            page = self.pages_of(int(match[1])).get(int(match[2]))
            return page is not None and page.tiles_prefix == match[0]
        if key.startswith("uploads/"):
            match = _UPLOAD_KEY.match(key)
            if match is None:
                return False
            if self._open_uploads is None:
                self._open_uploads = set(
                    self.session.scalars(
                        select(ChunkedUpload.id).where(ChunkedUpload.completed_at.is_(None))
                    )
                )
            return int(match[1]) in self._open_uploads
        if self._cover_keys is None:
            self._cover_keys = set(
                self.session.scalars(
                    select(Collection.cover_key).where(Collection.cover_key.is_not(None))
                )
            )
        if key in self._cover_keys:
            return True
        return None


def claimed_now(settings: Settings, key: str) -> bool | None:
    """``References.claimed`` asked afresh of the database (just before deleting)."""
    with session_scope(settings.sqlalchemy_url) as session:
        return References(session).claimed(key)


# --- deleting an item ----------------------------------------------------------------------------


def schedule_item_cleanup(session: Session, item: Item) -> None:
    """Once the transaction deleting ``item`` has committed, remove the objects only it used.
    Call before ``session.delete(item)``; nothing is removed if the transaction rolls back."""
    from collection.preservation.tasks import remove_item_objects_task

    item_id = item.id
    original_keys = sorted({f.storage_key for f in item.files if f.role == "original"})
    upload_ids = list(
        session.scalars(select(ChunkedUpload.id).where(ChunkedUpload.item_id == item_id))
    )
    deleted_at = utcnow().isoformat()
    after_commit(
        session,
        lambda: remove_item_objects_task(item_id, deleted_at, original_keys, upload_ids),
    )


@dataclass
class Removal:
    deleted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # still referenced, or newer than the delete


def remove_item_objects(
    settings: Settings,
    store: ObjectStore,
    *,
    item_id: int,
    deleted_at: datetime,
    original_keys: Iterable[str],
    upload_ids: Iterable[int] = (),
) -> Removal:
    """Remove a deleted item's page images, thumbnails, OCR pages, tiles, derived PDFs, upload
    chunks, and its originals that no file row references any more. Objects written after
    ``deleted_at``, or claimed by a row now, stay. Idempotent."""
    removal = Removal()
    prefixes = item_prefixes(item_id) + [upload_prefix(u) for u in upload_ids]
    with session_scope(settings.sqlalchemy_url) as session:
        references = References(session)
        doomed = []
        for prefix in prefixes:
            for obj in store.list_objects(prefix):
                if obj.last_modified > deleted_at or references.claimed(obj.key):
                    removal.kept.append(obj.key)
                else:
                    doomed.append(obj.key)
        store.delete_many(doomed)
        removal.deleted += doomed
        for key in original_keys:
            if references.claimed(key):
                removal.kept.append(key)  # another item holds the same bytes
                continue
            try:
                info = store.info(key)
            except ObjectNotFound:
                continue
            if info.last_modified is not None and info.last_modified > deleted_at:
                removal.kept.append(key)  # uploaded again since: about to be referenced
                continue
            store.delete(key)
            session.execute(delete(FixityCheck).where(FixityCheck.storage_key == key))
            removal.deleted.append(key)
    return removal


def delete_after_commit(
    session: Session, store: ObjectStore, keys: list[str], prefixes: list[str]
) -> None:
    """Delete objects a change made unused, once that change has committed; a failure is
    logged (``collection storage check --fix`` finds what is left)."""
    if not keys and not prefixes:
        return

    def remove() -> None:
        try:
            store.delete_many(keys)
            for prefix in prefixes:
                store.delete_prefix(prefix)
        except Exception:  # the change is committed; leftovers are orphans the check finds
            log.exception("could not delete %d objects and %d prefixes", len(keys), len(prefixes))

    after_commit(session, remove)


# --- abandoned uploads ---------------------------------------------------------------------------


@dataclass
class Sweep:
    abandoned: list[int] = field(default_factory=list)  # uploads whose chunks were removed
    chunks: int = 0


def sweep_uploads(settings: Settings, store: ObjectStore, *, now: datetime | None = None) -> Sweep:
    """Remove the chunks of uploads with no new chunk for ``upload_abandon_hours`` (and chunks
    no open upload claims). An abandoned upload's row stays, reset to no chunks received, so a
    browser that comes back starts it again from the first chunk; its id is never reused."""
    now = now or utcnow()
    cutoff = now - timedelta(hours=settings.upload_abandon_hours)
    newest: dict[int, datetime] = {}
    keys: dict[int, list[str]] = {}
    for obj in store.list_objects("uploads/"):
        match = _UPLOAD_KEY.match(obj.key)
        if match is None:
            continue
        upload_id = int(match[1])
        keys.setdefault(upload_id, []).append(obj.key)
        newest[upload_id] = max(newest.get(upload_id, obj.last_modified), obj.last_modified)
    sweep = Sweep()
    for upload_id, last in sorted(newest.items()):
        if last > cutoff:
            continue
        with session_scope(settings.sqlalchemy_url) as session:
            upload = session.get(ChunkedUpload, upload_id)
            if upload is not None and upload.completed_at is None:
                # First the row, then the chunks: a resume never finds a count of chunks
                # that are no longer there.
                upload.chunks_done = 0
        store.delete_many(keys[upload_id])
        sweep.abandoned.append(upload_id)
        sweep.chunks += len(keys[upload_id])
    return sweep


# --- the storage check ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Missing:
    key: str
    item_id: int | None
    what: str  # original, searchable_pdf, page image, thumbnail, tiles


@dataclass
class StorageReport:
    objects: int = 0
    bytes: int = 0
    orphans: list[ListedObject] = field(default_factory=list)  # older than the grace period
    young_orphans: list[ListedObject] = field(default_factory=list)  # may be being written
    unknown: list[ListedObject] = field(default_factory=list)
    missing: list[Missing] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def check(
    settings: Settings,
    store: ObjectStore,
    *,
    fix: bool = False,
    grace: timedelta = DEFAULT_GRACE,
    now: datetime | None = None,
) -> StorageReport:
    """List orphans and missing objects; with ``fix``, remove the orphans older than ``grace``
    that no row claims when asked again just before. Read-only otherwise."""
    now = now or utcnow()
    report = StorageReport()
    with session_scope(settings.sqlalchemy_url) as session:
        references = References(session)
        seen_files: set[str] = set()
        seen_page_keys: dict[int, set[str]] = {}
        seen_tiles: set[str] = set()
        for obj in store.list_objects():
            report.objects += 1
            report.bytes += obj.size
            claimed = references.claimed(obj.key)
            if claimed is None:
                report.unknown.append(obj)
                continue
            if claimed:
                if obj.key.startswith(("originals/", "derived/")):
                    seen_files.add(obj.key)
                elif obj.key.startswith("pages/"):
                    item_id = int(obj.key.split("/")[1])
                    seen_page_keys.setdefault(item_id, set()).add(obj.key)
                elif obj.key.endswith("/info.json") and obj.key.startswith("tiles/"):
                    seen_tiles.add(obj.key.removesuffix("info.json"))
                continue
            if obj.last_modified > now - grace:
                report.young_orphans.append(obj)
            else:
                report.orphans.append(obj)
        report.missing = list(_missing(session, seen_files, seen_page_keys, seen_tiles))
    if fix:
        report.removed = remove_orphans(settings, store, report.orphans, grace=grace)
    return report


def _missing(
    session: Session,
    seen_files: set[str],
    seen_page_keys: dict[int, set[str]],
    seen_tiles: set[str],
) -> Iterator[Missing]:
    reported: set[str] = set()
    for key, item_id, role in session.execute(
        select(StoredFile.storage_key, StoredFile.item_id, StoredFile.role).order_by(
            StoredFile.storage_key, StoredFile.item_id
        )
    ):
        if key not in seen_files and key not in reported:
            reported.add(key)
            yield Missing(key, item_id, role)
    for item_id, image, thumb, tiles in session.execute(
        select(Page.item_id, Page.image_key, Page.thumbnail_key, Page.tiles_prefix).order_by(
            Page.item_id, Page.number
        )
    ):
        seen = seen_page_keys.get(item_id, set())
        if image is not None and image not in seen:
            yield Missing(image, item_id, "page image")
        if thumb is not None and thumb not in seen:
            yield Missing(thumb, item_id, "thumbnail")
        if tiles is not None and tiles not in seen_tiles:
            yield Missing(tiles + "info.json", item_id, "tiles")


def remove_orphans(
    settings: Settings, store: ObjectStore, orphans: Iterable[ListedObject], *, grace: timedelta
) -> list[str]:
    """Delete these orphans, each asked about again first: still unclaimed by any row, and not
    written within ``grace`` (an upload or a job may be writing it now)."""
    removed = []
    for obj in orphans:
        if claimed_now(settings, obj.key) is not False:
            continue
        try:
            info = store.info(obj.key)
        except ObjectNotFound:
            continue
        if info.last_modified is None or info.last_modified > utcnow() - grace:
            continue
        store.delete(obj.key)
        removed.append(obj.key)
    return removed
