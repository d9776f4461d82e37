"""The address our links and ids are written with (canonical links, citations, IIIF ids).

COLLECTION_PUBLIC_URL when set. Without it, a request's Host is believed only when it names
this machine (loopback, or the host we listen on): a forged Host must never end up in ids
that viewers and caches keep for a day. Any other Host gets the address we serve on."""

from __future__ import annotations

import ipaddress

from starlette.requests import Request

from collection.config import Settings

_LOCAL_NAMES = {"localhost", "localhost.localdomain"}


def public_base(request: Request, settings: Settings) -> str:
    if settings.public_url:
        return str(settings.public_url).rstrip("/")
    host = (request.url.hostname or "").lower()
    if host in _LOCAL_NAMES or host == settings.host.lower() or _loopback(host):
        return str(request.base_url).rstrip("/")
    return settings.base_url


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def manifest_url(base: str, item_id: int) -> str:
    """An item's IIIF Presentation 3 manifest (iiif/routes.py)."""
    return f"{base}/iiif/item/{item_id}/manifest"
