"""What a file is, judged by its content (never by its name)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from collection.errors import InvalidInput, UnsupportedMediaType

# Media type → what staff call it. The order is the order of the message listing them.
ACCEPTED = {
    "application/pdf": "PDF",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/tiff": "TIFF",
    "application/epub+zip": "EPUB",
    "application/oxps": "XPS",
    "application/vnd.comicbook+zip": "CBZ",
}
ACCEPTED_LIST = ", ".join(ACCEPTED.values())
IMAGE_TYPES = {"image/jpeg", "image/png", "image/tiff"}
_IMAGE_NAMES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".tif", ".tiff", ".bmp")


def sniff(path: Path) -> str:
    """The media type of the file at ``path``; UnsupportedMediaType for anything we do not take."""
    with path.open("rb") as f:
        head = f.read(2048)
    if not head:
        raise InvalidInput("Tệp rỗng (0 byte).", message_en="the file is empty (0 bytes)")
    if b"%PDF-" in head[:1024]:
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "image/tiff"
    if head.startswith(b"PK\x03\x04"):
        zipped = _sniff_zip(path)
        if zipped:
            return zipped
    raise unsupported()


def unsupported() -> UnsupportedMediaType:
    return UnsupportedMediaType(
        f"Định dạng tệp không được hỗ trợ. Chấp nhận: {ACCEPTED_LIST}.",
        message_en=f"unsupported file type; accepted: {ACCEPTED_LIST}",
    )


def _sniff_zip(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if "mimetype" in names:
                mimetype = archive.read("mimetype")[:100].strip()
                if mimetype == b"application/epub+zip":
                    return "application/epub+zip"
    except (zipfile.BadZipFile, OSError, KeyError):
        return None
    if "[Content_Types].xml" in names and any(n.endswith(".fdseq") for n in names):
        return "application/oxps"
    files = [n for n in names if not n.endswith("/")]
    if files and all(n.lower().endswith(_IMAGE_NAMES) for n in files):
        return "application/vnd.comicbook+zip"
    return None
