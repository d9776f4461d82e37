"""The ingest monitor (all jobs, filters, retry) and bulk import pages."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

from fastapi import File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, Response

from collection.api.deps import AppSettings, DbSession
from collection.config import PROJECT_ROOT
from collection.errors import CollectionError, NotFound
from collection.ids import Id
from collection.ingest import bulk
from collection.ingest import service as ingest
from collection.ingest.routes import unpack_import
from collection.ingest.service import STATE_LABELS, tmp_dir
from collection.models import JobState
from collection.storage import store_for
from collection.web.routes import safe_next
from collection.web.staff import Cataloguer, StaffUser, done, page, staff_router

router = staff_router()
TEMPLATE_DIR = PROJECT_ROOT / "ingest"
PER_PAGE = 50


@router.get("/staff/cong-viec", response_class=HTMLResponse)
def job_monitor(
    request: Request,
    session: DbSession,
    user: StaffUser,
    trang_thai: Annotated[str, Query(alias="trang-thai", max_length=20)] = "",
    tai_lieu: Annotated[str, Query(alias="tai-lieu", max_length=12)] = "",
    trang: Annotated[int, Query(ge=1, le=10_000)] = 1,
    job: Annotated[int | None, Query()] = None,
) -> Response:
    state = JobState(trang_thai) if trang_thai in {s.value for s in JobState} else None
    item_id = int(tai_lieu) if tai_lieu.isdigit() else None
    jobs = ingest.list_jobs(
        session=session,
        states=[state] if state else [],
        item_id=item_id,
        limit=PER_PAGE + 1,
        offset=(trang - 1) * PER_PAGE,
    )
    return page(
        request,
        "staff/jobs.html",
        user,
        {
            "jobs": jobs[:PER_PAGE],
            "more": len(jobs) > PER_PAGE,
            "states": [(s.value, STATE_LABELS[s]) for s in JobState],
            "state": trang_thai,
            "item_id": tai_lieu,
            "page_number": trang,
            "highlight": job,
            "stages": ingest.STAGE_LABELS,
        },
    )


@router.post("/staff/cong-viec/{job_id}/thu-lai")
def retry_job(
    job_id: Id,
    session: DbSession,
    user: Cataloguer,
    next: Annotated[str, Form(max_length=500)] = "/staff/cong-viec",
) -> Response:
    ingest.retry(session=session, actor=user, job_id=job_id)
    return done(safe_next(next, "/staff/cong-viec"), "thu-lai")


@router.get("/staff/nhap-lo", response_class=HTMLResponse)
def import_page(request: Request, user: Cataloguer) -> Response:
    return page(request, "staff/import.html", user, {"rows": None, "counts": None})


@router.get("/staff/nhap-lo/mau.{suffix}")
def import_template(suffix: str, _user: Cataloguer) -> Response:
    """The sheet template from ingest/, with its Vietnamese headers."""
    if suffix not in ("xlsx", "csv"):
        raise NotFound("Không có mẫu này.", message_en=f"no template .{suffix}")
    return FileResponse(
        TEMPLATE_DIR / f"mau-nhap-lieu.{suffix}", filename=f"mau-nhap-lieu.{suffix}"
    )


@router.post("/staff/nhap-lo", response_class=HTMLResponse)
def import_without_script(
    request: Request,
    settings: AppSettings,
    user: Cataloguer,
    sheet: Annotated[UploadFile, File()],
    archive: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Bulk import for browsers without JavaScript: the whole report when every row is done
    (with scripts, the page streams the rows from the API as they are done)."""
    workdir = Path(tempfile.mkdtemp(prefix="import-", dir=tmp_dir(settings)))
    try:
        rows = unpack_import(settings, workdir, sheet, archive)
        results = bulk.import_rows(
            sessions=request.app.state.sessions,
            actor_id=user.id,
            settings=settings,
            store=store_for(settings),
            rows=rows,
            root=workdir / "files",
        )
        bulk.record_import(request.app.state.sessions, user.id, sheet.filename or "", results)
    except CollectionError as exc:
        if exc.status >= 500:
            raise
        return page(
            request,
            "staff/import.html",
            user,
            {"rows": None, "counts": None},
            status_code=exc.status,
            error=exc.message,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    counts = bulk.tally(results)
    return page(
        request,
        "staff/import.html",
        user,
        {"rows": [asdict(r) for r in results], "counts": counts},
    )
