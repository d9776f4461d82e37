"""Backup and restore of the whole repository: the database, every object in the bucket, the
search settings, and the settings needed to make sense of them.

A backup folder::

    manifest.json              written last, atomically: present ⇔ the backup is complete
    runs/<run>/database.sqlite the database (SQLite's online backup API), or database.pgdump
                               (``pg_dump -Fc``) for PostgreSQL
    runs/<run>/objects.jsonl   every object: key, SHA-256, size, ETag, media type
    runs/<run>/search/         the search/ folder's index settings and synonyms as used, and
                               the settings Meilisearch reported for each index
    runs/<run>/journal.jsonl   while a run goes: each object copied so far (kept if killed)
    objects/<xx>/<sha256>      the objects' bytes, by content (one copy of equal bytes)

Incremental: an object whose key, size and ETag are those of the last complete backup (or of
an interrupted run's journal) and whose copy is in ``objects/`` is not read again. A run
killed half-way leaves its journal; the next run reads it, copies only what is missing and
writes its own manifest. Only after the new manifest is in place are the older runs and the
objects no manifest names removed, so the folder always holds one complete backup, or none.

The database is copied first, then the bucket is listed: objects are written before the rows
naming them are committed, so every object the copied database names was in the listing, unless
it was deleted in between (an item deleted during the backup): those are kept from an earlier
backup if it had them, else named in the manifest and on stderr.

Secrets: ``COLLECTION_SECRET_KEY`` is *not* copied. It signs OAI-PMH resumption tokens (valid
for hours) and keys the per-day fallback visitor hash (a new one every day); the readers'
yearly pseudonyms are keyed by the report keys in the database, which the backup carries. A
restored instance with another key loses nothing but that day's link between visitors without
a cookie and open harvests' tokens. Only its fingerprint is kept, so restore can say whether
the key is the same. The database itself holds password hashes, token hashes and those report
keys: the folder is created 0700 and its files 0600.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from collection import __version__, migrate
from collection.config import Settings
from collection.db import engine_for, session_scope
from collection.errors import CollectionError, ConfigurationError, Conflict, InvalidInput
from collection.models import AccessPoint, Collection, Item, StoredFile, User
from collection.storage import ObjectStore

FORMAT = "kho-so-thanh-hoa-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CHUNK = 1024 * 1024
PARALLEL = 8  # objects in flight: most are small page images, thumbnails and tiles
# Restored in one request after checking its SHA-256 (at most PARALLEL of these in memory);
# larger objects are streamed in parts. The S3 adapter's multipart threshold.
SMALL_OBJECT = 8 * 1024 * 1024
PROGRESS_EVERY_S = 2.0
# The search/ files that shape the indexes (relevance/ holds test judgements, not settings).
SEARCH_FILES = ("items.json", "pages.json", "terms.json", "synonyms.json")
# Settings that change what the data means or how it was derived; nothing secret.
RECORDED_SETTINGS = (
    "public_url",
    "s3_bucket",
    "meili_index_prefix",
    "page_image_px",
    "thumbnail_px",
    "tile_source_px",
    "ocr_languages",
    "ocr_dpi",
    "fixity_days",
)

Progress = Callable[[str], None]


class BackupIncomplete(CollectionError):
    """The folder holds no complete backup (or a later run did not finish)."""


class InstanceNotEmpty(Conflict):
    """Restore would replace data that is already there."""


class BackupInterrupted(Exception):
    """Raised by the ``stop_after`` hook: the run stops as if it had been killed there."""


@dataclass(frozen=True)
class ObjectEntry:
    key: str
    sha256: str
    size: int
    etag: str
    media_type: str

    def line(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False) + "\n"

    @classmethod
    def of(cls, line: str) -> ObjectEntry:
        data = json.loads(line)
        return cls(**{k: data[k] for k in ("key", "sha256", "size", "etag", "media_type")})


@dataclass
class BackupResult:
    folder: Path
    run: str
    objects: int = 0
    bytes: int = 0  # the bucket's size
    copied: int = 0  # objects read from S3 in this run
    copied_bytes: int = 0
    skipped: int = 0  # already in the folder with the same ETag
    missing: list[str] = field(default_factory=list)  # named by the database, not in S3
    database_bytes: int = 0
    seconds: float = 0.0


@dataclass
class RestoreResult:
    objects: int = 0
    bytes: int = 0
    migrated_from: str | None = None  # the backup's schema revision, when it was older
    reindexed: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _object_path(folder: Path, sha256: str) -> Path:
    return folder / "objects" / sha256[:2] / sha256


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``path`` so that it is either the old file or the whole new one, even after a crash."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    tmp.chmod(0o600)
    tmp.replace(path)
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One backup or restore at a time on a folder (the lock goes with a killed process)."""
    with (folder / ".lock").open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Conflict(
                f"Một lệnh sao lưu hoặc khôi phục khác đang dùng thư mục {folder}.",
                message_en=f"another backup or restore is using {folder}",
            ) from None
        yield


def secret_fingerprint(secret: str) -> str:
    """Enough to tell whether two instances share COLLECTION_SECRET_KEY, nothing to recover it."""
    return hashlib.sha256(b"kho-so secret fingerprint|" + secret.encode()).hexdigest()[:16]


# --- reading a backup folder ---------------------------------------------------------------------


def read_manifest(folder: Path) -> dict[str, Any] | None:
    path = folder / MANIFEST
    if not path.exists():
        return None
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InvalidInput(
            f"Tệp {path} hỏng, không đọc được.", message_en=f"unreadable {path}: {exc}"
        ) from exc
    if manifest.get("format") != FORMAT:
        raise InvalidInput(
            f"{folder} không phải bản sao lưu của Kho số Thanh Hóa.",
            message_en=f"{folder} is not a Kho số backup (manifest format {manifest.get('format')!r})",
        )
    if int(manifest.get("format_version", 0)) > FORMAT_VERSION:
        raise InvalidInput(
            "Bản sao lưu do một phiên bản mới hơn tạo ra; hãy cập nhật phần mềm rồi khôi phục.",
            message_en=f"backup format {manifest['format_version']} is newer than this program's",
        )
    return manifest


def unfinished_runs(folder: Path, manifest: dict[str, Any] | None) -> list[Path]:
    runs = folder / "runs"
    if not runs.is_dir():
        return []
    complete = manifest["run"] if manifest else None
    return sorted(p for p in runs.iterdir() if p.is_dir() and p.name != complete)


def _entries(path: Path) -> Iterator[ObjectEntry]:
    """The entries of an objects.jsonl or journal; a last line cut short by a kill is skipped."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.endswith("\n"):
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    yield ObjectEntry.of(line)


def _known_objects(folder: Path, manifest: dict[str, Any] | None) -> dict[str, ObjectEntry]:
    """What earlier runs copied: the complete backup's list, then interrupted runs' journals."""
    known: dict[str, ObjectEntry] = {}
    if manifest:
        for entry in _entries(folder / "runs" / manifest["run"] / "objects.jsonl"):
            known[entry.key] = entry
    for run in unfinished_runs(folder, manifest):
        for entry in _entries(run / "journal.jsonl"):
            known[entry.key] = entry
    return known


# --- backup --------------------------------------------------------------------------------------


def backup(
    settings: Settings,
    store: ObjectStore,
    folder: Path,
    *,
    progress: Progress | None = None,
    stop_after: int | None = None,
) -> BackupResult:
    """Write a complete, consistent backup into ``folder`` (created if need be), copying only the
    objects it does not hold yet. ``stop_after``: stop after copying that many objects, as if
    killed (for tests)."""
    say = progress or (lambda _m: None)
    started = time.monotonic()
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    with _locked(folder):
        manifest = read_manifest(folder)
        known = _known_objects(folder, manifest)
        run_id = _now().strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)
        run_dir = folder / "runs" / run_id
        run_dir.mkdir(parents=True)
        (folder / "objects").mkdir(exist_ok=True)
        result = BackupResult(folder=folder, run=run_id)
        started_at = _now()

        say("Sao lưu cơ sở dữ liệu / database…")
        database = _dump_database(settings, run_dir)
        result.database_bytes = database["size"]

        say(f"Liệt kê kho lưu trữ {store.bucket} / listing the bucket…")
        listed = list(store.list_etags())
        entries = _copy_objects(
            store, folder, run_dir, listed, known, result, say=say, stop_after=stop_after
        )
        present = {e.key for e in entries}
        for key in _referenced_keys(settings, run_dir, database):
            if key in present:
                continue
            earlier = known.get(key)
            if earlier and _object_path(folder, earlier.sha256).exists():
                entries.append(earlier)  # deleted from S3 after the database was copied
                present.add(key)
            else:
                result.missing.append(key)
        if result.missing:
            say(
                f"Cảnh báo / warning: {len(result.missing)} đối tượng cơ sở dữ liệu nhắc tới "
                f"không có trong S3 / objects named by the database are not in S3, e.g. "
                f"{result.missing[0]}"
            )
        entries.sort(key=lambda e: e.key)
        objects_list = run_dir / "objects.jsonl"
        with objects_list.open("w", encoding="utf-8") as f:
            f.writelines(e.line() for e in entries)
            f.flush()
            os.fsync(f.fileno())
        search = _copy_search_settings(settings, run_dir)
        result.objects = len(entries)
        result.bytes = sum(e.size for e in entries)
        result.seconds = time.monotonic() - started
        new_manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "software": f"collection {__version__}",
            "run": run_id,
            "started_at": started_at.isoformat(),
            "finished_at": _now().isoformat(),
            "database": database,
            "bucket": store.bucket,
            "objects": {
                "file": f"runs/{run_id}/objects.jsonl",
                "sha256": _sha256_file(objects_list),
                "count": result.objects,
                "bytes": result.bytes,
                "copied": result.copied,
                "skipped": result.skipped,
                "missing": result.missing,
            },
            "search": search,
            "settings": _recorded_settings(settings),
            "secret_key": {
                "included": False,
                "fingerprint": secret_fingerprint(settings.app_secret()),
            },
        }
        os.sync()  # every copy and the database on disk before the manifest says so
        # The moment the backup becomes complete.
        _write_atomically(
            folder / MANIFEST,
            json.dumps(new_manifest, ensure_ascii=False, indent=2).encode("utf-8"),
        )
        (run_dir / "journal.jsonl").unlink(missing_ok=True)
        _prune(folder, run_id, {e.sha256 for e in entries})
        say(
            f"Xong / done: {result.objects} đối tượng ({result.bytes / 1024 / 1024:.1f} MB), "
            f"chép mới / copied {result.copied} ({result.copied_bytes / 1024 / 1024:.1f} MB), "
            f"giữ nguyên / unchanged {result.skipped}; {result.seconds:.1f} s."
        )
        return result


def _copy_objects(
    store: ObjectStore,
    folder: Path,
    run_dir: Path,
    listed: list[tuple[str, int, str]],
    known: dict[str, ObjectEntry],
    result: BackupResult,
    *,
    say: Progress,
    stop_after: int | None,
) -> list[ObjectEntry]:
    entries: list[ObjectEntry] = []
    todo: list[tuple[str, int, str]] = []
    for key, size, etag in listed:
        earlier = known.get(key)
        if (
            earlier is not None
            and earlier.etag == etag
            and earlier.size == size
            and _has_copy(folder, earlier)
        ):
            entries.append(earlier)
            result.skipped += 1
        else:
            todo.append((key, size, etag))
    total_bytes = sum(size for _, size, _ in todo)
    say(
        f"{len(listed)} đối tượng / objects: {result.skipped} đã có / already here, "
        f"{len(todo)} cần chép / to copy ({total_bytes / 1024 / 1024:.1f} MB)"
    )
    journal = (run_dir / "journal.jsonl").open("a", encoding="utf-8")
    lock = threading.Lock()
    stop = threading.Event()
    last_report = [time.monotonic()]

    def copy(item: tuple[str, int, str]) -> None:
        if stop.is_set():
            return
        key, _size, etag = item
        entry = _fetch(store, folder, key, etag)
        with lock:
            if stop.is_set():
                return
            journal.write(entry.line())
            journal.flush()
            entries.append(entry)
            result.copied += 1
            result.copied_bytes += entry.size
            if stop_after is not None and result.copied >= stop_after:
                stop.set()
            if time.monotonic() - last_report[0] >= PROGRESS_EVERY_S:
                last_report[0] = time.monotonic()
                say(
                    f"  {result.copied}/{len(todo)} đối tượng, "
                    f"{result.copied_bytes / 1024 / 1024:.1f}/{total_bytes / 1024 / 1024:.1f} MB"
                )

    try:
        with ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="backup") as pool:
            list(pool.map(copy, todo))
    finally:
        journal.close()
    if stop.is_set():
        raise BackupInterrupted(f"stopped after {result.copied} objects")
    return entries


def _has_copy(folder: Path, entry: ObjectEntry) -> bool:
    try:
        return _object_path(folder, entry.sha256).stat().st_size == entry.size
    except OSError:
        return False


def _fetch(store: ObjectStore, folder: Path, key: str, etag: str) -> ObjectEntry:
    """Copy one object into ``objects/`` by its SHA-256, streamed through a temporary file.
    Not fsynced one by one: the run syncs once before its manifest makes the copies count."""
    info, chunks = store.open_with_info(key)
    digest, size = hashlib.sha256(), 0
    fd, tmp_name = tempfile.mkstemp(dir=folder / "objects", prefix=".copy-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        sha256 = digest.hexdigest()
        target = _object_path(folder, sha256)
        target.parent.mkdir(exist_ok=True)
        tmp.chmod(0o600)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return ObjectEntry(
        key=key, sha256=sha256, size=size, etag=info.etag or etag, media_type=info.media_type
    )


def _prune(folder: Path, run_id: str, keep: set[str]) -> None:
    """Remove older runs and the copies no longer named (only once the new manifest is written)."""
    for run in (folder / "runs").iterdir():
        if run.name != run_id:
            shutil.rmtree(run, ignore_errors=True)
    for prefix_dir in (folder / "objects").iterdir():
        if prefix_dir.is_dir():
            for path in prefix_dir.iterdir():
                if path.name not in keep:
                    path.unlink(missing_ok=True)
        elif prefix_dir.name.startswith(".copy-"):
            prefix_dir.unlink(missing_ok=True)  # a copy a killed run left half-written


def _recorded_settings(settings: Settings) -> dict[str, Any]:
    values = {name: getattr(settings, name) for name in RECORDED_SETTINGS}
    values["public_url"] = settings.base_url
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in values.items()}


def _copy_search_settings(settings: Settings, run_dir: Path) -> dict[str, Any]:
    """The search/ files as used, and what Meilisearch says each index is set to."""
    from collection.search import meili

    target = run_dir / "search"
    target.mkdir()
    files = {}
    for name in SEARCH_FILES:
        source = settings.search_config_dir / name
        if source.exists():
            shutil.copyfile(source, target / name)
            files[name] = _sha256_file(target / name)
    effective: dict[str, Any] = {}
    try:
        engine = meili.engine_for(settings)
        for kind in settings.index_names:
            effective[kind] = engine.current_settings(kind)
    except CollectionError as exc:  # an index not made yet, Meilisearch down: settings suffice
        effective = {"error": exc.message_en or exc.message}
    (target / "effective.json").write_text(
        json.dumps(effective, ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8"
    )
    return {"folder": f"runs/{run_dir.name}/search", "files": files}


# --- the database ----------------------------------------------------------------------------------


def _engine_name(url: str) -> str:
    return make_url(url).get_backend_name()


def _dump_database(settings: Settings, run_dir: Path) -> dict[str, Any]:
    url = settings.sqlalchemy_url
    engine = _engine_name(url)
    if engine == "sqlite":
        path = run_dir / "database.sqlite"
        source = sqlite3.connect(f"file:{make_url(url).database}?mode=ro", uri=True)
        try:
            target = sqlite3.connect(path)
            try:
                source.backup(target)  # a consistent copy while the app and workers write
            finally:
                target.close()
        finally:
            source.close()
        revision = _sqlite_revision(path)
    elif engine == "postgresql":
        path = run_dir / "database.pgdump"
        revision = _live_revision(url)
        _run_pg(
            "pg_dump", url, ["--format=custom", "--no-owner", "--no-privileges", "-f", str(path)]
        )
    else:
        raise ConfigurationError(
            f"Không sao lưu được cơ sở dữ liệu loại {engine}.",
            message_en=f"cannot back up a {engine} database",
        )
    path.chmod(0o600)
    return {
        "engine": engine,
        "file": f"runs/{run_dir.name}/{path.name}",
        "sha256": _sha256_file(path),
        "size": path.stat().st_size,
        "revision": revision,
    }


def _sqlite_revision(path: Path) -> str | None:
    with contextlib.closing(sqlite3.connect(path)) as connection:
        try:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.Error:
            return None
    return str(row[0]) if row else None


def _live_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine_for(url).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _referenced_keys(settings: Settings, run_dir: Path, database: dict[str, Any]) -> Iterator[str]:
    """The object keys the copied database names (files, page images and thumbnails)."""
    queries = (
        "SELECT storage_key FROM files",
        "SELECT image_key FROM pages WHERE image_key IS NOT NULL",
        "SELECT thumbnail_key FROM pages WHERE thumbnail_key IS NOT NULL",
    )
    if database["engine"] == "sqlite":
        with contextlib.closing(sqlite3.connect(run_dir / "database.sqlite")) as connection:
            for query in queries:
                for (key,) in connection.execute(query):
                    yield key
    else:  # pg_dump's snapshot cannot be read back here: the live rows, a moment later
        from sqlalchemy import text

        with engine_for(settings.sqlalchemy_url).connect() as connection:
            for query in queries:
                for (key,) in connection.execute(text(query)):
                    yield key


def pg_binary(name: str) -> str:
    """pg_dump / pg_restore: the newest installed (Debian keeps them per version), else PATH."""
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    found = str(candidates[0]) if candidates else shutil.which(name)
    if not found:
        raise ConfigurationError(
            f"Không tìm thấy {name}: hãy cài gói postgresql-client.",
            message_en=f"{name} not found: install postgresql-client",
        )
    return found


def _run_pg(tool: str, url: str, args: list[str]) -> None:
    parsed = make_url(url)
    env = dict(os.environ)
    env.update(
        {
            "PGHOST": parsed.host or "",
            "PGPORT": str(parsed.port or 5432),
            "PGUSER": parsed.username or "",
            "PGDATABASE": parsed.database or "",
        }
    )
    if parsed.password:
        env["PGPASSWORD"] = parsed.password  # not on the command line, where ps shows it
    done = subprocess.run([pg_binary(tool), *args], env=env, capture_output=True, check=False)
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip()[-2000:]
        raise CollectionError(
            f"{tool} báo lỗi: {detail}", message_en=f"{tool} failed ({done.returncode}): {detail}"
        )


# --- restore ---------------------------------------------------------------------------------------


def check_complete(folder: Path, *, last_complete: bool = False) -> dict[str, Any]:
    """The manifest of the complete backup in ``folder``; BackupIncomplete if there is none, or
    if a later run did not finish (unless ``last_complete``: restore the one before it)."""
    if not folder.is_dir():
        raise InvalidInput(f"Không có thư mục {folder}.", message_en=f"no folder {folder}")
    manifest = read_manifest(folder)
    unfinished = unfinished_runs(folder, manifest)
    if manifest is None:
        if unfinished:
            raise BackupIncomplete(
                f"Bản sao lưu trong {folder} chưa hoàn tất (lần sao lưu bị ngắt giữa chừng, chưa "
                "có manifest.json): không khôi phục. Chạy lại `collection backup` vào thư mục "
                "này để hoàn tất, rồi khôi phục.",
                message_en=f"the backup in {folder} is incomplete (interrupted, no manifest.json): "
                "run `collection backup` into it again to complete it",
            )
        raise InvalidInput(
            f"{folder} không phải bản sao lưu (không có manifest.json).",
            message_en=f"{folder} is not a backup (no manifest.json)",
        )
    if unfinished and not last_complete:
        raise BackupIncomplete(
            f"Lần sao lưu sau cùng vào {folder} bị ngắt giữa chừng (bắt đầu {unfinished[-1].name})"
            f". Thư mục vẫn giữ bản hoàn chỉnh lúc {manifest['finished_at']}: chạy lại "
            "`collection backup` để hoàn tất bản mới, hoặc thêm --last-complete để khôi phục "
            "bản hoàn chỉnh trước đó.",
            message_en=f"the last backup run into {folder} was interrupted; the complete backup "
            f"of {manifest['finished_at']} is still there: run `collection backup` again, or "
            "restore the earlier one with --last-complete",
        )
    return manifest


def instance_contents(settings: Settings, store: ObjectStore) -> dict[str, int]:
    """What a fresh instance does not have: items, collections, files, access points, staff
    beyond the first admin, objects in the bucket (at most 1 counted)."""
    migrate.upgrade(settings.sqlalchemy_url)
    with session_scope(settings.sqlalchemy_url) as session:
        counts = {
            "items": session.scalar(select(func.count()).select_from(Item)) or 0,
            "collections": session.scalar(select(func.count()).select_from(Collection)) or 0,
            "files": session.scalar(select(func.count()).select_from(StoredFile)) or 0,
            "access_points": session.scalar(select(func.count()).select_from(AccessPoint)) or 0,
            "accounts": session.scalar(select(func.count()).select_from(User)) or 0,
        }
    counts["objects"] = next((1 for _ in store.list_etags()), 0)
    return counts


def restore(
    settings: Settings,
    store: ObjectStore,
    folder: Path,
    *,
    force: bool = False,
    last_complete: bool = False,
    progress: Progress | None = None,
) -> RestoreResult:
    """Replace this instance's database and objects by the backup's, migrate, reindex."""
    say = progress or (lambda _m: None)
    started = time.monotonic()
    result = RestoreResult()
    if not folder.is_dir():
        raise InvalidInput(f"Không có thư mục {folder}.", message_en=f"no folder {folder}")
    with _locked(folder):
        manifest = check_complete(folder, last_complete=last_complete)
        database = manifest["database"]
        engine = _engine_name(settings.sqlalchemy_url)
        if database["engine"] != engine:
            raise InvalidInput(
                f"Bản sao lưu là cơ sở dữ liệu {database['engine']}, hệ thống này dùng {engine}: "
                "hãy khôi phục vào hệ thống cùng loại.",
                message_en=f"the backup holds a {database['engine']} database, this instance uses "
                f"{engine}",
            )
        store.ensure_bucket()
        contents = instance_contents(settings, store)
        has_data = {
            k: v
            for k, v in contents.items()
            if v and not (k == "accounts" and v <= 1)  # the first admin of a fresh instance
        }
        if has_data and not force:
            found = ", ".join(f"{k} {v}" for k, v in has_data.items())
            raise InstanceNotEmpty(
                f"Hệ thống này không trống ({found}): khôi phục sẽ thay thế toàn bộ. Chỉ khôi phục "
                "vào một hệ thống mới; nếu thật sự muốn ghi đè, thêm --force.",
                message_en=f"this instance is not empty ({found}); restore replaces everything: "
                "use a fresh instance, or --force",
            )
        db_file = folder / database["file"]
        objects_file = folder / manifest["objects"]["file"]
        say("Kiểm tra bản sao lưu / verifying the backup…")
        for path, expected in (
            (db_file, database["sha256"]),
            (objects_file, manifest["objects"]["sha256"]),
        ):
            if not path.exists() or _sha256_file(path) != expected:
                raise InvalidInput(
                    f"Bản sao lưu bị hỏng: {path.name} không khớp mã kiểm tra trong manifest.json.",
                    message_en=f"the backup is damaged: {path} does not match its checksum",
                )
        entries = list(_entries(objects_file))
        _restore_objects(store, folder, entries, result, say=say)

        say("Khôi phục cơ sở dữ liệu / database…")
        _load_database(settings, db_file, engine)
        head = _head_revision(settings.sqlalchemy_url)
        if database.get("revision") != head:
            result.migrated_from = database.get("revision")
            say(f"Nâng cấp lược đồ / migrating {database.get('revision')} → {head}…")
        migrate.upgrade(settings.sqlalchemy_url)
        _forget_first_admin(settings)

        say("Dựng lại chỉ mục tìm kiếm / reindexing…")
        from collection.search import meili
        from collection.search.service import rebuild_index

        with session_scope(settings.sqlalchemy_url) as session:
            result.reindexed = rebuild_index(session=session, engine=meili.engine_for(settings))
        result.warnings = _differences(settings, folder, manifest)
        for warning in result.warnings:
            say(f"Lưu ý / note: {warning}")
    result.seconds = time.monotonic() - started
    say(
        f"Đã khôi phục / restored: {result.objects} đối tượng ({result.bytes / 1024 / 1024:.1f} "
        f"MB), {result.reindexed.get('items', 0)} tài liệu, {result.reindexed.get('pages', 0)} "
        f"trang; {result.seconds:.1f} s."
    )
    return result


class _Hashing:
    """A file read for upload, hashed on the way (the bytes are read once)."""

    def __init__(self, f: IO[bytes]) -> None:
        self.f = f
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.f.read(size)
        self.digest.update(data)
        return data


def _restore_objects(
    store: ObjectStore,
    folder: Path,
    entries: list[ObjectEntry],
    result: RestoreResult,
    *,
    say: Progress,
) -> None:
    total = sum(e.size for e in entries)
    say(f"Trả lại {len(entries)} đối tượng / objects ({total / 1024 / 1024:.1f} MB)…")
    lock = threading.Lock()
    last_report = [time.monotonic()]

    def put(entry: ObjectEntry) -> None:
        path = _object_path(folder, entry.sha256)
        if not path.exists():
            raise InvalidInput(
                f"Bản sao lưu thiếu tệp của đối tượng {entry.key}.",
                message_en=f"the backup lacks the copy of {entry.key} ({path})",
            )
        damaged = InvalidInput(
            f"Bản sao của {entry.key} bị hỏng (sai mã SHA-256): không khôi phục.",
            message_en=f"the copy of {entry.key} is damaged (SHA-256 mismatch)",
        )
        if entry.size < SMALL_OBJECT:  # checked before it is sent, sent in one request
            data = path.read_bytes()
            if hashlib.sha256(data).hexdigest() != entry.sha256:
                raise damaged
            store.put_bytes(entry.key, data, media_type=entry.media_type)
        else:  # streamed in parts, hashed on the way; removed again if it was not right
            with path.open("rb") as f:
                reader = _Hashing(f)
                store.put_stream(entry.key, reader, media_type=entry.media_type)  # type: ignore[arg-type]
            if reader.digest.hexdigest() != entry.sha256:
                store.delete(entry.key)
                raise damaged
        with lock:
            result.objects += 1
            result.bytes += entry.size
            if time.monotonic() - last_report[0] >= PROGRESS_EVERY_S:
                last_report[0] = time.monotonic()
                say(f"  {result.objects}/{len(entries)} đối tượng")

    with ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="restore") as pool:
        list(pool.map(put, entries))


def _load_database(settings: Settings, db_file: Path, engine: str) -> None:
    url = settings.sqlalchemy_url
    engine_for(url).dispose()  # no pooled connection of ours keeps the old pages
    if engine == "sqlite":
        source = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
        try:
            target = sqlite3.connect(make_url(url).database or "", timeout=30)
            try:
                # Page by page under SQLite's own locks: a running web app or worker sees the
                # restored database at its next transaction, never half of it.
                source.backup(target)
            finally:
                target.close()
        finally:
            source.close()
    else:
        from sqlalchemy import text

        with engine_for(url).begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine_for(url).dispose()
        _run_pg(
            "pg_restore",
            url,
            [
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "-d",
                make_url(url).database or "",
                str(db_file),
            ],
        )
    engine_for(url).dispose()


def _head_revision(url: str) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(migrate.alembic_config(url)).get_current_head()


def _forget_first_admin(settings: Settings) -> None:
    """The fresh instance's first admin is gone with its database: so is its password file."""
    path = settings.var_dir / "secrets" / "first-admin.json"
    if not path.exists():
        return
    email = json.loads(path.read_text(encoding="utf-8")).get("email", "")
    with session_scope(settings.sqlalchemy_url) as session:
        if session.scalar(select(User.id).where(User.email == email)) is None:
            path.unlink()


def _differences(settings: Settings, folder: Path, manifest: dict[str, Any]) -> list[str]:
    """What differs between the backed-up instance and this one, that a librarian should know."""
    notes = []
    recorded = manifest.get("settings", {})
    if recorded.get("public_url") and recorded["public_url"] != settings.base_url:
        notes.append(
            f"địa chỉ công khai khác ({recorded['public_url']} → {settings.base_url}): định danh "
            "OAI và liên kết đổi theo; đặt COLLECTION_PUBLIC_URL như cũ nếu đây là máy thay thế"
        )
    fingerprint = manifest.get("secret_key", {}).get("fingerprint")
    if fingerprint and fingerprint != secret_fingerprint(settings.app_secret()):
        notes.append(
            "COLLECTION_SECRET_KEY khác bản cũ: mã phân trang OAI đã phát không dùng được nữa; "
            "số liệu bạn đọc theo năm không đổi (khóa năm nằm trong cơ sở dữ liệu)"
        )
    search = manifest.get("search", {})
    changed = [
        name
        for name, sha in search.get("files", {}).items()
        if not (settings.search_config_dir / name).exists()
        or _sha256_file(settings.search_config_dir / name) != sha
    ]
    if changed:
        notes.append(
            f"cấu hình tìm kiếm khác bản sao lưu ({', '.join(changed)}); để tìm như cũ, đặt "
            f"COLLECTION_SEARCH_CONFIG_DIR={folder / search['folder']} rồi chạy collection reindex"
        )
    return notes
