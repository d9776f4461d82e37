"""Bulk import over HTTP: a ZIP of files plus the sheet."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Request, UploadFile, status
from pydantic import BaseModel

from collection.accounts.roles import Permission
from collection.api.deps import AppSettings, require
from collection.errors import InvalidInput
from collection.ingest import bulk
from collection.ingest.service import tmp_dir
from collection.models import User
from collection.storage import store_for

router = APIRouter(prefix="/api/v1", tags=["ingest"])
Cataloguer = Annotated[User, Depends(require(Permission.CATALOGUE))]


class RowOut(BaseModel):
    row: int
    status: str
    title: str
    item_id: int | None
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
) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="import-", dir=tmp_dir(settings)))
    try:
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
        if archive is not None:
            zip_path = workdir / "archive.zip"
            with zip_path.open("wb") as out:
                shutil.copyfileobj(archive.file, out, 1024 * 1024)
            bulk.extract_zip(zip_path, files, max_bytes=settings.max_upload_mb * 1024 * 1024 * 4)
            zip_path.unlink()
        rows = bulk.read_sheet(sheet_path)
        results = bulk.import_rows(
            sessions=request.app.state.sessions,
            actor_id=user.id,
            settings=settings,
            store=store_for(settings),
            rows=rows,
            root=files,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    counts = {k: sum(r.status == k for r in results) for k in ("created", "duplicate", "failed")}
    return {**counts, "rows": [asdict(r) for r in results]}
