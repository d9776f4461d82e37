"""Bulk import: a folder (or ZIP) of files plus a CSV/XLSX sheet with Vietnamese headers.

Each row is its own unit of work: a bad row is reported and the others go on. Running the same
sheet again creates nothing twice (rows are matched by identifier, file checksum or metadata).
"""

from __future__ import annotations

import csv
import hashlib
import io
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from collection.audit import service as audit
from collection.catalogue import service as catalogue
from collection.catalogue.schemas import ItemIn
from collection.config import Settings
from collection.db import unit_of_work
from collection.errors import CollectionError, InvalidInput
from collection.ingest import service as ingest
from collection.models import Item, StoredFile, User
from collection.storage import ObjectStore

# Header (as staff write it, compared without case or diacritics) → ItemIn field.
HEADERS: dict[str, str] = {
    "tệp": "files",
    "tep tin": "files",
    "file": "files",
    "files": "files",
    "nhan đề": "title",
    "tiêu đề": "title",
    "title": "title",
    "nhan đề khác": "alternative",
    "tác giả": "creator",
    "creator": "creator",
    "người đóng góp": "contributor",
    "contributor": "contributor",
    "chủ đề": "subject",
    "subject": "subject",
    "mô tả": "description",
    "tóm tắt": "description",
    "description": "description",
    "nhà xuất bản": "publisher",
    "publisher": "publisher",
    "năm": "date",
    "ngày": "date",
    "năm/ngày": "date",
    "date": "date",
    "loại dcmi": "type",
    "type": "type",
    "khổ mẫu": "format",
    "format": "format",
    "mã định danh": "identifier",
    "identifier": "identifier",
    "nguồn": "source",
    "source": "source",
    "ngôn ngữ": "language",
    "language": "language",
    "liên kết": "relation",
    "relation": "relation",
    "phạm vi": "coverage",
    "coverage": "coverage",
    "quyền": "rights",
    "bản quyền": "rights",
    "rights": "rights",
    "địa danh": "place",
    "place": "place",
    "thời kỳ": "period",
    "period": "period",
    "loại tài liệu": "document_type",
    "loại hình": "document_type",
    "document type": "document_type",
    "mức truy cập": "access",
    "truy cập": "access",
    "access": "access",
    "trạng thái": "status",
    "status": "status",
    "ngôn ngữ ocr": "ocr_languages",
    "ocr": "ocr_languages",
}
LIST_FIELDS = {"files", "creator", "contributor", "subject", "language", "place"}
ACCESS_WORDS = {
    "công khai": "public",
    "public": "public",
    "tại chỗ": "onsite",
    "chỉ đọc tại chỗ": "onsite",
    "onsite": "onsite",
    "cán bộ": "staff",
    "nội bộ": "staff",
    "staff": "staff",
}
STATUS_WORDS = {
    "nháp": "draft",
    "bản nháp": "draft",
    "draft": "draft",
    "công bố": "published",
    "đã công bố": "published",
    "published": "published",
}
MAX_ROWS = 20_000
MAX_ZIP_FILES = 20_000
MAX_ZIP_RATIO = 200  # uncompressed / compressed: beyond this a member is treated as a zip bomb


def _key(text: str) -> str:
    return unicodedata.normalize("NFC", text.strip().lower())


_HEADER_KEYS = {_key(k): v for k, v in HEADERS.items()}


@dataclass
class RowResult:
    row: int  # the sheet's row number, as staff see it (header is row 1)
    status: str  # created | duplicate | failed
    title: str = ""
    item_id: int | None = None
    job_ids: list[int] = field(default_factory=list)
    reason: str = ""


# --- reading the sheet -----------------------------------------------------------------------


def read_sheet(path: Path) -> list[tuple[int, dict[str, str]]]:
    """Rows of a .csv or .xlsx sheet as {field: text}, numbered as in the sheet."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        raw = list(_xlsx_rows(path))
    elif suffix == ".csv":
        raw = list(_csv_rows(path))
    else:
        raise InvalidInput(
            "Bảng kê phải là tệp .csv hoặc .xlsx.", message_en="the sheet must be .csv or .xlsx"
        )
    if not raw:
        raise InvalidInput("Bảng kê trống.", message_en="the sheet is empty")
    header, *body = raw
    columns = [_HEADER_KEYS.get(_key(h)) for h in header]
    if "title" not in columns:
        raise InvalidInput(
            "Bảng kê thiếu cột bắt buộc «Nhan đề».", message_en="the sheet has no title column"
        )
    unknown = [h for h, c in zip(header, columns, strict=True) if c is None and h.strip()]
    if unknown:
        raise InvalidInput(
            f"Bảng kê có cột không nhận ra: {', '.join(unknown)}.",
            message_en=f"unknown columns: {unknown}",
        )
    if len(body) > MAX_ROWS:
        raise InvalidInput(f"Bảng kê quá {MAX_ROWS} dòng.", message_en=f"more than {MAX_ROWS} rows")
    rows = []
    for number, values in enumerate(body, start=2):
        if not any(v.strip() for v in values):
            continue
        row = {c: v.strip() for c, v in zip(columns, values, strict=False) if c}
        rows.append((number, row))
    return rows


def _csv_rows(path: Path) -> Iterator[list[str]]:
    text = path.read_bytes()
    try:
        decoded = text.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            "Tệp CSV phải được lưu với mã UTF-8.", message_en="the CSV is not UTF-8"
        ) from exc
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            decoded[:4096], delimiters=",;\t"
        )
    except csv.Error:  # one column, or nothing to tell the delimiter by: plain commas
        dialect = csv.excel
    try:
        rows = list(csv.reader(io.StringIO(decoded), dialect))
    except csv.Error as exc:  # a NUL byte, an unclosed quote at the end…
        raise InvalidInput(
            f"Không đọc được tệp CSV: {exc}.", message_en=f"cannot read the CSV: {exc}"
        ) from exc
    for row in rows:
        yield [unicodedata.normalize("NFC", cell) for cell in row]


def _xlsx_rows(path: Path) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    # openpyxl raises zipfile, KeyError, InvalidFileException, XML errors… while opening, and
    # (read-only mode reads lazily) while reading a truncated file: all one refusal.
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
        try:
            rows = [
                [_cell(v) for v in values]
                for values in workbook.worksheets[0].iter_rows(values_only=True)
            ]
        finally:
            workbook.close()
    except Exception as exc:
        raise InvalidInput(
            "Không đọc được tệp Excel (.xlsx): tệp hỏng hoặc không phải .xlsx.",
            message_en=f"cannot read the xlsx: {exc!r}",
        ) from exc
    yield from rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "year") and hasattr(value, "month"):
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"  # a date typed in Excel
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 1945.0 → 1945
    return unicodedata.normalize("NFC", str(value))


def _metadata(row: dict[str, str]) -> ItemIn:
    data: dict[str, Any] = {}
    for name, value in row.items():
        if name == "files" or not value:
            continue
        if name in LIST_FIELDS:
            data[name] = [part.strip() for part in value.split(";") if part.strip()]
        elif name == "access":
            data[name] = ACCESS_WORDS.get(_key(value), value)
        elif name == "status":
            data[name] = STATUS_WORDS.get(_key(value), value)
        else:
            data[name] = value
    return ItemIn.model_validate(data)


# The column name shown in a row's error: the template's header for that field.
LABELS = {
    "title": "Nhan đề",
    "creator": "Tác giả",
    "subject": "Chủ đề",
    "date": "Năm",
    "language": "Ngôn ngữ",
    "access": "Mức truy cập",
    "status": "Trạng thái",
    "ocr_languages": "Ngôn ngữ OCR",
    "document_type": "Loại tài liệu",
}


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = str(error["loc"][0]) if error["loc"] else ""
        label = LABELS.get(where) or next((k for k, v in HEADERS.items() if v == where), where)
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{label.capitalize()}: {message}" if label else message)
    return "; ".join(parts)


# --- files -----------------------------------------------------------------------------------


def safe_path(root: Path, name: str) -> Path:
    """``name`` inside ``root``; names that try to leave the folder are refused."""
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or not pure.parts:
        raise InvalidInput(
            f"Tên tệp không hợp lệ (trỏ ra ngoài thư mục): {name}",
            message_en=f"file name escapes the folder: {name}",
        )
    path = (root / Path(*pure.parts)).resolve()
    if not path.is_relative_to(root.resolve()):
        raise InvalidInput(
            f"Tên tệp không hợp lệ (trỏ ra ngoài thư mục): {name}",
            message_en=f"file name escapes the folder: {name}",
        )
    return path


def extract_zip(archive: Path, target: Path, *, max_bytes: int) -> None:
    """Unpack a ZIP safely: no names outside ``target``, no zip bombs, bounded total size."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = [m for m in zipped.infolist() if not m.is_dir()]
            if len(members) > MAX_ZIP_FILES:
                raise InvalidInput(
                    f"Tệp ZIP có quá {MAX_ZIP_FILES} tệp.", message_en="too many files"
                )
            total = 0
            for member in members:
                destination = safe_path(target, member.filename)
                if member.file_size > max(member.compress_size, 1) * MAX_ZIP_RATIO:
                    raise InvalidInput(
                        f"Tệp ZIP có dấu hiệu «bom nén» ({member.filename}).",
                        message_en=f"zip bomb suspected: {member.filename}",
                    )
                total += member.file_size
                if total > max_bytes:
                    raise InvalidInput(
                        "Tệp ZIP giải nén ra quá lớn.", message_en="the ZIP unpacks too large"
                    )
                _extract(zipped, member, destination)
    except zipfile.BadZipFile as exc:
        raise InvalidInput("Tệp ZIP bị hỏng.", message_en=f"bad ZIP: {exc}") from exc


def _extract(zipped: zipfile.ZipFile, member: zipfile.ZipInfo, destination: Path) -> None:
    name = member.filename[:120]
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        with zipped.open(member) as source, destination.open("wb") as out:
            written = 0
            while chunk := source.read(1024 * 1024):
                written += len(chunk)
                if written > member.file_size:  # the header lied about the size
                    raise InvalidInput("Tệp ZIP bị hỏng.", message_en="member larger than declared")
                out.write(chunk)
    except (RuntimeError, NotImplementedError) as exc:  # a password; deflate64, LZMA…
        raise InvalidInput(
            f"Tệp «{name}» trong ZIP có mật khẩu hoặc nén theo cách không hỗ trợ; "
            "hãy nén lại bằng kiểu thường (Deflate), không đặt mật khẩu.",
            message_en=f"encrypted or unsupported compression: {name}: {exc}",
        ) from exc
    except OSError as exc:  # a name too long for the disk, "x" and "x/y.pdf" both…
        raise InvalidInput(
            f"Không giải nén được «{name}» ({exc.strerror or exc}): tên quá dài, trùng tên "
            "một thư mục, hoặc đĩa đầy.",
            message_en=f"cannot unpack {name}: {exc.strerror or exc}",
        ) from exc


# --- importing -------------------------------------------------------------------------------


def import_rows(
    *,
    sessions: sessionmaker[Session],
    actor_id: int,
    settings: Settings,
    store: ObjectStore,
    rows: list[tuple[int, dict[str, str]]],
    root: Path,
    on_row: Callable[[RowResult], None] | None = None,
) -> list[RowResult]:
    """Create an item (and queue its files' ingest) per row; each row commits on its own."""
    results = []
    for result in iter_import_rows(
        sessions=sessions, actor_id=actor_id, settings=settings, store=store, rows=rows, root=root
    ):
        results.append(result)
        if on_row:
            on_row(result)
    return results


def iter_import_rows(
    *,
    sessions: sessionmaker[Session],
    actor_id: int,
    settings: Settings,
    store: ObjectStore,
    rows: list[tuple[int, dict[str, str]]],
    root: Path,
) -> Iterator[RowResult]:
    """The rows' results, each as soon as its row is done (for a live report)."""
    for number, row in rows:
        yield _import_row(sessions, actor_id, settings, store, number, row, root)


def _import_row(
    sessions: sessionmaker[Session],
    actor_id: int,
    settings: Settings,
    store: ObjectStore,
    number: int,
    row: dict[str, str],
    root: Path,
) -> RowResult:
    title = row.get("title", "")
    try:
        data = _metadata(row)
        names = [p.strip() for p in row.get("files", "").split(";") if p.strip()]
        paths = [safe_path(root, name) for name in names]
        for name, path in zip(names, paths, strict=True):
            if not path.is_file():
                raise InvalidInput(f"Không thấy tệp «{name}».", message_en=f"no file {name!r}")
        import_key = _import_key(data, paths)
        with unit_of_work(sessions) as session:
            duplicate = _existing(session, import_key, paths)
            if duplicate is not None:
                return RowResult(number, "duplicate", title, duplicate, reason="Đã nhập trước đó.")
            actor = session.get(User, actor_id)
            assert actor is not None
            item = catalogue.create_item(session=session, actor=actor, data=data)
            item.import_key = import_key
            jobs = []
            for name, path in zip(names, paths, strict=True):
                with path.open("rb") as stream:
                    upload = ingest.receive_file(
                        session=session,
                        actor=actor,
                        settings=settings,
                        store=store,
                        item_id=item.id,
                        filename=name,
                        stream=stream,
                    )
                jobs.append(upload.job_id)
            return RowResult(number, "created", title, item.id, jobs)
    except ValidationError as exc:
        return RowResult(number, "failed", title, reason=_describe(exc))
    except CollectionError as exc:
        return RowResult(number, "failed", title, reason=exc.message)


def tally(results: list[RowResult]) -> dict[str, int]:
    """How many rows were created, duplicates and failed."""
    return {k: sum(r.status == k for r in results) for k in STATUS_LABELS}


def record_import(
    sessions: sessionmaker[Session], actor_id: int, sheet_name: str, results: list[RowResult]
) -> None:
    """One audit entry per import run, with its counts (each created item has its own)."""
    counts = tally(results)
    with unit_of_work(sessions) as session:
        audit.record(
            session,
            actor=session.get(User, actor_id),
            action="import.run",
            target_type="import",
            target_id=None,
            summary=f"{sheet_name}: {counts['created']} tạo mới, {counts['duplicate']} trùng, "
            f"{counts['failed']} lỗi",
        )


def _import_key(data: ItemIn, paths: list[Path]) -> str:
    if data.identifier:
        return f"id:{data.identifier}"
    if paths:
        return f"sha256:{ingest.file_sha256(paths[0])}"
    basis = "|".join([data.title.casefold(), data.date, ";".join(data.creator).casefold()])
    return f"meta:{hashlib.sha256(basis.encode()).hexdigest()}"


def _existing(session: Session, import_key: str, paths: list[Path]) -> int | None:
    """The item an earlier import made from this row, if any."""
    if import_key.startswith("sha256:"):
        found = session.scalar(
            select(StoredFile.item_id).where(
                StoredFile.sha256 == import_key.removeprefix("sha256:"),
                StoredFile.role == "original",
            )
        )
        if found is not None:
            return int(found)
    found = session.scalar(select(Item.id).where(Item.import_key == import_key))
    return None if found is None else int(found)


REPORT_HEADER = ["Dòng", "Kết quả", "Nhan đề", "Mã tài liệu", "Công việc", "Lý do"]
STATUS_LABELS = {"created": "Đã tạo", "duplicate": "Trùng, bỏ qua", "failed": "Lỗi"}


def write_report(results: list[RowResult], path: Path) -> None:
    """The per-row report as a CSV staff can open in Excel (UTF-8 with BOM)."""
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(REPORT_HEADER)
        for r in results:
            writer.writerow(
                [
                    r.row,
                    STATUS_LABELS[r.status],
                    r.title,
                    r.item_id or "",
                    " ".join(map(str, r.job_ids)),
                    r.reason,
                ]
            )
