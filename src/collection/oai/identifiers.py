"""OAI identifiers (``oai:<repository-identifier>:<item id>``) and the addresses of records.

The repository identifier is the host of COLLECTION_PUBLIC_URL (Settings.base_url), never a
request's Host: identifiers are what harvesters keep, so they must not change with the way the
repository was reached. The OAI identifier scheme wants a domain name (letters first, at least
one dot); a host that is not one (an IP address, ``localhost``) gives ``localhost.localdomain``."""

from __future__ import annotations

import re
from urllib.parse import urlencode, urlsplit

from collection.config import Settings

OAI_PATH = "/oai"
# repositoryIdentifier in the oai-identifier schema (http://www.openarchives.org/OAI/2.0/oai-identifier.xsd)
_DOMAIN = re.compile(r"^[a-zA-Z][a-zA-Z0-9\-]*(\.[a-zA-Z][a-zA-Z0-9\-]*)+$")
FALLBACK_REPOSITORY_IDENTIFIER = "localhost.localdomain"


def repository_identifier(settings: Settings) -> str:
    """The domain-like name in our identifiers: the public URL's host."""
    host = (urlsplit(settings.base_url).hostname or "").lower()
    return host if _DOMAIN.match(host) else FALLBACK_REPOSITORY_IDENTIFIER


def oai_identifier(item_id: int, *, settings: Settings) -> str:
    return f"oai:{repository_identifier(settings)}:{item_id}"


def item_id_of(identifier: str, *, settings: Settings) -> int | None:
    """The item id an OAI identifier of this repository names, or None if it names none."""
    prefix = f"oai:{repository_identifier(settings)}:"
    if not identifier.startswith(prefix):
        return None
    local = identifier[len(prefix) :]
    if not local.isascii() or not local.isdigit() or len(local) > 18 or local.startswith("0"):
        return None
    return int(local)


def oai_base_url(base: str) -> str:
    """The protocol's baseURL under the public address ``base``."""
    return base.rstrip("/") + OAI_PATH


def record_url(
    base: str, item_id: int, *, settings: Settings, metadata_prefix: str = "oai_dc"
) -> str:
    """The GetRecord request for an item (what a IIIF manifest's ``seeAlso`` points at)."""
    query = urlencode(
        {
            "verb": "GetRecord",
            "metadataPrefix": metadata_prefix,
            "identifier": oai_identifier(item_id, settings=settings),
        }
    )
    return f"{oai_base_url(base)}?{query}"


# adminEmail in the OAI-PMH schema (emailType): a dotted domain after the @.
_EMAIL = re.compile(r"^\S+@(\S+\.)+\S+$")


def admin_email(settings: Settings) -> str:
    """Identify's adminEmail: COLLECTION_ADMIN_EMAIL when the schema accepts it. The default
    ``admin@localhost`` has no dotted domain, and a harvester that validates Identify refuses
    the whole repository for it: then the repository's own domain stands in (set a real
    address in production)."""
    email = settings.admin_email.strip()
    if _EMAIL.match(email):
        return email
    return f"{email.partition('@')[0] or 'admin'}@{repository_identifier(settings)}"
