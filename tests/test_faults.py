"""Faults a library's server meets, each with real processes and services (issue 17, item 4): what
a user notices (a clear Vietnamese answer, never a traceback or a 500) and that nothing is lost.

Workers killed mid-OCR and S3 or Meilisearch down mid-job are in test_worker.py and
test_ingest_faults.py; Meilisearch down for a citizen in test_public_site.py."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from collection.app import create_app
from collection.config import Settings
from collection.db import session_scope
from collection.errors import ServiceUnavailable
from collection.models import IngestJob, Item, JobState, Role, StoredFile
from collection.queue import huey, search_huey
from collection.search.sync import sync_item
from collection.stack import (
    WEED_PORT_NAMES,
    Child,
    free_port,
    free_port_block,
    start_meilisearch,
    start_seaweedfs,
    weed_ports,
)
from collection.stack import weed_binary as find_weed
from collection.storage import store_for
from tests import material
from tests.conftest import meili_binary
from tests.helpers import PASSWORD, Api, make_token, make_user, new_item, run_search_tasks, upload
from tests.test_staff_pages import CATALOGUER, ITEM_FORM, browser_login
from tests.test_worker import Worker, start_worker  # noqa: F401  (a fixture: the worker)

BROWSER = {"Accept": "text/html"}
VIETNAMESE = re.compile("[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ]")


def assert_clear_503(response: httpx.Response, *, html: bool = False) -> None:
    """What a user should see when a backing service is down: 503, Vietnamese, no traceback."""
    assert response.status_code == 503, response.text
    assert "Traceback" not in response.text
    if html:
        assert "text/html" in response.headers["content-type"]
        assert "tạm thời gián đoạn" in response.text or "tạm dừng" in response.text, response.text
    else:
        body = response.json()
        assert body["error"].endswith("unavailable") and VIETNAMESE.search(body["message"]), body


def count(settings: Settings, model: Any, *where: Any) -> int:
    with session_scope(settings.sqlalchemy_url) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def bearer_api(client: TestClient, token_headers: dict[str, str]) -> Api:
    def call(method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**token_headers, **kwargs.pop("headers", {})}
        response: httpx.Response = client.request(method, path, headers=headers, **kwargs)
        return response

    return call


# --- 2. Meilisearch stopped while staff edit -----------------------------------------------------


@dataclass
class OwnMeili:
    """A Meilisearch of this test's own, which it may stop and start again (same data, port)."""

    port: int
    key: str
    data_dir: Path
    log: Path
    child: Child | None = None

    def start(self) -> None:
        self.child = start_meilisearch(
            binary=meili_binary(),
            data_dir=self.data_dir,
            port=self.port,
            master_key=self.key,
            log_path=self.log,
        )

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()
            self.child = None


@pytest.fixture
def own_meili(tmp_path: Path) -> Iterator[OwnMeili]:
    meili = OwnMeili(
        free_port(), secrets.token_urlsafe(24), tmp_path / "meili", tmp_path / "meili.log"
    )
    meili.start()
    yield meili
    meili.stop()


def test_meilisearch_stopped_while_staff_edit_then_every_edit_reaches_the_index_newest_last(
    settings: Settings, own_meili: OwnMeili
) -> None:
    settings = settings.model_copy(
        update={
            "meili_url": f"http://127.0.0.1:{own_meili.port}",
            "meili_master_key": own_meili.key,
        }
    )
    search_huey.flush()
    huey.flush()
    make_user(settings, CATALOGUER, Role.CATALOGUER)
    headers = {"Authorization": f"Bearer {make_token(settings, CATALOGUER)}"}
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        api = bearer_api(client, headers)

        item_id = new_item(api, title="Đình làng Đông Sơn")
        run_search_tasks(settings)
        found = client.get("/api/v1/search", params={"q": "dinh lang dong son"}).json()
        assert [hit["id"] for hit in found["hits"]] == [item_id]

        own_meili.stop()
        # Citizens: the search page and the search API say so, in Vietnamese; item pages still work.
        assert_clear_503(client.get("/tim-kiem", params={"q": "đình"}, headers=BROWSER), html=True)
        assert (
            "Máy tìm kiếm đang tạm dừng"
            in client.get("/tim-kiem", params={"q": "đình"}, headers=BROWSER).text
        )
        assert_clear_503(client.get("/api/v1/search", params={"q": "đình"}))
        assert_clear_503(api("GET", "/api/v1/staff/search", params={"q": "đình"}))
        assert client.get(f"/tai-lieu/{item_id}", headers=BROWSER).status_code == 200

        # Staff edit twice, through the API and through the staff page: both save (the DB is
        # the truth), and each queues a sync that fails while Meilisearch is down.
        record = api("GET", f"/api/v1/items/{item_id}").json()
        first = api(
            "PUT", f"/api/v1/items/{item_id}", json={**record, "title": "Chùa làng Hà Trung"}
        )
        assert first.status_code == 200, first.text
        failed = []
        while (task := search_huey.dequeue()) is not None:
            with pytest.raises(ServiceUnavailable):
                sync_item(*task.args, settings=settings)  # what the worker's lane meets
            failed.append(task)
        assert len(failed) == 1
        token = browser_login(client, CATALOGUER)
        form = client.get(f"/staff/tai-lieu/{item_id}").text
        version = re.search(r'name="version" value="(\d+)"', form)
        assert version is not None
        second = client.post(
            f"/staff/tai-lieu/{item_id}",
            data={
                **ITEM_FORM,
                "title": "Đền thờ Lê Hoàn ở Xuân Lập",
                "status": "published",
                "version": version[1],
                "csrf_token": token,
            },
            follow_redirects=False,
        )
        assert second.status_code == 303, second.text
        assert api("GET", f"/api/v1/items/{item_id}").json()["title"] == (
            "Đền thờ Lê Hoàn ở Xuân Lập"
        )

        own_meili.start()
        # The newer edit's sync runs first, then the older one's retry (Huey retries later, so
        # this order happens): each reads the database when it runs, so the newest title stays.
        synced = run_search_tasks(settings)
        for task in failed:
            sync_item(*task.args, settings=settings)
        from collection.search import meili

        meili.ready_engine(settings).wait_for_idle()
        assert synced == [item_id]
        newest = client.get("/api/v1/search", params={"q": "den tho le hoan"}).json()
        assert [hit["id"] for hit in newest["hits"]] == [item_id]
        for old in ("đình làng Đông Sơn", "chùa làng Hà Trung"):
            hits = client.get("/api/v1/search", params={"q": old}).json()["hits"]
            assert hits == [], (old, hits)


# --- 3. S3 stopped during an upload ----------------------------------------------------------------


@dataclass
class OwnS3:
    """A SeaweedFS of this test's own (same data and ports when started again)."""

    port: int
    internal: dict[str, int]
    access_key: str
    secret_key: str
    data_dir: Path
    log: Path
    child: Child | None = None

    def start(self) -> None:
        self.child = start_seaweedfs(
            binary=find_weed(None),
            data_dir=self.data_dir,
            s3_port=self.port,
            internal_ports=self.internal,
            access_key=self.access_key,
            secret_key=self.secret_key,
            log_path=self.log,
        )

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()
            self.child = None


@pytest.fixture
def own_s3(tmp_path: Path) -> Iterator[OwnS3]:
    s3 = OwnS3(
        free_port(),
        weed_ports(free_port_block(len(WEED_PORT_NAMES))),
        "KHOFAULT" + secrets.token_hex(4).upper(),
        secrets.token_urlsafe(24),
        tmp_path / "weed",
        tmp_path / "weed.log",
    )
    s3.start()
    yield s3
    s3.stop()


def put_chunk(api: Any, upload_id: int, index: int, data: bytes) -> httpx.Response:
    response: httpx.Response = api(
        "PUT",
        f"/api/v1/uploads/{upload_id}/chunks/{index}",
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    return response


def test_s3_stopped_during_an_upload_says_so_leaves_no_half_item_and_the_upload_works_after(
    settings: Settings, own_s3: OwnS3
) -> None:
    settings = settings.model_copy(
        update={
            "s3_endpoint": f"http://127.0.0.1:{own_s3.port}",
            "s3_access_key": own_s3.access_key,
            "s3_secret_key": own_s3.secret_key,
            "upload_chunk_mb": 1,
        }
    )
    store_for(settings).ensure_bucket()
    make_user(settings, CATALOGUER, Role.CATALOGUER)
    headers = {"Authorization": f"Bearer {make_token(settings, CATALOGUER)}"}
    data = material.born_digital_pdf() + b"\n%" + secrets.token_bytes(1_500_000)  # 2 chunks
    pdf = material.born_digital_pdf(["Một trang về sông Mã."])
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        api = bearer_api(client, headers)

        item_id = new_item(api, title="Sông Mã qua các thời kỳ")
        started = api(
            "POST",
            f"/api/v1/items/{item_id}/uploads",
            json={"filename": "a.pdf", "size": len(data)},
        ).json()
        upload_id = started["id"]
        assert put_chunk(api, upload_id, 0, data[: 1 << 20]).status_code == 200

        own_s3.stop()
        # The next chunk, a whole file in one piece and the staff page's form: each says storage
        # is down, in Vietnamese.
        assert_clear_503(put_chunk(api, upload_id, 1, data[1 << 20 :]))
        assert_clear_503(upload(api, item_id, "b.pdf", pdf))
        token = browser_login(client, CATALOGUER)
        page = client.post(
            f"/staff/tai-lieu/{item_id}/tep",
            data={"csrf_token": token},
            files={"file": ("b.pdf", pdf)},
            headers=BROWSER,
        )
        assert_clear_503(page, html=True)
        assert (
            client.get(f"/api/v1/uploads/{upload_id}", headers=headers).json()["chunks_done"] == 1
        )
        # No half item: no file row, no job, the upload waits where it was.
        assert count(settings, StoredFile, StoredFile.item_id == item_id) == 0
        assert count(settings, IngestJob) == 0

        own_s3.start()
        assert put_chunk(api, upload_id, 1, data[1 << 20 :]).status_code == 200
        done = api("POST", f"/api/v1/uploads/{upload_id}/complete", json={})
        assert done.status_code == 202, done.text
        assert done.json()["sha256"] == hashlib.sha256(data).hexdigest()
        again = upload(api, item_id, "b.pdf", pdf)
        assert again.status_code == 202, again.text
        assert count(settings, StoredFile, StoredFile.item_id == item_id) == 2
        assert count(settings, IngestJob, IngestJob.state == JobState.QUEUED) == 2
        store = store_for(settings)
        assert store.get_bytes(
            f"originals/{done.json()['sha256'][:2]}/{done.json()['sha256']}"
        ) == (data)


# --- 4. The database restarted under load (PostgreSQL) --------------------------------------------


def _pg_ctl(url: str, *args: str) -> None:
    """pg_ctl on the server at ``url`` (started by tests/services.py: its data directory, port and
    socket directory are found the way start_postgres laid them out)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        data_dir = str(connection.execute(text("SHOW data_directory")).scalar_one())
    engine.dispose()
    _PG_DIRS[url] = Path(data_dir)


_PG_DIRS: dict[str, Path] = {}


def pg_stop(url: str) -> None:
    if url not in _PG_DIRS:
        _pg_ctl(url)
    _run_pg_ctl(url, "-m", "fast", "-w", "stop")


def pg_start(url: str) -> None:
    pgdata = _PG_DIRS[url]
    port = httpx.URL(url.replace("postgresql+psycopg", "http")).port
    options = f"-p {port} -k {pgdata.parent / 'socket'} -c listen_addresses=127.0.0.1 -c fsync=off"
    _run_pg_ctl(url, "-l", str(pgdata.parent / "server.log"), "-w", "start", "-o", options)


def _run_pg_ctl(url: str, *args: str) -> None:
    from tests.services import _as_postgres_user, _pg_bin

    subprocess.run(
        _as_postgres_user([_pg_bin("pg_ctl"), "-D", str(_PG_DIRS[url]), *args]),
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.fixture
def own_postgres() -> Iterator[str]:
    """A PostgreSQL of this test's own (the session's is shared: restarting it would disturb
    other tests), migrated."""
    from collection import migrate
    from tests.services import start_postgres

    with start_postgres() as url:
        migrate.upgrade(url)
        yield url


def test_database_restarted_under_load_requests_fail_clearly_and_the_app_recovers(
    settings: Settings, own_postgres: str
) -> None:
    settings = settings.model_copy(update={"database_url": own_postgres})
    make_user(settings, CATALOGUER, Role.CATALOGUER)
    headers = {"Authorization": f"Bearer {make_token(settings, CATALOGUER)}"}
    answers: list[tuple[str, int, str]] = []  # (title, status, body)
    stop = threading.Event()
    with TestClient(
        create_app(settings), base_url="http://testserver", raise_server_exceptions=False
    ) as client:
        api = bearer_api(client, headers)
        before = new_item(api, title="Trống đồng Đông Sơn")

        def load() -> None:
            n = 0
            while not stop.is_set():
                n += 1
                title = f"Tài liệu thử tải số {n}"
                response = api("POST", "/api/v1/items", json={"title": title, "date": "2000"})
                answers.append((title, response.status_code, response.text))
                shown = api("GET", f"/api/v1/items/{before}")
                answers.append(("", shown.status_code, shown.text))
                page = client.get(f"/tai-lieu/{before}", headers=BROWSER)
                answers.append(("", page.status_code, page.text))

        def wait_until(predicate: Any, what: str) -> None:
            deadline = time.monotonic() + 120
            while not predicate():
                assert time.monotonic() < deadline, what
                assert worker.is_alive(), "the load stopped"
                time.sleep(0.05)

        worker = threading.Thread(target=load)
        worker.start()
        try:
            wait_until(lambda: sum(s == 201 for _, s, _ in answers) >= 3, "no item made")
            pg_stop(own_postgres)
            down_from = len(answers)
            wait_until(
                lambda: sum(s == 503 for _, s, _ in answers[down_from:]) >= 6, "no 503 while down"
            )
            pg_start(own_postgres)
            up_from = len(answers)
            wait_until(lambda: sum(s == 201 for _, s, _ in answers[up_from:]) >= 3, "not recovered")
        finally:
            stop.set()
            worker.join(60)

    # Users were told clearly: every answer is a success or a 503 in Vietnamese, never a 500.
    assert {status for _, status, _ in answers} <= {200, 201, 503}, [
        (status, body[:300]) for _, status, body in answers if status not in (200, 201, 503)
    ]
    for _, status, body in answers:
        if status == 503:
            assert "Traceback" not in body and VIETNAMESE.search(body), body[:500]
    # Nothing written twice or lost: every item acknowledged is there once, none refused is.
    made = [title for title, status, _ in answers if title and status == 201]
    refused = [title for title, status, _ in answers if title and status == 503]
    with session_scope(settings.sqlalchemy_url) as session:
        titles = list(session.scalars(select(Item.title).where(Item.id != before)))
    assert sorted(titles) == sorted(made)
    assert not set(refused) & set(titles)


# --- 1. The web process killed with -9 in the middle of a chunked upload ---------------------------


@dataclass
class WebServer:
    """`collection serve` as a real process (its own process group, so -9 reaches all of it)."""

    settings: Settings
    log_dir: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        from tests.test_cli import env_for

        log = (self.log_dir / f"web-{self.port}-{time.monotonic_ns()}.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "collection.cli", "serve"],
            env=env_for(
                self.settings,
                COLLECTION_HOST="127.0.0.1",
                COLLECTION_PORT=str(self.port),
                COLLECTION_WEB_WORKERS="1",
                COLLECTION_UPLOAD_CHUNK_MB="1",
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while True:
            assert self.process.poll() is None, "collection serve stopped"
            assert time.monotonic() < deadline, "collection serve did not answer"
            try:
                httpx.get(f"{self.url}/robots.txt", timeout=5)
                return
            except httpx.TransportError:
                time.sleep(0.1)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)
        self.process = None


@pytest.fixture
def web_server(settings: Settings, tmp_path: Path) -> Iterator[WebServer]:
    server = WebServer(settings, tmp_path, free_port())
    yield server
    server.kill()


def test_web_killed_mid_chunk_the_upload_resumes_from_the_servers_offset(
    settings: Settings, web_server: WebServer
) -> None:
    make_user(settings, CATALOGUER, Role.CATALOGUER)
    headers = {"Authorization": f"Bearer {make_token(settings, CATALOGUER)}"}
    data = material.born_digital_pdf() + b"\n%" + secrets.token_bytes(2_500_000)  # 3 chunks
    mib = 1 << 20
    web_server.start()
    with httpx.Client(base_url=web_server.url, headers=headers, timeout=60) as http:
        item_id = new_item(http.request, title="Địa bạ làng Hoằng Hóa")
        started = http.post(
            f"/api/v1/items/{item_id}/uploads", json={"filename": "địa bạ.pdf", "size": len(data)}
        ).json()
        upload_id = started["id"]
        assert started["chunk_size"] == mib
        assert put_chunk(http.request, upload_id, 0, data[:mib]).status_code == 200

    # Chunk 1 half sent when the web process dies.
    with socket.create_connection(("127.0.0.1", web_server.port)) as raw:
        raw.sendall(
            (
                f"PUT /api/v1/uploads/{upload_id}/chunks/1 HTTP/1.1\r\n"
                f"Host: 127.0.0.1\r\nAuthorization: {headers['Authorization']}\r\n"
                f"Content-Type: application/octet-stream\r\nContent-Length: {mib}\r\n\r\n"
            ).encode()
            + data[mib : mib + mib // 2]
        )
        web_server.kill()
    web_server.start()

    with httpx.Client(base_url=web_server.url, headers=headers, timeout=60) as http:
        state = http.get(f"/api/v1/uploads/{upload_id}").json()
        assert (state["chunks_done"], state["received"], state["complete"]) == (1, mib, False)
        for index in range(state["chunks_done"], 3):
            piece = data[index * mib : (index + 1) * mib]
            answer = put_chunk(http.request, upload_id, index, piece)
            assert answer.status_code == 200, answer.text
        done = http.post(f"/api/v1/uploads/{upload_id}/complete", json={})
        assert done.status_code == 202, done.text
        result = done.json()
    assert result["sha256"] == hashlib.sha256(data).hexdigest() and result["size"] == len(data)
    store = store_for(settings)
    assert store.get_bytes(f"originals/{result['sha256'][:2]}/{result['sha256']}") == data
    assert count(settings, StoredFile, StoredFile.item_id == item_id) == 1
    assert count(settings, IngestJob) == 1
    assert list(store.list_keys(f"uploads/{upload_id}/")) == []


# --- 6. Every process restarted in the middle of a bulk import -------------------------------------

BULK_ROWS = 16


def _bulk_folder(folder: Path) -> Path:
    """A folder of small PDFs and its sheet: BULK_ROWS rows with a file, one naming a file that
    is not there (a per-row error), one without a title (another)."""
    folder.mkdir()
    lines = ["Tệp,Nhan đề,Năm,Tác giả"]
    for n in range(1, BULK_ROWS + 1):
        (folder / f"so-{n:02d}.pdf").write_bytes(
            material.born_digital_pdf([f"Công báo tỉnh Thanh Hóa số {n}, năm 1960."])
        )
        lines.append(f"so-{n:02d}.pdf,Công báo Thanh Hóa số {n},1960,Ủy ban hành chính tỉnh")
    lines.append("khong-co.pdf,Tệp bị thiếu,1961,")
    lines.append("so-01.pdf,,1962,")
    sheet = folder / "bang-ke.csv"
    sheet.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return sheet


def test_every_process_killed_mid_bulk_import_then_it_resumes_and_creates_nothing_twice(
    settings: Settings,
    tmp_path: Path,
    start_worker: Worker,  # noqa: F811  (the fixture imported above)
) -> None:
    from tests.test_cli import env_for

    make_user(settings, CATALOGUER, Role.CATALOGUER)
    folder = tmp_path / "nhap"
    sheet = _bulk_folder(folder)
    argv = [sys.executable, "-m", "collection.cli", "import", str(folder), "--sheet", str(sheet)]
    argv += ["--email", CATALOGUER]
    worker = start_worker()
    first = subprocess.Popen(
        argv,
        env=env_for(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    # Rows commit one by one: stop it after a few. It runs in slices of a few milliseconds and
    # is counted while stopped, so however fast the machine or slow the count, it is stopped
    # mid-import (polling it as it ran, CI once saw all 16 rows done before the stop).
    deadline = time.monotonic() + 120
    os.killpg(first.pid, signal.SIGSTOP)
    while count(settings, Item) < 3:
        assert first.poll() is None, "the import ended before it could be stopped"
        assert time.monotonic() < deadline, "the import made no items"
        os.killpg(first.pid, signal.SIGCONT)
        time.sleep(0.005)
        os.killpg(first.pid, signal.SIGSTOP)
    made_before = count(settings, Item)
    assert made_before < BULK_ROWS, "the import finished before it was stopped"
    # Every process dies at once: the import and the worker (mid-job or not).
    os.killpg(first.pid, signal.SIGKILL)
    os.killpg(worker.pid, signal.SIGKILL)
    first.wait(30)
    worker.wait(30)

    start_worker()
    again = subprocess.run(
        argv, env=env_for(settings), capture_output=True, text=True, timeout=600, check=False
    )
    assert again.returncode == 1, again.stderr  # two rows are errors, and it says so
    lines = [line for line in again.stdout.splitlines() if line.startswith("dòng")]
    assert len(lines) == BULK_ROWS + 2
    assert sum("trùng, bỏ qua" in line for line in lines) == made_before
    assert sum("đã tạo" in line for line in lines) == BULK_ROWS - made_before
    assert "Không thấy tệp «khong-co.pdf»" in again.stdout
    assert f"Tổng cộng: {BULK_ROWS - made_before} đã tạo, {made_before} trùng" in again.stderr

    # Nothing twice, nothing lost: one item per good row (by import_key), one file and one job
    # each, and every job ends done.
    with session_scope(settings.sqlalchemy_url) as session:
        titles = sorted(session.scalars(select(Item.title)))
        keys = list(session.scalars(select(Item.import_key)))
    assert titles == sorted(f"Công báo Thanh Hóa số {n}" for n in range(1, BULK_ROWS + 1))
    assert len(set(keys)) == BULK_ROWS
    assert count(settings, StoredFile, StoredFile.role == "original") == BULK_ROWS
    assert count(settings, IngestJob) == BULK_ROWS
    deadline = time.monotonic() + 600
    while count(settings, IngestJob, IngestJob.state == JobState.DONE) < BULK_ROWS:
        assert count(settings, IngestJob, IngestJob.state == JobState.FAILED) == 0
        assert time.monotonic() < deadline, "the import's jobs did not all finish"
        time.sleep(0.5)


def test_a_queued_job_whose_task_was_lost_is_queued_again_at_once(
    settings: Settings, api: Api
) -> None:
    """What the test above depends on when the kill falls between a job's commit and its task
    (or takes the task with the worker): a restarted worker queues it again, not 5 min later."""
    from collection.ingest.tasks import requeue_orphans

    item_id = new_item(api)
    job_id = upload(api, item_id, "a.pdf", material.born_digital_pdf()).json()["job_id"]
    assert requeue_orphans(settings) == []  # its task is in the queue
    huey.flush()  # the task is lost with the process that held it
    assert requeue_orphans(settings) == [job_id]
    assert requeue_orphans(settings) == []  # once


# --- 5. var/ disk full -----------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 24 MB tmpfs for var/ and the SQLite database (root in a sandbox can mount one)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here to fill ({done.stderr.strip()})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path) -> Path:
    """Fill the disk to the last block; the filler, to free the space again."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as out:
        for block in (65536, 4096, 1):
            try:
                while True:
                    out.write(b"\0" * block)
            except OSError:
                pass
    return filler


def test_var_disk_full_says_so_and_nothing_is_corrupt_once_space_is_freed(
    settings: Settings, small_disk: Path
) -> None:
    shutil.copyfile(settings.var_dir.parent / "collection.db", small_disk / "collection.db")
    settings = settings.model_copy(
        update={
            "var_dir": small_disk / "var",
            "database_url": f"sqlite:///{small_disk / 'collection.db'}",
        }
    )
    make_user(settings, CATALOGUER, Role.CATALOGUER)
    headers = {"Authorization": f"Bearer {make_token(settings, CATALOGUER)}"}
    pdf = material.born_digital_pdf(["Gia phả họ Lê ở Thọ Xuân."])
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        api = bearer_api(client, headers)
        made = [new_item(api, title="Gia phả họ Lê")]
        filler = _fill(small_disk)

        # The upload spool (var/tmp) cannot be written: a clear answer, no file, no job.
        spooled = upload(api, made[0], "gia-pha.pdf", pdf)
        assert spooled.status_code == 507, spooled.text
        assert spooled.json()["error"] == "disk_full" and "hết chỗ" in spooled.json()["message"]
        assert count(settings, StoredFile) == 0 and count(settings, IngestJob) == 0
        # The database cannot grow: items are saved while the WAL has room, then refused clearly.
        refused = None
        for n in range(500):
            answer = api(
                "POST",
                "/api/v1/items",
                json={"title": f"Gia phả chi {n}", "description": "Đời thứ nhất. " * 300},
            )
            if answer.status_code != 201:
                refused = answer
                break
            made.append(int(answer.json()["id"]))
        assert refused is not None, "the full disk never refused a write"
        assert refused.status_code == 507, refused.text
        assert refused.json()["error"] == "disk_full" and "hết chỗ" in refused.json()["message"]
        # A librarian logging in (a session row to write) gets the page in Vietnamese.
        client.get("/login")
        login = client.post(
            "/login",
            data={
                "email": CATALOGUER,
                "password": PASSWORD,
                "csrf_token": client.cookies["kho_csrf"],
            },
            headers=BROWSER,
            follow_redirects=False,
        )
        assert login.status_code == 507, login.text
        assert "text/html" in login.headers["content-type"] and "hết chỗ trên đĩa" in login.text
        assert "Traceback" not in login.text

        filler.unlink()
        # Nothing corrupt, nothing lost, and the same process serves again.
        with session_scope(settings.sqlalchemy_url) as session:
            assert session.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
            ids = sorted(session.scalars(select(Item.id)))
        assert ids == sorted(made)
        again = upload(api, made[0], "gia-pha.pdf", pdf)
        assert again.status_code == 202, again.text
        assert new_item(api, title="Gia phả họ Nguyễn") > max(made)
        assert client.get(f"/tai-lieu/{made[0]}", headers=BROWSER).status_code == 200
