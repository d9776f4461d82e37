"""The JSON contract scripts rely on for items and pages (documented in OpenAPI)."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from collection.catalogue.dates import check_date
from collection.ids import Count, Id
from collection.models import Access, ItemStatus, TextSource
from collection.places.schemas import PlaceRef

_OCR_LANGUAGES = re.compile(r"^[a-z_]{3,8}(\+[a-z_]{3,8}){0,3}$")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_NAMES = 200  # creators, contributors, subjects of one item


def _nfc(value: Any) -> Any:
    if isinstance(value, str):
        if found := _CONTROL.search(value):
            raise ValueError(f"có ký tự điều khiển U+{ord(found.group()):04X}, không lưu được")
        return unicodedata.normalize("NFC", value.strip())
    if isinstance(value, list):
        return [_nfc(v) for v in value if not (isinstance(v, str) and not v.strip())]
    return value


class ItemFields(BaseModel):
    """An item's metadata: Dublin Core keys plus the library's local fields."""

    model_config = ConfigDict(extra="forbid", str_max_length=5000)

    title: str = Field(min_length=1, max_length=1000, description="dc:title")
    alternative: str = Field("", max_length=1000, description="dcterms:alternative")
    creator: list[str] = Field(
        default_factory=list, max_length=MAX_NAMES, description="dc:creator (repeatable)"
    )
    contributor: list[str] = Field(
        default_factory=list, max_length=MAX_NAMES, description="dc:contributor"
    )
    subject: list[str] = Field(
        default_factory=list, max_length=MAX_NAMES, description="dc:subject (repeatable)"
    )
    description: str = Field("", max_length=20000, description="dc:description")
    publisher: str = Field("", max_length=500, description="dc:publisher")
    date: str = Field(
        "", max_length=40, description="dc:date: YYYY, YYYY-MM, YYYY-MM-DD or YYYY-YYYY"
    )
    type: str = Field("", max_length=100, description="dc:type (DCMI type, e.g. Text, StillImage)")
    format: str = Field("", max_length=200, description="dc:format")
    identifier: str = Field("", max_length=500, description="dc:identifier")
    source: str = Field("", max_length=1000, description="dc:source")
    language: list[str] = Field(
        default_factory=lambda: ["vi"], max_length=20, description="dc:language (ISO 639)"
    )
    relation: str = Field("", max_length=1000, description="dc:relation")
    coverage: str = Field("", max_length=1000, description="dc:coverage")
    rights: str = Field("", max_length=1000, description="dc:rights")
    place: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Places in Thanh Hóa, old or new units (repeatable): a key from "
        "/api/v1/places (cu-398, moi-14797), a label as that API writes it, or a name with or "
        "without diacritics; a name two places share is refused with both listed",
    )
    period: str = Field("", max_length=200, description="Historical period")
    document_type: str = Field("", max_length=100, description="sách, báo, tạp chí, ảnh, …")
    collection_id: Id | None = None
    access: Access = Field(Access.PUBLIC, description="public | onsite | staff")
    status: ItemStatus = Field(ItemStatus.DRAFT, description="draft | published")
    ocr_languages: str = Field("vie", description="Tesseract languages, e.g. vie or vie+eng")

    @field_validator("creator", "contributor", "subject", "language", "place", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("*", mode="before")
    @classmethod
    def _normalise(cls, value: Any) -> Any:
        return _nfc(value)

    @field_validator("date")
    @classmethod
    def _date(cls, value: str) -> str:
        return check_date(value)

    @field_validator("ocr_languages")
    @classmethod
    def _ocr(cls, value: str) -> str:
        if not _OCR_LANGUAGES.match(value):
            raise ValueError("ngôn ngữ OCR phải có dạng vie hoặc vie+eng")
        return value


class ItemIn(ItemFields):
    """A new item."""

    @field_validator("status")
    @classmethod
    def _status(cls, value: ItemStatus) -> ItemStatus:
        if value == ItemStatus.WITHDRAWN:
            raise ValueError("một tài liệu mới không thể ở trạng thái đã rút (withdrawn)")
        return value


class CollectionIn(BaseModel):
    """A collection as staff describe it."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=500)
    slug: str = Field(
        "",
        max_length=120,
        pattern=r"^([a-z0-9]+(-[a-z0-9]+)*)?$",
        description="The collection's URL name; made from the title when empty",
    )
    description: str = Field("", max_length=20000)

    @field_validator("*", mode="before")
    @classmethod
    def _normalise(cls, value: Any) -> Any:
        return _nfc(value)


class CollectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    slug: str
    description: str
    created_at: datetime
    updated_at: datetime


class FileOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    original_name: str
    media_type: str
    size: int
    sha256: str
    page_count: int | None
    role: str


READ_ONLY = frozenset(
    {
        "id",
        "year_start",
        "year_end",
        "created_at",
        "updated_at",
        "published_at",
        "files",
        "places",
        "iiif_manifest",
    }
)


class ItemUpdate(ItemFields):
    """All of an item's metadata, as edited (draft → published → withdrawn and back)."""

    @model_validator(mode="before")
    @classmethod
    def _read_only(cls, value: Any) -> Any:
        # A script may PUT back what GET gave it: the fields only the server sets are ignored.
        if isinstance(value, dict):
            return {k: v for k, v in value.items() if k not in READ_ONLY}
        return value

    version: Count = Field(
        description="The item's version the edit started from (from GET); if someone saved in "
        "between, the edit is refused with 409 instead of overwriting theirs."
    )


class PageTextIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(
        max_length=200_000,
        description="The corrected text of the page; null drops the correction (back to OCR).",
    )
    based_on: str | None = Field(
        None,
        max_length=64,
        description="The text_version (from GET pages) the edit started from: if someone saved "
        "the page since, the edit is refused with 409 instead of overwriting theirs.",
    )

    @field_validator("text", mode="before")
    @classmethod
    def _normalise(cls, value: Any) -> Any:
        return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


class ItemOut(ItemFields):
    model_config = ConfigDict(from_attributes=True, extra="ignore")

    id: int
    year_start: int | None
    year_end: int | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    version: Count
    files: list[FileOut] = []
    places: list[PlaceRef] = Field(
        default_factory=list, description="The places, with their keys (``place`` has labels)"
    )
    iiif_manifest: str | None = Field(
        default=None,
        description="The item's IIIF Presentation 3 manifest (readable as its pages are)",
    )


class PageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: Id
    text: str = Field(
        description="The page's text: a staff correction if any, else OCR or embedded"
    )
    text_source: TextSource | str
    corrected: bool
    text_version: str = Field(description="Fingerprint of `text`, for based_on")
    width: int | None
    height: int | None
    has_image: bool
