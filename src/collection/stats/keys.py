"""Reporting-year keys for reader hashes: a reader's cookie id is stored only as an HMAC keyed by
the year it was seen in, so one year's readers can be counted as distinct and, once the year is over
and its report frozen, the key is destroyed and no cookie can be linked to it again."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from collection.db import utcnow
from collection.models import ReportKey
from collection.stats.periods import local_day


class YearKeys:
    """Each year's key, read (or created) once per process."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._lock = threading.Lock()
        self._keys: dict[int, str | None] = {}

    def reader_hash(self, reader_id: str, when: datetime | None = None) -> str | None:
        """The reader's pseudonym in the year of ``when``; None once that year's key is gone."""
        key = self._key(local_day(when or utcnow()).year)
        if key is None:
            return None
        return hmac.new(key.encode(), reader_id.encode(), hashlib.sha256).hexdigest()[:32]

    def forget(self) -> None:
        with self._lock:
            self._keys.clear()

    def _key(self, year: int) -> str | None:
        with self._lock:
            if year in self._keys:
                return self._keys[year]
        key = self._read_or_create(year)
        with self._lock:
            self._keys[year] = key
        return key

    def _read_or_create(self, year: int) -> str | None:
        with self._sessions() as session:
            row = session.get(ReportKey, year)
            if row is not None:
                return row.secret
            session.add(ReportKey(year=year, secret=secrets.token_hex(32)))
            try:
                session.commit()
            except IntegrityError:  # another process made it first
                session.rollback()
            return session.scalar(select(ReportKey.secret).where(ReportKey.year == year))


def destroy(session: Session, year: int) -> bool:
    """Empty the year's key; True if there was one to destroy."""
    row = session.get(ReportKey, year)
    if row is None or row.secret is None:
        return False
    row.secret = None
    row.destroyed_at = utcnow()
    return True
