"""The access points API's shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from collection.models import PointKind, PointLevel


class PointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=300)
    kind: PointKind = Field(description="tvcc (thư viện công cộng) | bdvhx (bưu điện văn hóa xã)")
    level: PointLevel = Field(description="province | district | commune")
    district: str = Field("", max_length=200, description="A name from ingest/dia-danh.json")
    allowed_origins: list[str] = Field(
        default_factory=list, max_length=50, description="Sites that may embed the widget"
    )
    ip_ranges: list[str] = Field(
        default_factory=list, max_length=200, description="CIDR ranges of the point's PCs"
    )
    active: bool = True


class PointOut(PointIn):
    model_config = ConfigDict(from_attributes=True, extra="ignore")

    id: int
    widget_key: str = Field(description="Public: it identifies the point, it grants nothing")
    widget_key_rotated_at: datetime | None
    created_at: datetime


class SnippetsOut(BaseModel):
    script: str = Field(description="Paste into the page where the search box should be")
    iframe: str = Field(description="For sites that do not allow scripts")
