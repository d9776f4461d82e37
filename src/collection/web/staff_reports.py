"""The yearly report for staff (reporters and admins): the province, departments, districts,
communes and points, each target met or not, exports and frozen versions; and the points' monthly
figures, entered by a point operator (their own point) or by province staff, on a form or by
the province's spreadsheet. Pages read the report's data (reports/summary.py), so a frozen
version renders exactly as it was submitted."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from collection.accounts.roles import Permission, allows
from collection.api.deps import AppSettings, DbSession, require
from collection.config import Settings
from collection.db import utcnow
from collection.errors import CollectionError, InvalidInput, NotFound
from collection.ids import Id
from collection.models import AccessPoint, Role, User
from collection.reports import (
    charts,
    exports,
    figures,
    freezing,
    service,
    summary,
    template,
)
from collection.reports.exports import XLSX
from collection.reports.routes import MAX_SHEET
from collection.search.vietnamese import sort_key
from collection.stats.periods import local_day
from collection.web.staff import done, error_fields, page, staff_router
from collection.web.staff_items import Form
from collection.web.templating import templates

router = staff_router()
Reporter = Annotated[User, Depends(require(Permission.VIEW_REPORTS))]
Freezer = Annotated[User, Depends(require(Permission.FREEZE_REPORTS))]
Submitter = Annotated[User, Depends(require(Permission.SUBMIT_FIGURES))]


def number(value: Any) -> str:
    """12345 → "12.345" (Vietnamese thousands); None → "—"."""
    if value is None or value == "":
        return "—"
    if isinstance(value, float):
        return f"{value:,.1f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return f"{int(value):,}".replace(",", ".")


def percent(value: float | None, signed: bool = True) -> str:
    if value is None:
        return "—"
    text = f"{abs(value):.1f}".replace(".", ",") + " %"
    return ("+" if value >= 0 else "−") + text if signed else text


def month_text(value: str) -> str:
    """ "2026-11" → "11/2026"."""
    return f"{value[5:7]}/{value[:4]}" if value else ""


templates.env.filters["so"] = number
templates.env.filters["phan_tram"] = percent
templates.env.filters["thang"] = month_text


def _year(nam: int | None) -> int:
    return service.check_year(nam or local_day(utcnow()).year)


@router.get("/staff/bao-cao", response_class=HTMLResponse)
def report_page(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    user: Reporter,
    nam: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    ban: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    year = _year(nam)
    data, frozen = service.report_data(session, settings, year, ban)
    this_month = figures.reporting_month(local_day(utcnow()))  # last month until the 20th
    missing = figures.missing(session, this_month) if year == this_month.year and not frozen else []
    return page(
        request,
        "staff/report.html",
        user,
        {
            "r": data,
            "year": year,
            "frozen": frozen,
            "versions": freezing.versions(session, year),
            "years": list(range(local_day(utcnow()).year, 2019, -1)),
            "chart": charts.province_chart(data),
            "missing": sorted(missing, key=lambda p: sort_key(p.name)),
            "this_month": this_month,
            "suffix": f"&ban={frozen.number}" if frozen else "",
        },
    )


@router.get("/staff/bao-cao/diem/{point_id}", response_class=HTMLResponse)
def point_report_page(
    point_id: Id,
    request: Request,
    session: DbSession,
    settings: AppSettings,
    user: Reporter,
    nam: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    ban: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    year = _year(nam)
    data, frozen = service.report_data(session, settings, year, ban)
    line = summary.point_view(data, point_id)
    if line is None:
        raise NotFound("Điểm này không có trong báo cáo năm.", message_en="no such point")
    return page(
        request,
        "staff/report_point.html",
        user,
        {
            "r": data,
            "p": line,
            "point_id": point_id,
            "year": year,
            "frozen": frozen,
            "chart": charts.visits_chart(
                line, f"{line['name']}: lượt truy cập theo tháng, năm {year}"
            ),
            "suffix": f"&ban={frozen.number}" if frozen else "",
        },
    )


@router.get("/staff/bao-cao/tai-ve")
def report_download(
    session: DbSession,
    settings: AppSettings,
    _user: Reporter,
    nam: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    dang: str = "xlsx",
    ban: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    if dang not in ("xlsx", "csv", "pdf"):
        raise InvalidInput("Chỉ tải được XLSX, CSV hoặc PDF.", message_en="xlsx, csv or pdf")
    year = _year(nam)
    data, frozen = service.report_data(session, settings, year, ban)
    name = f"bao-cao-{year}" + (f"-ban-{frozen.number}" if frozen else "")
    body, media = exports.render(data, dang, frozen)
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}.{dang}"'},
    )


@router.post("/staff/bao-cao/chot")
def freeze_report(session: DbSession, settings: AppSettings, user: Freezer, form: Form) -> Response:
    year = _year(int(str(form.get("nam", "0")) or 0) or None)
    version = freezing.freeze(
        session, settings, year=year, actor=user, note=str(form.get("note", ""))[:2000]
    )
    return done(f"/staff/bao-cao?nam={year}&ban={version.number}", "da-chot")


# --- points' monthly figures -------------------------------------------------------------------


def _points_for(session: Session, user: User) -> list[AccessPoint]:
    if user.role == Role.POINT_OPERATOR:
        own_point = session.get(AccessPoint, user.point_id) if user.point_id else None
        return [own_point] if own_point else []
    rows = session.scalars(select(AccessPoint).where(AccessPoint.active))
    return sorted(rows, key=lambda p: sort_key(p.name))


def _figures_page(
    request: Request,
    session: Session,
    settings: Settings,
    user: User,
    *,
    point_id: Id | None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    sheet: list[service.SheetResult] | None = None,
    status_code: int = 200,
) -> Response:
    choices = _points_for(session, user)
    if user.role == Role.POINT_OPERATOR and not choices:
        raise NotFound(
            "Tài khoản chưa được gắn với điểm truy cập nào: hãy báo quản trị viên.",
            message_en="operator without a point",
        )
    chosen = next((p for p in choices if p.id == point_id), choices[0] if choices else None)
    month = figures.reporting_month(local_day(utcnow()))
    history = figures.history(session, chosen.id) if chosen else []
    if values is None:
        current = next((h for h in history if h.month == month and h.replaced_at is None), None)
        values = {"month": month.strftime("%Y-%m"), "note": ""} | (
            {k: getattr(current, k) for k in figures.LABELS} if current else {}
        )
    return page(
        request,
        "staff/figures.html",
        user,
        {
            "points": choices,
            "chosen": chosen,
            "values": values,
            "errors": errors or {},
            "labels": figures.LABELS,
            "numbers": figures.NUMBERS,
            "history": history,
            "sheet": sheet,
            "missing": []
            if user.role == Role.POINT_OPERATOR
            else sorted(figures.missing(session, month), key=lambda p: sort_key(p.name)),
            "month": month,
            "max_visits": settings.max_visits_per_computer_day,
            "can_report": allows(user.role, Permission.VIEW_REPORTS),
        },
        status_code=status_code,
        error=error,
    )


@router.get("/staff/so-lieu", response_class=HTMLResponse)
def figures_page(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    user: Submitter,
    diem: Annotated[int | None, Query()] = None,
) -> Response:
    return _figures_page(request, session, settings, user, point_id=diem)


@router.post("/staff/so-lieu", response_class=HTMLResponse)
def figures_submit(
    request: Request, session: DbSession, settings: AppSettings, user: Submitter, form: Form
) -> Response:
    values = {k: str(form.get(k, "")) for k in ("month", "point_id", *figures.LABELS)}
    point_id = int(values["point_id"]) if values["point_id"].isdigit() else (user.point_id or 0)
    try:
        month = figures.parse_month(values["month"])
        entered = figures.MonthFigures(
            month=month,
            note=values["note"].strip(),
            **{
                k: figures.whole_number(values[k], figures.LABELS[k], field=k)
                for k in figures.NUMBERS
            },
        )
        figures.submit(session, point_id=point_id, figures=entered, actor=user, settings=settings)
    except CollectionError as exc:
        if exc.status >= 500 or exc.status == 403:
            raise
        session.rollback()
        return _figures_page(
            request,
            session,
            settings,
            user,
            point_id=point_id,
            values=values,
            errors=error_fields(exc),
            error=exc.message,
            status_code=exc.status,
        )
    return done(f"/staff/so-lieu?diem={point_id}", "da-luu")


@router.post("/staff/so-lieu/bang-tinh", response_class=HTMLResponse)
async def figures_sheet(
    request: Request, session: DbSession, settings: AppSettings, user: Submitter
) -> Response:
    form = await request.form()
    upload = form.get("sheet")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _figures_page(
            request,
            session,
            settings,
            user,
            point_id=user.point_id,
            error="Chọn tệp bảng tính .xlsx theo mẫu.",
            status_code=422,
        )
    data = await upload.read(MAX_SHEET + 1)
    try:
        if len(data) > MAX_SHEET:
            raise InvalidInput("Bảng tính lớn quá 5 MB.", message_en="sheet too large")
        results = service.save_sheet(session, settings, data=data, actor=user)
    except InvalidInput as exc:
        return _figures_page(
            request,
            session,
            settings,
            user,
            point_id=user.point_id,
            error=exc.message,
            status_code=exc.status,
        )
    saved = sum(r.saved for r in results)
    refused = len(results) - saved
    return _figures_page(
        request,
        session,
        settings,
        user,
        point_id=user.point_id,
        sheet=results,
        error=f"{refused} dòng chưa lưu được; các dòng khác đã lưu." if refused else None,
        status_code=200,
    )


@router.get("/staff/so-lieu/mau.xlsx")
def figures_template(_user: Submitter) -> Response:
    if not template.TEMPLATE.exists():
        template.write_template()
    return FileResponse(
        template.TEMPLATE,
        media_type=XLSX,
        filename="so-lieu-diem-truy-cap.xlsx",
    )
