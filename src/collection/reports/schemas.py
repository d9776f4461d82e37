"""The reports API's request and response shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from collection.ids import Id


class FiguresIn(BaseModel):
    """A point's figures for one month. Impossible combinations are refused with the field."""

    model_config = ConfigDict(extra="forbid")

    days_open: int = Field(description="Days the point was open that month.")
    computers_working: int = Field(description="Public computers working.")
    computers_total: int = Field(description="Public computers in all.")
    users: int = Field(description="People who used the point's computers.")
    visits: int = Field(description="Visits (lượt) at the point.")
    trainings: int = Field(0, description="Training sessions held.")
    trainees: int = Field(0, description="People trained.")
    note: str = Field("", max_length=2000)


class FiguresOut(FiguresIn):
    model_config = ConfigDict(from_attributes=True, extra="ignore")

    id: int
    point_id: Id
    month: str
    source: str
    submitted_at: datetime
    submitted_by: str | None
    replaced_at: datetime | None


class SheetRowOut(BaseModel):
    row: int
    point_id: Id | None
    month: str | None
    saved: bool
    error: str = ""


class SheetOut(BaseModel):
    saved: int
    refused: int
    rows: list[SheetRowOut]


class MissingOut(BaseModel):
    month: str
    points: list[dict[str, int | str]]


class VersionOut(BaseModel):
    year: int
    number: Id
    frozen_at: datetime
    frozen_by: str | None
    note: str


class FreezeIn(BaseModel):
    note: str = Field("", max_length=2000)
