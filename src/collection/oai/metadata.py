"""The metadata formats: Dublin Core (``oai_dc``, required by the protocol) and MARCXML
(``marc21``), which the Vietnamese library network catalogues in (MARC 21 is the national
standard, TCVN; the National Library of Vietnam and the provincial libraries exchange MARC).

The MARC record is made from the item's Dublin Core by the Library of Congress's DC → MARC
crosswalk, with local choices said where they are made. Vietnamese personal names are written in
direct order (given name last, never inverted), so name fields have first indicator 0
(forename/direct order) rather than 1 (surname, inverted)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from collection.models import Access, Item
from collection.oai.elements import (
    DC_NS,
    MARC_NS,
    OAI_DC_NS,
    SCHEMA_LOCATION,
    sub,
)


@dataclass(frozen=True)
class ItemRecord:
    """What a record is made of: the item and what it refers to, looked up once."""

    item: Item
    url: str  # the public item page
    places: list[str]  # labels from the gazetteer, then free text from before it
    collection_title: str | None


# --- oai_dc ------------------------------------------------------------------------------------

ONSITE_RIGHTS = "Tài liệu chỉ đọc được tại các điểm truy cập của Thư viện tỉnh Thanh Hóa."


def _present(values: list[str | None]) -> list[str]:
    return [v.strip() for v in values if v and v.strip()]


def oai_dc(parent: ET.Element, record: ItemRecord) -> None:
    item = record.item
    dc = sub(parent, "dc", namespace=OAI_DC_NS)
    dc.set(SCHEMA_LOCATION, f"{OAI_DC_NS} http://www.openarchives.org/OAI/2.0/oai_dc.xsd")
    elements: list[tuple[str, list[str | None]]] = [
        ("title", [item.title, item.alternative]),
        ("creator", list(item.creator)),
        ("contributor", list(item.contributor)),
        ("subject", list(item.subject)),
        ("description", [item.description]),
        ("publisher", [item.publisher]),
        ("date", [item.date]),
        ("type", [item.type, item.document_type]),
        ("format", [item.format]),
        ("identifier", [item.identifier, record.url]),
        ("source", [item.source]),
        ("language", list(item.language)),
        ("relation", [item.relation, record.collection_title]),
        ("coverage", [item.coverage, *record.places, item.period]),
        ("rights", [item.rights, ONSITE_RIGHTS if item.access == Access.ONSITE else None]),
    ]
    for name, values in elements:
        for value in _present(values):
            sub(dc, name, value, namespace=DC_NS)


# --- marc21 ------------------------------------------------------------------------------------

# ISO 639-1 as the catalogue writes it → MARC language codes (ISO 639-2/B), and a Vietnamese name
# for note 546; a code already three letters long is kept.
MARC_LANGUAGES = {
    "vi": ("vie", "Tiếng Việt"),
    "en": ("eng", "Tiếng Anh"),
    "fr": ("fre", "Tiếng Pháp"),
    "zh": ("chi", "Tiếng Trung (chữ Hán)"),
    "ru": ("rus", "Tiếng Nga"),
    "de": ("ger", "Tiếng Đức"),
    "ja": ("jpn", "Tiếng Nhật"),
    "ko": ("kor", "Tiếng Hàn"),
    "lo": ("lao", "Tiếng Lào"),
    "km": ("khm", "Tiếng Khmer"),
    "th": ("tha", "Tiếng Thái"),
    "la": ("lat", "Tiếng Latinh"),
}
# Leader/06 (type of record) from the DCMI type, and from our document types where they say more.
_RECORD_TYPE = {
    "text": "a",
    "image": "k",
    "stillimage": "k",
    "movingimage": "g",
    "sound": "i",
    "dataset": "m",
    "software": "m",
    "interactiveresource": "m",
    "physicalobject": "r",
}
_ISBN = re.compile(r"^(?:ISBN[:\s]*)?((?:97[89][\s-]?)?(?:\d[\s-]?){9}[\dXx])$")
_MEDIA_TYPE = re.compile(r"^[a-z]+/[a-z0-9.+-]+$", re.IGNORECASE)


def _language(code: str) -> tuple[str, str]:
    code = code.strip().lower()
    if code in MARC_LANGUAGES:
        return MARC_LANGUAGES[code]
    return (code if re.fullmatch(r"[a-z]{3}", code) else "und"), code


def _record_type(item: Item) -> tuple[str, str]:
    """Leader/06 and /07: type of record and bibliographic level."""
    folded = item.document_type.lower()
    if "bản đồ" in folded or item.type.lower() == "cartographic":
        kind = "e"
    else:
        kind = _RECORD_TYPE.get(item.type.replace(" ", "").lower(), "a")
    level = "s" if folded.startswith(("báo", "tạp chí")) else "m"  # newspapers are serials
    return kind, level


def _fixed_008(item: Item, languages: list[str]) -> str:
    """008 for books (most of ours); positions 18–34 left undefined ("|" = no attempt to code)."""
    entered = item.created_at.strftime("%y%m%d")
    if item.year_start is None:
        dates = "n" + "uuuu" + "uuuu"
    elif item.year_end is not None and item.year_end != item.year_start:
        dates = f"m{item.year_start:04d}{item.year_end:04d}"
    else:
        dates = f"s{item.year_start:04d}    "
    language = languages[0] if languages else "und"
    # vm: published in Vietnam; d: catalogued by other than a national agency
    return f"{entered}{dates}vm {'|' * 17}{language} d"


def _datafield(
    parent: ET.Element,
    tag: str,
    subfields: list[tuple[str, str | None]],
    ind1: str = " ",
    ind2: str = " ",
) -> None:
    present = [(code, value.strip()) for code, value in subfields if value and value.strip()]
    if not present:
        return
    field = sub(parent, "datafield", namespace=MARC_NS, tag=tag, ind1=ind1, ind2=ind2)
    for code, value in present:
        sub(field, "subfield", value, namespace=MARC_NS, code=code)


def marc21(parent: ET.Element, record: ItemRecord) -> None:
    item = record.item
    marc = sub(parent, "record", namespace=MARC_NS)
    marc.set(
        SCHEMA_LOCATION,
        f"{MARC_NS} http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd",
    )
    kind, level = _record_type(item)
    # 00000: the record length and base address are for ISO 2709 files, not MARCXML; a: UCS/Unicode;
    # u u: encoding level and descriptive form unknown (converted from Dublin Core).
    sub(marc, "leader", f"00000n{kind}{level} a2200000uu 4500", namespace=MARC_NS)
    sub(marc, "controlfield", str(item.id), namespace=MARC_NS, tag="001")
    sub(
        marc,
        "controlfield",
        item.updated_at.strftime("%Y%m%d%H%M%S.0"),
        namespace=MARC_NS,
        tag="005",
    )
    languages = [_language(code) for code in item.language if code.strip()]
    sub(
        marc,
        "controlfield",
        _fixed_008(item, [c for c, _ in languages]),
        namespace=MARC_NS,
        tag="008",
    )
    if item.identifier.strip():
        isbn = _ISBN.match(item.identifier.strip())
        if isbn:
            _datafield(marc, "020", [("a", re.sub(r"[\s-]", "", isbn.group(1)))])
        else:
            _datafield(marc, "024", [("a", item.identifier)], ind1="8")  # 8: unspecified
    if len(languages) > 1:
        _datafield(marc, "041", [("a", code) for code, _ in languages], ind1="0")
    creators = _present(list(item.creator))
    if creators:
        _datafield(marc, "100", [("a", creators[0]), ("e", "tác giả")], ind1="0")
    # 245: first indicator 1 when a 1XX main entry exists; no non-filing characters in Vietnamese.
    _datafield(marc, "245", [("a", item.title)], ind1="1" if creators else "0", ind2="0")
    _datafield(marc, "246", [("a", item.alternative)], ind1="3", ind2=" ")  # varying form
    _datafield(marc, "260", [("b", item.publisher), ("c", item.date)])
    if item.format.strip() and not _MEDIA_TYPE.match(item.format.strip()):
        _datafield(marc, "300", [("a", item.format)])  # an extent, as the catalogue writes it
    _datafield(marc, "500", [("a", item.coverage)])  # LoC: coverage → 500
    if item.access == Access.ONSITE:
        _datafield(marc, "506", [("a", ONSITE_RIGHTS)], ind1="1")  # 1: restrictions apply
    _datafield(marc, "520", [("a", item.description)])
    _datafield(marc, "540", [("a", item.rights)])
    for code, name in languages:
        _datafield(marc, "546", [("a", name), ("b", code)])
    _datafield(marc, "648", [("a", item.period)], ind2="4")  # chronological term
    for subject in _present(list(item.subject)):
        _datafield(marc, "650", [("a", subject)], ind2="4")  # 4: source not specified
    for place in record.places:
        _datafield(marc, "651", [("a", place)], ind2="4")
    for genre in _present([item.document_type]):
        _datafield(marc, "655", [("a", genre)], ind2="4")
    if item.type.strip():
        _datafield(marc, "655", [("a", item.type), ("2", "dct")], ind2="7")  # DCMI Type
    for name in creators[1:]:
        _datafield(marc, "700", [("a", name), ("e", "tác giả")], ind1="0")
    for name in _present(list(item.contributor)):
        _datafield(marc, "700", [("a", name)], ind1="0")
    _datafield(marc, "773", [("t", record.collection_title)], ind1="0")  # the collection it is in
    _datafield(marc, "786", [("n", item.source)], ind1="0")  # LoC: source → 786 $n
    _datafield(marc, "787", [("n", item.relation)], ind1="0")  # LoC: relation → 787 $n
    media_type = item.format.strip() if _MEDIA_TYPE.match(item.format.strip()) else None
    _datafield(
        marc,
        "856",
        [("u", record.url), ("q", media_type), ("y", "Xem tài liệu trong Kho số Thanh Hóa")],
        ind1="4",  # HTTP
        ind2="0",  # the resource itself
    )


@dataclass(frozen=True)
class MetadataFormat:
    prefix: str
    schema: str
    namespace: str
    write: Callable[[ET.Element, ItemRecord], None]


METADATA_FORMATS: dict[str, MetadataFormat] = {
    f.prefix: f
    for f in (
        MetadataFormat(
            "oai_dc", "http://www.openarchives.org/OAI/2.0/oai_dc.xsd", OAI_DC_NS, oai_dc
        ),
        MetadataFormat(
            "marc21",
            "http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd",
            MARC_NS,
            marc21,
        ),
    )
}
