"""A harvested Dublin Core record → our item fields.

The fifteen DC elements go to the fields of the same name. Where we keep one value and DC may
repeat: the first title is the title and the second the alternative title; descriptions are
joined by a blank line; dc:type values that are DCMI types (Text, StillImage…) go to ``type``
and the others (Sách, Bản đồ…) to ``document_type``; dc:identifier URLs are kept as the link to
the original, and the identifier field holds the first identifier that is not a URL (else the
link). Text is kept as text: markup inside an element is read as its text (the pages escape it),
control characters are dropped (the catalogue refuses them), runs of spaces are one space except
in descriptions. Values longer than a field holds are cut at its limit with an ellipsis."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from annotated_types import MaxLen

from collection.catalogue.dates import check_date
from collection.catalogue.schemas import ItemFields

# What the catalogue refuses (catalogue.schemas), plus the C1 controls nobody means to write.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"\s+")
_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)
_DAY = re.compile(r"^(\d{4}(?:-\d\d(?:-\d\d)?)?)")
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")
DCMI_TYPES = {
    t.lower(): t
    for t in (
        "Collection",
        "Dataset",
        "Event",
        "Image",
        "InteractiveResource",
        "MovingImage",
        "PhysicalObject",
        "Service",
        "Software",
        "Sound",
        "StillImage",
        "Text",
    )
}
LIST_ITEM_LIMIT = 5000  # ItemFields' str_max_length: each creator, subject…


def _limit(name: str) -> int:
    for rule in ItemFields.model_fields[name].metadata:
        if isinstance(rule, MaxLen):
            return int(rule.max_length)
    return LIST_ITEM_LIMIT


LIMITS = {name: _limit(name) for name in ItemFields.model_fields}


class RecordRefused(ValueError):
    """A record that cannot become an item; the message (Vietnamese) is the reason shown."""


@dataclass(frozen=True)
class MappedRecord:
    fields: dict[str, Any]  # ItemFields keys
    link: str | None  # the original's address, from dc:identifier

    @property
    def fingerprint(self) -> str:
        """Changes when the source's metadata does (so an unchanged record is not written)."""
        basis = json.dumps([self.fields, self.link], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(basis.encode()).hexdigest()


def clean(text: str, *, one_line: bool = True) -> str:
    """Text as the catalogue stores it: no control characters, trimmed; one line unless asked."""
    text = _CONTROL.sub("", text)
    if one_line:
        return _SPACES.sub(" ", text).strip()
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _values(metadata: dict[str, list[str]], name: str, *, one_line: bool = True) -> list[str]:
    found = (clean(v, one_line=one_line) for v in metadata.get(name, []))
    return list(dict.fromkeys(v for v in found if v))  # in order, each once


def _joined(values: list[str], name: str, separator: str = "; ") -> str:
    return _cut(separator.join(values), LIMITS[name])


def _listed(values: list[str], name: str) -> list[str]:
    return [_cut(v, LIST_ITEM_LIMIT) for v in values[: LIMITS[name]]]


def catalogue_date(values: list[str]) -> str:
    """The first dc:date the catalogue can hold: as written if valid, else its day or year
    ("2001-05-03T00:00:00Z" → "2001-05-03", "[1998?]" → "1998"); "" if none."""
    for value in values:
        for candidate in (value, *(_DAY.findall(value)[:1]), *(_YEAR.findall(value)[:1])):
            try:
                return check_date(candidate)
            except ValueError:
                continue
    return ""


def map_record(metadata: dict[str, list[str]]) -> MappedRecord:
    """Our item fields from a record's DC elements; RecordRefused when there is no title."""
    titles = _values(metadata, "title")
    if not titles:
        raise RecordRefused("Bản ghi không có nhan đề (dc:title): không tạo tài liệu.")
    types = _values(metadata, "type")
    dcmi = [DCMI_TYPES[t.lower()] for t in types if t.lower() in DCMI_TYPES]
    local_types = [t for t in types if t.lower() not in DCMI_TYPES]
    identifiers = _values(metadata, "identifier")
    links = [i for i in identifiers if _URL.match(i) and len(i) <= 1000]
    plain = [i for i in identifiers if i not in links]
    fields: dict[str, Any] = {
        "title": _cut(titles[0], LIMITS["title"]),
        "alternative": _joined(titles[1:], "alternative"),
        "creator": _listed(_values(metadata, "creator"), "creator"),
        "contributor": _listed(_values(metadata, "contributor"), "contributor"),
        "subject": _listed(_values(metadata, "subject"), "subject"),
        "description": _joined(
            _values(metadata, "description", one_line=False), "description", "\n\n"
        ),
        "publisher": _joined(_values(metadata, "publisher"), "publisher"),
        "date": catalogue_date(_values(metadata, "date")),
        "type": _joined(dcmi[:1], "type"),
        "document_type": _joined(local_types[:1], "document_type"),
        "format": _joined(_values(metadata, "format"), "format"),
        "identifier": _cut((plain or links or [""])[0], LIMITS["identifier"]),
        "source": _joined(_values(metadata, "source"), "source"),
        "relation": _joined(_values(metadata, "relation"), "relation"),
        "coverage": _joined(_values(metadata, "coverage"), "coverage"),
        "rights": _joined(_values(metadata, "rights"), "rights"),
    }
    languages = _listed(_values(metadata, "language"), "language")
    if languages:
        fields["language"] = languages
    return MappedRecord(fields, links[0] if links else None)
