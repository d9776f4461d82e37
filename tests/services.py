"""Throwaway PostgreSQL and Redis servers for tests (Debian's packages, started in temp dirs)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from collection.stack import free_port, port_in_use


def _pg_bin(name: str) -> str:
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    found = str(candidates[0]) if candidates else shutil.which(name)
    if not found:
        pytest.fail(
            f"PostgreSQL's {name} is not installed; `make test` installs the postgresql package"
        )
    return found


def _as_postgres_user(argv: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; Debian's package creates the `postgres` user.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


@contextmanager
def start_postgres() -> Iterator[str]:
    # Its own temp dir: the `postgres` user must be able to reach it (the session dir is 0700).
    data_dir = Path(tempfile.mkdtemp(prefix="kho-pg-"))
    socket_dir = data_dir / "socket"
    socket_dir.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(data_dir, "postgres")
        shutil.chown(socket_dir, "postgres")
    port = free_port()
    pgdata = data_dir / "data"
    subprocess.run(
        _as_postgres_user(
            [
                _pg_bin("initdb"),
                "-D",
                str(pgdata),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
        ),
        check=True,
        capture_output=True,
    )
    log = data_dir / "server.log"
    if os.geteuid() == 0:
        log.touch()
        shutil.chown(log, "postgres")
    subprocess.run(
        _as_postgres_user(
            [
                _pg_bin("pg_ctl"),
                "-D",
                str(pgdata),
                "-l",
                str(log),
                "-w",
                "start",
                "-o",
                f"-p {port} -k {socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off",
            ]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres_user([_pg_bin("pg_ctl"), "-D", str(pgdata), "-m", "immediate", "stop"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(data_dir, ignore_errors=True)


@contextmanager
def start_redis(data_dir: Path) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if not binary:
        pytest.fail("redis-server is not installed; `make test` installs the redis-server package")
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(data_dir),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while not port_in_use(port):
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail("redis-server did not start")
        time.sleep(0.1)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)
