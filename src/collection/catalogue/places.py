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
def places(path: Path = PLACES_FILE) -> tuple[str, ...]:
    """The place names, in Vietnamese alphabetical order."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))["places"]
        names = {unicodedata.normalize("NFC", row["name"].strip()) for row in rows}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigurationError(
            f"Không đọc được danh sách địa danh {path}: {exc}",
            message_en=f"cannot read the place list {path}: {exc}",
        ) from exc
    return tuple(sorted(names, key=sort_key))


def canonical_place(value: str, path: Path = PLACES_FILE) -> str:
    """The listed name ``value`` stands for ("dong son", "ĐÔNG SƠN" → "Đông Sơn"); "" stays "".

    InvalidInput names the value and the nearest listed names when it is not in the list."""
    value = unicodedata.normalize("NFC", value.strip())
    if not value:
        return ""
    known = places(path)
    exact = {name.casefold(): name for name in known}
    if value.casefold() in exact:
        return exact[value.casefold()]
    folded = [name for name in known if fold(name) == fold(value)]
    if len(folded) == 1:  # unambiguous without diacritics
        return folded[0]
    near = [name for name in known if fold(value) in fold(name) or fold(name) in fold(value)]
    hint = f" Có phải: {', '.join(near[:3])}?" if near else ""
    raise InvalidInput(
        f"Địa danh «{value}» không có trong danh sách địa danh Thanh Hóa.{hint}",
        message_en=f"place {value!r} is not in the place list ({path.name})",
        field="place",
    )
