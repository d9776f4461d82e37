"""Preservation records: what the fixity check found for each stored original."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from collection.db import Base
from collection.models.types import UTCDateTime, str_enum


class FixityOutcome(enum.StrEnum):
    OK = "ok"  # the bytes read back hash to the SHA-256 recorded at ingest
    MISMATCH = "mismatch"  # they do not: the object changed (a flipped byte, a bad disk)
    MISSING = "missing"  # S3 has no object under the key any more

    @property
    def label(self) -> str:
        return {
            FixityOutcome.OK: "Nguyên vẹn",
            FixityOutcome.MISMATCH: "SAI MÃ KIỂM TRA",
            FixityOutcome.MISSING: "MẤT TỆP",
        }[self]


class FixityCheck(Base):
    """The last fixity check of one stored object. Originals are content-addressed and shared
    by every file row holding the same bytes, so the check is per storage key, not per row.

    A fact, not derived data: what was read back, when. Nothing here is ever "repaired"."""

    __tablename__ = "fixity_checks"
    __table_args__ = (Index("ix_fixity_checks_outcome", "outcome", "checked_at"),)

    storage_key: Mapped[str] = mapped_column(String(500), primary_key=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[FixityOutcome] = mapped_column(str_enum(FixityOutcome, "fixity_outcome"))
    expected_sha256: Mapped[str] = mapped_column(String(64))  # as recorded at ingest
    found_sha256: Mapped[str | None] = mapped_column(String(64))  # None when missing
    found_size: Mapped[int | None] = mapped_column(BigInteger)
    # When the object was first found bad in the run of failures that goes on now (None if ok).
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
