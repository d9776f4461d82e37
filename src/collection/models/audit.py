"""The audit log: who changed what, when. Written in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from collection.db import Base, utcnow
from collection.models.types import UTCDateTime


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The e-mail as it was: the log stays readable after an account is renamed or removed.
    actor: Mapped[str] = mapped_column(String(254), default="")
    action: Mapped[str] = mapped_column(String(40))  # item.update, page.correct, point.rotate_key…
    target_type: Mapped[str] = mapped_column(String(30))  # item, collection, point, user, job
    target_id: Mapped[int | None] = mapped_column()
    summary: Mapped[str] = mapped_column(String(500), default="")  # e.g. the item's title
    # {field: [before, after]} for edits; never a password or a key.
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
