"""Ingest API shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from collection.models import JobState


class JobOut(BaseModel):
    id: int
    item_id: int
    file_id: int | None
    state: JobState = Field(description="queued | running | done | failed")
    stage: str = Field(description="The stage running, or the last one reached")
    stages_done: list[str]
    progress: str = Field(description='Human-readable, e.g. "ocr 37/240 pages"')
    progress_done: int
    progress_total: int
    attempts: int
    error: str | None
    created_at: datetime
    finished_at: datetime | None


class UploadOut(BaseModel):
    job_id: int
    file_id: int
    sha256: str
    media_type: str
    size: int
    duplicate: bool = Field(
        description="The same bytes were already stored: linked, not stored again"
    )


class RerunIn(BaseModel):
    stages: list[str] = Field(min_length=1, description='Stages to run again, e.g. ["ocr"]')
    ocr_languages: str | None = Field(None, pattern=r"^[a-z_]{3,8}(\+[a-z_]{3,8}){0,3}$")
