"""What every refusal of the API looks like, for its OpenAPI description: one JSON error shape
(collection.errors), documented on every operation so that clients and fuzzers know what to
expect besides success."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorOut(BaseModel):
    error: str = Field(description="A stable code: not_found, invalid_input, not_authenticated…")
    message: str = Field(description="What went wrong and what to do, in Vietnamese.")
    message_en: str | None = Field(None, description="The same for developers, in English.")


_WHEN = {
    400: "The request could not be read (a malformed body or header).",
    401: "No valid token or session (or a widget key that is refused).",
    403: "The role may not do this, or the CSRF token or origin is missing or wrong.",
    404: "No such thing, or not visible to the caller.",
    409: "Someone else changed it first, or it is in use.",
    413: "The body or file is too large.",
    415: "A file type that is not accepted.",
    422: "Invalid parameters or body; the message says which and why.",
    429: "Too many requests; see Retry-After.",
    503: "A service behind the API (search, storage) is unavailable; try again later.",
}

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": when} for status, when in _WHEN.items()
}
