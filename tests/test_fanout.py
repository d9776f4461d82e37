"""Long scans are shared among workers: chunks of pages go on the queue, and the job finishes
once, when its last page is done. The scale-out path runs on Redis with two worker processes."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from collection.config import Settings
from collection.ingest.pipeline import run_job, run_ocr_chunk
from collection.models import Role
from collection.stack import free_port, http_ok, wait_until
from tests import material
from tests.helpers import Api, make_token, make_user, new_item, upload
from tests.test_cli import env_for

TEXTS = [f"Trang {n} của địa chí huyện Hoằng Hóa" for n in range(1, 7)]


def test_chunks_finish_the_job_exactly_once(api: Api, settings: Settings) -> None:
    chunked = settings.model_copy(update={"ocr_chunk_pages": 2})
    item_id = new_item(api)
    job_id = upload(api, item_id, "dia-chi.pdf", material.scanned_pdf(TEXTS[:5])).json()["job_id"]
    assert run_job(job_id, settings=chunked) is None  # fanned out: waiting for its chunks
    job = api("GET", f"/api/v1/jobs/{job_id}").json()
    assert (job["state"], job["stage"], job["progress"]) == ("running", "ocr", "ocr 0/5 pages")

    # Chunks run in any order; only the one that does the last page says "go on".
    assert run_ocr_chunk(job_id, [3, 4], settings=chunked) is False
    assert run_ocr_chunk(job_id, [5], settings=chunked) is False
    assert api("GET", f"/api/v1/jobs/{job_id}").json()["progress"] == "ocr 3/5 pages"
    assert run_ocr_chunk(job_id, [1, 2], settings=chunked) is True
    assert run_ocr_chunk(job_id, [1, 2], settings=chunked) is True  # a retried chunk redoes nothing

    assert run_job(job_id, settings=chunked) == "done"
    assert run_job(job_id, settings=chunked) is None  # a duplicate continuation does nothing
    job = api("GET", f"/api/v1/jobs/{job_id}").json()
    assert job["state"] == "done" and job["attempts"] == 2
    pages = api("GET", f"/api/v1/items/{item_id}/pages").json()
    assert [p["number"] for p in pages] == [1, 2, 3, 4, 5]
    assert all(f"Trang {p['number']}" in p["text"] for p in pages)


def test_two_workers_on_redis_share_one_scan(
    settings: Settings, redis_url: str, tmp_path: Path
) -> None:
    make_user(settings, "bien.muc@thuvien.vn", Role.CATALOGUER)
    token = make_token(settings, "bien.muc@thuvien.vn")
    env = env_for(
        settings,
        COLLECTION_QUEUE_URL=redis_url,
        COLLECTION_OCR_CHUNK_PAGES="1",
        COLLECTION_OCR_PROCESSES="1",
    )
    port = free_port()
    processes = []
    logs = [tmp_path / "web.log", tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    commands = [
        ["serve", "--port", str(port)],
        ["worker", "--workers", "1"],
        ["worker", "--workers", "1"],
    ]
    try:
        for command, log in zip(commands, logs, strict=True):
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "collection.cli", *command],
                    env=env,
                    stdout=log.open("w"),
                    stderr=subprocess.STDOUT,
                )
            )
        base = f"http://127.0.0.1:{port}"
        wait_until(http_ok(f"{base}/healthz"), child=None, timeout=60, what="web")
        headers = {"Authorization": f"Bearer {token}"}
        item = httpx.post(
            f"{base}/api/v1/items", json={"title": "Địa chí Hoằng Hóa"}, headers=headers
        )
        assert item.status_code == 201, item.text
        item_id = item.json()["id"]
        uploaded = httpx.post(
            f"{base}/api/v1/items/{item_id}/files",
            files={"file": ("hoang-hoa.pdf", material.scanned_pdf(TEXTS))},
            headers=headers,
            timeout=60,
        )
        assert uploaded.status_code == 202, uploaded.text
        job_id = uploaded.json()["job_id"]
        deadline = time.monotonic() + 240
        while True:
            job = httpx.get(f"{base}/api/v1/jobs/{job_id}", headers=headers).json()
            if job["state"] in ("done", "failed") or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert job["state"] == "done", job
        assert job["attempts"] == 2  # the first run fanned out; the last chunk's continuation
        pages = httpx.get(f"{base}/api/v1/items/{item_id}/pages", headers=headers).json()
        assert [p["number"] for p in pages] == [1, 2, 3, 4, 5, 6]
        assert all(f"Trang {p['number']}" in p["text"] for p in pages)
        chunks_run = [log.read_text().count("ingest.ocr_chunk") for log in logs[1:]]
        assert all(n > 0 for n in chunks_run), f"one worker did all the chunks: {chunks_run}"
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
    if any(p.returncode not in (0, -15) for p in processes):
        pytest.fail("a process did not stop cleanly")
