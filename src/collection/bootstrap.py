"""Getting a deployment ready: schema, bucket, indexes, the first admin. Safe to run at every start."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select

from collection import migrate
from collection.accounts import service as accounts
from collection.config import Settings
from collection.db import session_scope
from collection.errors import CollectionError, ServiceUnavailable
from collection.models import Role, User
from collection.places.sync import ensure_gazetteer
from collection.search import meili
from collection.stack import wait_until
from collection.storage import store_for


def prepare(settings: Settings, *, timeout: float | None = None) -> None:
    """Migrate the DB, load the gazetteer, create the bucket and the search indexes."""
    timeout = settings.startup_timeout if timeout is None else timeout
    _retry(lambda: migrate.upgrade(settings.sqlalchemy_url), timeout, "Cơ sở dữ liệu")
    with session_scope(settings.sqlalchemy_url) as session:
        ensure_gazetteer(session)  # the places, loaded or updated from their packages
    store = store_for(settings)
    _retry(store.ensure_bucket, timeout, "Kho lưu trữ S3")
    _retry(lambda: meili.engine_for(settings).ensure_indexes(wait=True), timeout, "Meilisearch")


def check_reachable(settings: Settings, *, timeout: float | None = None) -> None:
    """Wait (up to the start-up timeout) until DB, S3 and Meilisearch answer; else fail clearly."""
    from collection.db import session_factory
    from collection.health import check_database, check_search, check_storage

    timeout = settings.startup_timeout if timeout is None else timeout
    sessions = session_factory(settings.sqlalchemy_url)
    _retry(lambda: check_database(sessions, settings), timeout, "Cơ sở dữ liệu")
    _retry(lambda: check_storage(settings), timeout, "Kho lưu trữ S3")
    _retry(lambda: check_search(settings), timeout, "Meilisearch")


def _retry(action: Callable[[], object], timeout: float, what: str) -> None:
    last: list[BaseException] = []

    def attempt() -> bool:
        try:
            action()
        except (CollectionError, OSError) as exc:
            last[:] = [exc]
            raise
        return True

    try:
        wait_until(attempt, child=None, timeout=timeout, what=what)
    except ServiceUnavailable as exc:
        cause = last[0] if last else exc
        detail = getattr(cause, "message_en", None) or str(cause)
        raise ServiceUnavailable(
            f"{what} không sẵn sàng: {getattr(cause, 'message', cause)}",
            message_en=f"{what} unreachable: {detail}",
        ) from cause


@dataclass(frozen=True)
class FirstAdmin:
    email: str
    password: str | None  # None when the admin already existed and the password is not on file
    created: bool


def ensure_first_admin(settings: Settings) -> FirstAdmin:
    """Create the first admin on an empty user table; its password is kept in var/secrets/."""
    path = settings.var_dir / "secrets" / "first-admin.json"
    with session_scope(settings.sqlalchemy_url) as session:
        if session.scalar(select(func.count()).select_from(User)):
            if path.exists():
                stored = json.loads(path.read_text(encoding="utf-8"))
                return FirstAdmin(stored["email"], stored["password"], created=False)
            first = session.scalar(select(User).where(User.role == Role.ADMIN).order_by(User.id))
            return FirstAdmin(first.email if first else "", None, created=False)
        password = accounts.generate_password()
        user = accounts.create_user(
            session=session,
            email=settings.admin_email,
            role=Role.ADMIN,
            password=password,
            display_name="Quản trị viên",
        )
        email = user.email
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"email": email, "password": password}), encoding="utf-8")
    path.chmod(0o600)
    return FirstAdmin(email, password, created=True)
