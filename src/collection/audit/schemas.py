"""The audit log's API shape."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from collection.ids import Id


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    user_id: Id | None
    actor: str
    action: str
    target_type: str
    target_id: Id | None
    summary: str
    changes: dict[str, Any]
