"""The harvest API (admins): OAI-PMH sources harvested in, and running one now."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from sqlalchemy.orm import Session

from collection.accounts.roles import Permission
from collection.api.deps import DbSession, require
from collection.db import after_commit, utcnow
from collection.errors import Conflict
from collection.harvest import service
from collection.harvest.schemas import RunQueuedOut, SourceIn, SourceOut, source_view
from collection.ids import Id
from collection.models import HarvestSource, User

router = APIRouter(prefix="/api/v1/harvest", tags=["harvest"])
HarvestManager = Annotated[User, Depends(require(Permission.MANAGE_HARVEST))]


def views(session: Session, sources: list[HarvestSource]) -> list[SourceOut]:
    """Sources with their last run and item counts, as the API and the staff page show them."""
    runs, counts, now = service.last_runs(session), service.record_counts(session), utcnow()
    return [
        source_view(
            s,
            runs.get(s.id),
            counts.get(s.id, 0),
            running=s.lease_until is not None and s.lease_until > now,
        )
        for s in sources
    ]


@router.get("/sources", response_model=list[SourceOut], summary="OAI-PMH sources harvested in")
def list_sources(session: DbSession, _user: HarvestManager) -> list[SourceOut]:
    return views(session, service.list_sources(session=session))


@router.post(
    "/sources",
    response_model=SourceOut,
    status_code=status.HTTP_201_CREATED,
    summary="Register an OAI-PMH source whose records become items of a collection",
)
def add_source(body: SourceIn, session: DbSession, user: HarvestManager) -> SourceOut:
    source = service.add_source(session=session, actor=user, **body.model_dump())
    return views(session, [source])[0]


@router.post(
    "/sources/{source_id}/run",
    response_model=RunQueuedOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Queue a harvest of the source now (the worker runs it; GET shows its progress)",
)
def run_source(source_id: Id, session: DbSession, _user: HarvestManager) -> RunQueuedOut:
    source = service.get_source(session=session, source_id=source_id)
    if source.lease_until is not None and source.lease_until > utcnow():
        raise Conflict(
            f"Nguồn {source_id} đang được thu hoạch.",
            message_en=f"source {source_id} is being harvested",
        )
    queue_run(session, source_id)
    return RunQueuedOut(source_id=source_id)


def queue_run(session: Session, source_id: int) -> None:
    """Queue the source's run once this transaction has committed."""
    from collection.harvest.tasks import run_source_task

    after_commit(session, lambda: run_source_task(source_id))
