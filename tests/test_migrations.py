"""The Alembic migrations on SQLite and on a real PostgreSQL: they build exactly the models."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from collection import migrate
from collection.db import session_scope
from collection.models import Access, Base, Item, ItemStatus, Page, Role, User


def _check_schema_matches_models(url: str) -> None:
    migrate.upgrade(url)
    assert migrate.is_current(url)
    engine = create_engine(url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == [], f"models and migrations differ: {differences}"
    tables = set(inspect(engine).get_table_names())
    assert {
        "collections",
        "items",
        "files",
        "pages",
        "ingest_jobs",
        "access_points",
        "users",
        "api_tokens",
        "login_sessions",
        "usage_events",
    } <= tables
    # Real rows, with Vietnamese text and the enum checks in force.
    with session_scope(url) as session:
        session.add(User(email="a@b.vn", password_hash="x", role=Role.ADMIN))
        item = Item(title="Hồ sơ Đông Sơn", status=ItemStatus.PUBLISHED, access=Access.ONSITE)
        item.pages = [Page(number=1, text="Trống đồng Đông Sơn")]
        session.add(item)
    with session_scope(url) as session:
        stored = session.query(Item).one()
        assert stored.title == "Hồ sơ Đông Sơn"
        assert stored.pages[0].text == "Trống đồng Đông Sơn"
        assert stored.created_at.tzinfo is not None
    with engine.begin() as connection, pytest.raises(Exception, match=r"(?i)check|constraint"):
        connection.execute(text("UPDATE items SET status = 'lost'"))
    migrate.downgrade(url, "base")
    assert "items" not in set(inspect(engine).get_table_names())
    migrate.upgrade(url)  # and up again
    engine.dispose()


def test_migrations_on_sqlite(tmp_path: Path) -> None:
    _check_schema_matches_models(f"sqlite:///{tmp_path / 'm.db'}")


def test_migrations_on_postgresql(postgres_url: str) -> None:
    name = "kho_" + secrets.token_hex(4)
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8'"))
    admin.dispose()
    _check_schema_matches_models(postgres_url.rsplit("/", 1)[0] + f"/{name}")
