"""Streaming an original into S3 through our adapter vs plain boto3 with its defaults.

Baseline: boto3's `upload_fileobj` / `get_object().read()` with default settings, on the same
SeaweedFS server, same bytes, same run. We report throughput and the Python memory peak of each.
"""

from __future__ import annotations

import hashlib
import io
import secrets
import shutil
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from collection.stack import WEED_PORT_NAMES, free_port, start_seaweedfs, weed_binary
from collection.storage import ObjectStore

MB = 1024 * 1024
SIZE = 128 * MB
ROUNDS = 3


class _Generated(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.remaining = size
        self._block = hashlib.sha256(b"bench").digest() * 2048

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.remaining, len(self._block))
        buffer[:n] = self._block[:n]
        self.remaining -= n
        return n


def _measure(action: Callable[[str], None], key: str) -> tuple[float, float]:
    tracemalloc.start()
    started = time.perf_counter()
    action(key)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed, peak / MB


def run() -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="kho-bench-"))
    access, secret = "BENCH" + secrets.token_hex(4).upper(), secrets.token_urlsafe(24)
    port = free_port()
    child = start_seaweedfs(
        binary=weed_binary(None),
        data_dir=workdir / "weed",
        s3_port=port,
        internal_ports={name: free_port() for name in WEED_PORT_NAMES},
        access_key=access,
        secret_key=secret,
        log_path=workdir / "weed.log",
    )
    child.stop_timeout = 3
    try:
        endpoint = f"http://127.0.0.1:{port}"
        ours = ObjectStore(
            endpoint_url=endpoint, access_key=access, secret_key=secret, bucket="bench"
        )
        ours.ensure_bucket()
        plain = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=access,
            aws_secret_access_key=secret,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}),
        )
        rows: dict[str, list[tuple[float, float]]] = {
            k: [] for k in ("ours_put", "boto3_put", "ours_get", "boto3_get")
        }

        def ours_put(key: str) -> None:
            ours.put_stream(key, io.BufferedReader(_Generated(SIZE)))

        def ours_get(key: str) -> None:
            for _chunk in ours.open_stream(key):
                pass

        def boto3_put(key: str) -> None:
            plain.upload_fileobj(io.BufferedReader(_Generated(SIZE)), "bench", key)

        def boto3_get(key: str) -> None:
            plain.get_object(Bucket="bench", Key=key)["Body"].read()

        actions = {"ours": (ours_put, ours_get), "boto3": (boto3_put, boto3_get)}
        for round_ in range(ROUNDS):
            key = f"bench/{round_}.bin"
            # Alternate the order so neither side always runs on a warm server.
            for who in ["ours", "boto3"] if round_ % 2 == 0 else ["boto3", "ours"]:
                put, get = actions[who]
                rows[f"{who}_put"].append(_measure(put, key))
                rows[f"{who}_get"].append(_measure(get, key))
        result: dict[str, Any] = {"object_mb": SIZE // MB, "rounds": ROUNDS}
        for name, samples in rows.items():
            best = min(s[0] for s in samples)
            result[name] = {
                "best_s": round(best, 3),
                "mb_per_s": round(SIZE / MB / best, 1),
                "peak_python_mb": round(max(s[1] for s in samples), 1),
            }
        result["put_speed_ratio_ours_vs_boto3"] = round(
            result["boto3_put"]["best_s"] / result["ours_put"]["best_s"], 2
        )
        result["get_speed_ratio_ours_vs_boto3"] = round(
            result["boto3_get"]["best_s"] / result["ours_get"]["best_s"], 2
        )
        return result
    finally:
        child.stop()
        shutil.rmtree(workdir, ignore_errors=True)
