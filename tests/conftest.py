"""Real services for the tests: SeaweedFS S3, Meilisearch, PostgreSQL and Redis are started on free
loopback ports in temp dirs, once per session. Nothing here is a mock."""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

# Before anything imports collection: the queue is built from the settings at import time, and
# must not touch the developer's ./var/.
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="kho-tests-"))
os.environ["COLLECTION_VAR_DIR"] = str(_SESSION_DIR / "var")
for _name in list(os.environ):
    if _name.startswith("COLLECTION_") and _name != "COLLECTION_VAR_DIR":
        del os.environ[_name]

import shutil  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402
import pytest  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from collection import migrate  # noqa: E402
from collection.app import create_app  # noqa: E402
from collection.config import PROJECT_ROOT, Settings  # noqa: E402
from collection.db import engine_for, session_scope  # noqa: E402
from collection.models import Role  # noqa: E402
from collection.places.sync import ensure_gazetteer  # noqa: E402
from collection.stack import (  # noqa: E402
    WEED_PORT_NAMES,
    Child,
    free_port,
    free_port_block,
    start_meilisearch,
    start_seaweedfs,
    weed_ports,
)
from collection.stack import weed_binary as find_weed  # noqa: E402
from collection.storage import store_for  # noqa: E402
from tests.helpers import Api, make_token, make_user  # noqa: E402
from tests.services import start_postgres, start_redis  # noqa: E402

# The browser tests' fixtures (Chromium, a citizen's page) for every test module that asks.
pytest_plugins = ["tests.browsing"]


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str
    bucket: str
    child: Child


@dataclass(frozen=True)
class MeiliServer:
    url: str
    master_key: str
    port: int
    data_dir: Path
    child: Child


def meili_binary() -> Path:
    configured = os.environ.get("TEST_MEILI_BINARY")
    return Path(configured) if configured else PROJECT_ROOT / "var" / "bin" / "meilisearch"


@pytest.fixture(scope="session")
def session_dir() -> Iterator[Path]:
    yield _SESSION_DIR
    shutil.rmtree(_SESSION_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def s3_server(session_dir: Path) -> Iterator[S3Server]:
    access_key, secret_key = "KHOTEST" + secrets.token_hex(4).upper(), secrets.token_urlsafe(24)
    port = free_port()
    child = start_seaweedfs(
        binary=find_weed(None),
        data_dir=session_dir / "seaweedfs",
        s3_port=port,
        internal_ports=weed_ports(free_port_block(len(WEED_PORT_NAMES))),
        access_key=access_key,
        secret_key=secret_key,
        log_path=session_dir / "log" / "seaweedfs.log",
    )
    child.stop_timeout = 3  # throwaway data: no need to wait for a graceful stop
    server = S3Server(f"http://127.0.0.1:{port}", access_key, secret_key, "kho-test", child)
    yield server
    child.stop()


@pytest.fixture(scope="session")
def meili_server(session_dir: Path) -> Iterator[MeiliServer]:
    port = free_port()
    key = secrets.token_urlsafe(24)
    data_dir = session_dir / "meili"
    child = start_meilisearch(
        binary=meili_binary(),
        data_dir=data_dir,
        port=port,
        master_key=key,
        log_path=session_dir / "log" / "meili.log",
    )
    yield MeiliServer(f"http://127.0.0.1:{port}", key, port, data_dir, child)
    child.stop()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with start_postgres() as url:
        yield url


@pytest.fixture(scope="session")
def redis_url(session_dir: Path) -> Iterator[str]:
    with start_redis(session_dir / "redis") as url:
        yield url


@pytest.fixture(scope="session")
def template_db(session_dir: Path) -> Path:
    """A migrated database with the gazetteer loaded, copied for each test (loading the
    741 places into every test's database would cost more than the test)."""
    path = session_dir / "template.db"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    with session_scope(url) as session:
        ensure_gazetteer(session)
    engine_for(url).dispose()
    return path


@pytest.fixture
def settings(
    tmp_path: Path,
    s3_server: S3Server,
    meili_server: MeiliServer,
    template_db: Path,
    request: pytest.FixtureRequest,
) -> Settings:
    """Settings for one test: its own SQLite DB (migrated, places loaded), its own indexes."""
    prefix = "t" + secrets.token_hex(4)
    result = Settings(
        var_dir=tmp_path / "var",
        database_url=f"sqlite:///{tmp_path / 'collection.db'}",
        queue_url=f"sqlite:///{_SESSION_DIR / 'var' / 'queue.db'}",  # the module-level queue's
        s3_endpoint=s3_server.endpoint,
        s3_access_key=s3_server.access_key,
        s3_secret_key=s3_server.secret_key,
        s3_bucket=s3_server.bucket,
        meili_url=meili_server.url,
        meili_master_key=meili_server.master_key,
        meili_index_prefix=prefix,
        startup_timeout=5,
    )
    shutil.copyfile(template_db, tmp_path / "collection.db")
    store_for(result).ensure_bucket()
    return result


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def api(client: TestClient, settings: Settings) -> Api:
    """Staff API calls as a cataloguer with a bearer token."""
    make_user(settings, "bien.muc@thuvien.vn", Role.CATALOGUER)
    headers = {"Authorization": f"Bearer {make_token(settings, 'bien.muc@thuvien.vn')}"}

    def call(method: str, path: str, **kwargs: Any) -> httpx.Response:
        response: httpx.Response = client.request(method, path, headers=headers, **kwargs)
        return response

    return call
