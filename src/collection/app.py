"""The FastAPI application: routers, static files and the one error handler."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from collection import __version__, health
from collection.accounts.routes import router as accounts_router
from collection.api.deps import AppSettings
from collection.api.responses import ERROR_RESPONSES
from collection.api.widget import router as widget_router
from collection.audit.routes import router as audit_router
from collection.catalogue.routes import router as items_router
from collection.config import Settings, get_settings
from collection.db import session_factory, translate_error
from collection.errors import (
    CollectionError,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    disk_full,
)
from collection.harvest.routes import router as harvest_router
from collection.iiif.routes import router as iiif_router
from collection.ingest.routes import router as ingest_router
from collection.oai.routes import router as oai_router
from collection.places.routes import router as places_router
from collection.points.routes import router as points_router
from collection.points.service import PointDirectory
from collection.reports.routes import router as reports_router
from collection.search import meili
from collection.search.routes import router as search_router
from collection.seo.routes import router as seo_router
from collection.stats.readers import ReaderCookieMiddleware
from collection.stats.usage import UsageRecorder
from collection.web.headers import SecurityHeadersMiddleware
from collection.web.public import router as public_router
from collection.web.routes import login_redirect
from collection.web.routes import router as web_router
from collection.web.staff import router as staff_router
from collection.web.staff_admin import router as staff_admin_router
from collection.web.staff_harvest import router as staff_harvest_router
from collection.web.staff_ingest import router as staff_ingest_router
from collection.web.staff_items import router as staff_items_router
from collection.web.staff_places import router as staff_places_router
from collection.web.staff_reports import router as staff_reports_router
from collection.web.templating import FRONTEND_DIR, templates

log = logging.getLogger(__name__)

DESCRIPTION = """
**Kho số Thanh Hóa** — kho tài liệu số địa phương của Thư viện tỉnh Thanh Hóa.

The digital local-collection repository of the Thanh Hóa provincial library. Staff calls use a
bearer token from `collection token create EMAIL` (`Authorization: Bearer kho_…`); the browser uses
the session cookie set by `/api/v1/auth/login` and must echo the `kho_csrf` cookie in an
`X-CSRF-Token` header on changes. Errors are `{"error": code, "message": Vietnamese, "message_en"}`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.usage.start()
        # The search engine made ready before the first citizen asks (in the background: the
        # site serves its pages while Meilisearch is still starting or is down).
        threading.Thread(target=meili.try_ready_engine, args=(settings,), daemon=True).start()
        try:
            yield
        finally:
            app.state.usage.close()  # pending usage events are written

    app = FastAPI(
        lifespan=lifespan,
        title="Kho số Thanh Hóa",
        version=__version__,
        description=DESCRIPTION,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    app.state.sessions = session_factory(settings.sqlalchemy_url)
    app.state.points = PointDirectory(app.state.sessions)
    app.state.usage = UsageRecorder(app.state.sessions)

    for router in (
        accounts_router,
        items_router,
        ingest_router,
        points_router,
        audit_router,
        search_router,
        places_router,
        reports_router,
        iiif_router,
        oai_router,
        harvest_router,
        widget_router,
        web_router,
        staff_router,
        staff_items_router,
        staff_admin_router,
        staff_harvest_router,
        staff_ingest_router,
        staff_places_router,
        staff_reports_router,
        public_router,
        seo_router,
    ):
        app.include_router(router, responses=ERROR_RESPONSES)
    app.add_middleware(ReaderCookieMiddleware, secure=settings.cookies_secure)
    app.add_middleware(SecurityHeadersMiddleware, https=settings.base_url.startswith("https://"))
    app.mount("/static", StaticFiles(directory=FRONTEND_DIR / "static"), name="static")

    @app.get("/healthz", tags=["system"], summary="Health of DB, S3, Meilisearch and the queue")
    def healthz(request: Request, settings: AppSettings) -> JSONResponse:
        healthy, services = health.report(request.app.state.sessions, settings)
        return JSONResponse(
            {"status": "ok" if healthy else "degraded", "services": services},
            status_code=200 if healthy else 503,
            headers={"Cache-Control": "no-store"},
        )

    _install_error_handlers(app)
    return app


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return (
        path.startswith(("/api/", "/iiif/"))
        or path == "/healthz"
        or "application/json" in request.headers.get("accept", "")
    )


def _render(request: Request, error: CollectionError) -> Response:
    if _wants_json(request):
        return JSONResponse(error.to_dict(), status_code=error.status, headers=error.headers)
    if isinstance(error, NotAuthenticated):
        return login_redirect(request)
    return templates.TemplateResponse(
        request,
        "error.html",
        {"error": error, "status": error.status},
        status_code=error.status,
        headers=error.headers,
    )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CollectionError)
    async def collection_error(request: Request, exc: CollectionError) -> Response:
        return _render(request, exc)

    # The database's driver and the disk raise their own errors everywhere (any route, the
    # session's commit): the ones a user can be told about become ours here; the rest are bugs.
    @app.exception_handler(SQLAlchemyError)
    async def database_error(request: Request, exc: SQLAlchemyError) -> Response:
        error = translate_error(exc)
        if error is None:
            raise exc
        log.warning("%s %s: %s", request.method, request.url.path, error.message_en)
        return _render(request, error)

    @app.exception_handler(OSError)
    async def os_error(request: Request, exc: OSError) -> Response:
        error = disk_full(exc)
        if error is None:
            raise exc
        log.warning("%s %s: %s", request.method, request.url.path, error.message_en)
        return _render(request, error)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        error = InvalidInput(
            "Dữ liệu gửi lên không hợp lệ: " + "; ".join(_describe(e, vi=True) for e in errors),
            message_en="invalid request: " + "; ".join(_describe(e) for e in errors),
        )
        response = _render(request, error)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return _render(
                request, NotFound("Không tìm thấy trang này.", message_en="no such page")
            )
        if exc.status_code == 405:
            return _render(
                request,
                CollectionError(
                    "Phương thức không được hỗ trợ.", message_en="method not allowed", status=405
                ),
            )
        if exc.status_code == 400:
            return _render(
                request,
                CollectionError(
                    "Không đọc được yêu cầu (dữ liệu gửi lên sai định dạng).",
                    message_en=str(exc.detail),
                    status=400,
                ),
            )
        return _render(
            request,
            CollectionError(str(exc.detail), message_en=str(exc.detail), status=exc.status_code),
        )


# pydantic's refusals in Vietnamese, by error type (its own text stays in message_en).
_VI_PROBLEMS = {
    "missing": "thiếu",
    "value_error": "{error}",  # our own validators write Vietnamese
    "int_parsing": "phải là số nguyên",
    "int_type": "phải là số nguyên",
    "float_parsing": "phải là số",
    "bool_parsing": "phải là đúng/sai",
    "string_type": "phải là chuỗi chữ",
    "list_type": "phải là danh sách",
    "dict_type": "phải là đối tượng",
    "model_type": "phải là đối tượng",
    "less_than_equal": "không được lớn hơn {le}",
    "less_than": "phải nhỏ hơn {lt}",
    "greater_than_equal": "không được nhỏ hơn {ge}",
    "greater_than": "phải lớn hơn {gt}",
    "string_too_long": "dài quá {max_length} ký tự",
    "string_too_short": "phải có ít nhất {min_length} ký tự",
    "too_long": "nhiều quá {max_length} phần tử",
    "too_short": "phải có ít nhất {min_length} phần tử",
    "enum": "phải là một trong: {expected}",
    "literal_error": "phải là một trong: {expected}",
    "json_invalid": "JSON không đọc được",
    "extra_forbidden": "không có trường này",
    "date_parsing": "không phải ngày hợp lệ",
    "date_from_datetime_parsing": "không phải ngày hợp lệ",
    "datetime_parsing": "không phải thời điểm hợp lệ",
    "string_pattern_mismatch": "sai định dạng",
}


def _describe(error: Any, *, vi: bool = False) -> str:
    where = ".".join(
        str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")
    )
    problem = str(error.get("msg", ""))
    if vi and (template := _VI_PROBLEMS.get(str(error.get("type")))):
        # A context we did not expect keeps pydantic's own words.
        with contextlib.suppress(KeyError, IndexError):
            problem = template.format(**(error.get("ctx") or {}))
    return f"{where}: {problem}" if where else problem
