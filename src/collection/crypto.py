"""Comparing secrets: one constant-time comparison for every caller."""

from __future__ import annotations

import hmac


def same_secret(known: str, sent: str) -> bool:
    """Whether ``sent`` equals ``known``, in time that does not depend on where they differ.

    Compared as UTF-8 bytes: ``hmac.compare_digest`` refuses ``str`` holding non-ASCII
    characters (a widget key or CSRF cookie typed as ``é`` raised, and answered 500). An empty
    secret never matches."""
    return bool(known) and hmac.compare_digest(known.encode("utf-8"), sent.encode("utf-8"))
