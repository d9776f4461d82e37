"""`collection up` (what `make run` starts) as a new user runs it: twice, with Ctrl-C between."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from collection.config import Settings
from collection.stack import free_port, free_port_block, port_in_use
from collection.storage import ObjectStore
from tests.conftest import meili_binary


def _start_up(env: dict[str, str], log: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "collection.cli", "up"],
        env=env,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for_banner(process: subprocess.Popen[str], log: Path, timeout: float = 180) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(encoding="utf-8")
        if "Ctrl-C" in text.split("is running")[-1] and "is running" in text:
            return text
        if process.poll() is not None:
            pytest.fail(f"`collection up` exited early:\n{text}")
        time.sleep(0.5)
    pytest.fail(f"`collection up` did not start in time:\n{log.read_text(encoding='utf-8')}")


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)
    process.wait(60)


def test_up_runs_the_whole_stack_twice_and_data_survives(tmp_path: Path) -> None:
    var = tmp_path / "var"
    web_port, s3_port, meili_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTION_")}
    env.update(
        {
            "COLLECTION_VAR_DIR": str(var),
            "COLLECTION_PORT": str(web_port),
            "COLLECTION_S3_PORT": str(s3_port),
            "COLLECTION_WEED_PORT_BASE": str(free_port_block(7)),
            "COLLECTION_MEILI_PORT": str(meili_port),
            "COLLECTION_MEILI_BINARY": str(meili_binary()),
        }
    )
    log = tmp_path / "up.log"
    process = _start_up(env, log)
    try:
        banner = _wait_for_banner(process, log)
        base = f"http://127.0.0.1:{web_port}"
        assert f"{base}/" in banner
        password = re.search(r"password:\s+(\S+)", banner)
        assert password, banner
        health = httpx.get(f"{base}/healthz", timeout=10)
        assert health.status_code == 200, health.text
        login = httpx.post(
            f"{base}/api/v1/auth/login",
            json={"email": "admin@localhost", "password": password.group(1)},
        )
        assert login.status_code == 200
        # The secrets live under var/, never in code; the S3 server refuses anonymous access.
        s3 = json.loads((var / "secrets" / "s3.json").read_text())
        store = ObjectStore(
            endpoint_url=f"http://127.0.0.1:{s3_port}",
            access_key=s3["access_key"],
            secret_key=s3["secret_key"],
            bucket=Settings().s3_bucket,
        )
        store.put_bytes("kiem-tra/con-nguyen.txt", "vẫn còn đây".encode())
        assert (
            httpx.get(f"http://127.0.0.1:{s3_port}/kho-so/kiem-tra/con-nguyen.txt").status_code
            == 403
        )
        meili_master = json.loads((var / "secrets" / "meili.json").read_text())["master_key"]
        assert meili_master not in health.text and meili_master not in login.text
        assert httpx.get(f"http://127.0.0.1:{meili_port}/keys").status_code == 401
    finally:
        _stop(process)
    assert process.returncode == 0
    for port in (web_port, s3_port, meili_port):
        assert not port_in_use(port), f"port {port} still open after Ctrl-C"

    # Second run: nothing is created twice and the data is still there.
    log = tmp_path / "up-again.log"
    process = _start_up(env, log)
    try:
        banner = _wait_for_banner(process, log)
        assert password.group(1) in banner.split("is running")[-1]
        login = httpx.post(
            f"{base}/api/v1/auth/login",
            json={"email": "admin@localhost", "password": password.group(1)},
        )
        assert login.status_code == 200
        assert store.get_bytes("kiem-tra/con-nguyen.txt") == "vẫn còn đây".encode()
        users = httpx.get(f"{base}/api/v1/users", cookies=login.cookies).json()
        assert [u["email"] for u in users] == ["admin@localhost"]
    finally:
        _stop(process)
    assert process.returncode == 0
