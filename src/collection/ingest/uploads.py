"""Large uploads in chunks. Each chunk is stored in S3 as it arrives (so any web process can take
the next one, and a dropped connection loses at most one chunk); when the last is in, the chunks
are read back in order as one stream through ``receive_file``, like a one-piece upload."""

from __future__ import annotations

import io
from collections.abc import Iterator

from sqlalchemy.orm import Session

from collection.config import Settings
from collection.db import utcnow
from collection.errors import Conflict, InvalidInput, NotFound
from collection.ingest.schemas import ChunkedUploadOut, UploadOut
from collection.ingest.service import FileTooLarge, receive_file
from collection.models import ChunkedUpload, Item, User
from collection.preservation.hygiene import delete_after_commit, upload_prefix
from collection.storage import ObjectStore


def chunk_key(upload_id: int, index: int) -> str:
    return f"{upload_prefix(upload_id)}{index:06d}"


def chunk_count(upload: ChunkedUpload) -> int:
    return max(1, -(-upload.size // upload.chunk_size))


def expected_length(upload: ChunkedUpload, index: int) -> int:
    return min(upload.chunk_size, upload.size - index * upload.chunk_size)


def start_upload(
    *, session: Session, actor: User, settings: Settings, item_id: int, filename: str, size: int
) -> ChunkedUpload:
    """Announce a file of ``size`` bytes for an item; its chunks come next."""
    if session.get(Item, item_id) is None:
        raise NotFound(f"Không có tài liệu số {item_id}.", message_en=f"no item {item_id}")
    if size == 0:
        raise InvalidInput("Tệp rỗng (0 byte).", message_en="the file is empty")
    if size > settings.max_upload_mb * 1024 * 1024:
        raise FileTooLarge.over(settings.max_upload_mb)
    upload = ChunkedUpload(
        item_id=item_id,
        filename=filename,
        size=size,
        chunk_size=settings.upload_chunk_mb * 1024 * 1024,
        created_by_id=actor.id,
    )
    session.add(upload)
    session.flush()
    return upload


def get_upload(*, session: Session, upload_id: int) -> ChunkedUpload:
    upload = session.get(ChunkedUpload, upload_id)
    if upload is None:
        raise NotFound(
            f"Không có lượt tải lên số {upload_id}.", message_en=f"no upload {upload_id}"
        )
    return upload


def put_chunk(
    *, session: Session, store: ObjectStore, upload_id: int, index: int, data: bytes
) -> ChunkedUpload:
    """Store chunk ``index``. Chunks come in order; sending one again (after a lost answer)
    is harmless."""
    upload = get_upload(session=session, upload_id=upload_id)
    if upload.completed_at is not None:
        raise Conflict("Tệp này đã tải lên xong.", message_en="the upload is complete")
    if index > upload.chunks_done or index >= chunk_count(upload):
        raise Conflict(
            f"Phần {index + 1} đến trước phần {upload.chunks_done + 1}; hãy gửi tiếp từ phần "
            f"{upload.chunks_done + 1}.",
            message_en=f"expected chunk {upload.chunks_done}, got {index}",
        )
    expected = expected_length(upload, index)
    if len(data) != expected:
        raise InvalidInput(
            f"Phần {index + 1} của tệp phải dài {expected} byte, nhận được {len(data)}.",
            message_en=f"chunk {index} must be {expected} bytes, got {len(data)}",
        )
    store.put_bytes(chunk_key(upload.id, index), data)
    if index == upload.chunks_done:
        upload.chunks_done += 1
    return upload


def complete_upload(
    *,
    session: Session,
    actor: User,
    settings: Settings,
    store: ObjectStore,
    upload_id: int,
    link_duplicate: bool,
) -> UploadOut:
    """Put the chunks together as the item's new file and queue its ingest job. Asking again
    after it succeeded gives the same answer (the first answer may have been lost)."""
    upload = get_upload(session=session, upload_id=upload_id)
    if upload.completed_at is not None:
        return UploadOut.model_validate(upload.result)
    count = chunk_count(upload)
    if upload.chunks_done < count:
        raise Conflict(
            f"Mới nhận {upload.chunks_done}/{count} phần của tệp.",
            message_en=f"{upload.chunks_done} of {count} chunks received",
        )
    stream = io.BufferedReader(_ChunkStream(store, [chunk_key(upload.id, i) for i in range(count)]))
    result = receive_file(
        session=session,
        actor=actor,
        settings=settings,
        store=store,
        item_id=upload.item_id,
        filename=upload.filename,
        stream=stream,
        link_duplicate=link_duplicate,
    )
    upload.completed_at = utcnow()
    upload.job_id = result.job_id
    upload.result = result.model_dump()
    # Only once the file is committed: a rollback must leave the chunks to complete again.
    delete_after_commit(session, store, [], [upload_prefix(upload.id)])
    return result


def view(upload: ChunkedUpload) -> ChunkedUploadOut:
    done = upload.completed_at is not None
    return ChunkedUploadOut(
        id=upload.id,
        item_id=upload.item_id,
        filename=upload.filename,
        size=upload.size,
        chunk_size=upload.chunk_size,
        chunks_done=upload.chunks_done,
        received=min(upload.size, upload.chunks_done * upload.chunk_size),
        complete=done,
        result=UploadOut.model_validate(upload.result) if done else None,
    )


class _ChunkStream(io.RawIOBase):
    """The stored chunks, one after another, as one readable stream."""

    def __init__(self, store: ObjectStore, keys: list[str]) -> None:
        self._store = store
        self._keys = iter(keys)
        self._pieces: Iterator[bytes] = iter(())
        self._left = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._left:
            piece = next(self._pieces, None)
            if piece is None:
                key = next(self._keys, None)
                if key is None:
                    return 0
                self._pieces = self._store.open_stream(key)
                continue
            self._left = memoryview(piece)
        n = min(len(buffer), len(self._left))
        buffer[:n] = self._left[:n]
        self._left = self._left[n:]
        return n
