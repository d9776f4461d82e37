"""The reader cookie: a random first-party id (no personal data, no IP) that lets the report count
distinct readers over a month and a year. It is given on the public site's pages only; the JSON API
and the widget on other sites count with the daily fallback instead, labelled an estimate.

A browser that sends the cookie back (with any request, its stylesheet too) has shown it keeps
it: that day's reader is then measured; without that, it is counted by the daily fallback.

"Kết thúc phiên" on a shared public PC throws the cookie away and gives a new one, so the next
citizen at that PC is a new visit and, not coming back, a new user."""

from __future__ import annotations

import re
import secrets
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from collection.stats.robots import is_robot

READER_COOKIE = "kho_doc"
_VALID = re.compile(r"[A-Za-z0-9_-]{24}")
_NOT_PAGES = ("/api/", "/static/", "/staff", "/iiif/", "/healthz", "/login", "/logout")
MAX_AGE = 400 * 86400  # the most browsers keep a cookie; the yearly key ends linking anyway


def counts_readers(path: str) -> bool:
    return not path.startswith(_NOT_PAGES)


def reader_of(request: Request) -> tuple[str | None, bool]:
    """The reader's id and whether it is given with this response (not yet shown to be kept)."""
    if not counts_readers(request.url.path):
        return None, False
    sent = request.cookies.get(READER_COOKIE, "")
    if _VALID.fullmatch(sent):
        return sent, False
    given: str | None = getattr(request.state, "reader_cookie", None)
    if not given:
        given = secrets.token_urlsafe(18)
        request.state.reader_cookie = given
    return given, True


def renew(request: Request) -> str:
    """A new reader id for this browser from this response on (the end of a session)."""
    fresh = secrets.token_urlsafe(18)
    request.state.reader_cookie = fresh
    return fresh


def _sent_cookie(scope: Scope) -> tuple[str | None, str]:
    """The reader cookie the request carries (if valid) and its user agent."""
    found, agent = None, ""
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, _, cookie = part.strip().partition("=")
                if key == READER_COOKIE and _VALID.fullmatch(cookie):
                    found = cookie
        elif name == b"user-agent":
            agent = value.decode("latin-1")
    return found, agent


class ReaderCookieMiddleware:
    """Sets the cookie a request was given (pure ASGI, so streamed downloads stay streamed)."""

    def __init__(self, app: ASGIApp, *, secure: bool) -> None:
        self.app = app
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent, agent = _sent_cookie(scope)
        path = scope["path"]
        if sent and (counts_readers(path) or path.startswith("/static/")) and not is_robot(agent):
            scope["app"].state.usage.cookie_kept(sent)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                state: dict[str, Any] = scope.get("state") or {}
                given = state.get("reader_cookie")
                if given:
                    flags = f"Max-Age={MAX_AGE}; Path=/; HttpOnly; SameSite=Lax"
                    cookie = f"{READER_COOKIE}={given}; {flags}" + (
                        "; Secure" if self.secure else ""
                    )
                    message["headers"] = [
                        *message.get("headers", []),
                        (b"set-cookie", cookie.encode("latin-1")),
                    ]
            await send(message)

        await self.app(scope, receive, send_with_cookie)
