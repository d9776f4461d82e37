"""Administration pages: access points (their sites, IP ranges, widget keys and the snippets to
hand out) and staff accounts (roles, disabling, new passwords). Each route parses the form and
calls the points or accounts service, like the JSON API does.

A password made by the system is shown once, in the page that answers the POST: it is never put
in a URL, a log or the audit log."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from collection.accounts import service as accounts
from collection.api.deps import AppSettings, DbSession
from collection.audit import service as audit
from collection.db import after_commit
from collection.errors import CollectionError, InvalidInput
from collection.ids import Id
from collection.models import AccessPoint, PointKind, PointLevel, Role, User
from collection.places.service import gazetteer
from collection.points import service as points
from collection.points.widget import embed_snippets
from collection.search.vietnamese import sort_key
from collection.web.staff import (
    FLASH,
    NOT_SAVED,
    Admin,
    PointManager,
    done,
    error_fields,
    page,
    staff_router,
)

router = staff_router()

MAX_NAME = 300  # AccessPoint.name
MAX_ORIGINS = 50  # as the API allows (points.schemas.PointIn)
MAX_RANGES = 200
MAX_EMAIL = 254  # User.email
MAX_DISPLAY_NAME = 200  # User.display_name
HISTORY = 20
TOO_SHORT = "Mật khẩu phải có ít nhất 10 ký tự (hoặc để trống để hệ thống tạo)."


async def read_form(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(read_form)]


def _text(form: FormData, name: str) -> str:
    return str(form.get(name, "") or "")


def _entries(text: str) -> list[str]:
    """Addresses as staff type or paste them: one a line (commas, semicolons and spaces also
    separate; no web origin or IP range contains one)."""
    return [part for part in re.split(r"[\s,;]+", text) if part]


# --- access points -----------------------------------------------------------------------------


def _point_choices() -> dict[str, Any]:
    return {
        "kinds": [(k.value, k.label) for k in PointKind],
        "levels": [(lv.value, lv.label) for lv in PointLevel],
    }


def _point_values(session: Session, point: AccessPoint) -> dict[str, Any]:
    """What the edit form shows for a stored point (lists one per line, places as labels)."""
    gaz = gazetteer(session)
    return {
        "name": point.name,
        "kind": point.kind.value,
        "level": point.level.value,
        "commune": gaz.label(point.commune.id) if point.commune else "",
        "district": gaz.label(point.district.id) if point.district else "",
        "allowed_origins": "\n".join(point.allowed_origins or []),
        "ip_ranges": "\n".join(point.ip_ranges or []),
        "active": point.active,
    }


def read_point(
    form: FormData, session: Session
) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """The point form as (what it shows back, the service's arguments, {field: message}). Every
    field is checked, so all the mistakes are marked at once; the arguments are complete only
    when there is no message."""
    values: dict[str, Any] = {
        name: _text(form, name)
        for name in ("name", "kind", "level", "commune", "district", "allowed_origins", "ip_ranges")
    }
    values["active"] = "active" in form
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}

    name = values["name"].strip()
    if not name:
        errors["name"] = "Cần nhập tên điểm truy cập."
    elif len(name) > MAX_NAME:
        errors["name"] = f"Quá dài (tối đa {MAX_NAME} ký tự)."
    data["name"] = name
    try:
        data["kind"] = PointKind(values["kind"])
    except ValueError:
        errors["kind"] = "Chọn loại điểm trong danh sách."
    try:
        data["level"] = PointLevel(values["level"])
    except ValueError:
        errors["level"] = "Chọn cấp trong danh sách."
    data["commune"], data["district"] = values["commune"], values["district"]
    try:  # checked here too, so that a wrong place is marked with the other mistakes
        points.place_point(
            session, AccessPoint(), commune=values["commune"], district=values["district"]
        )
    except InvalidInput as exc:
        errors[exc.field or "district"] = exc.message

    origins = _entries(values["allowed_origins"])
    if len(origins) > MAX_ORIGINS:
        errors["allowed_origins"] = f"Tối đa {MAX_ORIGINS} trang web cho một điểm."
    else:
        try:
            data["allowed_origins"] = points.checked_origins(origins)
        except InvalidInput as exc:
            errors["allowed_origins"] = exc.message
    ranges = _entries(values["ip_ranges"])
    if len(ranges) > MAX_RANGES:
        errors["ip_ranges"] = f"Tối đa {MAX_RANGES} dải IP cho một điểm."
    else:
        try:
            data["ip_ranges"] = points.checked_ranges(ranges)
        except InvalidInput as exc:
            errors["ip_ranges"] = exc.message
    return values, data, errors


def _points_page(
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
        "staff/points.html",
        user,
        {
            "points": points.list_points(session=session),
            "values": values
            or {
                k: ""
                for k in (
                    "name",
                    "kind",
                    "level",
                    "commune",
                    "district",
                    "allowed_origins",
                    "ip_ranges",
                )
            },
            "errors": errors or {},
            **_point_choices(),
        },
        status_code=status_code,
        error=error,
    )


@router.get("/staff/diem-truy-cap", response_class=HTMLResponse)
def point_list(request: Request, session: DbSession, user: PointManager) -> Response:
    return _points_page(request, session, user)


@router.post("/staff/diem-truy-cap", response_class=HTMLResponse)
def create_point(request: Request, session: DbSession, user: PointManager, form: Form) -> Response:
    values, data, errors = read_point(form, session)
    if errors:
        return _points_page(
            request, session, user, values, errors, status_code=422, error=NOT_SAVED
        )
    try:
        point = points.create_point(session=session, actor=user, **data)
    except InvalidInput as exc:
        session.rollback()
        return _points_page(
            request,
            session,
            user,
            values,
            error_fields(exc, {}),
            status_code=422,
            error=exc.message,
        )
    after_commit(session, request.app.state.points.forget)  # the widget sees it at once
    return done(f"/staff/diem-truy-cap/{point.id}", "da-tao")


def _point_page(
    request: Request,
    session: Session,
    settings: Any,
    user: User,
    point: AccessPoint,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    *,
    status_code: int = 200,
    error: str | None = None,
) -> Response:
    return page(
        request,
        "staff/point.html",
        user,
        {
            "point": point,
            "values": values or _point_values(session, point),
            "errors": errors or {},
            "snippets": embed_snippets(base_url=settings.base_url, widget_key=point.widget_key),
            "history": audit.entries(
                session=session,
                where=audit.LogFilter(target_type="point", target_id=point.id),
                limit=HISTORY,
            ),
            **_point_choices(),
        },
        status_code=status_code,
        error=error,
    )


@router.get("/staff/diem-truy-cap/{point_id}", response_class=HTMLResponse)
def point_page(
    point_id: Id,
    request: Request,
    session: DbSession,
    settings: AppSettings,
    user: PointManager,
) -> Response:
    point = points.get_point(session=session, point_id=point_id)
    return _point_page(request, session, settings, user, point)


@router.post("/staff/diem-truy-cap/{point_id}", response_class=HTMLResponse)
def save_point(
    point_id: Id,
    request: Request,
    session: DbSession,
    settings: AppSettings,
    user: PointManager,
    form: Form,
) -> Response:
    point = points.get_point(session=session, point_id=point_id)
    values, data, errors = read_point(form, session)
    if errors:
        return _point_page(
            request,
            session,
            settings,
            user,
            point,
            values,
            errors,
            status_code=422,
            error=NOT_SAVED,
        )
    try:
        points.update_point(
            session=session, actor=user, point_id=point_id, active=values["active"], **data
        )
    except InvalidInput as exc:
        session.rollback()
        point = points.get_point(session=session, point_id=point_id)
        return _point_page(
            request,
            session,
            settings,
            user,
            point,
            values,
            error_fields(exc, {}),
            status_code=422,
            error=exc.message,
        )
    after_commit(session, request.app.state.points.forget)
    return done(f"/staff/diem-truy-cap/{point_id}", "da-luu")


@router.post("/staff/diem-truy-cap/{point_id}/ma-moi")
def new_widget_key(
    point_id: Id, request: Request, session: DbSession, user: PointManager
) -> Response:
    points.rotate_key(session=session, point_id=point_id, actor=user)
    after_commit(session, request.app.state.points.forget)  # the old key stops working now
    return done(f"/staff/diem-truy-cap/{point_id}", "ma-moi")


# --- staff accounts ----------------------------------------------------------------------------


def _roles() -> list[tuple[str, str]]:
    return [(r.value, r.label) for r in Role]


def _operator_points(session: Session) -> list[tuple[str, str]]:
    """For a point operator's account: which point (Vietnamese order)."""
    named = sorted(
        ((str(p.id), p.name) for p in session.scalars(select(AccessPoint))),
        key=lambda c: sort_key(c[1]),
    )
    return [("", "— (chỉ cho cán bộ điểm truy cập) —"), *named]


def _point_of(form: Any) -> int | None:
    text = _text(form, "point_id")
    return int(text) if text.isdigit() else None


def _users_page(
    request: Request,
    session: Session,
    user: User,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    *,
    status_code: int = 200,
    error: str | None = None,
) -> Response:
    return page(
        request,
        "staff/users.html",
        user,
        {
            "accounts": accounts.list_users(session=session),
            "values": values
            or {"email": "", "display_name": "", "role": Role.CATALOGUER.value, "point_id": ""},
            "errors": errors or {},
            "roles": _roles(),
            "point_choices": _operator_points(session),
        },
        status_code=status_code,
        error=error,
    )


def _user_page(
    request: Request,
    session: Session,
    user: User,
    account: User,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    *,
    new_password: str | None = None,
    flash: str | None = None,
    status_code: int = 200,
    error: str | None = None,
) -> Response:
    context: dict[str, Any] = {
        "account": account,  # not "user": that is who is logged in
        "values": values
        or {
            "display_name": account.display_name,
            "role": account.role.value,
            "active": account.active,
            "point_id": str(account.point_id or ""),
        },
        "errors": errors or {},
        "roles": _roles(),
        "point_choices": _operator_points(session),
        "new_password": new_password,
        "history": audit.entries(
            session=session,
            where=audit.LogFilter(target_type="user", target_id=account.id),
            limit=HISTORY,
        ),
    }
    if flash:
        context["flash"] = flash
    return page(request, "staff/user.html", user, context, status_code=status_code, error=error)


@router.get("/staff/tai-khoan", response_class=HTMLResponse)
def user_list(request: Request, session: DbSession, user: Admin) -> Response:
    return _users_page(request, session, user)


@router.post("/staff/tai-khoan", response_class=HTMLResponse)
def create_user(request: Request, session: DbSession, user: Admin, form: Form) -> Response:
    values = {name: _text(form, name) for name in ("email", "display_name", "role", "point_id")}
    password = _text(form, "password")  # never shown back, never logged
    errors: dict[str, str] = {}
    try:
        accounts.normalise_email(values["email"])
        if len(values["email"].strip()) > MAX_EMAIL:
            errors["email"] = f"Quá dài (tối đa {MAX_EMAIL} ký tự)."
    except InvalidInput as exc:
        errors["email"] = exc.message
    if len(values["display_name"].strip()) > MAX_DISPLAY_NAME:
        errors["display_name"] = f"Quá dài (tối đa {MAX_DISPLAY_NAME} ký tự)."
    if values["role"] not in {r.value for r in Role}:
        errors["role"] = "Chọn vai trò trong danh sách."
    if password and len(password) < 10:
        errors["password"] = TOO_SHORT
    if errors:
        return _users_page(request, session, user, values, errors, status_code=422, error=NOT_SAVED)
    generated = not password
    if generated:
        password = accounts.generate_password()
    try:
        created = accounts.create_user(
            session=session,
            actor=user,
            email=values["email"],
            role=Role(values["role"]),
            password=password,
            display_name=values["display_name"],
            point_id=_point_of(form),
        )
    except CollectionError as exc:
        if exc.status >= 500:
            raise
        session.rollback()
        field = "email" if exc.status == 409 else (exc.field or "")
        return _users_page(
            request,
            session,
            user,
            values,
            {field: exc.message} if field else {},
            status_code=exc.status,
            error=exc.message,
        )
    if not generated:
        return done(f"/staff/tai-khoan/{created.id}", "da-tao")
    # The generated password is in this answer only (no redirect: it must not be in a URL).
    return _user_page(request, session, user, created, new_password=password, flash=FLASH["da-tao"])


@router.get("/staff/tai-khoan/{user_id}", response_class=HTMLResponse)
def user_page(user_id: Id, request: Request, session: DbSession, user: Admin) -> Response:
    account = accounts.get_user(session=session, user_id=user_id)
    return _user_page(request, session, user, account)


@router.post("/staff/tai-khoan/{user_id}", response_class=HTMLResponse)
def save_user(
    user_id: Id, request: Request, session: DbSession, user: Admin, form: Form
) -> Response:
    account = accounts.get_user(session=session, user_id=user_id)
    values: dict[str, Any] = {
        "display_name": _text(form, "display_name"),
        "role": _text(form, "role"),
        "active": "active" in form,
        "point_id": _text(form, "point_id"),
    }
    errors: dict[str, str] = {}
    if len(values["display_name"].strip()) > MAX_DISPLAY_NAME:
        errors["display_name"] = f"Quá dài (tối đa {MAX_DISPLAY_NAME} ký tự)."
    if values["role"] not in {r.value for r in Role}:
        errors["role"] = "Chọn vai trò trong danh sách."
    if errors:
        return _user_page(
            request, session, user, account, values, errors, status_code=422, error=NOT_SAVED
        )
    try:
        accounts.update_user(
            session=session,
            actor=user,
            user_id=user_id,
            role=Role(values["role"]),
            active=values["active"],
            display_name=values["display_name"],
            point_id=_point_of(form),
        )
    except InvalidInput as exc:
        session.rollback()
        account = accounts.get_user(session=session, user_id=user_id)
        return _user_page(
            request,
            session,
            user,
            account,
            values,
            error_fields(exc),
            status_code=422,
            error=exc.message,
        )
    return done(f"/staff/tai-khoan/{user_id}", "da-luu")


@router.post("/staff/tai-khoan/{user_id}/mat-khau", response_class=HTMLResponse)
def new_password(user_id: Id, request: Request, session: DbSession, user: Admin) -> Response:
    """A new random password, shown once in this answer (its sessions end, the user's own too)."""
    account, password = accounts.reset_password(session=session, actor=user, user_id=user_id)
    return _user_page(
        request, session, user, account, new_password=password, flash=FLASH["mat-khau"]
    )
