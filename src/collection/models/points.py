"""Access points: the province's public libraries (TVCC) and commune post-office culture points
(BĐVHX) that search the collection, embed the widget and are counted in the yearly report."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from collection.db import Base, utcnow
from collection.models.places import Place
from collection.models.types import UTCDateTime, str_enum


class PointKind(enum.StrEnum):
    TVCC = "tvcc"  # thư viện công cộng
    BDVHX = "bdvhx"  # bưu điện văn hóa xã

    @property
    def label(self) -> str:
        return {PointKind.TVCC: "Thư viện công cộng", PointKind.BDVHX: "Bưu điện văn hóa xã"}[self]


class PointLevel(enum.StrEnum):
    PROVINCE = "province"
    DISTRICT = "district"
    COMMUNE = "commune"

    @property
    def label(self) -> str:
        return {
            PointLevel.PROVINCE: "Cấp tỉnh",
            PointLevel.DISTRICT: "Cấp huyện",
            PointLevel.COMMUNE: "Cấp xã",
        }[self]


class AccessPoint(Base):
    __tablename__ = "access_points"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[PointKind] = mapped_column(str_enum(PointKind, "point_kind"))
    level: Mapped[PointLevel] = mapped_column(str_enum(PointLevel, "point_level"))
    # The point's unit in the gazetteer: the 2025 commune or ward it is in, and the district it
    # was in before, so reports can group by either.
    commune_id: Mapped[int | None] = mapped_column(ForeignKey("places.id", ondelete="RESTRICT"))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("places.id", ondelete="RESTRICT"))
    # The district as free text before the gazetteer (migration 0005), emptied once linked.
    legacy_district: Mapped[str] = mapped_column("district", String(200), default="")
    commune: Mapped[Place | None] = relationship(foreign_keys=[commune_id], lazy="joined")
    district: Mapped[Place | None] = relationship(foreign_keys=[district_id], lazy="joined")

    @property
    def commune_key(self) -> str:
        return self.commune.key if self.commune else ""

    @property
    def district_key(self) -> str:
        return self.district.key if self.district else ""

    @property
    def place_label(self) -> str:
        """ "xã Thiệu Trung (mới), huyện Thiệu Hóa (cũ)": both ways the province groups points."""
        parts = [f"{self.commune.kind} {self.commune.name} (mới)"] if self.commune else []
        parts += [f"{self.district.kind} {self.district.name} (cũ)"] if self.district else []
        return ", ".join(parts)

    widget_key: Mapped[str] = mapped_column(String(64), unique=True)
    widget_key_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    allowed_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    ip_ranges: Mapped[list[str]] = mapped_column(JSON, default=list)  # CIDR, e.g. "113.160.0.0/24"
    active: Mapped[bool] = mapped_column(default=True)
    # The point's IP ranges are shared public PCs: pages there show "Kết thúc phiên" and reset
    # after a while idle, so each citizen is their own visit.
    public_pcs: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
