"""Harvesting other OAI-PMH repositories in: the sources, each run, and which local item each
harvested record became.

A source keeps where a harvest stands: the resumption token of the part not yet harvested (an
interrupted run resumes there), the greatest datestamp harvested by the last complete run (the next
run asks ``from`` it), and a lease so that two runs of one source never overlap."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from collection.db import Base, utcnow
from collection.models.catalogue import Collection
from collection.models.types import UTCDateTime


class HarvestSource(Base):
    __tablename__ = "harvest_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(1000))  # the OAI-PMH base URL
    set_spec: Mapped[str] = mapped_column(String(200), default="")  # "" harvests everything
    metadata_prefix: Mapped[str] = mapped_column(String(50), default="oai_dc")
    collection_id: Mapped[int] = mapped_column(
        ForeignKey("collections.id", ondelete="RESTRICT"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # From the source's Identify: "YYYY-MM-DD" or "YYYY-MM-DDThh:mm:ssZ" (what `from` is written in).
    granularity: Mapped[str | None] = mapped_column(String(30))
    repository_name: Mapped[str] = mapped_column(String(500), default="")
    # The greatest datestamp of the last complete run, as the source wrote it: the next `from`.
    last_datestamp: Mapped[str | None] = mapped_column(String(40))
    # A run in progress or interrupted: the `from` it asked, the greatest datestamp it has seen,
    # and the token of the part it has not harvested yet (None once the list is done).
    run_from: Mapped[str | None] = mapped_column(String(40))
    run_datestamp: Mapped[str | None] = mapped_column(String(40))
    resumption_token: Mapped[str | None] = mapped_column(Text)
    # While a run holds the source; renewed after each part, so a killed run frees it soon.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    collection: Mapped[Collection] = relationship()
    runs: Mapped[list[HarvestRun]] = relationship(
        back_populates="source", cascade="all, delete-orphan", order_by="HarvestRun.id"
    )


class HarvestRun(Base):
    """One run of a source: when, from where, what it did, and how it ended."""

    __tablename__ = "harvest_runs"
    __table_args__ = (Index("ix_harvest_runs_source", "source_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("harvest_sources.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="running")  # running | done | failed
    from_datestamp: Mapped[str | None] = mapped_column(String(40))
    resumed: Mapped[bool] = mapped_column(default=False)  # went on from an earlier run's token
    records: Mapped[int] = mapped_column(default=0)  # records (and deletions) read
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    withdrawn: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    complete_list_size: Mapped[int | None] = mapped_column()  # as the source announced it
    error: Mapped[str | None] = mapped_column(Text)  # in Vietnamese, for staff
    error_en: Mapped[str | None] = mapped_column(Text)
    # The first failed records: [{"identifier", "reason"}] (at most MAX_FAILURES_KEPT).
    failures: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    source: Mapped[HarvestSource] = relationship(back_populates="runs")


class HarvestedRecord(Base):
    """A record of a source and the item it became (matched by its OAI identifier)."""

    __tablename__ = "harvested_records"
    __table_args__ = (UniqueConstraint("source_id", "oai_identifier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("harvest_sources.id", ondelete="CASCADE"))
    oai_identifier: Mapped[str] = mapped_column(String(500))
    # SET NULL: staff may delete the local copy; the record is then not made again.
    item_id: Mapped[int | None] = mapped_column(
        ForeignKey("items.id", ondelete="SET NULL"), index=True
    )
    datestamp: Mapped[str] = mapped_column(String(40), default="")
    deleted: Mapped[bool] = mapped_column(default=False)
    # Fingerprint of the mapped metadata: an unchanged record is not written again.
    fingerprint: Mapped[str] = mapped_column(String(64), default="")
    link: Mapped[str | None] = mapped_column(String(1000))  # the original, from dc:identifier
    harvested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    source: Mapped[HarvestSource] = relationship()
