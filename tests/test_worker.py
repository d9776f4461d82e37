"""A real `collection worker` process consuming the queue: the path a staff upload really takes,
and a worker killed with SIGKILL in the middle of OCR."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from collection.config import Settings
from collection.queue import huey, search_huey
from tests import material
from tests.helpers import Api, new_item, upload
from tests.test_cli import env_for

Worker = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def start_worker(settings: Settings, tmp_path: Path) -> Iterator[Worker]:
    huey.flush()  # tasks other tests queued for their own databases
    search_huey.flush()
    started: list[subprocess.Popen[bytes]] = []

    def start(**extra: str) -> subprocess.Popen[bytes]:
        log = (tmp_path / f"worker-{len(started)}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "collection.cli", "worker", "--workers", "1"],
            env=env_for(settings, **extra),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: SIGKILL reaches the consumer's children too
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def wait_for(
    api: Api, job_id: int, done: Callable[[dict[str, Any]], bool], timeout: float = 180
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = api("GET", f"/api/v1/jobs/{job_id}").json()
        if done(job):
            return job
        if job["state"] == "failed":
            pytest.fail(f"job failed: {job['error']}")
        time.sleep(0.3)
    pytest.fail(f"job {job_id} did not get there in {timeout} s: {job}")


def test_upload_is_processed_by_a_running_worker(api: Api, start_worker: Worker) -> None:
    start_worker()
    item_id = new_item(api)
    job_id = upload(api, item_id, "dia-chi.pdf", material.born_digital_pdf()).json()["job_id"]
    job = wait_for(api, job_id, lambda j: j["state"] == "done")
    assert job["progress"] == "done"
    pages = api("GET", f"/api/v1/items/{item_id}/pages").json()
    assert len(pages) == 3 and all(p["has_image"] for p in pages)


def _descendants(pid: int) -> list[int]:
    """The processes under ``pid`` (children, theirs…), from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, p in parents.items() if p == parent]
        found += children
        frontier += children
    return found


def test_an_edit_is_found_while_an_ocr_job_holds_every_ingest_thread(
    api: Api, client: TestClient, start_worker: Worker
) -> None:
    texts = [f"Trang {n} của công báo tỉnh Thanh Hóa năm 1960" for n in range(1, 5)]
    worker = start_worker(COLLECTION_OCR_PROCESSES="1")  # one ingest thread, one OCR process
    scan = new_item(api, title="Công báo tỉnh Thanh Hóa 1960")
    job_id = upload(api, scan, "cong-bao.pdf", material.scanned_pdf(texts)).json()["job_id"]
    wait_for(api, job_id, lambda j: j["stage"] == "ocr")
    # Hold the OCR where it is: its processes stopped, the ingest thread waits on them.
    deadline = time.monotonic() + 60
    while not (held := _descendants(worker.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert held, "no OCR process under the worker"
    for pid in held:
        os.kill(pid, signal.SIGSTOP)
    try:
        edited = new_item(api, title="Hương ước làng Đông Sơn năm Tự Đức")
        deadline = time.monotonic() + 60  # the lane polls every 0.1 s: found long before
        while time.monotonic() < deadline:
            found = client.get("/api/v1/search", params={"q": "Hương ước làng Đông Sơn"}).json()
            if any(hit["id"] == edited for hit in found["hits"]):
                break
            time.sleep(0.1)
        else:
            pytest.fail("the new item was not found while the OCR job ran")
        job = api("GET", f"/api/v1/jobs/{job_id}").json()
        assert job["state"] == "running" and job["stage"] == "ocr"  # still held: not before it
    finally:
        for pid in held:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
    job = wait_for(api, job_id, lambda j: j["state"] == "done")
    pages = api("GET", f"/api/v1/items/{scan}/pages").json()
    assert [p["number"] for p in pages] == [1, 2, 3, 4]


def test_worker_killed_mid_ocr_resumes_without_losing_or_doubling_pages(
    api: Api, start_worker: Worker
) -> None:
    # Sixteen pages, so that the job is seen midway whatever the machine's speed (with six,
    # a quick run went from one page to done between two looks).
    pages_in = 16
    texts = [f"Trang {n} của báo Thanh Hóa, số đặc biệt về sông Mã" for n in range(1, pages_in + 1)]
    first = start_worker(COLLECTION_OCR_PROCESSES="1")
    item_id = new_item(api, title="Báo Thanh Hóa số đặc biệt")
    job_id = upload(api, item_id, "bao.pdf", material.scanned_pdf(texts)).json()["job_id"]
    midway = wait_for(
        api, job_id, lambda j: j["stage"] == "ocr" and 2 <= j["progress_done"] < pages_in - 2
    )
    assert midway["state"] == "running"
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(10)

    start_worker()  # finds the dead worker's job at start and resumes it
    job = wait_for(api, job_id, lambda j: j["state"] == "done")
    assert job["attempts"] == 2
    pages = api("GET", f"/api/v1/items/{item_id}/pages").json()
    assert [p["number"] for p in pages] == list(range(1, pages_in + 1))
    for page in pages:
        assert page["text_source"] == "ocr"
        assert f"Trang {page['number']}" in page["text"], page
