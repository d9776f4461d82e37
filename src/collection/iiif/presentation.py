"""IIIF Presentation API 3.0: a manifest per readable item and a collection per collection.

A canvas per page that has a page image, painted by the page's level-0 image service (see
``iiif/image.py``); ``rendering`` for the downloads (the searchable PDF, the originals);
``structures`` with a range per original file where an item has several; ``seeAlso`` to the
item's OAI-PMH record; the Content Search services over search inside the item. Canvases have
the page image's size: a tiled page's image service is larger, which viewers scale (the
Presentation API lets the two differ)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from collection.catalogue.reading import DC_LABELS, language_name
from collection.config import Settings
from collection.models import Collection, Item, Page, StoredFile
from collection.oai.identifiers import record_url
from collection.urls import manifest_url

CONTEXT = "http://iiif.io/api/presentation/3/context.json"
SEARCH_CONTEXT = "http://iiif.io/api/search/2/context.json"
PROVIDER = {"vi": ["Thư viện tỉnh Thanh Hóa"], "en": ["Thanh Hóa Provincial Library"]}
# Dublin Core labels in English, beside the Vietnamese ones the site shows (DC_LABELS).
DC_LABELS_EN = {
    "title": "Title",
    "alternative": "Alternative title",
    "creator": "Creator",
    "contributor": "Contributor",
    "subject": "Subject",
    "description": "Description",
    "publisher": "Publisher",
    "date": "Date",
    "type": "Type",
    "format": "Format",
    "identifier": "Identifier",
    "source": "Source",
    "language": "Language",
    "relation": "Relation",
    "coverage": "Coverage",
    "rights": "Rights",
    "period": "Period",
    "document_type": "Document type",
}
# Read page by page, left to right: books, newspapers, journals, theses, papers. Photographs and
# maps are separate images.
PAGED_TYPES = {"sách", "báo", "tạp chí", "luận văn", "tài liệu", "văn bản hành chính"}
# The only rights values IIIF allows are these URIs; other wording stays in the metadata.
RIGHTS_PREFIXES = (
    "http://creativecommons.org/",
    "https://creativecommons.org/",
    "http://rightsstatements.org/",
    "https://rightsstatements.org/",
)


def image_service_url(base: str, item_id: int, number: int) -> str:
    return f"{base}/iiif/3/{item_id}-{number}"


@dataclass(frozen=True)
class Urls:
    """Every address a manifest of one item writes, from the public base URL."""

    base: str
    item_id: int

    @property
    def manifest(self) -> str:
        return manifest_url(self.base, self.item_id)

    @property
    def item_page(self) -> str:
        return f"{self.base}/tai-lieu/{self.item_id}"

    def canvas(self, number: int) -> str:
        return f"{self.base}/iiif/item/{self.item_id}/canvas/{number}"

    def painting_page(self, number: int) -> str:
        return f"{self.base}/iiif/item/{self.item_id}/page/{number}"

    def painting(self, number: int) -> str:
        return f"{self.base}/iiif/item/{self.item_id}/annotation/{number}"

    def image_service(self, number: int) -> str:
        return image_service_url(self.base, self.item_id, number)

    def thumbnail(self, number: int) -> str:
        return f"{self.base}/tai-lieu/{self.item_id}/trang/{number}/anh-nho"

    def download(self, file_id: int) -> str:
        return f"{self.base}/tai-lieu/{self.item_id}/tep/{file_id}"

    def range(self, file_id: int) -> str:
        return f"{self.base}/iiif/item/{self.item_id}/range/{file_id}"

    @property
    def search2(self) -> str:
        return f"{self.base}/iiif/item/{self.item_id}/search"

    @property
    def search1(self) -> str:
        return f"{self.base}/iiif/item/{self.item_id}/search/v1"


def _both(vi: str, en: str) -> dict[str, list[str]]:
    return {"vi": [vi], "en": [en]}


def _metadata(item: Item, place_labels: list[str]) -> list[dict[str, Any]]:
    rows = []
    for name, label in DC_LABELS.items():
        if name == "place":
            values = place_labels
        else:
            value = getattr(item, name)
            if name == "language":
                value = [language_name(code) for code in value]
            values = value if isinstance(value, list) else [str(value or "")]
        values = [v for v in values if v.strip()]
        if values:
            en = DC_LABELS_EN.get(name, "Place")
            rows.append({"label": _both(label, en), "value": {"vi": values}})
    return rows


def _image_body(urls: Urls, page: Page) -> dict[str, Any]:
    service = urls.image_service(page.number)
    return {
        "id": f"{service}/full/max/0/default.jpg",
        "type": "Image",
        "format": "image/jpeg",
        "width": page.width,
        "height": page.height,
        "service": [{"id": service, "type": "ImageService3", "profile": "level0"}],
    }


def _canvas(urls: Urls, page: Page) -> dict[str, Any]:
    canvas_id = urls.canvas(page.number)
    canvas: dict[str, Any] = {
        "id": canvas_id,
        "type": "Canvas",
        "label": _both(f"Trang {page.number}", f"Page {page.number}"),
        "width": page.width,
        "height": page.height,
        "items": [
            {
                "id": urls.painting_page(page.number),
                "type": "AnnotationPage",
                "items": [
                    {
                        "id": urls.painting(page.number),
                        "type": "Annotation",
                        "motivation": "painting",
                        "body": _image_body(urls, page),
                        "target": canvas_id,
                    }
                ],
            }
        ],
    }
    if page.thumbnail_key:
        canvas["thumbnail"] = [
            {"id": urls.thumbnail(page.number), "type": "Image", "format": "image/jpeg"}
        ]
    return canvas


def _rendering(urls: Urls, files: list[StoredFile]) -> list[dict[str, Any]]:
    out = []
    for stored in files:
        if stored.role == "searchable_pdf":
            label = _both("Bản PDF tìm được chữ", "Searchable PDF")
        else:
            name = stored.original_name or f"tệp {stored.id}"
            label = _both(f"Tệp gốc: {name}", f"Original file: {name}")
        out.append(
            {
                "id": urls.download(stored.id),
                "type": "Text" if stored.media_type == "application/pdf" else "Dataset",
                "label": label,
                "format": stored.media_type,
            }
        )
    return out


def _structures(urls: Urls, files: list[StoredFile], pages: list[Page]) -> list[dict[str, Any]]:
    """A range per original file, in page order, where an item has several."""
    originals = [f for f in files if f.role == "original"]
    if len(originals) < 2:
        return []
    ranges = []
    for index, stored in enumerate(originals, start=1):
        canvases = [p.number for p in pages if p.file_id == stored.id]
        if not canvases:
            continue
        name = stored.original_name or f"Tệp {index}"
        ranges.append(
            {
                "id": urls.range(stored.id),
                "type": "Range",
                "label": _both(f"Tệp {index}: {name}", f"File {index}: {name}"),
                "items": [{"id": urls.canvas(n), "type": "Canvas"} for n in canvases],
            }
        )
    return ranges


def search_services(urls: Urls) -> list[dict[str, Any]]:
    return [
        {"id": urls.search2, "type": "SearchService2"},
        # Mirador (3 and 4) still looks for the 1.0 service by its profile.
        {
            "@context": "http://iiif.io/api/search/1/context.json",
            "@id": urls.search1,
            "@type": "SearchService1",
            "profile": "http://iiif.io/api/search/1/search",
        },
    ]


def manifest_for(
    *,
    session: Session,
    settings: Settings,
    item: Item,
    base: str,
    place_labels: list[str],
) -> dict[str, Any]:
    """The IIIF manifest of a readable item (who may read it is checked by the caller)."""
    urls = Urls(base, item.id)
    pages = [
        p
        for p in session.scalars(select(Page).where(Page.item_id == item.id).order_by(Page.number))
        if p.image_key and p.width and p.height
    ]
    files = list(item.files)
    title = item.title
    manifest: dict[str, Any] = {
        "@context": CONTEXT,
        "id": urls.manifest,
        "type": "Manifest",
        "label": _both(title, title),  # a title is not translated: the same in both
        "metadata": _metadata(item, place_labels),
        "requiredStatement": {
            "label": _both("Nguồn", "Attribution"),
            "value": _both(
                "Kho số Thanh Hóa — Thư viện tỉnh Thanh Hóa",
                "Kho số Thanh Hóa — Thanh Hóa Provincial Library",
            ),
        },
        "provider": [
            {
                "id": f"{base}/",
                "type": "Agent",
                "label": PROVIDER,
                "homepage": [
                    {
                        "id": f"{base}/",
                        "type": "Text",
                        "label": _both("Kho số Thanh Hóa", "Kho số Thanh Hóa"),
                        "format": "text/html",
                    }
                ],
            }
        ],
        "homepage": [
            {
                "id": urls.item_page,
                "type": "Text",
                "label": _both(title, title),
                "format": "text/html",
                "language": ["vi"],
            }
        ],
        "seeAlso": [
            {
                "id": record_url(base, item.id, settings=settings, metadata_prefix=prefix),
                "type": "Dataset",
                "label": _both(f"Biểu ghi OAI-PMH ({name})", f"OAI-PMH record ({name})"),
                "format": "text/xml",
                "profile": profile,
            }
            for prefix, name, profile in (
                ("oai_dc", "Dublin Core", "http://www.openarchives.org/OAI/2.0/oai_dc/"),
                ("marc21", "MARCXML", "http://www.loc.gov/MARC21/slim"),
            )
        ],
        "behavior": ["paged"] if item.document_type in PAGED_TYPES else ["individuals"],
        "viewingDirection": "left-to-right",
        "items": [_canvas(urls, p) for p in pages],
        "service": search_services(urls),
    }
    if item.description.strip():
        manifest["summary"] = {"vi": [item.description]}
    if item.rights.strip().startswith(RIGHTS_PREFIXES):
        manifest["rights"] = item.rights.strip()
    if pages and pages[0].thumbnail_key:
        manifest["thumbnail"] = [
            {"id": urls.thumbnail(pages[0].number), "type": "Image", "format": "image/jpeg"}
        ]
    if rendering := _rendering(urls, files):
        manifest["rendering"] = rendering
    if structures := _structures(urls, files, pages):
        manifest["structures"] = structures
    if item.date:
        year = item.year_start
        if year and 1 <= year <= 9999:
            manifest["navDate"] = f"{year:04d}-01-01T00:00:00Z"
    return manifest


def collection_url(base: str, collection_id: int | None = None) -> str:
    return f"{base}/iiif/collection" + (f"/{collection_id}" if collection_id else "")


def collection_of(
    *, base: str, collection: Collection, items: list[tuple[int, str]]
) -> dict[str, Any]:
    """A IIIF Collection of the manifests of a collection's readable items (id, title)."""
    return {
        "@context": CONTEXT,
        "id": collection_url(base, collection.id),
        "type": "Collection",
        "label": _both(collection.title, collection.title),
        **({"summary": {"vi": [collection.description]}} if collection.description else {}),
        "homepage": [
            {
                "id": f"{base}/bo-suu-tap/{collection.id}",
                "type": "Text",
                "label": _both(collection.title, collection.title),
                "format": "text/html",
            }
        ],
        "items": [
            {"id": manifest_url(base, item_id), "type": "Manifest", "label": _both(title, title)}
            for item_id, title in items
        ],
    }


def top_collection(*, base: str, collections: list[Collection]) -> dict[str, Any]:
    """Every collection, as a IIIF Collection of IIIF Collections."""
    return {
        "@context": CONTEXT,
        "id": collection_url(base),
        "type": "Collection",
        "label": _both("Kho số Thanh Hóa", "Kho số Thanh Hóa: the Thanh Hóa digital collection"),
        "items": [
            {
                "id": collection_url(base, c.id),
                "type": "Collection",
                "label": _both(c.title, c.title),
            }
            for c in collections
        ],
    }
