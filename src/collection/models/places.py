"""The gazetteer: Thanh Hóa's administrative units before and after the 1 July 2025 reform, the
links from old units to the new ones they became, and the local or historical names staff add.

Units come from packages (``places/sources.py`` records which, and which version); a row is never
deleted by a package upgrade, so items and access points placed there stay placed."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from collection.db import Base, utcnow
from collection.models.types import UTCDateTime, str_enum

REFORM_DATE = date(2025, 7, 1)  # no district level from this day; the 166 communes and wards


class PlaceLevel(enum.StrEnum):
    PROVINCE = "province"  # tỉnh
    DISTRICT = "district"  # huyện, thị xã, thành phố thuộc tỉnh (before 07/2025)
    COMMUNE = "commune"  # xã, phường, thị trấn (old) and xã, phường, đặc khu (new)
    LOCAL = "local"  # a village, a former or local name, added by staff under a unit


class Place(Base):
    __tablename__ = "places"
    __table_args__ = (Index("ix_places_level", "level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stable public name: "38" (the province), "cu-398" (an old unit by its official code),
    # "moi-14797" (a new one), "dp-12" (a local name). Old and new codes overlap, hence the prefix.
    key: Mapped[str] = mapped_column(String(40), unique=True)
    code: Mapped[str | None] = mapped_column(String(20))  # the official code, when there is one
    name: Mapped[str] = mapped_column(String(200))  # "Thiệu Trung" (without the kind)
    kind: Mapped[str] = mapped_column(String(40))  # "xã", "phường", "huyện", "làng", …
    level: Mapped[PlaceLevel] = mapped_column(str_enum(PlaceLevel, "place_level"))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("places.id", ondelete="RESTRICT"), index=True
    )
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)  # last day the unit existed
    lat: Mapped[float | None] = mapped_column()
    lon: Mapped[float | None] = mapped_column()
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)  # other spellings, old names
    note: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(200))  # "vietnam-provinces 2025.10.1", "cán bộ"
    # False when the package no longer lists it: kept, because items may be placed there.
    in_source: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    parent: Mapped[Place | None] = relationship(remote_side=[id])


class PlaceLink(Base):
    """ "``old`` became (all or part of) ``new``". Edits never rewrite a link: they retire it and
    add another, so the history of decisions stays readable."""

    __tablename__ = "place_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    old_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="CASCADE"), index=True)
    new_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="CASCADE"), index=True)
    # An old commune split between new ones: the part that carries most of it is the default.
    whole: Mapped[bool] = mapped_column(default=True)
    is_default: Mapped[bool] = mapped_column(default=True)
    source: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")  # the decision, why it changed
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retired_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    retired_reason: Mapped[str] = mapped_column(Text, default="")


class ItemPlace(Base):
    """The places an item is about, in the order the cataloguer gave them."""

    __tablename__ = "item_places"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    place_id: Mapped[int] = mapped_column(
        ForeignKey("places.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(default=0)

    place: Mapped[Place] = relationship(lazy="joined")


class GazetteerSource(Base):
    """Which version of each package the gazetteer was last synchronised from."""

    __tablename__ = "gazetteer_sources"

    package: Mapped[str] = mapped_column(String(80), primary_key=True)
    version: Mapped[str] = mapped_column(String(40))
    data_version: Mapped[str] = mapped_column(String(40), default="")
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    report: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
