"""The embedded SeaweedFS serves objects only through signed S3: not through its filer's HTTP
port (it answered anyone on the machine, staff-only originals included) nor its volume server
without a token signed by its master."""

from __future__ import annotations

import secrets
from pathlib import Path

import boto3
import httpx

from collection.stack import (
    WEED_PORT_NAMES,
    free_port,
    free_port_block,
    start_seaweedfs,
    weed_ports,
)
from collection.stack import weed_binary as find_weed


def test_objects_are_reachable_only_through_signed_s3(tmp_path: Path) -> None:
    ports = weed_ports(free_port_block(len(WEED_PORT_NAMES)))
    s3_port = free_port()
    access, secret = "KHO" + secrets.token_hex(4).upper(), secrets.token_urlsafe(24)
    child = start_seaweedfs(
        binary=find_weed(None),
        data_dir=tmp_path / "weed",
        s3_port=s3_port,
        internal_ports=ports,
        access_key=access,
        secret_key=secret,
        log_path=tmp_path / "weed.log",
    )
    child.stop_timeout = 3
    try:
        s3 = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{s3_port}",
            aws_access_key_id=access,
            aws_secret_access_key=secret,
            region_name="us-east-1",
        )
        s3.create_bucket(Bucket="kho")
        s3.put_object(Bucket="kho", Key="originals/mat.pdf", Body=b"%PDF staff only")
        assert s3.get_object(Bucket="kho", Key="originals/mat.pdf")["Body"].read() == (
            b"%PDF staff only"
        )
        unsigned = httpx.get(f"http://127.0.0.1:{s3_port}/kho/originals/mat.pdf")
        assert unsigned.status_code == 403
        try:
            filer = httpx.get(f"http://127.0.0.1:{ports['filer']}/buckets/kho/originals/mat.pdf")
            assert filer.status_code != 200 and b"staff only" not in filer.content
        except httpx.ConnectError:
            pass  # not even listening: better still
        # The volume server: a needle written as the filer writes it (with the master's write
        # token) cannot be read back without a read token.
        assigned = httpx.get(f"http://127.0.0.1:{ports['master']}/dir/assign")
        assign = assigned.json()
        url = f"http://{assign['url']}/{assign['fid']}"
        token = assigned.headers["authorization"]  # the master signs a write token
        written = httpx.post(
            url, files={"file": ("x", b"secret needle")}, headers={"Authorization": token}
        )
        assert written.status_code == 201, written.text
        assert httpx.post(url, files={"file": ("x", b"forged")}).status_code == 401
        read = httpx.get(url)
        assert read.status_code == 401 and b"secret needle" not in read.content
    finally:
        child.stop()
