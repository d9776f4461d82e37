"""The reports API: the yearly report (JSON, XLSX, CSV, PDF), frozen versions, points' monthly
figures (a point operator for their own point), who has not reported, and COUNTER 5.1 reports
in the COUNTER_SUSHI shape for aggregators (with a reporter's token)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Query, UploadFile, status
from fastapi.responses import JSONResponse, Response

from collection.accounts.roles import Permission
from collection.api.deps import AppSettings, DbSession, require
from collection.db import utcnow
from collection.errors import InvalidInput, NotFound
from collection.ids import Id
from collection.models import AccessPoint, User
from collection.reports import counter, exports, figures, freezing, service, summary
from collection.reports.schemas import (
    FiguresIn,
    FiguresOut,
    FreezeIn,
    MissingOut,
    SheetOut,
    VersionOut,
)
from collection.stats.periods import local_day

router = APIRouter(prefix="/api/v1", tags=["reports"])
Reporter = Annotated[User, Depends(require(Permission.VIEW_REPORTS))]
Freezer = Annotated[User, Depends(require(Permission.FREEZE_REPORTS))]
Submitter = Annotated[User, Depends(require(Permission.SUBMIT_FIGURES))]
MAX_SHEET = 5 * 1024 * 1024


@router.get(
    "/reports/{year}",
    summary="The yearly report (province, departments, points)",
    response_class=JSONResponse,
)
def yearly_report(
    year: int,
    session: DbSession,
    settings: AppSettings,
    _user: Reporter,
    point: Annotated[int | None, Query(description="Only this point's part")] = None,
    version: Annotated[Id | None, Query(description="A frozen version's number")] = None,
) -> JSONResponse:
    # Plain JSON already: straight out, without FastAPI's walk over every value (~1 MB).
    data, _ = service.report_data(session, settings, year, version)
    if point is None:
        return JSONResponse(data)
    part = summary.point_view(data, point)
    if part is None:
        raise NotFound("Điểm này không có trong báo cáo năm.", message_en="no such point")
    return JSONResponse(part)


@router.get(
    "/reports/{year}/export",
    summary="The yearly report as XLSX (a sheet per department), CSV (points × months) or PDF",
    response_class=Response,
)
def export_report(
    year: int,
    session: DbSession,
    settings: AppSettings,
    _user: Reporter,
    format: Literal["xlsx", "csv", "pdf"] = "xlsx",
    version: Id | None = None,
) -> Response:
    data, frozen = service.report_data(session, settings, year, version)
    name = f"bao-cao-{year}" + (f"-ban-{frozen.number}" if frozen else "")
    body, media = exports.render(data, format, frozen)
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'},
    )


def _version(row: Any) -> VersionOut:
    return VersionOut(
        year=row.year,
        number=row.number,
        frozen_at=row.frozen_at,
        frozen_by=row.frozen_by.email if row.frozen_by else None,
        note=row.note,
    )


@router.get("/reports/{year}/versions", response_model=list[VersionOut], summary="Frozen versions")
def list_versions(year: int, session: DbSession, _user: Reporter) -> list[VersionOut]:
    return [_version(v) for v in freezing.versions(session, service.check_year(year))]


@router.post(
    "/reports/{year}/versions",
    response_model=VersionOut,
    status_code=status.HTTP_201_CREATED,
    summary="Freeze the report as submitted: a new numbered version (earlier ones are kept)",
)
def freeze_report(
    year: int, body: FreezeIn, session: DbSession, settings: AppSettings, user: Freezer
) -> VersionOut:
    return _version(freezing.freeze(session, settings, year=year, actor=user, note=body.note))


@router.put(
    "/points/{point_id}/figures/{month}",
    response_model=FiguresOut,
    summary="A point's figures for a month (YYYY-MM); submitting again replaces, keeps history",
)
def put_figures(
    point_id: Id,
    month: str,
    body: FiguresIn,
    session: DbSession,
    settings: AppSettings,
    user: Submitter,
) -> dict[str, Any]:
    row = figures.submit(
        session,
        point_id=point_id,
        figures=figures.MonthFigures(month=figures.parse_month(month), **body.model_dump()),
        actor=user,
        settings=settings,
        source="api",
    )
    return service.figures_out(row)


@router.get(
    "/points/{point_id}/figures",
    response_model=list[FiguresOut],
    summary="Every submission of a point's figures, replaced ones included",
)
def figures_history(point_id: Id, session: DbSession, user: Submitter) -> list[dict[str, Any]]:
    figures.allowed_point(user, point_id)
    return [service.figures_out(r) for r in figures.history(session, point_id)]


@router.post(
    "/figures/sheet",
    response_model=SheetOut,
    summary="Upload the province's spreadsheet of monthly figures (template in ingest/)",
)
async def upload_sheet(
    session: DbSession,
    settings: AppSettings,
    user: Submitter,
    sheet: Annotated[UploadFile, File(description="so-lieu-diem-truy-cap.xlsx, filled in")],
) -> SheetOut:
    data = await sheet.read(MAX_SHEET + 1)
    if len(data) > MAX_SHEET:
        raise InvalidInput("Bảng tính lớn quá 5 MB.", message_en="sheet larger than 5 MB")
    results = service.save_sheet(session, settings, data=data, actor=user)
    return SheetOut(
        saved=sum(r.saved for r in results),
        refused=sum(not r.saved for r in results),
        rows=[
            {
                "row": r.row,
                "point_id": r.point_id,
                "month": r.month.strftime("%Y-%m") if r.month else None,
                "saved": r.saved,
                "error": r.error,
            }
            for r in results
        ],
    )


@router.get("/figures/missing", response_model=MissingOut, summary="Points that have not reported")
def missing_figures(
    session: DbSession,
    _user: Reporter,
    month: Annotated[str, Query(description="YYYY-MM; default this month")] = "",
) -> MissingOut:
    first = figures.parse_month(month) if month else local_day(utcnow()).replace(day=1)
    return MissingOut(
        month=first.strftime("%Y-%m"),
        points=[{"id": p.id, "name": p.name} for p in figures.missing(session, first)],
    )


@router.get(
    "/counter/r51/reports/pr",
    summary="COUNTER 5.1 Platform Report (COUNTER_SUSHI JSON)",
    tags=["reports", "COUNTER"],
)
def counter_pr(
    session: DbSession,
    _user: Reporter,
    begin_date: str,
    end_date: str,
    customer_id: Annotated[str, Query(description="all, or point-<id>")] = "all",
) -> JSONResponse:
    first, end = counter.period(begin_date, end_date)
    point = None
    if customer_id != "all":
        number = customer_id.removeprefix("point-")
        point = session.get(AccessPoint, int(number)) if number.isdigit() else None
        if point is None:
            raise NotFound("Không có điểm truy cập này.", message_en="unknown customer_id")
    return JSONResponse(counter.platform_report(session, first, end, point))


@router.get(
    "/counter/r51/reports/ir",
    summary="COUNTER 5.1 Item Report (COUNTER_SUSHI JSON)",
    tags=["reports", "COUNTER"],
)
def counter_ir(
    session: DbSession, settings: AppSettings, _user: Reporter, begin_date: str, end_date: str
) -> JSONResponse:
    first, end = counter.period(begin_date, end_date)
    return JSONResponse(counter.item_report(session, first, end, base_url=settings.base_url))
