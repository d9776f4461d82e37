"""The S3 adapter against a real SeaweedFS server."""

from __future__ import annotations

import hashlib
import io
import secrets
import tracemalloc

import httpx
import pytest

from collection.config import Settings
from collection.errors import InvalidInput, ObjectNotFound, StorageError
from collection.storage import ObjectStore, store_for

MB = 1024 * 1024


class GeneratedStream(io.RawIOBase):
    """A large file that never exists in memory: pseudo-random bytes made as they are read."""

    def __init__(self, size: int, seed: bytes = b"kho") -> None:
        self.remaining = size
        self.digest = hashlib.sha256()
        self._block = hashlib.sha256(seed).digest() * 2048  # 64 KiB pattern, varied per block
        self._counter = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self.remaining, len(self._block))
        if n <= 0:
            return 0
        self._counter += 1
        chunk = self._counter.to_bytes(8, "big") + self._block[8:n]
        chunk = chunk[:n]
        buffer[:n] = chunk
        self.digest.update(chunk)
        self.remaining -= n
        return n


def key() -> str:
    return f"tests/{secrets.token_hex(6)}/đường dẫn tiếng Việt.bin"


def test_50_mb_round_trip_streams_with_flat_memory(settings: Settings) -> None:
    store = store_for(settings)
    k = key()
    source = io.BufferedReader(GeneratedStream(50 * MB), buffer_size=MB)

    tracemalloc.start()
    store.put_stream(k, source, media_type="application/pdf")
    _, upload_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert store.info(k).size == 50 * MB
    assert store.info(k).media_type == "application/pdf"

    tracemalloc.start()
    downloaded = hashlib.sha256()
    size = 0
    for chunk in store.open_stream(k):
        downloaded.update(chunk)
        size += len(chunk)
    _, download_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert size == 50 * MB
    assert downloaded.hexdigest() == source.raw.digest.hexdigest()
    # Two 8 MiB parts in flight on the way up, 1 MiB chunks on the way down: far below 50 MB.
    assert upload_peak < 30 * MB, f"upload held {upload_peak / MB:.1f} MB"
    assert download_peak < 8 * MB, f"download held {download_peak / MB:.1f} MB"
    store.delete(k)
    assert not store.exists(k)


def test_ranged_reads(settings: Settings) -> None:
    store = store_for(settings)
    k = key()
    data = bytes(range(256)) * 40
    store.put_bytes(k, data)
    assert store.get_bytes(k, start=10, end=19) == data[10:20]
    assert store.get_bytes(k, start=len(data) - 5) == data[-5:]
    assert store.get_bytes(k, start=0, end=0) == data[:1]
    with pytest.raises(InvalidInput):
        store.get_bytes(k, start=20, end=10)
    with pytest.raises(InvalidInput):
        store.get_bytes(k, start=len(data) + 100)


def test_missing_key_is_our_not_found(settings: Settings) -> None:
    store = store_for(settings)
    missing = key()
    with pytest.raises(ObjectNotFound):
        store.get_bytes(missing)
    with pytest.raises(ObjectNotFound):
        store.info(missing)
    assert store.exists(missing) is False
    store.delete(missing)  # deleting what is not there is not an error


def test_keys_that_escape_are_refused(settings: Settings) -> None:
    store = store_for(settings)
    for bad in ["", "/abs", "a/../b", "x" * 1100]:
        with pytest.raises(InvalidInput):
            store.put_bytes(bad, b"x")


def test_presigned_get_is_read_only_and_anonymous_access_refused(settings: Settings) -> None:
    store = store_for(settings)
    k = key()
    store.put_bytes(k, "Thanh Hóa".encode(), media_type="text/plain; charset=utf-8")
    url = store.presigned_get(k, expires_seconds=60, download_name="Thanh Hóa.txt")
    got = httpx.get(url)
    assert got.status_code == 200
    assert got.content == "Thanh Hóa".encode()
    assert "attachment" in got.headers["content-disposition"]
    # The same URL cannot write, and the bucket is not open without a signature.
    assert httpx.put(url, content=b"overwrite").status_code in (400, 403)
    plain = f"{settings.s3_endpoint_url}/{settings.s3_bucket}/{k}"
    assert httpx.get(plain).status_code == 403
    assert store.get_bytes(k) == "Thanh Hóa".encode()


def test_prefix_listing_and_delete(settings: Settings) -> None:
    store = store_for(settings)
    prefix = f"tests/{secrets.token_hex(6)}/"
    for i in range(5):
        store.put_bytes(f"{prefix}tile-{i}.jpg", b"x" * i)
    assert sorted(store.list_keys(prefix)) == [f"{prefix}tile-{i}.jpg" for i in range(5)]
    assert store.delete_prefix(prefix) == 5
    assert list(store.list_keys(prefix)) == []


def test_wrong_credentials_and_unreachable_server_are_storage_errors(settings: Settings) -> None:
    wrong = ObjectStore(
        endpoint_url=settings.s3_endpoint_url,
        access_key=settings.s3_credentials()[0],
        secret_key="not-the-secret",
        bucket=settings.s3_bucket,
    )
    with pytest.raises(StorageError):
        wrong.put_bytes("tests/x", b"x")
    from collection.stack import free_port

    down = ObjectStore(
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        access_key="a",
        secret_key="b",
        bucket="kho",
        timeout=1,
    )
    with pytest.raises(StorageError):
        down.ping()
