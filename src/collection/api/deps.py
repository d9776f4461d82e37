"""FastAPI dependencies shared by every router: settings, the unit of work, the acting user."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from collection.accounts import service as accounts
from collection.accounts.roles import Permission, allows
from collection.config import Settings
from collection.crypto import same_secret
from collection.db import unit_of_work
from collection.errors import NotAuthenticated, PermissionDenied
from collection.models import User

SESSION_COOKIE = "kho_session"
CSRF_COOKIE = "kho_csrf"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


async def get_settings(request: Request) -> Settings:
    # async: read on the event loop, not through the thread pool (every route asks for it)
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """One unit of work per request: commits when the route returns, rolls back if it raises."""
    with unit_of_work(request.app.state.sessions) as session:
        yield session


AppSettings = Annotated[Settings, Depends(get_settings)]
# scope="function": the commit happens before the response is sent, so a client that gets 201
# can rely on the row being there.
DbSession = Annotated[Session, Depends(get_session, scope="function")]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def optional_user(request: Request, session: DbSession) -> User | None:
    """The acting user from a bearer token or the session cookie, or None for anonymous requests.

    A token or cookie that is present but wrong is an error (401), never silently anonymous.
    """
    token = _bearer(request)
    if token is not None:
        return accounts.user_for_token(session=session, token=token)
    if request.headers.get("authorization"):
        raise NotAuthenticated(message_en="unsupported Authorization scheme; use Bearer")
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        user = accounts.user_for_session(session=session, token=cookie)
        _check_csrf(request)
        return user
    return None


def _check_csrf(request: Request) -> None:
    """Cookie-authenticated changes must echo the CSRF cookie (forms: field; scripts: header)."""
    if request.method in _SAFE_METHODS or not request.url.path.startswith("/api/"):
        return  # HTML forms check their own hidden field (web/csrf.py)
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER, "")
    if not same_secret(cookie, sent):
        raise PermissionDenied(
            "Thiếu mã chống giả mạo (CSRF). Hãy tải lại trang.",
            message_en=f"missing or wrong {CSRF_HEADER} header for a cookie-authenticated request",
        )


OptionalUser = Annotated[User | None, Depends(optional_user)]


def current_user(user: OptionalUser) -> User:
    if user is None:
        raise NotAuthenticated()
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require(permission: Permission) -> Callable[[User], User]:
    """A dependency that lets through only users whose role grants ``permission`` (else 403)."""

    def check(user: CurrentUser) -> User:
        if not allows(user.role, permission):
            raise PermissionDenied(
                f"Vai trò «{user.role.label}» không được phép thực hiện thao tác này.",
                message_en=f"role {user.role.value!r} lacks permission {permission.value!r}",
            )
        return user

    return check


def viewer(request: Request, session: DbSession) -> User | None:
    """For public pages: the logged-in user if any; an expired cookie just means anonymous."""
    try:
        return optional_user(request, session)
    except NotAuthenticated:
        return None


Viewer = Annotated[User | None, Depends(viewer)]
