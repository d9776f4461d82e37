"""The items API for staff and scripts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Request, Response, UploadFile, status

from collection.accounts.roles import Permission
from collection.api.deps import AppSettings, DbSession, require
from collection.catalogue import service
from collection.catalogue.schemas import (
    CollectionIn,
    CollectionOut,
    ItemIn,
    ItemOut,
    ItemUpdate,
    PageOut,
    PageTextIn,
)
from collection.ids import Id
from collection.ingest import service as ingest
from collection.ingest.schemas import JobOut, RerunIn, UploadOut
from collection.models import Collection, User
from collection.storage import store_for
from collection.urls import public_base

router = APIRouter(prefix="/api/v1", tags=["items"])
Cataloguer = Annotated[User, Depends(require(Permission.CATALOGUE))]
Staff = Annotated[User, Depends(require(Permission.VIEW_STAFF))]


@router.post(
    "/items", response_model=ItemOut, status_code=status.HTTP_201_CREATED, summary="Create an item"
)
def create_item(
    body: ItemIn, request: Request, session: DbSession, settings: AppSettings, user: Cataloguer
) -> ItemOut:
    item = service.create_item(session=session, actor=user, data=body)
    return service.item_view(session, item, base=public_base(request, settings))


@router.get("/items/{item_id}", response_model=ItemOut, summary="An item with its files")
def get_item(
    item_id: Id, request: Request, session: DbSession, settings: AppSettings, _user: Staff
) -> ItemOut:
    item = service.get_item(session=session, item_id=item_id)
    return service.item_view(session, item, base=public_base(request, settings))


@router.put("/items/{item_id}", response_model=ItemOut, summary="Save an edited item")
def update_item(
    item_id: Id,
    body: ItemUpdate,
    request: Request,
    session: DbSession,
    settings: AppSettings,
    user: Cataloguer,
) -> ItemOut:
    item = service.update_item(session=session, actor=user, item_id=item_id, data=body)
    return service.item_view(session, item, base=public_base(request, settings))


@router.delete(
    "/items/{item_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an item with its pages and files",
)
def delete_item(item_id: Id, session: DbSession, user: Cataloguer) -> Response:
    service.delete_item(session=session, actor=user, item_id=item_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put(
    "/items/{item_id}/pages/{number}/text",
    response_model=PageOut,
    summary="Correct a page's text (OCR correction); null drops the correction",
)
def correct_page(
    item_id: Id, number: Id, body: PageTextIn, session: DbSession, user: Cataloguer
) -> PageOut:
    page = service.correct_page(
        session=session,
        actor=user,
        item_id=item_id,
        number=number,
        text=body.text,
        based_on=body.based_on,
    )
    return service.page_view(page)


@router.get("/items/{item_id}/pages", response_model=list[PageOut], summary="An item's pages")
def list_pages(item_id: Id, session: DbSession, _user: Staff) -> list[PageOut]:
    return service.list_pages(session=session, item_id=item_id)


@router.post(
    "/items/{item_id}/files",
    response_model=UploadOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Upload a file (multipart field `file`); returns the ingest job",
)
def upload_file(
    item_id: Id,
    request: Request,
    session: DbSession,
    settings: AppSettings,
    user: Cataloguer,
    file: Annotated[UploadFile, File(description="PDF, JPEG, PNG, TIFF, EPUB, XPS or CBZ")],
) -> UploadOut:
    declared = request.headers.get("content-length")
    if (
        declared
        and declared.isdigit()
        and int(declared) > settings.max_upload_mb * 1024 * 1024 + 65536
    ):
        raise ingest.FileTooLarge.over(settings.max_upload_mb)
    return ingest.receive_file(
        session=session,
        actor=user,
        settings=settings,
        store=store_for(settings),
        item_id=item_id,
        filename=file.filename or "",
        stream=file.file,
    )


@router.post(
    "/items/{item_id}/rerun",
    response_model=list[JobOut],
    status_code=status.HTTP_202_ACCEPTED,
    summary="Run chosen stages again (e.g. OCR with other languages), one job per file",
)
def rerun(item_id: Id, body: RerunIn, session: DbSession, user: Cataloguer) -> list[JobOut]:
    jobs = ingest.rerun(
        session=session,
        actor=user,
        item_id=item_id,
        stages=body.stages,
        ocr_languages=body.ocr_languages,
        pages=body.pages,
    )
    return [ingest.job_view(job) for job in jobs]


@router.get("/jobs/{job_id}", response_model=JobOut, summary="An ingest job's state and progress")
def get_job(job_id: Id, session: DbSession, _user: Staff) -> JobOut:
    return ingest.get_job(session=session, job_id=job_id)


@router.get("/collections", response_model=list[CollectionOut], summary="Collections (A–Z)")
def list_collections(session: DbSession, _user: Staff) -> list[Collection]:
    return service.list_collections(session=session)


@router.post(
    "/collections",
    response_model=CollectionOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a collection",
)
def create_collection(body: CollectionIn, session: DbSession, user: Cataloguer) -> Collection:
    return service.save_collection(session=session, actor=user, data=body)


@router.put(
    "/collections/{collection_id}", response_model=CollectionOut, summary="Edit a collection"
)
def update_collection(
    collection_id: Id, body: CollectionIn, session: DbSession, user: Cataloguer
) -> Collection:
    return service.save_collection(
        session=session, actor=user, data=body, collection_id=collection_id
    )
