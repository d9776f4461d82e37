"""Reading the audit log over the API (any staff role)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from collection.accounts.roles import Permission
from collection.api.deps import DbSession, require
from collection.audit import service
from collection.audit.schemas import AuditOut
from collection.ids import Id
from collection.models import AuditEvent, User

router = APIRouter(prefix="/api/v1", tags=["audit"])
Staff = Annotated[User, Depends(require(Permission.VIEW_STAFF))]


@router.get("/audit", response_model=list[AuditOut], summary="Who changed what, newest first")
def audit_log(
    session: DbSession,
    _user: Staff,
    target_type: str | None = None,
    target_id: Id | None = None,
    user_id: Id | None = None,
    action: str | None = None,
    before_id: Id | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[AuditEvent]:
    return service.entries(
        session=session,
        where=service.LogFilter(target_type, target_id, user_id, action),
        limit=limit,
        before_id=before_id,
    )
