"""Bulk import over HTTP: a ZIP of files plus the sheet."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, File, Query, Request, UploadFile, status
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.requests import ClientDisconnect

from collection.accounts.roles import Permission
from collection.api.deps import AppSettings, DbSession, require
from collection.config import Settings
from collection.errors import CollectionError, InvalidInput
from collection.ids import Count, Id
from collection.ingest import bulk, uploads
from collection.ingest import service as ingest
from collection.ingest.schemas import (
    ChunkedUploadOut,
    JobOut,
    UploadComplete,
    UploadOut,
    UploadStart,
)
from collection.ingest.service import tmp_dir
from collection.models import JobState, User
from collection.storage import store_for

router = APIRouter(prefix="/api/v1", tags=["ingest"])
Cataloguer = Annotated[User, Depends(require(Permission.CATALOGUE))]
Staff = Annotated[User, Depends(require(Permission.VIEW_STAFF))]
NDJSON = "application/x-ndjson"


# --- resumable uploads -------------------------------------------------------------------------


@router.post(
    "/items/{item_id}/uploads",
    response_model=ChunkedUploadOut,
    status_code=status.HTTP_201_CREATED,
    summary="Start a resumable upload: then PUT its chunks in order, then complete it",
)
def start_upload(
    item_id: Id, body: UploadStart, session: DbSession, settings: AppSettings, user: Cataloguer
) -> ChunkedUploadOut:
    upload = uploads.start_upload(
        session=session,
        actor=user,
        settings=settings,
        item_id=item_id,
        filename=body.filename,
        size=body.size,
    )
    return uploads.view(upload)


@router.get(
    "/uploads/{upload_id}",
    response_model=ChunkedUploadOut,
    summary="How much of an upload has arrived (to resume after a dropped connection)",
)
def get_upload(upload_id: Id, session: DbSession, _user: Cataloguer) -> ChunkedUploadOut:
    return uploads.view(uploads.get_upload(session=session, upload_id=upload_id))


@router.put(
    "/uploads/{upload_id}/chunks/{index}",
    response_model=ChunkedUploadOut,
    summary="Send chunk number `index` (from 0) as the raw request body",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
        }
    },
)
async def put_chunk(
    upload_id: Id,
    index: Annotated[int, PathParam(ge=0, description="The chunk's number, from 0")],
    request: Request,
    session: DbSession,
    settings: AppSettings,
    _user: Cataloguer,
) -> ChunkedUploadOut:
    limit = settings.upload_chunk_mb * 1024 * 1024
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise InvalidInput(
            f"Mỗi phần tối đa {settings.upload_chunk_mb} MB.",
            message_en=f"chunks are at most {limit} bytes",
        )
    data = bytearray()
    try:
        async for piece in request.stream():
            data += piece
            if len(data) > limit:
                raise InvalidInput(
                    f"Mỗi phần tối đa {settings.upload_chunk_mb} MB.",
                    message_en=f"chunks are at most {limit} bytes",
                )
    except ClientDisconnect as exc:
        # What resumable uploads are for: nothing was stored, the client sends it again.
        raise CollectionError(
            "Kết nối bị ngắt khi đang gửi phần tệp; hãy gửi lại phần này.",
            message_en=f"connection dropped during chunk {index}",
            status=400,
        ) from exc

    def store_chunk() -> ChunkedUploadOut:
        upload = uploads.put_chunk(
            session=session,
            store=store_for(settings),
            upload_id=upload_id,
            index=index,
            data=bytes(data),
        )
        session.flush()
        return uploads.view(upload)

    return await run_in_threadpool(store_chunk)


@router.post(
    "/uploads/{upload_id}/complete",
    response_model=UploadOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Finish an upload: the file is checked and stored, and its ingest job queued",
)
def complete_upload(
    upload_id: Id,
    session: DbSession,
    settings: AppSettings,
    user: Cataloguer,
    body: Annotated[UploadComplete | None, Body()] = None,
) -> UploadOut:
    return uploads.complete_upload(
        session=session,
        actor=user,
        settings=settings,
        store=store_for(settings),
        upload_id=upload_id,
        link_duplicate=(body or UploadComplete()).link_duplicate,
    )


# --- jobs --------------------------------------------------------------------------------------


@router.get("/jobs", response_model=list[JobOut], summary="Ingest jobs, newest first")
def list_jobs(
    session: DbSession,
    _user: Staff,
    state: JobState | None = None,
    item_id: Id | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[Count, Query()] = 0,
) -> list[JobOut]:
    return ingest.list_jobs(
        session=session,
        states=[state] if state else [],
        item_id=item_id,
        limit=limit,
        offset=offset,
    )


@router.post(
    "/jobs/{job_id}/retry",
    response_model=JobOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Queue a failed job again (it resumes at the stage that failed)",
)
def retry_job(job_id: Id, session: DbSession, user: Cataloguer) -> JobOut:
    return ingest.job_view(ingest.retry(session=session, actor=user, job_id=job_id))


# --- bulk import -------------------------------------------------------------------------------


class RowOut(BaseModel):
    row: int
    status: str
    title: str
    item_id: Id | None
    job_ids: list[int]
    reason: str


class ImportOut(BaseModel):
    created: int
    duplicate: int
    failed: int
    rows: list[RowOut]


@router.post(
    "/imports",
    response_model=ImportOut,
    status_code=status.HTTP_200_OK,
    summary="Bulk import: a ZIP of files plus a CSV/XLSX sheet; a report of every row",
    description="With `Accept: application/x-ndjson` the rows are streamed as they are done "
    "(one JSON object per line), then a last line with the counts.",
)
def bulk_import(
    request: Request,
    settings: AppSettings,
    user: Cataloguer,
    sheet: Annotated[
        UploadFile, File(description="The sheet (.csv or .xlsx), template in ingest/")
    ],
    archive: Annotated[
        UploadFile | None, File(description="A ZIP with the files the sheet names")
    ] = None,
) -> Any:
    workdir = Path(tempfile.mkdtemp(prefix="import-", dir=tmp_dir(settings)))
    try:
        rows = unpack_import(settings, workdir, sheet, archive)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise

    def results() -> Iterator[bulk.RowResult]:
        done: list[bulk.RowResult] = []
        try:
            for result in bulk.iter_import_rows(
                sessions=request.app.state.sessions,
                actor_id=user.id,
                settings=settings,
                store=store_for(settings),
                rows=rows,
                root=workdir / "files",
            ):
                done.append(result)
                yield result
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
            bulk.record_import(request.app.state.sessions, user.id, sheet.filename or "", done)

    if NDJSON in request.headers.get("accept", ""):

        def lines() -> Iterator[str]:
            yield json.dumps({"total": len(rows)}) + "\n"
            done = []
            for result in results():
                done.append(result)
                yield json.dumps({"row": asdict(result)}, ensure_ascii=False) + "\n"
            yield json.dumps({"done": bulk.tally(done)}) + "\n"

        return StreamingResponse(lines(), media_type=NDJSON)
    done = list(results())
    return {**bulk.tally(done), "rows": [asdict(r) for r in done]}


def unpack_import(
    settings: Settings, workdir: Path, sheet: UploadFile, archive: UploadFile | None
) -> list[tuple[int, dict[str, str]]]:
    """Save the sheet and unpack the ZIP into ``workdir``; the sheet's rows."""
    suffix = Path(sheet.filename or "").suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise InvalidInput(
            "Bảng kê phải là tệp .csv hoặc .xlsx.", message_en="sheet must be .csv or .xlsx"
        )
    sheet_path = workdir / f"sheet{suffix}"
    with sheet_path.open("wb") as out:
        shutil.copyfileobj(sheet.file, out, 1024 * 1024)
    files = workdir / "files"
    files.mkdir()
    if archive is not None and archive.filename:
        zip_path = workdir / "archive.zip"
        with zip_path.open("wb") as out:
            shutil.copyfileobj(archive.file, out, 1024 * 1024)
        bulk.extract_zip(zip_path, files, max_bytes=settings.max_upload_mb * 1024 * 1024 * 4)
        zip_path.unlink()
    return bulk.read_sheet(sheet_path)
