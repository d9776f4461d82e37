"""Ingest API shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from collection.ids import Id
from collection.models import JobState


class JobOut(BaseModel):
    id: int
    item_id: Id
    file_id: Id | None
    state: JobState = Field(description="queued | running | done | failed")
    stage: str = Field(description="The stage running, or the last one reached")
    stages_done: list[str]
    progress: str = Field(description='Human-readable, e.g. "ocr 37/240 pages"')
    label: str = Field(description='For staff, in Vietnamese, e.g. "OCR trang 37/240"')
    progress_done: int
    progress_total: int
    attempts: int
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    item_title: str = ""
    kind: str = Field("ingest", description="ingest | rerun")
    pages: list[int] = Field(default_factory=list, description="Only these pages (a rerun)")
    ocr_languages: str = ""


class UploadOut(BaseModel):
    job_id: Id
    file_id: Id
    sha256: str
    media_type: str
    size: int
    duplicate: bool = Field(
        description="The same bytes were already stored: linked, not stored again"
    )


class RerunIn(BaseModel):
    stages: list[str] = Field(min_length=1, description='Stages to run again, e.g. ["ocr"]')
    ocr_languages: str | None = Field(None, pattern=r"^[a-z_]{3,8}(\+[a-z_]{3,8}){0,3}$")
    pages: list[int] | None = Field(
        None, max_length=5000, description="Only these pages (OCR them even if they had text)"
    )


class UploadStart(BaseModel):
    filename: str = Field(min_length=1, max_length=500)
    size: int = Field(ge=0, description="The file's size in bytes")


class ChunkedUploadOut(BaseModel):
    id: int
    item_id: Id
    filename: str
    size: int
    chunk_size: int
    chunks_done: int
    received: int = Field(description="Bytes stored so far: send the next chunk from here")
    complete: bool
    result: UploadOut | None


class UploadComplete(BaseModel):
    link_duplicate: bool = Field(
        False,
        description="If the same bytes are already stored for another item, link them "
        "(otherwise 409 duplicate_file says which item has them)",
    )
