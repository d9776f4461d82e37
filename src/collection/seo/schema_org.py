"""An item page as search engines read it: schema.org JSON-LD (its @type from the item's
``document_type``, else its DCMI type) and Google Scholar's ``citation_*`` meta tags.

Both say only what the page itself shows everyone: the thumbnail and the PDF are named only for
published public items, whose files anyone may open; an on-site item's record is public, its
files are not."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup
from sqlalchemy.orm import Session

from collection.catalogue import reading as books
from collection.catalogue.dates import check_date
from collection.errors import InvalidInput
from collection.models import Access, Item, ItemStatus
from collection.places.gazetteer import Gazetteer
from collection.search.vietnamese import fold

# Document types as staff write them (folded: without diacritics, lower case) → schema.org type.
# The longest matching start wins: "bao cao" (báo cáo, a report) before "bao" (báo, a newspaper).
DOCUMENT_TYPES = {
    "sach": "Book",
    "bao": "PublicationIssue",  # a newspaper is catalogued issue by issue
    "tap chi": "PublicationIssue",
    "tap san": "PublicationIssue",
    "bao cao": "Report",
    "anh": "Photograph",
    "tranh": "VisualArtwork",
    "ban do": "Map",
    "luan van": "Thesis",
    "luan an": "Thesis",
    "khoa luan": "Thesis",
    "gia pha": "Manuscript",
    "sac phong": "Manuscript",
    "than tich": "Manuscript",
    "dia ba": "Manuscript",
    "han nom": "Manuscript",
    "ban thao": "Manuscript",
    "thu tich": "Manuscript",
    "ban chep tay": "Manuscript",
    "ban nhac": "SheetMusic",
    "am thanh": "AudioObject",
    "ghi am": "AudioObject",
    "bang ghi am": "AudioObject",
    "bang tu": "AudioObject",
    "dia hat": "AudioObject",
    "phim": "Movie",
    "video": "VideoObject",
    "bang hinh": "VideoObject",
    "phim tai lieu": "VideoObject",
}
# The periodical an issue belongs to, by the folded document type.
PERIODICALS = {"bao": "Newspaper", "tap chi": "Periodical", "tap san": "Periodical"}
# DCMI Type Vocabulary → schema.org, for items without a known document type.
DCMI_TYPES = {
    "text": "CreativeWork",
    "stillimage": "Photograph",
    "image": "ImageObject",
    "sound": "AudioObject",
    "movingimage": "VideoObject",
    "dataset": "Dataset",
    "software": "SoftwareApplication",
    "physicalobject": "CreativeWork",
    "collection": "Collection",
}
FALLBACK = "CreativeWork"
# Creators written where the name is unknown or many: not an author anyone can cite.
NOT_A_NAME = {"nhieu tac gia", "khuyet danh", "vo danh", "khong ro", "khong ro tac gia", "n/a"}
_SPACES = re.compile(r"\s+")


def _longest_start(document_type: str, keys: dict[str, str]) -> str | None:
    folded = _SPACES.sub(" ", fold(document_type)).strip()
    starts = [key for key in keys if folded == key or folded.startswith(key + " ")]
    return keys[max(starts, key=len)] if starts else None


def schema_type(document_type: str, dcmi_type: str) -> str:
    """The schema.org type of an item: from its document type, else its DCMI type."""
    return _longest_start(document_type, DOCUMENT_TYPES) or DCMI_TYPES.get(
        fold(dcmi_type).replace(" ", ""), FALLBACK
    )


def script_json(data: Any) -> Markup:
    """JSON to put inside a <script> element: ``<``, ``>`` and ``&`` as \\u escapes, so no
    value (a title holding ``</script>`` or ``<!--``) can end the element or open a comment."""
    text = json.dumps(data, ensure_ascii=False, indent=1)
    for char, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escaped)
    return Markup(text)  # noqa: S704 — no <, > or & is left to end the element


@dataclass(frozen=True)
class PageMetadata:
    json_ld: Markup  # for <script type="application/ld+json">
    citation: list[tuple[str, str]]  # (name, content) of <meta> tags, in order


def authors(item: Item) -> list[str]:
    return [c.strip() for c in item.creator if c.strip() and fold(c.strip()) not in NOT_A_NAME]


def iso_date(item: Item) -> str | None:
    """The item's date when it is one date (1945, 1945-08, 1945-08-19), not a range."""
    try:
        text = check_date(item.date)
    except InvalidInput:
        return None
    return text if re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", text) else None


def _public_files(item: Item) -> bool:
    return item.status == ItemStatus.PUBLISHED and item.access == Access.PUBLIC


def pdf_file_id(item: Item) -> int | None:
    """The PDF anyone may download: the searchable PDF, else a PDF original."""
    if not _public_files(item):
        return None
    pdfs = [
        f for f in item.files if f.media_type == "application/pdf" or f.role == "searchable_pdf"
    ]
    pdfs.sort(key=lambda f: (f.role != "searchable_pdf", f.id))
    return pdfs[0].id if pdfs else None


def item_metadata(
    *, session: Session, item: Item, url: str, base: str, gaz: Gazetteer
) -> PageMetadata:
    """The JSON-LD and citation tags of an item page whose canonical address is ``url``."""
    kind = schema_type(item.document_type, item.type)
    date = iso_date(item)
    pdf = pdf_file_id(item)
    pdf_url = f"{base}/tai-lieu/{item.id}/tep/{pdf}" if pdf else None
    thumb = books.thumbnails(session, [item.id]).get(item.id) if _public_files(item) else None
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": kind,
        "@id": url,
        "url": url,
        "name": item.title,
    }
    optional: dict[str, Any] = {
        "alternateName": item.alternative,
        "author": [{"@type": "Person", "name": name} for name in authors(item)],
        "contributor": [{"@type": "Person", "name": name} for name in item.contributor if name],
        "datePublished": date,
        "inLanguage": item.language[0] if len(item.language) == 1 else item.language,
        "about": [{"@type": "Thing", "name": subject} for subject in item.subject if subject],
        "description": item.description,
        "publisher": item.publisher and {"@type": "Organization", "name": item.publisher},
        "contentLocation": [_place(gaz, p.place_id) for p in item.places],
        "temporalCoverage": item.period,
        "isPartOf": _part_of(item, kind, base),
        "image": thumb and f"{base}/tai-lieu/{item.id}/trang/{thumb}/anh-nho",
        "identifier": item.identifier,
        "encoding": pdf_url
        and [{"@type": "MediaObject", "contentUrl": pdf_url, "encodingFormat": "application/pdf"}],
        "conditionsOfAccess": item.access.label if item.access == Access.ONSITE else None,
    }
    if re.match(r"https?://", item.rights.strip()):
        optional["license"] = item.rights.strip()
    else:
        optional["copyrightNotice"] = item.rights
    data |= {key: value for key, value in optional.items() if value}
    return PageMetadata(json_ld=script_json(data), citation=_citation(item, kind, date, pdf_url))


def _place(gaz: Gazetteer, place_id: int) -> dict[str, Any]:
    place: dict[str, Any] = {"@type": "Place", "name": gaz.title(place_id)}
    view = gaz.places.get(place_id)
    if view is not None and view.lat is not None and view.lon is not None:
        place["geo"] = {"@type": "GeoCoordinates", "latitude": view.lat, "longitude": view.lon}
    return place


def _part_of(item: Item, kind: str, base: str) -> list[dict[str, Any]]:
    """The periodical an issue belongs to (named by its publisher) and the item's collection."""
    parts = []
    periodical = kind == "PublicationIssue" and _longest_start(item.document_type, PERIODICALS)
    if periodical and item.publisher:
        parts.append({"@type": periodical, "name": item.publisher})
    if item.collection is not None:
        parts.append(
            {
                "@type": "Collection",
                "name": item.collection.title,
                "url": f"{base}/bo-suu-tap/{item.collection.id}",
            }
        )
    return parts


def _citation(
    item: Item, kind: str, date: str | None, pdf_url: str | None
) -> list[tuple[str, str]]:
    """Google Scholar's tags (Highwire Press names): one citation_author per author, the date
    as Scholar reads it (1945/08/19, or the year alone)."""
    tags = [("citation_title", item.title)]
    tags += [("citation_author", name) for name in authors(item)]
    if date:
        tags.append(("citation_publication_date", date.replace("-", "/")))
    if item.publisher:
        name = "citation_dissertation_institution" if kind == "Thesis" else "citation_publisher"
        tags.append((name, item.publisher))
    tags += [("citation_language", code) for code in item.language if code]
    if item.subject:
        tags.append(("citation_keywords", "; ".join(s for s in item.subject if s)))
    if pdf_url:
        tags.append(("citation_pdf_url", pdf_url))
    return tags
