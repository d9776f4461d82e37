"""The database engine and sessions. Services receive a Session and never commit; the request or
task that called them commits once at its end (see ``session_scope``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import MetaData, create_engine, event, exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from collection.errors import CollectionError, DatabaseUnavailable, DiskFull

# Stable constraint names, so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


SQLITE_POOL = 40


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, WAL and a busy timeout (web + worker share it)."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            # As many kept connections as the web process has threads (anyio's 40): with the
            # default 5, two hundred citizens at once opened and closed connections (and ran
            # the pragmas below) on most requests, 4 % of the web process's time.
            pool_size=SQLITE_POOL,
            max_overflow=SQLITE_POOL,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    # A down database must fail fast (health checks, start-up), not hang for minutes.
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})


# SQLite reports these as OperationalError; so does it a missing table or bad SQL, which are bugs
# (a 500 and a traceback in the log), so only these messages mean "the database is unavailable".
_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database", "disk i/o error")
_SQLITE_FULL = ("database or disk is full", "disk is full")


def translate_error(error: exc.SQLAlchemyError) -> CollectionError | None:
    """Ours for a database error a user can be told about (down, restarting, disk full); None
    for the others, which are bugs."""
    text = str(error.orig if isinstance(error, exc.DBAPIError) else error).lower()
    if any(sign in text for sign in _SQLITE_FULL):
        return DiskFull(message_en=f"the database's disk is full: {text[:300]}")
    down = isinstance(error, exc.DisconnectionError | exc.TimeoutError | exc.InterfaceError) or (
        isinstance(error, exc.DBAPIError) and error.connection_invalidated
    )
    if isinstance(error, exc.OperationalError):
        # PostgreSQL's OperationalError is always the server or the link (refused, terminated,
        # restarting, cancelled); SQLite's only for the messages above.
        sqlite = type(error.orig).__module__.startswith("sqlite3")
        down = down or not sqlite or any(sign in text for sign in _SQLITE_UNAVAILABLE)
    if down:
        return DatabaseUnavailable(message_en=f"database unavailable: {text[:300]}")
    return None


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    return make_engine(url)


def session_factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(bind=engine_for(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A unit of work on the database at ``url``."""
    with unit_of_work(session_factory(url)) as session:
        yield session


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work: commits when the block ends, rolls back if it raises."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# --- work that must wait for the commit (enqueueing tasks, indexing) ---------------------------

_AFTER_COMMIT = "collection.after_commit"


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` once this session's transaction has committed (never if it rolls back).

    Enqueueing a task before the commit would let a worker look for rows that do not exist yet.
    """
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    for action in session.info.pop(_AFTER_COMMIT, []):
        action()


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)
