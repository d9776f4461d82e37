"""The access points API (admins): points, their widget keys and the snippets to paste."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status

from collection.accounts.roles import Permission
from collection.api.deps import AppSettings, DbSession, require
from collection.db import after_commit
from collection.ids import Id
from collection.models import AccessPoint, User
from collection.points import service
from collection.points.schemas import PointIn, PointOut, SnippetsOut
from collection.points.widget import embed_snippets

router = APIRouter(prefix="/api/v1", tags=["access points"])
PointManager = Annotated[User, Depends(require(Permission.MANAGE_POINTS))]


@router.get("/points", response_model=list[PointOut], summary="Access points (A–Z)")
def list_points(session: DbSession, _user: PointManager) -> list[AccessPoint]:
    return service.list_points(session=session)


@router.post(
    "/points",
    response_model=PointOut,
    status_code=status.HTTP_201_CREATED,
    summary="Register an access point (it gets a widget key)",
)
def create_point(
    body: PointIn, request: Request, session: DbSession, user: PointManager
) -> AccessPoint:
    point = service.create_point(session=session, actor=user, **body.model_dump())
    after_commit(session, request.app.state.points.forget)  # seen at once, after the commit
    return point


@router.put("/points/{point_id}", response_model=PointOut, summary="Edit an access point")
def update_point(
    point_id: Id, body: PointIn, request: Request, session: DbSession, user: PointManager
) -> AccessPoint:
    point = service.update_point(
        session=session, actor=user, point_id=point_id, **body.model_dump()
    )
    after_commit(session, request.app.state.points.forget)  # seen at once, after the commit
    return point


@router.post(
    "/points/{point_id}/widget-key",
    response_model=PointOut,
    summary="Issue a new widget key (the old one stops working)",
)
def rotate_key(
    point_id: Id, request: Request, session: DbSession, user: PointManager
) -> AccessPoint:
    point = service.rotate_key(session=session, point_id=point_id, actor=user)
    after_commit(session, request.app.state.points.forget)  # seen at once, after the commit
    return point


@router.get(
    "/points/{point_id}/snippets",
    response_model=SnippetsOut,
    summary="The HTML to paste into the point's own site",
)
def snippets(
    point_id: Id, session: DbSession, settings: AppSettings, _user: PointManager
) -> SnippetsOut:
    point = service.get_point(session=session, point_id=point_id)
    snippet = embed_snippets(base_url=settings.base_url, widget_key=point.widget_key)
    return SnippetsOut(script=snippet.script, iframe=snippet.iframe)
