"""The S3 adapter: the only module that imports boto3. botocore errors become ours here."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from collection.config import Settings
from collection.errors import InvalidInput, ObjectNotFound, StorageError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

CHUNK_SIZE = 1024 * 1024
# Multipart above 8 MiB, 8 MiB parts, two parts in flight: memory stays near 2 × 8 MiB whatever
# the file size (a 2 GB scan never sits in memory).
TRANSFER = TransferConfig(
    multipart_threshold=8 * 1024 * 1024,
    multipart_chunksize=8 * 1024 * 1024,
    max_concurrency=2,
    use_threads=True,
)
# boto3 buffers up to 10 parts of a non-seekable stream by default (80 MiB here): keep 2. It is an
# s3transfer setting that boto3's constructor does not take.
TRANSFER.max_in_memory_upload_chunks = 2
# Below botocore's pool of 10 connections, so no request waits for a connection.
PARALLEL_PUTS = 8
DELETE_BATCH = 1000  # the most keys one DeleteObjects request takes
_NOT_FOUND_CODES = {"NoSuchKey", "404", "NotFound"}


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    media_type: str
    etag: str
    last_modified: datetime | None = None


@dataclass(frozen=True)
class ListedObject:
    """One object as a bucket listing gives it (no media type: listings do not carry it)."""

    key: str
    size: int
    last_modified: datetime


class ObjectStore:
    """One bucket on an S3 server."""

    def __init__(
        self,
        *,
        endpoint_url: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        region: str = "us-east-1",
        presign_endpoint_url: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.bucket = bucket
        config = Config(
            s3={"addressing_style": "path"},
            signature_version="s3v4",
            connect_timeout=timeout,
            read_timeout=max(timeout, 60.0),
            retries={"max_attempts": 3, "mode": "standard"},
        )
        session = boto3.session.Session(
            aws_access_key_id=access_key, aws_secret_access_key=secret_key, region_name=region
        )
        self._client: S3Client = session.client("s3", endpoint_url=endpoint_url, config=config)
        # Health checks must answer fast when S3 is down, so they get their own impatient client.
        self._probe: S3Client = session.client(
            "s3",
            endpoint_url=endpoint_url,
            config=config.merge(
                Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 1})
            ),
        )
        self._presigner: S3Client = session.client(
            "s3", endpoint_url=presign_endpoint_url or endpoint_url, config=config
        )

    # --- bucket ------------------------------------------------------------------------------
    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist yet (safe to call at every start)."""
        try:
            self._client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            if _code(exc) not in _NOT_FOUND_CODES | {"NoSuchBucket"}:
                raise _translate(exc, self.bucket) from exc
        except BotoCoreError as exc:
            raise _translate(exc, self.bucket) from exc
        try:
            self._client.create_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if _code(exc) not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise _translate(exc, self.bucket) from exc

    def ping(self) -> None:
        """Raise StorageError unless the bucket answers within a few seconds."""
        try:
            self._probe.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, self.bucket) from exc

    # --- objects -----------------------------------------------------------------------------
    def put_stream(
        self,
        key: str,
        stream: IO[bytes],
        *,
        media_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
    ) -> None:
        """Store a file-like object under ``key``, streaming (multipart for large files)."""
        _check_key(key)
        extra: dict[str, Any] = {"ContentType": media_type}
        if metadata:
            extra["Metadata"] = metadata
        try:
            self._client.upload_fileobj(stream, self.bucket, key, ExtraArgs=extra, Config=TRANSFER)
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, key) from exc

    def put_bytes(
        self, key: str, data: bytes, *, media_type: str = "application/octet-stream"
    ) -> None:
        """Store a small object (a thumbnail, a tile) in one request."""
        _check_key(key)
        try:
            self._client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=media_type)
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, key) from exc

    def put_files(self, files: Iterable[tuple[str, Path]], *, media_type: str) -> int:
        """Store many small files (tiles) at once: one request each, several in flight, since
        each costs a round trip rather than bandwidth. Returns how many were stored."""
        pairs = list(files)
        for key, _ in pairs:
            _check_key(key)
        with ThreadPoolExecutor(max_workers=PARALLEL_PUTS) as pool:
            # list() so that the first failure is raised here, after the others have finished.
            list(
                pool.map(
                    lambda pair: self.put_bytes(
                        pair[0], pair[1].read_bytes(), media_type=media_type
                    ),
                    pairs,
                )
            )
        return len(pairs)

    def info(self, key: str) -> ObjectInfo:
        """Size, media type and ETag of the object; ObjectNotFound if there is none."""
        try:
            head = self._client.head_object(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, key) from exc
        return ObjectInfo(
            key=key,
            size=head["ContentLength"],
            media_type=head.get("ContentType", "application/octet-stream"),
            etag=head.get("ETag", "").strip('"'),
            last_modified=head.get("LastModified"),
        )

    def exists(self, key: str) -> bool:
        try:
            self.info(key)
        except ObjectNotFound:
            return False
        return True

    def open_stream(
        self, key: str, *, start: int | None = None, end: int | None = None
    ) -> Iterator[bytes]:
        """The object's bytes as chunks; ``start``/``end`` (inclusive) read only that range."""
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if start is not None or end is not None:
            if start is None or start < 0 or (end is not None and end < start):
                raise InvalidInput(
                    "Khoảng byte không hợp lệ.", message_en=f"bad byte range {start}-{end}"
                )
            kwargs["Range"] = f"bytes={start}-{'' if end is None else end}"
        try:
            body = self._client.get_object(**kwargs)["Body"]
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, key) from exc
        return _chunks(body, key)

    def open_with_info(self, key: str) -> tuple[ObjectInfo, Iterator[bytes]]:
        """The object's size, media type and ETag with its bytes as chunks, from one GET (a
        backup copying thousands of small objects saves a HEAD request on each)."""
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, key) from exc
        info = ObjectInfo(
            key=key,
            size=answer["ContentLength"],
            media_type=answer.get("ContentType", "application/octet-stream"),
            etag=answer.get("ETag", "").strip('"'),
            last_modified=answer.get("LastModified"),
        )
        return info, _chunks(answer["Body"], key)

    def read_into(self, key: str, buffer: bytearray) -> Iterator[memoryview]:
        """The object's bytes, read into ``buffer`` over and over: each view is valid until the
        next one is asked for. Nothing is allocated per chunk, so a reader that only looks at
        the bytes (a checksum) keeps up with S3. A short read raises StorageError."""
        try:
            body = self._client.get_object(Bucket=self.bucket, Key=key)["Body"]
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, key) from exc
        return _views(body, buffer, key)

    def get_bytes(self, key: str, *, start: int | None = None, end: int | None = None) -> bytes:
        return b"".join(self.open_stream(key, start=start, end=end))

    def list_etags(self, prefix: str = "") -> Iterator[tuple[str, int, str]]:
        """(key, size, ETag) of every object under ``prefix``, in key order: what a listing
        gives without a request per object (a backup compares ETags to skip what it has)."""
        paginator = self._client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    yield obj["Key"], obj.get("Size", 0), obj.get("ETag", "").strip('"')
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, prefix) from exc

    def delete(self, key: str) -> None:
        """Delete the object; deleting a missing key is not an error (S3 semantics)."""
        try:
            self._client.delete_object(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, key) from exc

    def delete_many(self, keys: Iterable[str]) -> int:
        """Delete these objects, up to DELETE_BATCH a request; missing keys are not an error.
        Returns how many were asked for."""
        pending: list[str] = []
        deleted = 0
        for key in keys:
            pending.append(key)
            if len(pending) == DELETE_BATCH:
                deleted += self._delete_batch(pending)
                pending = []
        if pending:
            deleted += self._delete_batch(pending)
        return deleted

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under ``prefix``; returns how many."""
        if not prefix:
            raise InvalidInput("Thiếu tiền tố khi xóa.", message_en="refusing to empty the bucket")
        return sum(self._delete_batch(keys) for keys in self._pages_of_keys(prefix))

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        for keys in self._pages_of_keys(prefix):
            yield from keys

    def list_objects(self, prefix: str = "") -> Iterator[ListedObject]:
        """Every object under ``prefix`` with its size and last change, in key order."""
        for page in self._pages(prefix):
            for obj in page:
                yield ListedObject(
                    key=obj["Key"], size=obj.get("Size", 0), last_modified=obj["LastModified"]
                )

    def presigned_get(
        self,
        key: str,
        *,
        expires_seconds: int = 300,
        download_name: str | None = None,
        media_type: str | None = None,
    ) -> str:
        """A time-limited GET URL for a browser (read-only by construction)."""
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if download_name:
            from urllib.parse import quote

            params["ResponseContentDisposition"] = (
                f"attachment; filename*=UTF-8''{quote(download_name)}"
            )
        if media_type:
            params["ResponseContentType"] = media_type
        return self._presigner.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=expires_seconds
        )

    def _pages(self, prefix: str) -> Iterator[list[Any]]:
        paginator = self._client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                contents = page.get("Contents", [])
                if contents:
                    yield list(contents)
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, prefix) from exc

    def _pages_of_keys(self, prefix: str) -> Iterator[list[str]]:
        for page in self._pages(prefix):
            yield [obj["Key"] for obj in page]

    def _delete_batch(self, keys: list[str]) -> int:
        try:
            answer = self._client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True},
            )
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, keys[0]) from exc
        # DeleteObjects answers 200 and lists the keys it could not delete: those are errors too.
        failed = [e for e in answer.get("Errors", []) if e.get("Code") not in _NOT_FOUND_CODES]
        if failed:
            raise StorageError(
                "Kho lưu trữ không xóa được tệp.",
                message_en=f"S3 refused to delete {len(failed)} objects, first "
                f"{failed[0].get('Key')!r}: {failed[0].get('Code')} {failed[0].get('Message')}",
            )
        return len(keys)


def _chunks(body: Any, key: str) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(CHUNK_SIZE)
    except BotoCoreError as exc:
        raise _translate(exc, key) from exc
    finally:
        body.close()


def _views(body: Any, buffer: bytearray, key: str) -> Iterator[memoryview]:
    view = memoryview(buffer)
    try:
        # botocore checks the length against Content-Length at the end of the body.
        while n := body.readinto(view):
            yield view[:n]
    except BotoCoreError as exc:
        raise _translate(exc, key) from exc
    finally:
        body.close()


def _check_key(key: str) -> None:
    if not key or key.startswith("/") or ".." in key.split("/") or len(key.encode()) > 1024:
        raise InvalidInput("Khóa lưu trữ không hợp lệ.", message_en=f"invalid storage key {key!r}")


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _translate(exc: Exception, key: str) -> Exception:
    if isinstance(exc, ClientError):
        code = _code(exc)
        if code in _NOT_FOUND_CODES:
            return ObjectNotFound(
                "Không tìm thấy tệp trong kho lưu trữ.", message_en=f"no object {key!r}"
            )
        if code == "InvalidRange":
            return InvalidInput("Khoảng byte vượt quá kích thước tệp.", message_en="invalid range")
        return StorageError(
            "Kho lưu trữ tệp báo lỗi.", message_en=f"S3 error {code} for {key!r}: {exc}"
        )
    return StorageError(
        "Không kết nối được kho lưu trữ tệp (S3).", message_en=f"S3 unreachable for {key!r}: {exc}"
    )


def store_for(settings: Settings) -> ObjectStore:
    """The object store the settings describe (one client per process and configuration)."""
    access_key, secret_key = settings.s3_credentials()
    return _cached_store(
        settings.s3_endpoint_url,
        access_key,
        secret_key,
        settings.s3_bucket,
        settings.s3_region,
        settings.s3_presign_endpoint_url,
    )


@lru_cache(maxsize=8)
def _cached_store(
    endpoint: str, access_key: str, secret_key: str, bucket: str, region: str, presign: str
) -> ObjectStore:
    return ObjectStore(
        endpoint_url=endpoint,
        access_key=access_key,
        secret_key=secret_key,
        bucket=bucket,
        region=region,
        presign_endpoint_url=presign,
    )
