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
    commune: str = Field(
        "",
        max_length=200,
        description="The commune or ward since 07/2025 the point is in: a key (moi-…) or name "
        "from /api/v1/places; an old commune gives the one it became",
    )
    district: str = Field(
        "",
        max_length=200,
        description="The district (before 07/2025) it was in: key or name; found from the "
        "commune when that lies in one old district only",
    )
    allowed_origins: list[str] = Field(
        default_factory=list, max_length=50, description="Sites that may embed the widget"
    )
    ip_ranges: list[str] = Field(
        default_factory=list, max_length=200, description="CIDR ranges of the point's PCs"
    )
    active: bool = True


class PointOut(PointIn):
    model_config = ConfigDict(from_attributes=True, extra="ignore")

    commune: str = Field(validation_alias="commune_key", description="Key of the commune")
    district: str = Field(validation_alias="district_key", description="Key of the old district")
    place_label: str = Field(description="Commune (new) and district (old), in words")
    id: int
    widget_key: str = Field(description="Public: it identifies the point, it grants nothing")
    widget_key_rotated_at: datetime | None
    created_at: datetime


class SnippetsOut(BaseModel):
    script: str = Field(description="Paste into the page where the search box should be")
    iframe: str = Field(description="For sites that do not allow scripts")
