"""What the library holds: collections, items (Dublin Core plus local fields), files and pages."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from collection.db import Base, utcnow
from collection.models.places import ItemPlace
from collection.models.types import UTCDateTime, str_enum


class Access(enum.StrEnum):
    PUBLIC = "public"  # anyone, anywhere
    ONSITE = "onsite"  # metadata everywhere; pages, text and files only at registered access points
    STAFF = "staff"  # staff only

    @property
    def label(self) -> str:
        return {
            Access.PUBLIC: "Công khai",
            Access.ONSITE: "Chỉ đọc tại điểm truy cập",
            Access.STAFF: "Chỉ cán bộ thư viện",
        }[self]


class ItemStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return {
            ItemStatus.DRAFT: "Bản nháp",
            ItemStatus.PUBLISHED: "Đã công bố",
            ItemStatus.WITHDRAWN: "Đã rút",
        }[self]


class TextSource(enum.StrEnum):
    EMBEDDED = "embedded"  # the file's own text layer
    OCR = "ocr"  # Tesseract
    NONE = "none"  # no text yet (or a blank page)


class Collection(Base):
    __tablename__ = "collections"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    cover_key: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    items: Mapped[list[Item]] = relationship(back_populates="collection")


class Item(Base):
    """One catalogued thing. Dublin Core elements are named as in DC; repeatable ones are lists."""

    __tablename__ = "items"
    __table_args__ = (
        Index("ix_items_status_access", "status", "access"),
        # OAI-PMH lists published items in (updated_at, id) order from a keyset: one range scan.
        Index("ix_items_status_updated_at", "status", "updated_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    collection_id: Mapped[int | None] = mapped_column(
        ForeignKey("collections.id", ondelete="SET NULL"), index=True
    )
    # Dublin Core
    title: Mapped[str] = mapped_column(String(1000))
    alternative: Mapped[str] = mapped_column(String(1000), default="")
    creator: Mapped[list[str]] = mapped_column(JSON, default=list)
    contributor: Mapped[list[str]] = mapped_column(JSON, default=list)
    subject: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    publisher: Mapped[str] = mapped_column(String(500), default="")
    date: Mapped[str] = mapped_column(String(40), default="")  # as written: "1945", "1945-08-19"
    type: Mapped[str] = mapped_column(String(100), default="")  # DCMI type: Text, StillImage, …
    format: Mapped[str] = mapped_column(String(200), default="")
    identifier: Mapped[str] = mapped_column(String(500), default="")
    source: Mapped[str] = mapped_column(String(1000), default="")
    language: Mapped[list[str]] = mapped_column(JSON, default=list)  # ISO 639: ["vi"], ["vi", "fr"]
    relation: Mapped[str] = mapped_column(String(1000), default="")
    coverage: Mapped[str] = mapped_column(String(1000), default="")
    rights: Mapped[str] = mapped_column(String(1000), default="")
    # local fields
    # Free text from before the gazetteer (migration 0005): the gazetteer's sync links it to a
    # place in ``places`` and empties it, or keeps it when no unit matches, so nothing is lost.
    legacy_place: Mapped[str] = mapped_column("place", String(200), default="", index=True)
    period: Mapped[str] = mapped_column(String(200), default="")  # "Thời Lê", "1945–1954"
    year_start: Mapped[int | None] = mapped_column()  # parsed from date, for sorting and decades
    year_end: Mapped[int | None] = mapped_column()
    document_type: Mapped[str] = mapped_column(String(100), default="")  # sách, báo, ảnh, bản đồ…
    access: Mapped[Access] = mapped_column(str_enum(Access, "access"), default=Access.PUBLIC)
    status: Mapped[ItemStatus] = mapped_column(
        str_enum(ItemStatus, "item_status"), default=ItemStatus.DRAFT
    )
    ocr_languages: Mapped[str] = mapped_column(String(60), default="vie")
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # What a bulk import matched this item by (identifier, file checksum or metadata): a sheet
    # imported twice creates nothing twice.
    import_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Optimistic locking: an edit based on an old version fails instead of overwriting.
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 -- SQLAlchemy reads it once

    collection: Mapped[Collection | None] = relationship(back_populates="items")
    files: Mapped[list[StoredFile]] = relationship(
        back_populates="item", cascade="all, delete-orphan", order_by="StoredFile.id"
    )
    pages: Mapped[list[Page]] = relationship(
        back_populates="item", cascade="all, delete-orphan", order_by="Page.number"
    )
    places: Mapped[list[ItemPlace]] = relationship(
        cascade="all, delete-orphan", order_by="ItemPlace.position", lazy="selectin"
    )


class StoredFile(Base):
    """A file of an item in the object store: the original upload or a derivative (searchable PDF).

    The same bytes (same SHA-256) are stored once: a second upload links the existing storage key.
    """

    __tablename__ = "files"
    __table_args__ = (UniqueConstraint("item_id", "role", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32), default="original")  # original | searchable_pdf
    storage_key: Mapped[str] = mapped_column(String(500))
    original_name: Mapped[str] = mapped_column(String(500), default="")
    media_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    page_count: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    item: Mapped[Item] = relationship(back_populates="files")


class Page(Base):
    """One page (or image) of an item, with its text and derived images."""

    __tablename__ = "pages"
    __table_args__ = (UniqueConstraint("item_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    file_id: Mapped[int | None] = mapped_column(ForeignKey("files.id", ondelete="SET NULL"))
    number: Mapped[int] = mapped_column()  # 1-based, in reading order across the item's files
    text: Mapped[str] = mapped_column(Text, default="")
    text_source: Mapped[TextSource] = mapped_column(
        str_enum(TextSource, "text_source"), default=TextSource.NONE
    )
    ocr_confidence: Mapped[float | None] = mapped_column()
    # The job that last OCRed this page: a resumed or fanned-out job skips pages it already did.
    ocr_job_id: Mapped[int | None] = mapped_column(
        ForeignKey("ingest_jobs.id", ondelete="SET NULL")
    )
    # A staff correction wins over any later OCR run; kept apart so re-runs cannot erase it.
    corrected_text: Mapped[str | None] = mapped_column(Text)
    corrected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    image_key: Mapped[str | None] = mapped_column(String(500))
    thumbnail_key: Mapped[str | None] = mapped_column(String(500))
    tiles_prefix: Mapped[str | None] = mapped_column(String(500))
    width: Mapped[int | None] = mapped_column()
    height: Mapped[int | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    item: Mapped[Item] = relationship(back_populates="pages")

    @property
    def effective_text(self) -> str:
        return self.corrected_text if self.corrected_text is not None else self.text
