"""The JSON contract for places (documented in OpenAPI)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from collection.models import PlaceLevel
from collection.search.vietnamese import nfc


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return " ".join(nfc(value).split())
    if isinstance(value, list):
        return [" ".join(nfc(v).split()) for v in value if isinstance(v, str) and v.strip()]
    return value


class PlaceIn(BaseModel):
    """A name staff add under a unit (a village, a former name), or an edit of a place."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="The name without its kind")
    kind: str = Field(
        min_length=1, max_length=40, description="làng, thôn, bản, xóm, huyện (cũ), địa danh…"
    )
    under: str = Field(
        min_length=1, max_length=40, description="Key of the unit it lies in (cu-…, moi-…)"
    )
    aliases: list[str] = Field(default_factory=list, max_length=30)
    note: str = Field("", max_length=2000)
    valid_from: date | None = None
    valid_to: date | None = None
    lat: float | None = Field(None, ge=19.0, le=21.0, description="Within Thanh Hóa")
    lon: float | None = Field(None, ge=104.0, le=107.0, description="Within Thanh Hóa")

    @field_validator("name", "kind", "under", "aliases", "note", mode="before")
    @classmethod
    def _normalise(cls, value: Any) -> Any:
        return _clean(value)

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        return value.lower()


class LinksIn(BaseModel):
    """The new units (since 1 July 2025) an old unit became, and the decision that says so."""

    model_config = ConfigDict(extra="forbid")

    new: list[str] = Field(min_length=1, max_length=10, description="Keys or names")
    note: str = Field(max_length=2000, description="The decision or the reason for the change")

    @field_validator("new", "note", mode="before")
    @classmethod
    def _normalise(cls, value: Any) -> Any:
        return _clean(value)


class PlaceRef(BaseModel):
    key: str
    label: str = Field(description="Which place, in words that read back to it")


class PlaceOut(PlaceRef):
    code: str | None
    name: str
    kind: str
    level: PlaceLevel
    hierarchy: str = Field(description="Where it lies and what it became or came from")
    parent: str | None
    aliases: list[str]
    note: str
    source: str = Field(description="The package (and version) or person it came from")
    in_source: bool
    valid_from: date | None
    valid_to: date | None
    lat: float | None
    lon: float | None
    became: list[PlaceRef]
    came_from: list[PlaceRef]


class LinkOut(BaseModel):
    id: int
    old: str
    new: str
    old_key: str
    new_key: str
    whole: bool
    is_default: bool
    source: str
    note: str
    created_at: str
    retired_at: str | None
    retired_reason: str
