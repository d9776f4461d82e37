"""CSRF for HTML forms: a random cookie echoed in a hidden field (double submit)."""

from __future__ import annotations

import secrets

from fastapi import Request, Response

from collection.api.deps import CSRF_COOKIE
from collection.config import Settings
from collection.crypto import same_secret
from collection.errors import PermissionDenied


def csrf_token(request: Request) -> str:
    """The form token for this browser: the cookie's value, or a new one set by ``remember``."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if token is None:
        token = secrets.token_urlsafe(24)
        request.state.new_csrf = token
    return str(token)


def remember(request: Request, response: Response, settings: Settings) -> None:
    """Set the CSRF cookie if this request created a token."""
    token = getattr(request.state, "new_csrf", None)
    if token:
        response.set_cookie(
            CSRF_COOKIE, token, httponly=False, secure=settings.cookies_secure, samesite="strict"
        )


def check_form(request: Request, sent: str) -> None:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not sent or not same_secret(cookie, sent):
        raise PermissionDenied(
            "Biểu mẫu đã hết hạn hoặc không hợp lệ. Hãy tải lại trang và thử lại.",
            message_en="CSRF token missing or wrong",
        )
