"""Public and staff pages. Thin: each reads through a service and renders a template."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from collection.accounts import service as accounts
from collection.accounts.routes import login_user, set_login_cookies
from collection.api.deps import CSRF_COOKIE, SESSION_COOKIE, AppSettings, DbSession
from collection.api.limits import limit_login
from collection.errors import CollectionError
from collection.web import csrf
from collection.web.templating import templates

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None, default: str = "/staff") -> str:
    """Only same-site paths may be redirect targets (no open redirect to //evil.example)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, settings: AppSettings, next: str | None = None) -> Response:
    response = templates.TemplateResponse(
        request,
        "login.html",
        {"csrf": csrf.csrf_token(request), "next": safe_next(next), "error": None, "email": ""},
    )
    csrf.remember(request, response, settings)
    return response


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "/staff",
) -> Response:
    csrf.check_form(request, csrf_token)
    try:
        limit_login(request, settings)
        _, token = login_user(
            session=session,
            settings=settings,
            email=email,
            password=password,
            user_agent=request.headers.get("user-agent", ""),
        )
    except CollectionError as exc:
        return templates.TemplateResponse(
            request,
            "login.html",
            {
                "csrf": csrf.csrf_token(request),
                "next": safe_next(next),
                "error": exc.message,
                "email": email,
            },
            status_code=exc.status,
            headers=exc.headers,
        )
    response = RedirectResponse(safe_next(next), status_code=303)
    set_login_cookies(response, settings=settings, token=token, request=request)
    return response


@router.post("/logout")
def logout_submit(
    request: Request, session: DbSession, csrf_token: Annotated[str, Form(max_length=100)] = ""
) -> Response:
    csrf.check_form(request, csrf_token)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        accounts.end_session(session=session, token=cookie)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
