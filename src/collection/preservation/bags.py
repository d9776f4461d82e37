"""BagIt 1.0 bags (RFC 8493), one per item, written and read with the Library of Congress's
``bagit`` package: export for other repositories and long-term storage, import of our own bags.

A bag::

    bagit.txt, bag-info.txt      Source-Organization, External-Identifier (the item's page and
                                 its OAI identifier), External-Description, Bagging-Date
    manifest-sha256.txt          every payload file; tagmanifest-sha256.txt the tag files
    data/originals/<name>        the originals under their original names (made safe)
    data/text/page-00001.txt     each page's text as a reader sees it (the correction if any)
    data/pdf/<name>.pdf          the searchable PDF, when there is one
    data/metadata/dc.xml         Dublin Core (oai_dc, as the OAI-PMH provider gives it)
    data/metadata/item.json      the item as the API gives it (GET /api/v1/items/<id>)
    data/metadata/kho.json       ours: which payload file is which file and page

Import recreates an item from its bag: the metadata as the API would take it, the originals
through the normal ingest, run by the import itself (pages, text, OCR, images, the searchable
PDF made again, as for an upload), then the pages staff had corrected get the bag's text back as
a correction (audited, as if typed). Page text that was not corrected, and the PDF, are made
again, not read from the bag. Every bag is validated (completeness and SHA-256 of every file)
before anything is imported: one bad bag and nothing is. A bag imported before (the same
External-Identifier) is skipped.

``bagit`` changes the process's working directory while it writes a bag: export and import run
from the CLI, never inside the web app.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import bagit
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from collection.catalogue import service as catalogue
from collection.catalogue.schemas import ItemFields, ItemIn
from collection.config import Settings
from collection.db import unit_of_work
from collection.errors import CollectionError, InvalidInput, NotFound
from collection.ingest import service as ingest
from collection.ingest.pipeline import run_job
from collection.models import Collection, Item, ItemStatus, JobState, Page, User
from collection.oai.elements import to_bytes
from collection.oai.identifiers import oai_identifier
from collection.oai.metadata import ItemRecord, oai_dc
from collection.places import service as places
from collection.storage import ObjectStore

SOURCE_ORGANIZATION = "Thư viện tỉnh Thanh Hóa"
BAG_FORMAT = "kho-so-thanh-hoa-item-bag"
BAG_FORMAT_VERSION = 1
MAX_NAME_BYTES = 180  # of a file name in a bag (most file systems allow 255)
# Control characters, path separators, what Windows refuses, and % (BagIt 1.0 would encode it).
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|%]')

Progress = Callable[[str], None]


class NotOurBag(InvalidInput):
    """A folder that is not a bag, or a bag another repository made."""


class BadBag(InvalidInput):
    """A bag of ours that fails validation (a file changed, missing or added)."""


def item_url(settings: Settings, item_id: int) -> str:
    return f"{settings.base_url}/tai-lieu/{item_id}"


def safe_name(name: str, fallback: str) -> str:
    """A file name that stays one file inside its folder on any common file system."""
    name = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    name = _UNSAFE.sub("_", name).strip().lstrip(".")
    if not name:
        name = fallback
    stem, dot, suffix = name.rpartition(".")
    if not dot or len(suffix) > 12:
        stem, suffix = name, ""
    ext = f".{suffix}" if suffix else ""
    while len((stem + ext).encode("utf-8")) > MAX_NAME_BYTES:
        stem = stem[:-1]
    return stem + ext


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 1
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    while candidate.casefold() in taken:  # case-insensitive file systems too
        n += 1
        candidate = f"{stem} ({n}){'.' + suffix if suffix else ''}"
    taken.add(candidate.casefold())
    return candidate


# --- export ----------------------------------------------------------------------------------------


@dataclass
class ExportResult:
    bags: list[Path] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)  # item id, why
    bytes: int = 0


def export_items(
    settings: Settings,
    store: ObjectStore,
    sessions: sessionmaker[Session],
    folder: Path,
    *,
    item_id: int | None = None,
    collection_id: int | None = None,
    progress: Progress | None = None,
) -> ExportResult:
    """Write one bag per item (one item, a collection's, or all) into ``folder``."""
    say = progress or (lambda _m: None)
    folder.mkdir(parents=True, exist_ok=True)
    with unit_of_work(sessions) as session:
        query = select(Item.id).order_by(Item.id)
        if item_id is not None:
            if session.get(Item, item_id) is None:
                raise NotFound(f"Không có tài liệu số {item_id}.", message_en=f"no item {item_id}")
            query = query.where(Item.id == item_id)
        if collection_id is not None:
            if session.get(Collection, collection_id) is None:
                raise NotFound(
                    f"Không có bộ sưu tập số {collection_id}.",
                    message_en=f"no collection {collection_id}",
                )
            query = query.where(Item.collection_id == collection_id)
        ids = list(session.scalars(query))
    result = ExportResult()
    for n, one in enumerate(ids, start=1):
        try:
            with unit_of_work(sessions) as session:
                bag = export_item(settings, store, session, one, folder)
        except CollectionError as exc:
            result.failed.append((one, exc.message))
            say(f"  tài liệu {one}: lỗi / failed: {exc.message}")
            continue
        result.bags.append(bag)
        result.bytes += sum(f.stat().st_size for f in bag.rglob("*") if f.is_file())
        say(f"  [{n}/{len(ids)}] {bag.name}")
    return result


def export_item(
    settings: Settings, store: ObjectStore, session: Session, item_id: int, folder: Path
) -> Path:
    """Write the bag of one item as ``folder/item-<id>`` (replacing an earlier one whole)."""
    item = session.scalar(select(Item).where(Item.id == item_id).options(selectinload(Item.files)))
    if item is None:
        raise NotFound(f"Không có tài liệu số {item_id}.", message_en=f"no item {item_id}")
    final = folder / f"item-{item_id}"
    work = folder / f".item-{item_id}.{os.getpid()}.tmp"
    shutil.rmtree(work, ignore_errors=True)
    try:
        for part in ("originals", "text", "pdf", "metadata"):
            (work / part).mkdir(parents=True)
        described_files = []
        taken: dict[str, set[str]] = {"originals": set(), "pdf": set()}
        for stored in item.files:
            part = "originals" if stored.role == "original" else "pdf"
            name = _unique(safe_name(stored.original_name, f"tep-{stored.id}"), taken[part])
            _copy_verified(store, stored.storage_key, stored.sha256, work / part / name)
            described_files.append(
                {
                    "id": stored.id,
                    "role": stored.role,
                    "path": f"data/{part}/{name}",
                    "original_name": stored.original_name,
                    "media_type": stored.media_type,
                    "size": stored.size,
                    "sha256": stored.sha256,
                }
            )
        described_pages = []
        pages = session.scalars(select(Page).where(Page.item_id == item_id).order_by(Page.number))
        for page in pages:
            path = f"text/page-{page.number:05d}.txt"
            (work / path).write_text(page.effective_text, encoding="utf-8")
            described_pages.append(
                {
                    "number": page.number,
                    "path": f"data/{path}",
                    "file_id": page.file_id,
                    "text_source": str(page.text_source),
                    "corrected": page.corrected_text is not None,
                }
            )
        for empty in ("text", "pdf"):
            if not any((work / empty).iterdir()):
                (work / empty).rmdir()
        gaz = places.gazetteer(session)
        labels = places.item_labels(gaz, item)
        if item.legacy_place.strip():
            labels.append(item.legacy_place.strip())
        holder = ET.Element("metadata")
        oai_dc(
            holder,
            ItemRecord(
                item=item,
                url=item_url(settings, item_id),
                places=labels,
                collection_title=item.collection.title if item.collection else None,
            ),
        )
        (work / "metadata" / "dc.xml").write_bytes(to_bytes(holder[0]))
        view = catalogue.item_view(session, item, base=settings.base_url)
        (work / "metadata" / "item.json").write_text(
            view.model_dump_json(indent=2), encoding="utf-8"
        )
        collection = item.collection
        ours = {
            "format": BAG_FORMAT,
            "format_version": BAG_FORMAT_VERSION,
            "item_id": item_id,
            "url": item_url(settings, item_id),
            "oai_identifier": oai_identifier(item_id, settings=settings),
            "collection": (
                {
                    "slug": collection.slug,
                    "title": collection.title,
                    "description": collection.description,
                }
                if collection
                else None
            ),
            "files": described_files,
            "pages": described_pages,
        }
        (work / "metadata" / "kho.json").write_text(
            json.dumps(ours, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        bagit.make_bag(
            str(work),
            {
                "Source-Organization": SOURCE_ORGANIZATION,
                "External-Identifier": [ours["url"], ours["oai_identifier"]],
                "External-Description": item.title,
                "Internal-Sender-Identifier": f"kho-so:item:{item_id}",
            },
            checksums=["sha256"],
        )
        # bagit 1.9 declares 0.97; our bags are 1.0 (RFC 8493: same layout, and no name here
        # holds the %, CR or LF that 1.0 would have encoded): say so, and hash bagit.txt again.
        (work / "bagit.txt").write_text(
            "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n", encoding="utf-8"
        )
        bagit.Bag(str(work)).save()
        if final.exists():
            old = folder / f".item-{item_id}.{os.getpid()}.old"
            final.rename(old)
            work.rename(final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            work.rename(final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return final


def _copy_verified(store: ObjectStore, key: str, sha256: str, target: Path) -> None:
    """Stream an object into ``target``; refuse (never export) bytes that are not the ones
    recorded at ingest."""
    digest = hashlib.sha256()
    with target.open("wb") as out:
        for chunk in store.open_stream(key):
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != sha256:
        raise InvalidInput(
            f"Tệp {key} trong kho không còn đúng mã SHA-256 ghi khi nhập: không xuất. Hãy chạy "
            "collection fixity để xem.",
            message_en=f"{key} no longer matches its recorded SHA-256: not exported",
        )


# --- import ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckedBag:
    path: Path
    ours: dict[str, Any]
    item: dict[str, Any]
    external_id: str


@dataclass
class ImportedBag:
    path: Path
    status: str  # created | duplicate
    item_id: int
    jobs: list[int] = field(default_factory=list)
    failed_jobs: list[int] = field(default_factory=list)  # files the ingest could not read
    corrections: int = 0


def find_bags(folder: Path) -> list[Path]:
    """``folder`` itself when it is a bag, else the bags directly inside it."""
    if not folder.is_dir():
        raise InvalidInput(f"Không có thư mục {folder}.", message_en=f"no folder {folder}")
    if (folder / "bagit.txt").exists():
        return [folder]
    bags = sorted(p for p in folder.iterdir() if p.is_dir() and (p / "bagit.txt").exists())
    if not bags:
        raise NotOurBag(
            f"Trong {folder} không có gói BagIt nào (thư mục có tệp bagit.txt).",
            message_en=f"no BagIt bag in {folder}",
        )
    return bags


def check_bag(path: Path) -> CheckedBag:
    """A bag of ours, complete and with every checksum right; NotOurBag or BadBag if not."""
    try:
        bag = bagit.Bag(str(path))
    except bagit.BagError as exc:
        raise NotOurBag(
            f"{path.name}: không phải gói BagIt đọc được ({exc}).",
            message_en=f"{path}: not a readable BagIt bag: {exc}",
        ) from exc
    organization = bag.info.get("Source-Organization")
    ours_path = path / "data" / "metadata" / "kho.json"
    try:
        ours = json.loads(ours_path.read_text(encoding="utf-8"))
        item = json.loads((path / "data" / "metadata" / "item.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        ours, item = {}, {}
    if organization != SOURCE_ORGANIZATION or ours.get("format") != BAG_FORMAT:
        raise NotOurBag(
            f"{path.name}: gói BagIt này không do Kho số Thanh Hóa tạo (Source-Organization: "
            f"{organization or 'không có'}; thiếu data/metadata/kho.json): không nhập được. "
            "Hãy nhập tài liệu của kho khác bằng collection import với bảng kê.",
            message_en=f"{path}: a bag another repository made (Source-Organization "
            f"{organization!r}, no kho.json): only bags exported by this repository are imported",
        )
    if int(ours.get("format_version", 0)) > BAG_FORMAT_VERSION:
        raise NotOurBag(
            f"{path.name}: gói do phiên bản mới hơn tạo ra.",
            message_en=f"{path}: bag format {ours['format_version']} is newer than this program's",
        )
    if "sha256" not in bag.algorithms:
        raise BadBag(
            f"{path.name}: gói không có manifest-sha256.txt.",
            message_en=f"{path}: no SHA-256 manifest",
        )
    try:
        bag.validate(processes=1)
    except bagit.BagValidationError as exc:
        details = getattr(exc, "details", None) or []
        listed = "; ".join(str(d) for d in details[:5]) or str(exc)
        raise BadBag(
            f"{path.name}: gói không hợp lệ, không nhập gì cả — {listed}",
            message_en=f"{path}: invalid bag, nothing imported: {listed}",
        ) from exc
    fields = {k: v for k, v in item.items() if k in ItemFields.model_fields}
    fields.pop("collection_id", None)
    fields["status"] = ItemStatus.DRAFT.value  # checked apart: a bag may hold a withdrawn item
    try:
        ItemIn.model_validate(fields)
    except ValueError as exc:
        raise BadBag(
            f"{path.name}: siêu dữ liệu trong item.json không hợp lệ: {exc}",
            message_en=f"{path}: invalid item.json: {exc}",
        ) from exc
    return CheckedBag(path=path, ours=ours, item=item, external_id=str(ours.get("url", "")))


def import_key(bag: CheckedBag) -> str:
    return "bag:" + hashlib.sha256(bag.external_id.encode()).hexdigest()[:40]


def import_bags(
    settings: Settings,
    store: ObjectStore,
    sessions: sessionmaker[Session],
    folder: Path,
    *,
    actor_id: int,
    progress: Progress | None = None,
) -> list[ImportedBag]:
    """Validate every bag under ``folder``, then recreate an item from each (a bag imported
    before is skipped). Raises on the first bad bag, before anything is imported."""
    say = progress or (lambda _m: None)
    checked = []
    for path in find_bags(folder):
        checked.append(check_bag(path))
        say(f"  hợp lệ / valid: {path.name}")
    return [
        _import_one(settings, store, sessions, bag, actor_id=actor_id, say=say) for bag in checked
    ]


def _item_in(bag: CheckedBag, session: Session) -> tuple[ItemIn, ItemStatus]:
    fields = {k: v for k, v in bag.item.items() if k in ItemFields.model_fields}
    fields.pop("collection_id", None)  # ids belong to the other instance: matched by slug below
    status = ItemStatus(fields.get("status", "draft"))
    if status == ItemStatus.WITHDRAWN:
        fields["status"] = ItemStatus.DRAFT.value  # a new item cannot start withdrawn
    collection = bag.ours.get("collection")
    if collection:
        found = session.scalar(select(Collection).where(Collection.slug == collection["slug"]))
        if found is None:
            found = Collection(
                slug=collection["slug"],
                title=collection["title"],
                description=collection.get("description", ""),
            )
            session.add(found)
            session.flush()
        fields["collection_id"] = found.id
    try:
        return ItemIn.model_validate(fields), status
    except ValueError as exc:
        raise BadBag(
            f"{bag.path.name}: siêu dữ liệu trong item.json không hợp lệ: {exc}",
            message_en=f"{bag.path}: invalid item.json: {exc}",
        ) from exc


def _import_one(
    settings: Settings,
    store: ObjectStore,
    sessions: sessionmaker[Session],
    bag: CheckedBag,
    *,
    actor_id: int,
    say: Progress,
) -> ImportedBag:
    key = import_key(bag)
    with unit_of_work(sessions) as session:
        existing = session.scalar(select(Item.id).where(Item.import_key == key))
        if existing is not None:
            return ImportedBag(bag.path, "duplicate", int(existing))
        actor = session.get(User, actor_id)
        assert actor is not None
        data, status = _item_in(bag, session)
        item = catalogue.create_item(session=session, actor=actor, data=data)
        item.import_key = key
        item.status = status
        imported = ImportedBag(bag.path, "created", item.id)
        for described in bag.ours.get("files", []):
            if described.get("role") != "original":
                continue  # the searchable PDF is made again by the ingest
            with _payload(bag, described["path"]).open("rb") as stream:
                upload = ingest.receive_file(
                    session=session,
                    actor=actor,
                    settings=settings,
                    store=store,
                    item_id=item.id,
                    filename=described.get("original_name") or Path(described["path"]).name,
                    stream=stream,
                    enqueue=False,
                )
            imported.jobs.append(upload.job_id)
    # The ingest, here and now: each file on this process (no OCR chunks handed to workers),
    # so the pages exist when the corrections are put back below.
    whole_files = settings.model_copy(update={"ocr_chunk_pages": 0})
    for job_id in imported.jobs:
        say(f"    {bag.path.name}: xử lý tệp / ingesting (job {job_id})…")
        if run_job(job_id, settings=whole_files) != JobState.DONE:
            imported.failed_jobs.append(job_id)
    corrected = [p for p in bag.ours.get("pages", []) if p.get("corrected")]
    with unit_of_work(sessions) as session:
        actor = session.get(User, actor_id)
        assert actor is not None
        for page in corrected:
            text = _payload(bag, page["path"]).read_text(encoding="utf-8")
            try:
                catalogue.correct_page(
                    session=session,
                    actor=actor,
                    item_id=imported.item_id,
                    number=int(page["number"]),
                    text=unicodedata.normalize("NFC", text),
                )
            except NotFound:  # its file failed to ingest: the job says why
                continue
            imported.corrections += 1
    return imported


def _payload(bag: CheckedBag, relative: str) -> Path:
    """A payload file kho.json names, refused if the name leads outside the bag's data/."""
    data = (bag.path / "data").resolve()
    path = (bag.path / relative).resolve()
    if not path.is_relative_to(data) or not path.is_file():
        raise BadBag(
            f"{bag.path.name}: kho.json nhắc tới tệp không có trong gói: {relative}",
            message_en=f"{bag.path}: kho.json names a file not in the payload: {relative}",
        )
    return path


def bag_files(bag: Path) -> Iterator[Path]:
    """The payload files of a bag (for tests and reports)."""
    yield from sorted(p for p in (bag / "data").rglob("*") if p.is_file())
