"""Fixity throughput: `collection fixity --all` over N originals (SHA-256 of each, streamed, the
outcome recorded in the database) against reading the same objects with a plain S3 GET (boto3
`get_object` + `read()`, hashing nothing) on the same SeaweedFS server, in the same run.
Aim: fixity at ≥ 0.9× the plain GET's throughput. Rounds alternate which side goes first."""

from __future__ import annotations

import hashlib
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from collection import migrate
from collection.config import Settings
from collection.db import session_scope
from collection.ingest.service import original_key
from collection.models import Item, StoredFile
from collection.preservation import fixity
from collection.stack import WEED_PORT_NAMES, free_port, start_seaweedfs, weed_binary
from collection.storage import ObjectStore

MB = 1024 * 1024
OBJECTS = 24
OBJECT_MB = 16
ROUNDS = 3


def run() -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="kho-bench-fixity-"))
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
        settings = Settings(
            var_dir=workdir / "var",
            database_url=f"sqlite:///{workdir / 'bench.db'}",
            queue_url=f"sqlite:///{workdir / 'queue.db'}",
            s3_endpoint=endpoint,
            s3_access_key=access,
            s3_secret_key=secret,
            s3_bucket="bench",
        )
        migrate.upgrade(settings.sqlalchemy_url)
        store = ObjectStore(
            endpoint_url=endpoint, access_key=access, secret_key=secret, bucket="bench"
        )
        store.ensure_bucket()
        keys = []
        with session_scope(settings.sqlalchemy_url) as session:
            item = Item(title="Bench")
            session.add(item)
            session.flush()
            for n in range(OBJECTS):
                data = secrets.token_bytes(OBJECT_MB * MB)
                sha = hashlib.sha256(data).hexdigest()
                key = original_key(sha)
                store.put_bytes(key, data)
                keys.append(key)
                session.add(
                    StoredFile(
                        item_id=item.id,
                        storage_key=key,
                        original_name=f"{n}.bin",
                        media_type="application/octet-stream",
                        size=len(data),
                        sha256=sha,
                    )
                )
        plain = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=access,
            aws_secret_access_key=secret,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}),
        )

        def plain_get() -> float:
            started = time.perf_counter()
            for key in keys:
                plain.get_object(Bucket="bench", Key=key)["Body"].read()
            return time.perf_counter() - started

        def ours() -> float:
            started = time.perf_counter()
            summary = fixity.run(settings, store, everything=True)
            elapsed = time.perf_counter() - started
            assert summary.checked == OBJECTS and summary.outcomes["ok"] == OBJECTS, summary
            return elapsed

        times: dict[str, list[float]] = {"fixity": [], "plain_get": []}
        for round_ in range(ROUNDS):
            order = [("fixity", ours), ("plain_get", plain_get)]
            for name, action in order if round_ % 2 == 0 else order[::-1]:
                times[name].append(action())
        total_mb = OBJECTS * OBJECT_MB
        result: dict[str, Any] = {"objects": OBJECTS, "object_mb": OBJECT_MB, "rounds": ROUNDS}
        for name, samples in times.items():
            best = min(samples)
            result[name] = {
                "best_s": round(best, 3),
                "mb_per_s": round(total_mb / best, 1),
                "all_s": [round(s, 3) for s in samples],
            }
        result["throughput_ratio_fixity_vs_plain_get"] = round(
            min(times["plain_get"]) / min(times["fixity"]), 2
        )
        return result
    finally:
        child.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    import json
    import sys

    json.dump(run(), sys.stdout, indent=2)
    sys.stdout.write("\n")
