"""The controlled list of places in Thanh Hóa (``ingest/dia-danh.json``, kept by staff)."""

from __future__ import annotations

import json
import unicodedata
from functools import lru_cache
from pathlib import Path

from collection.config import PROJECT_ROOT
from collection.errors import ConfigurationError, InvalidInput
from collection.search.vietnamese import fold, sort_key

PLACES_FILE = PROJECT_ROOT / "ingest" / "dia-danh.json"


@lru_cache(maxsize=4)
def _read(path: Path) -> tuple[tuple[str, ...], dict[str, str]]:
    """The names in Vietnamese alphabetical order, and every accepted spelling → its name."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))["places"]
        spellings: dict[str, str] = {}
        for row in rows:
            name = unicodedata.normalize("NFC", row["name"].strip())
            for spelling in [name, *row.get("aliases", [])]:
                spellings[unicodedata.normalize("NFC", spelling.strip()).casefold()] = name
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigurationError(
            f"Không đọc được danh sách địa danh {path}: {exc}",
            message_en=f"cannot read the place list {path}: {exc}",
        ) from exc
    return tuple(sorted(set(spellings.values()), key=sort_key)), spellings


def places(path: Path = PLACES_FILE) -> tuple[str, ...]:
    """The place names, in Vietnamese alphabetical order."""
    return _read(path)[0]


def canonical_place(value: str, path: Path = PLACES_FILE) -> str:
    """The listed name ``value`` stands for ("dong son", "huyện Đông Sơn" → "Đông Sơn",
    "Sầm Sơn" → "Thành phố Sầm Sơn"); "" stays "".

    InvalidInput names the value and the nearest listed names when it is not in the list."""
    value = unicodedata.normalize("NFC", value.strip())
    if not value:
        return ""
    known, spellings = _read(path)
    if value.casefold() in spellings:
        return spellings[value.casefold()]
    folded = {spellings[s] for s in spellings if fold(s) == fold(value)}
    if len(folded) == 1:  # unambiguous without diacritics
        return folded.pop()
    near = [name for name in known if fold(value) in fold(name) or fold(name) in fold(value)]
    hint = f" Có phải: {', '.join(near[:3])}?" if near else ""
    raise InvalidInput(
        f"Địa danh «{value}» không có trong danh sách địa danh Thanh Hóa.{hint}",
        message_en=f"place {value!r} is not in the place list ({path.name})",
        field="place",
    )
