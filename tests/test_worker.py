"""A real `collection worker` process consuming the queue: the path a staff upload really takes,
and a worker killed with SIGKILL in the middle of OCR."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from collection.config import Settings
from collection.queue import huey
from tests import material
from tests.helpers import Api, new_item, upload
from tests.test_cli import env_for

Worker = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def start_worker(settings: Settings, tmp_path: Path) -> Iterator[Worker]:
    huey.flush()  # tasks other tests queued for their own databases
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


def test_worker_killed_mid_ocr_resumes_without_losing_or_doubling_pages(
    api: Api, start_worker: Worker
) -> None:
    texts = [f"Trang {n} của báo Thanh Hóa, số đặc biệt về sông Mã" for n in range(1, 7)]
    first = start_worker(COLLECTION_OCR_PROCESSES="1")
    item_id = new_item(api, title="Báo Thanh Hóa số đặc biệt")
    job_id = upload(api, item_id, "bao.pdf", material.scanned_pdf(texts)).json()["job_id"]
    midway = wait_for(api, job_id, lambda j: j["stage"] == "ocr" and 2 <= j["progress_done"] < 6)
    assert midway["state"] == "running"
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(10)

    start_worker()  # finds the dead worker's job at start and resumes it
    job = wait_for(api, job_id, lambda j: j["state"] == "done")
    assert job["attempts"] == 2
    pages = api("GET", f"/api/v1/items/{item_id}/pages").json()
    assert [p["number"] for p in pages] == [1, 2, 3, 4, 5, 6]
    for page in pages:
        assert page["text_source"] == "ocr"
        assert f"Trang {page['number']}" in page["text"], page
