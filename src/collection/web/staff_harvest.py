"""The harvest page (admins): the OAI-PMH sources harvested in, their last run (counts, the
error in Vietnamese, the first failed records), a form to add one and a button to run one now.
Each route parses the form and calls the harvest service, as the JSON API does."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from collection.accounts.roles import Permission
from collection.api.deps import DbSession, require
from collection.catalogue import service as catalogue
from collection.db import utcnow
from collection.errors import Conflict, InvalidInput
from collection.harvest import service
from collection.harvest.routes import queue_run, views
from collection.ids import Id
from collection.models import User
from collection.web.staff import NOT_SAVED, done, error_fields, page, staff_router
from collection.web.staff_admin import Form, _text

router = staff_router()
HarvestManager = Annotated[User, Depends(require(Permission.MANAGE_HARVEST))]
FIELDS = ("url", "set_spec", "collection", "metadata_prefix")


def _page(
    request: Request,
    session: Session,
    user: User,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    *,
    status_code: int = 200,
    error: str | None = None,
) -> Response:
    return page(
        request,
        "staff/harvest.html",
        user,
        {
            "sources": views(session, service.list_sources(session=session)),
            "collection_choices": [("", "— Chọn bộ sưu tập —")]
            + [(str(c.id), c.title) for c in catalogue.list_collections(session=session)],
            "values": values or {"metadata_prefix": "oai_dc"},
            "errors": errors or {},
        },
        status_code=status_code,
        error=error,
    )


@router.get("/staff/thu-hoach", response_class=HTMLResponse)
def source_list(request: Request, session: DbSession, user: HarvestManager) -> Response:
    return _page(request, session, user)


@router.post("/staff/thu-hoach", response_class=HTMLResponse)
def add_source(request: Request, session: DbSession, user: HarvestManager, form: Form) -> Response:
    values = {name: _text(form, name).strip() for name in FIELDS}
    if not values["url"] or not values["collection"]:
        missing = {name: "Cần nhập." for name in ("url", "collection") if not values[name]}
        return _page(request, session, user, values, missing, status_code=422, error=NOT_SAVED)
    try:
        service.add_source(session=session, actor=user, **values)
    except InvalidInput as exc:
        session.rollback()
        return _page(
            request,
            session,
            user,
            values,
            error_fields(exc),
            status_code=422,
            error=exc.message,
        )
    return done("/staff/thu-hoach", "da-tao")


@router.post("/staff/thu-hoach/{source_id}/chay", response_class=HTMLResponse)
def run_source(
    source_id: Id, request: Request, session: DbSession, user: HarvestManager
) -> Response:
    source = service.get_source(session=session, source_id=source_id)
    if source.lease_until is not None and source.lease_until > utcnow():
        raise Conflict(
            f"Nguồn {source_id} đang được thu hoạch; hãy đợi lần chạy đó xong.",
            message_en=f"source {source_id} is being harvested",
        )
    queue_run(session, source_id)
    return done("/staff/thu-hoach", "thu-hoach")
