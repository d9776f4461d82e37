"""Resumption tokens that hold no state on the server: the original arguments of the list and
the (datestamp, id) of its last record, signed with the app secret, in base64url.

The next page is the records after that key in (datestamp, id) order: an index range, never an
OFFSET, so page 1,000 costs what page 1 does; a record changed during a harvest moves to the end
of the list (its datestamp is new) instead of shifting every later page, and a record deleted
during it comes back at the end as a deleted header. A token is refused (badResumptionToken)
when it was not made here, was made for another verb, or is older than TOKEN_LIFETIME."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from collection.oai.errors import OaiError

TOKEN_LIFETIME = timedelta(days=7)
_VERSION = 1
_MAX_LENGTH = 2000


@dataclass(frozen=True)
class ListPosition:
    """Where a list stands: its arguments and the key of the last record already sent."""

    verb: str
    metadata_prefix: str
    set_spec: str | None
    from_: str | None
    until: str | None
    after: tuple[datetime, int]
    cursor: int  # records sent before the page this token asks for
    complete_list_size: int
    issued: datetime

    @property
    def expires(self) -> datetime:
        return self.issued + TOKEN_LIFETIME


def _sign(payload: bytes, secret: str) -> bytes:
    key = hashlib.sha256(b"oai-resumption-token\0" + secret.encode()).digest()
    return hmac.new(key, payload, hashlib.sha256).digest()[:16]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(position: ListPosition, *, secret: str) -> str:
    """The URL-safe token (``[A-Za-z0-9_-]+.[A-Za-z0-9_-]+``) for ``position``."""
    moment, item_id = position.after
    payload = json.dumps(
        [
            _VERSION,
            position.verb,
            position.metadata_prefix,
            position.set_spec,
            position.from_,
            position.until,
            moment.astimezone(UTC).isoformat(),
            item_id,
            position.cursor,
            position.complete_list_size,
            int(position.issued.timestamp()),
        ],
        separators=(",", ":"),
        ensure_ascii=True,
    ).encode()
    return f"{_b64(payload)}.{_b64(_sign(payload, secret))}"


def decode(token: str, *, verb: str, secret: str, now: datetime) -> ListPosition:
    """The position a token of ours names, or OaiError(badResumptionToken)."""
    bad = OaiError("badResumptionToken", "The resumptionToken is invalid or has expired.")
    if len(token) > _MAX_LENGTH or not token.isascii() or token.count(".") != 1:
        raise bad
    body, signature = token.split(".")
    try:
        payload, sent = _unb64(body), _unb64(signature)
    except (binascii.Error, ValueError):
        raise bad from None
    if not hmac.compare_digest(sent, _sign(payload, secret)):
        raise bad
    try:
        fields = json.loads(payload)
        (version, token_verb, prefix, set_spec, from_, until, moment, item_id, cursor, size) = (
            fields[:10]
        )
        issued = datetime.fromtimestamp(int(fields[10]), UTC)
        position = ListPosition(
            verb=str(token_verb),
            metadata_prefix=str(prefix),
            set_spec=set_spec,
            from_=from_,
            until=until,
            after=(datetime.fromisoformat(moment), int(item_id)),
            cursor=int(cursor),
            complete_list_size=int(size),
            issued=issued,
        )
    except (ValueError, TypeError, IndexError, KeyError):
        raise bad from None
    if version != _VERSION or position.verb != verb or now >= position.expires:
        raise bad
    return position
