"""The staff workspace's shared parts: the page frame (navigation by role, flash messages,
form errors in Vietnamese), the CSRF check every staff form goes through, the dashboard and the
audit log. The areas live beside it: staff_items (cataloguing), staff_ingest (jobs, bulk
import), staff_admin (access points, accounts)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import func, select

from collection.accounts.roles import Permission, allows
from collection.api.deps import CurrentUser, DbSession, require
from collection.audit import service as audit
from collection.catalogue.reading import DC_LABELS
from collection.errors import CollectionError
from collection.ingest import service as ingest
from collection.ingest.service import STAGE_LABELS, STATE_LABELS
from collection.models import (
    Access,
    AuditEvent,
    IngestJob,
    Item,
    ItemStatus,
    JobState,
    PointKind,
    PointLevel,
    Role,
    User,
)
from collection.preservation import fixity
from collection.web import csrf
from collection.web.templating import templates

StaffUser = Annotated[User, Depends(require(Permission.VIEW_STAFF))]
Cataloguer = Annotated[User, Depends(require(Permission.CATALOGUE))]
PointManager = Annotated[User, Depends(require(Permission.MANAGE_POINTS))]
Admin = Annotated[User, Depends(require(Permission.MANAGE_USERS))]

# Messages shown after a redirect (?tb=…): the URL carries a code, never text.
FLASH = {
    "da-luu": "Đã lưu.",
    "da-tao": "Đã tạo.",
    "da-xoa": "Đã xóa.",
    "xu-ly-lai": "Đã xếp lịch xử lý lại. Theo dõi tiến độ ở bên dưới.",
    "thu-lai": "Đã xếp lịch thử lại công việc.",
    "da-sua-trang": "Đã lưu văn bản trang. Bản sửa sẽ có trong kết quả tìm kiếm sau ít giây.",
    "bo-sua-trang": "Đã bỏ bản sửa; trang dùng lại văn bản OCR.",
    "ma-moi": "Đã cấp mã nhúng mới. Mã cũ không còn dùng được: hãy gửi đoạn mã mới cho điểm.",
    "mat-khau": "Đã đặt mật khẩu mới.",
    "lien-ket": "Đã lưu đơn vị mới tương ứng; liên kết cũ được giữ trong lịch sử.",
    "da-chot": "Đã chốt báo cáo thành một bản đánh số; các bản trước vẫn được giữ.",
    "thu-hoach": "Đã xếp lịch thu hoạch. Tải lại trang sau ít phút để xem kết quả.",
}
NOT_SAVED = "Chưa lưu được: hãy sửa các ô được đánh dấu đỏ."
FIELD_MESSAGES = {
    "missing": "Cần nhập.",
    "string_too_short": "Không được để trống.",
    "enum": "Giá trị không hợp lệ.",
    "int_parsing": "Phải là một số.",
    "bool_parsing": "Giá trị không hợp lệ.",
    "extra_forbidden": "Trường không được phép.",
}


async def check_form_csrf(request: Request) -> None:
    """Every state-changing request to a staff page must carry the form's CSRF token."""
    if request.method in ("GET", "HEAD"):
        return
    form = await request.form()  # parsed once; the route's Form() parameters reuse it
    csrf.check_form(request, str(form.get("csrf_token", "")))


def staff_router() -> APIRouter:
    """A router for staff pages: every POST to it must carry the form's CSRF token."""
    return APIRouter(include_in_schema=False, dependencies=[Depends(check_form_csrf)])


router = staff_router()


def staff_links(user: User) -> list[tuple[str, str, bool]]:
    """The workspace's sections, and whether this user's role may open each."""
    role = user.role
    staff = allows(role, Permission.VIEW_STAFF)  # a point operator sees only their figures
    return [
        ("/staff", "Tổng quan", staff),
        ("/staff/tai-lieu", "Tài liệu", staff),
        ("/staff/bo-suu-tap", "Bộ sưu tập", staff),
        ("/staff/nhap-lo", "Nhập hàng loạt", allows(role, Permission.CATALOGUE)),
        ("/staff/dia-danh", "Địa danh", staff),
        ("/staff/cong-viec", "Công việc xử lý", staff),
        ("/staff/bao-cao", "Báo cáo năm", allows(role, Permission.VIEW_REPORTS)),
        ("/staff/so-lieu", "Số liệu điểm", allows(role, Permission.SUBMIT_FIGURES)),
        ("/staff/diem-truy-cap", "Điểm truy cập", allows(role, Permission.MANAGE_POINTS)),
        ("/staff/tai-khoan", "Tài khoản", allows(role, Permission.MANAGE_USERS)),
        ("/staff/thu-hoach", "Thu hoạch OAI-PMH", allows(role, Permission.MANAGE_HARVEST)),
        ("/staff/nhat-ky", "Nhật ký thay đổi", staff),
    ]


templates.env.globals["staff_links"] = staff_links
VIETNAM = timezone(timedelta(hours=7))


def local_time(moment: datetime | None) -> str:
    """A stored UTC time as staff read it, in Vietnam time: 23/11/2026 14:05."""
    return moment.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M") if moment else ""


templates.env.filters["local_time"] = local_time


def page(
    request: Request,
    name: str,
    user: User,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    error: str | None = None,
) -> Response:
    """Render a staff page with what every one of them shows (navigation, flash, error)."""
    flash = FLASH.get(request.query_params.get("tb", ""))
    response = templates.TemplateResponse(
        request,
        name,
        {
            "user": user,
            "csrf": csrf.csrf_token(request),
            "flash": flash,
            "error": error,
            "may": lambda permission: allows(user.role, Permission(permission)),
            **(context or {}),
        },
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )
    csrf.remember(request, response, request.app.state.settings)
    return response


def done(url: str, flash: str) -> RedirectResponse:
    """After a successful form: back to a page, with a message (POST → redirect → GET)."""
    separator = "&" if "?" in url else "?"
    return RedirectResponse(f"{url}{separator}tb={flash}", status_code=303)


def field_errors(exc: ValidationError) -> dict[str, str]:
    """Pydantic's complaints as {field: Vietnamese message} for a form."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        kind = error["type"]
        if kind == "value_error":
            message = str(error["msg"]).removeprefix("Value error, ")
        elif kind == "string_too_long":
            message = f"Quá dài (tối đa {error.get('ctx', {}).get('max_length')} ký tự)."
        elif kind == "string_pattern_mismatch":
            message = "Không đúng dạng yêu cầu."
        else:
            message = FIELD_MESSAGES.get(kind, str(error["msg"]))
        errors.setdefault(field, message)
    return errors


def refusal(exc: ValidationError | CollectionError) -> tuple[dict[str, str], int, str]:
    """What a form shows when a save is refused: the fields to mark, the status, the message."""
    if isinstance(exc, ValidationError):
        return field_errors(exc), 422, NOT_SAVED
    return error_fields(exc), exc.status, exc.message


def error_fields(exc: CollectionError, rename: Mapping[str, str] | None = None) -> dict[str, str]:
    """{field: message} for the form field a service error names (``rename``: the service's
    field name → the form's), or nothing when it names none."""
    field = (rename or {}).get(exc.field or "", exc.field)
    return {field: exc.message} if field else {}


def pairs(rows: Iterable[Any]) -> dict[Any, Any]:
    """A two-column query result as a dict (a Result has keys(), so dict() would misread it)."""
    return {key: value for key, value in rows}


# --- dashboard and audit log -------------------------------------------------------------------


@router.get("/staff", response_class=HTMLResponse)
def dashboard(request: Request, session: DbSession, user: CurrentUser) -> Response:
    if not allows(user.role, Permission.VIEW_STAFF):
        return RedirectResponse("/staff/so-lieu", status_code=303)  # a point operator's page
    items_by_status: dict[ItemStatus, int] = pairs(
        session.execute(select(Item.status, func.count()).group_by(Item.status))
    )
    jobs_by_state: dict[JobState, int] = pairs(
        session.execute(select(IngestJob.state, func.count()).group_by(IngestJob.state))
    )
    active = ingest.list_jobs(
        session=session, states=[JobState.RUNNING, JobState.QUEUED, JobState.FAILED], limit=10
    )
    preservation = fixity.status(session, days=request.app.state.settings.fixity_days)
    return page(
        request,
        "staff/home.html",
        user,
        {
            "items": [(s, items_by_status.get(s, 0)) for s in ItemStatus],
            "jobs": [(s, STATE_LABELS[s], jobs_by_state.get(s, 0)) for s in JobState],
            "active_jobs": active,
            "fixity": preservation,
            "recent": audit.entries(session=session, limit=15),
            "action_labels": audit.ACTION_LABELS,
        },
    )


# Where an audit entry's target is shown, and who may open that page.
TARGET_LINKS = {
    "item": ("/staff/tai-lieu/{}", Permission.VIEW_STAFF),
    "collection": ("/staff/bo-suu-tap/{}", Permission.VIEW_STAFF),
    "point": ("/staff/diem-truy-cap/{}", Permission.MANAGE_POINTS),
    "user": ("/staff/tai-khoan/{}", Permission.MANAGE_USERS),
    "job": ("/staff/cong-viec?job={}", Permission.VIEW_STAFF),
    "place": ("/staff/dia-danh/so/{}", Permission.VIEW_STAFF),
}


def audit_link(entry: AuditEvent, viewer: User) -> str | None:
    """The staff page of an entry's target, if this viewer may open it."""
    if entry.target_type not in TARGET_LINKS or entry.target_id is None:
        return None
    url, permission = TARGET_LINKS[entry.target_type]
    return url.format(entry.target_id) if allows(viewer.role, permission) else None


templates.env.globals["audit_link"] = audit_link
FIELD_LABELS = {
    **DC_LABELS,
    "status": "Trạng thái",
    "access": "Mức truy cập",
    "collection_id": "Bộ sưu tập",
    "ocr_languages": "Ngôn ngữ OCR",
    "text": "Văn bản",
    "file": "Tệp",
    "linked": "Liên kết tệp có sẵn",
    "stages": "Công đoạn",
    "pages": "Trang",
    "role": "Vai trò",
    "active": "Đang hoạt động",
    "display_name": "Tên hiển thị",
    "name": "Tên",
    "slug": "Đường dẫn",
    "kind": "Loại điểm",
    "level": "Cấp",
    "district": "Huyện",
    "allowed_origins": "Trang web được nhúng",
    "ip_ranges": "Dải IP",
    "storage_key": "Khóa lưu trữ",
    "sha256": "SHA-256 (khi nhập → đọc được)",
    "outcome": "Kết quả kiểm tra",
}


VALUE_LABELS: dict[str, dict[str, str]] = {
    "role": {r.value: r.label for r in Role},
    "status": {s.value: s.label for s in ItemStatus},
    "access": {a.value: a.label for a in Access},
    "kind": {k.value: k.label for k in PointKind},
    "level": {lv.value: lv.label for lv in PointLevel},
}


def show_value(value: Any, field: str = "") -> str:
    """A logged value as staff read it (codes as their Vietnamese labels)."""
    if value is None or value == "" or value == []:
        return "(trống)"
    if isinstance(value, bool):
        return "có" if value else "không"
    if isinstance(value, list):
        return "; ".join(map(str, value))
    text = VALUE_LABELS.get(field, {}).get(str(value), str(value))
    return text if len(text) <= 160 else text[:160] + "…"


templates.env.globals["field_label"] = lambda name: FIELD_LABELS.get(name, name)
templates.env.globals["show_value"] = show_value
templates.env.filters["stage_label"] = lambda stage: STAGE_LABELS.get(stage, stage)
templates.env.globals["action_label"] = lambda action: audit.ACTION_LABELS.get(action, action)


@router.get("/staff/nhat-ky", response_class=HTMLResponse)
def audit_log(
    request: Request,
    session: DbSession,
    user: StaffUser,
    loai: Annotated[str, Query(max_length=30)] = "",
    so: Annotated[int | None, Query()] = None,
    truoc: Annotated[int | None, Query()] = None,
) -> Response:
    where = audit.LogFilter(target_type=loai or None, target_id=so)
    entries: list[AuditEvent] = audit.entries(
        session=session, where=where, limit=50, before_id=truoc
    )
    return page(
        request,
        "staff/audit.html",
        user,
        {
            "entries": entries,
            "kind": loai,
            "target_id": so,
            "older": entries[-1].id if len(entries) == 50 else None,
        },
    )
