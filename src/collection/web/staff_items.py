"""Cataloguing pages: the item list, the item form (create, edit, publish, withdraw) with its
files, uploads, jobs and pages, the OCR correction editor, and collections. Each route parses
the form and calls the catalogue or ingest service, like the JSON API does."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import Depends, File, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import func, or_, select
from starlette.datastructures import FormData

from collection.api.deps import AppSettings, DbSession
from collection.audit import service as audit
from collection.catalogue import service as catalogue
from collection.catalogue.reading import LANGUAGES
from collection.catalogue.schemas import CollectionIn, ItemIn, ItemUpdate
from collection.errors import CollectionError, InvalidInput, NotFound
from collection.ids import Id
from collection.ingest import service as ingest
from collection.models import Access, Collection, Item, ItemStatus, Page, StoredFile, User
from collection.search.vietnamese import nfc
from collection.storage import store_for
from collection.web.staff import (
    Cataloguer,
    StaffUser,
    done,
    page,
    pairs,
    refusal,
    staff_router,
)

router = staff_router()
PER_PAGE = 50
PAGES_PER_PAGE = 100
LIST_FIELDS = ("creator", "contributor", "subject")
DCMI_TYPES = [
    ("Text", "Văn bản (Text)"),
    ("StillImage", "Ảnh tĩnh (StillImage)"),
    ("Image", "Hình ảnh (Image)"),
    ("MovingImage", "Phim, video (MovingImage)"),
    ("Sound", "Âm thanh (Sound)"),
    ("Collection", "Sưu tập (Collection)"),
    ("PhysicalObject", "Hiện vật (PhysicalObject)"),
]
DOCUMENT_TYPES = [
    "sách",
    "báo",
    "tạp chí",
    "ảnh",
    "bản đồ",
    "tài liệu",
    "luận văn",
    "văn bản hành chính",
]
OCR_CHOICES = [("vie", "Tiếng Việt"), ("vie+eng", "Tiếng Việt và tiếng Anh"), ("eng", "Tiếng Anh")]


async def read_form(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(read_form)]


def _lines(value: str) -> list[str]:
    """A repeatable field as staff type it: one value per line (or separated by ";")."""
    return [part.strip() for line in value.splitlines() for part in line.split(";") if part.strip()]


def item_data(form: FormData) -> dict[str, Any]:
    """The item form's fields as the API's JSON."""
    data: dict[str, Any] = {}
    for name in ItemIn.model_fields:
        if name == "language":
            data[name] = [str(v) for v in form.getlist("language")]
        elif name in LIST_FIELDS:
            data[name] = _lines(str(form.get(name, "")))
        elif name == "place":
            data[name] = [str(form.get(name, ""))]
        elif name == "collection_id":
            value = str(form.get(name, "")).strip()
            data[name] = int(value) if value.isdigit() else None
        elif name in form:
            data[name] = str(form.get(name, ""))
    return data


def form_values(data: dict[str, Any]) -> dict[str, Any]:
    """What the form shows for an item's data (lists one per line)."""
    values = dict(data)
    for name in LIST_FIELDS:
        values[name] = "\n".join(values.get(name) or [])
    values["collection_id"] = str(values.get("collection_id") or "")
    values["place"] = "; ".join(values.get("place") or [])
    return values


def _choices(session: Any, *, new: bool = False) -> dict[str, Any]:
    statuses = [s for s in ItemStatus if not (new and s == ItemStatus.WITHDRAWN)]
    return {
        "collection_choices": [("", "— không —")]
        + [(str(c.id), c.title) for c in catalogue.list_collections(session=session)],
        "statuses_for_form": [(s.value, s.label) for s in statuses],
        "languages": list(LANGUAGES.items()),
        "dcmi_types": DCMI_TYPES,
        "document_types": DOCUMENT_TYPES,
        "ocr_choices": OCR_CHOICES,
        "accesses": [(a.value, a.label) for a in Access],
    }


# --- the list ----------------------------------------------------------------------------------


@router.get("/staff/tai-lieu", response_class=HTMLResponse)
def item_list(
    request: Request,
    session: DbSession,
    user: StaffUser,
    q: Annotated[str, Query(max_length=200)] = "",
    trang_thai: Annotated[str, Query(alias="trang-thai", max_length=20)] = "",
    bo_suu_tap: Annotated[str, Query(alias="bo-suu-tap", max_length=12)] = "",
    trang: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    query = select(Item)
    if q.strip():
        text = f"%{nfc(q.strip())}%"
        query = query.where(
            or_(Item.title.ilike(text), Item.identifier.ilike(text), Item.alternative.ilike(text))
        )
    if trang_thai in {s.value for s in ItemStatus}:
        query = query.where(Item.status == ItemStatus(trang_thai))
    if bo_suu_tap.isdigit():
        query = query.where(Item.collection_id == int(bo_suu_tap))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = list(
        session.scalars(
            query.order_by(Item.updated_at.desc(), Item.id.desc())
            .limit(PER_PAGE)
            .offset((trang - 1) * PER_PAGE)
        )
    )
    files = pairs(
        session.execute(
            select(StoredFile.item_id, func.count())
            .where(StoredFile.item_id.in_([i.id for i in items]), StoredFile.role == "original")
            .group_by(StoredFile.item_id)
        )
    )
    return page(
        request,
        "staff/items.html",
        user,
        {
            "items": items,
            "files": files,
            "total": total,
            "q": q,
            "status": trang_thai,
            "collection": bo_suu_tap,
            "collections": catalogue.list_collections(session=session),
            "statuses": list(ItemStatus),
            "page_number": trang,
            "pages": max(1, math.ceil(total / PER_PAGE)),
        },
    )


# --- create and edit ---------------------------------------------------------------------------


@router.get("/staff/tai-lieu/moi", response_class=HTMLResponse)
def new_item_form(request: Request, session: DbSession, user: Cataloguer) -> Response:
    defaults = {**ItemIn(title="-").model_dump(), "title": ""}
    return page(
        request,
        "staff/item_new.html",
        user,
        {"values": form_values(defaults), "errors": {}, **_choices(session, new=True)},
    )


@router.post("/staff/tai-lieu/moi", response_class=HTMLResponse)
def create_item(request: Request, session: DbSession, user: Cataloguer, form: Form) -> Response:
    data = item_data(form)
    try:
        item = catalogue.create_item(session=session, actor=user, data=ItemIn.model_validate(data))
    except (ValidationError, InvalidInput) as exc:
        session.rollback()
        errors, status, message = refusal(exc)
        return page(
            request,
            "staff/item_new.html",
            user,
            {"values": form_values(data), "errors": errors, **_choices(session, new=True)},
            status_code=status,
            error=message,
        )
    return done(f"/staff/tai-lieu/{item.id}", "da-tao")


def _show_item(
    request: Request,
    session: Any,
    user: User,
    item: Item,
    *,
    values: dict[str, Any] | None = None,
    version: int | str | None = None,
    errors: dict[str, str] | None = None,
    pages_from: int = 1,
    status_code: int = 200,
    error: str | None = None,
) -> Response:
    """The item's page: its form (the stored values, or what was typed), files, jobs, pages
    from ``pages_from`` and history."""
    page_total = session.scalar(select(func.count()).where(Page.item_id == item.id)) or 0
    page_rows = list(
        session.scalars(
            select(Page)
            .where(Page.item_id == item.id)
            .order_by(Page.number)
            .limit(PAGES_PER_PAGE)
            .offset(pages_from - 1)
        )
    )
    context = {
        "values": values
        if values is not None
        else form_values(catalogue.item_fields(session, item)),
        "version": version if version is not None else item.version,
        "errors": errors or {},
        "item": item,
        "files": [f for f in item.files if f.role == "original"],
        "jobs": ingest.list_jobs(session=session, item_id=item.id, limit=20),
        "page_rows": page_rows,
        "page_total": page_total,
        "pages_from": pages_from,
        "pages_step": PAGES_PER_PAGE,
        "history": audit.entries(
            session=session, where=audit.LogFilter(target_type="item", target_id=item.id), limit=20
        ),
        "stages": ingest.STAGE_LABELS,
        **_choices(session),
    }
    return page(request, "staff/item.html", user, context, status_code=status_code, error=error)


@router.get("/staff/tai-lieu/{item_id}", response_class=HTMLResponse)
def item_page(
    item_id: Id,
    request: Request,
    session: DbSession,
    user: StaffUser,
    tu_trang: Annotated[int, Query(alias="tu-trang", ge=1)] = 1,
) -> Response:
    item = catalogue.get_item(session=session, item_id=item_id)
    return _show_item(request, session, user, item, pages_from=tu_trang)


@router.post("/staff/tai-lieu/{item_id}", response_class=HTMLResponse)
def save_item(
    item_id: Id, request: Request, session: DbSession, user: Cataloguer, form: Form
) -> Response:
    data = item_data(form)
    version = str(form.get("version", ""))
    try:
        update = ItemUpdate.model_validate(
            {**data, "version": int(version) if version.isdigit() else -1}
        )
        item = catalogue.update_item(session=session, actor=user, item_id=item_id, data=update)
    except (ValidationError, CollectionError) as exc:
        if isinstance(exc, CollectionError) and exc.status == 404:
            raise
        session.rollback()
        return _edit_again(request, session, user, item_id, data, version, exc)
    return done(f"/staff/tai-lieu/{item.id}", "da-luu")


def _edit_again(
    request: Request,
    session: Any,
    user: User,
    item_id: Id,
    data: dict[str, Any],
    version: str,
    exc: ValidationError | CollectionError,
) -> Response:
    """The edit form again with what the user typed (never lost), and why it was not saved.
    After a conflict the form keeps their values but the version of the newest save, so saving
    again is a deliberate choice made after seeing the other change in the history."""
    item = catalogue.get_item(session=session, item_id=item_id)
    errors, status, message = refusal(exc)
    return _show_item(
        request,
        session,
        user,
        item,
        values=form_values(data),
        version=item.version if status == 409 else version,
        errors=errors,
        status_code=status,
        error=message,
    )


@router.post("/staff/tai-lieu/{item_id}/xoa")
def delete_item(item_id: Id, session: DbSession, user: Cataloguer) -> Response:
    catalogue.delete_item(session=session, actor=user, item_id=item_id)
    return done("/staff/tai-lieu", "da-xoa")


# --- files and re-runs -------------------------------------------------------------------------


@router.post("/staff/tai-lieu/{item_id}/tep", response_class=HTMLResponse)
def upload_without_script(
    item_id: Id,
    request: Request,
    session: DbSession,
    settings: AppSettings,
    user: Cataloguer,
    file: Annotated[UploadFile, File()],
) -> Response:
    """The upload form for browsers without JavaScript: one request, no progress, no resume."""
    item = catalogue.get_item(session=session, item_id=item_id)
    try:
        ingest.receive_file(
            session=session,
            actor=user,
            settings=settings,
            store=store_for(settings),
            item_id=item.id,
            filename=file.filename or "",
            stream=file.file,
        )
    except CollectionError as exc:
        if exc.status >= 500:
            raise
        session.rollback()
        return _show_item(
            request,
            session,
            user,
            catalogue.get_item(session=session, item_id=item_id),
            status_code=exc.status,
            error=exc.message,
        )
    return done(f"/staff/tai-lieu/{item_id}#xu-ly", "da-luu")


def parse_pages(text: str) -> list[int]:
    """Page numbers as staff write them: "3, 7-9" → [3, 7, 8, 9]."""
    numbers: set[int] = set()
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        first, _, last = part.partition("-")
        if not first.strip().isdigit() or (last and not last.strip().isdigit()):
            raise InvalidInput(
                f"Không hiểu số trang «{part}». Viết ví dụ: 3, 7-9.",
                message_en=f"bad page list {part!r}",
            )
        start, end = int(first), int(last or first)
        if end < start or end - start > 5000:
            raise InvalidInput(f"Khoảng trang «{part}» không hợp lệ.", message_en="bad range")
        numbers.update(range(start, end + 1))
    return sorted(numbers)


@router.post("/staff/tai-lieu/{item_id}/xu-ly-lai", response_class=HTMLResponse)
def rerun_ocr(
    item_id: Id, request: Request, session: DbSession, user: Cataloguer, form: Form
) -> Response:
    catalogue.get_item(session=session, item_id=item_id)
    languages = str(form.get("ocr_languages", "vie"))
    try:
        if languages not in dict(OCR_CHOICES):
            raise InvalidInput("Chọn ngôn ngữ OCR trong danh sách.", message_en="bad languages")
        pages = parse_pages(str(form.get("pages", "")))
        ingest.rerun(
            session=session,
            actor=user,
            item_id=item_id,
            stages=["ocr"],
            ocr_languages=languages,
            pages=pages or None,
        )
    except CollectionError as exc:
        if exc.status >= 500:
            raise
        session.rollback()
        return _show_item(
            request,
            session,
            user,
            catalogue.get_item(session=session, item_id=item_id),
            status_code=exc.status,
            error=exc.message,
        )
    return done(f"/staff/tai-lieu/{item_id}#xu-ly", "xu-ly-lai")


# --- the OCR correction editor -----------------------------------------------------------------


def _editor(
    request: Request,
    session: Any,
    user: User,
    item_id: Id,
    number: Id,
    *,
    typed: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    item = catalogue.get_item(session=session, item_id=item_id)
    row = session.scalar(select(Page).where(Page.item_id == item_id, Page.number == number))
    if row is None:
        raise NotFound(
            f"Tài liệu số {item_id} không có trang {number}.", message_en=f"no page {number}"
        )
    total = session.scalar(select(func.count()).where(Page.item_id == item_id)) or 0
    return page(
        request,
        "staff/page_editor.html",
        user,
        {
            "item": item,
            "row": row,
            "total": total,
            "text": typed if typed is not None else row.effective_text,
            "based_on": catalogue.text_version(row.effective_text),
        },
        status_code=status_code,
        error=error,
    )


@router.get("/staff/tai-lieu/{item_id}/trang/{number}", response_class=HTMLResponse)
def page_editor(
    item_id: Id, number: Id, request: Request, session: DbSession, user: StaffUser
) -> Response:
    return _editor(request, session, user, item_id, number)


@router.post("/staff/tai-lieu/{item_id}/trang/{number}", response_class=HTMLResponse)
def save_page_text(
    item_id: Id, number: Id, request: Request, session: DbSession, user: Cataloguer, form: Form
) -> Response:
    revert = form.get("action") == "revert"
    typed = nfc(str(form.get("text", ""))).replace("\r\n", "\n")
    try:
        catalogue.correct_page(
            session=session,
            actor=user,
            item_id=item_id,
            number=number,
            text=None if revert else typed,
            based_on=str(form.get("based_on", "")) or None,
        )
    except CollectionError as exc:
        if exc.status != 409:
            raise
        session.rollback()
        return _editor(
            request,
            session,
            user,
            item_id,
            number,
            typed=typed,
            error=exc.message,
            status_code=409,
        )
    return done(
        f"/staff/tai-lieu/{item_id}/trang/{number}", "bo-sua-trang" if revert else "da-sua-trang"
    )


# --- collections -------------------------------------------------------------------------------


@router.get("/staff/bo-suu-tap", response_class=HTMLResponse)
def collection_list(request: Request, session: DbSession, user: StaffUser) -> Response:
    return page(request, "staff/collections.html", user, _collections_context(session))


def _collections_context(session: Any) -> dict[str, Any]:
    counts = pairs(
        session.execute(select(Item.collection_id, func.count()).group_by(Item.collection_id))
    )
    return {
        "collections": catalogue.list_collections(session=session),
        "counts": counts,
        "values": {"title": "", "slug": "", "description": ""},
        "errors": {},
    }


@router.post("/staff/bo-suu-tap", response_class=HTMLResponse)
def create_collection(
    request: Request, session: DbSession, user: Cataloguer, form: Form
) -> Response:
    values = {k: str(form.get(k, "")) for k in ("title", "slug", "description")}
    try:
        created = catalogue.save_collection(
            session=session, actor=user, data=CollectionIn.model_validate(values)
        )
    except (ValidationError, CollectionError) as exc:
        session.rollback()
        errors, status, message = refusal(exc)
        context = {**_collections_context(session), "values": values, "errors": errors}
        return page(
            request, "staff/collections.html", user, context, status_code=status, error=message
        )
    return done(f"/staff/bo-suu-tap/{created.id}", "da-tao")


@router.get("/staff/bo-suu-tap/{collection_id}", response_class=HTMLResponse)
def collection_page(
    collection_id: Id, request: Request, session: DbSession, user: StaffUser
) -> Response:
    found: Collection = catalogue.get_collection(session=session, collection_id=collection_id)
    values = {"title": found.title, "slug": found.slug, "description": found.description}
    return page(request, "staff/collection.html", user, _collection_context(session, found, values))


def _collection_context(session: Any, found: Collection, values: dict[str, str]) -> dict[str, Any]:
    return {
        "collection": found,
        "values": values,
        "errors": {},
        "count": session.scalar(select(func.count()).where(Item.collection_id == found.id)) or 0,
        "history": audit.entries(
            session=session,
            where=audit.LogFilter(target_type="collection", target_id=found.id),
            limit=20,
        ),
    }


@router.post("/staff/bo-suu-tap/{collection_id}", response_class=HTMLResponse)
def save_collection(
    collection_id: Id, request: Request, session: DbSession, user: Cataloguer, form: Form
) -> Response:
    values = {k: str(form.get(k, "")) for k in ("title", "slug", "description")}
    try:
        catalogue.save_collection(
            session=session,
            actor=user,
            data=CollectionIn.model_validate(values),
            collection_id=collection_id,
        )
    except (ValidationError, CollectionError) as exc:
        if isinstance(exc, CollectionError) and exc.status == 404:
            raise
        session.rollback()
        found = catalogue.get_collection(session=session, collection_id=collection_id)
        errors, status, message = refusal(exc)
        context = {**_collection_context(session, found, values), "errors": errors}
        return page(
            request, "staff/collection.html", user, context, status_code=status, error=message
        )
    return done(f"/staff/bo-suu-tap/{collection_id}", "da-luu")
