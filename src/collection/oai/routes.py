"""``/oai``: the OAI-PMH 2.0 endpoint, GET or POST (application/x-www-form-urlencoded).

Left out of the OpenAPI document (an XML protocol with its own specification and its own
errors, always 200 with ``<error code=…>``, which an OpenAPI fuzzer cannot describe usefully)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from collection.api.deps import AppSettings, DbSession
from collection.oai import service
from collection.urls import public_base

router = APIRouter(tags=["oai-pmh"])

MEDIA_TYPE = "text/xml; charset=utf-8"
FORM = "application/x-www-form-urlencoded"
MAX_BODY = 64 * 1024  # a request is a handful of short arguments
# Not an argument of any verb: the answer is badArgument, never an HTTP error.
UNREADABLE = ("", "")


async def oai_arguments(request: Request) -> list[tuple[str, str]]:
    """The request's arguments as sent (repeats kept): the query, and a POST's form body."""
    pairs = parse_qsl(request.url.query, keep_blank_values=True)
    if request.method == "POST":
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return [*pairs, UNREADABLE]
        if body and media_type != FORM:
            return [*pairs, UNREADABLE]
        try:
            pairs += parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            return [*pairs, UNREADABLE]
    return pairs


OaiArguments = Annotated[list[tuple[str, str]], Depends(oai_arguments)]


@router.api_route("/oai", methods=["GET", "POST"], include_in_schema=False)
def oai(
    request: Request, arguments: OaiArguments, session: DbSession, settings: AppSettings
) -> Response:
    document = service.respond(
        session=session,
        settings=settings,
        base=public_base(request, settings),
        arguments=arguments,
    )
    return Response(document, media_type=MEDIA_TYPE)
