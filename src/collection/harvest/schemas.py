"""The harvest API's shapes (documented in OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        min_length=1,
        max_length=1000,
        description="The source's OAI-PMH base URL (http or https, no query)",
        examples=["https://thuvien.example.vn/oai"],
    )
    set_spec: str = Field("", max_length=200, description="The set to harvest; empty for all")
    collection: str = Field(
        min_length=1,
        max_length=120,
        description="The collection the records become items of: its id or slug",
    )
    metadata_prefix: str = Field(
        "oai_dc", max_length=50, description="The format asked for; its Dublin Core is mapped"
    )


class FailureOut(BaseModel):
    identifier: str
    reason: str


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    started_at: datetime
    finished_at: datetime | None
    status: str = Field(description="running | done | failed")
    from_datestamp: str | None = Field(description="The `from` the run asked (none: all)")
    resumed: bool = Field(description="Went on from the token an interrupted run kept")
    records: int = Field(description="Records (and deletions) read")
    created: int
    updated: int
    unchanged: int
    withdrawn: int
    failed: int
    complete_list_size: int | None
    error: str | None = Field(description="Why the run stopped, in Vietnamese")
    error_en: str | None
    failures: list[FailureOut] = Field(description="The first failed records and why")


class SourceOut(BaseModel):
    id: int
    url: str
    set_spec: str
    metadata_prefix: str
    collection_id: int
    collection_title: str
    repository_name: str
    granularity: str | None
    last_datestamp: str | None = Field(
        description="The greatest datestamp of the last complete run: the next run's `from`"
    )
    resumption_token: str | None = Field(
        description="Where an interrupted run stopped; the next run resumes there"
    )
    running: bool
    items: int = Field(description="Items made from this source that are still here")
    last_run: RunOut | None


class RunQueuedOut(BaseModel):
    source_id: int
    queued: bool = True


def source_view(source: Any, last_run: Any, items: int, *, running: bool) -> SourceOut:
    return SourceOut(
        id=source.id,
        url=source.url,
        set_spec=source.set_spec,
        metadata_prefix=source.metadata_prefix,
        collection_id=source.collection_id,
        collection_title=source.collection.title,
        repository_name=source.repository_name,
        granularity=source.granularity,
        last_datestamp=source.last_datestamp,
        resumption_token=source.resumption_token,
        running=running,
        items=items,
        last_run=RunOut.model_validate(last_run) if last_run is not None else None,
    )
