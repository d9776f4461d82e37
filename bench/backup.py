"""Backup and restore of a 1,000-page collection (`collection backup` / `collection restore`).

The collection is made directly, as the ingest would have left it but without running OCR:
BENCH_BACKUP_ITEMS items (50) of BENCH_BACKUP_PAGES pages (20), each with a born-digital PDF
original, page rows with Vietnamese text, and per page a 1600 px JPEG page image and a 300 px
thumbnail (every one different: equal bytes would be stored once by the backup). No IIIF tiles.
Measured on one SeaweedFS and one Meilisearch started here:

1. a first backup into an empty folder (database, every object hashed and copied, search settings);
2. a second backup with nothing changed (the nightly case: a listing and no object read);
3. a backup after one more 20-page item (only its objects copied);
4. restore into a fresh instance (another bucket, index prefix and database: what `make run` makes
   on an empty var/), objects checked against their SHA-256, migrate, reindex.

Reported: seconds, objects and MB copied, and the backup folder's size on disk against the
bucket's bytes. Baseline for the copy rate: the same objects read with a plain S3 GET each
(boto3 `get_object` + `read()`, nothing hashed or written), in the same run.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import secrets
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pymupdf
from botocore.config import Config
from PIL import Image, ImageDraw, ImageFont

from collection import bootstrap
from collection.config import PROJECT_ROOT, Settings
from collection.db import engine_for, session_scope
from collection.ingest.service import original_key
from collection.models import Item, ItemStatus, Page, StoredFile, TextSource
from collection.preservation import backup as backups
from collection.stack import (
    WEED_PORT_NAMES,
    Child,
    free_port,
    free_port_block,
    start_meilisearch,
    start_seaweedfs,
    weed_binary,
    weed_ports,
)
from collection.storage import ObjectStore, store_for

SANS = Path("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf")
MEILI_BINARY = PROJECT_ROOT / "var" / "bin" / "meilisearch"
MB = 1024 * 1024
WORDS = [
    "Thanh",
    "Hóa",
    "sông",
    "Mã",
    "trống",
    "đồng",
    "Đông",
    "Sơn",
    "Hàm",
    "Rồng",
    "Lam",
    "Kinh",
    "Bỉm",
    "Sơn",
    "Hoằng",
    "Hóa",
    "làng",
    "nghề",
    "lễ",
    "hội",
    "văn",
    "hóa",
    "lịch",
    "sử",
    "địa",
    "chí",
    "gia",
    "phả",
    "sắc",
    "phong",
    "đình",
    "chùa",
    "ruộng",
    "lúa",
    "cửa",
    "biển",
    "Sầm",
    "Sơn",
]


def _log(message: str) -> None:
    print(f"[bench.backup] {message}", file=sys.stderr, flush=True)


def _text(rng: random.Random, words: int = 60) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)) + "."


def _pdf(texts: list[str]) -> bytes:
    document = pymupdf.open()
    for text in texts:
        page = document.new_page(width=420, height=595)
        page.insert_font(fontname="noto", fontfile=str(SANS))
        page.insert_textbox(pymupdf.Rect(40, 40, 380, 555), text, fontname="noto", fontsize=11)
    data: bytes = document.tobytes()
    document.close()
    return data


class _Pages:
    """Page images: a speckled paper background drawn once, each page's own text on it."""

    def __init__(self, rng: random.Random) -> None:
        noise = Image.frombytes("L", (1131, 1600), rng.randbytes(1131 * 1600))
        paper = Image.new("L", (1131, 1600), 238)
        self.background = Image.blend(paper, noise, 0.12)
        self.font = ImageFont.truetype(str(SANS), 30)

    def jpeg(self, text: str, size: int | None = None) -> bytes:
        image = self.background.copy()
        draw = ImageDraw.Draw(image)
        line, y = "", 80
        for word in text.split():
            if len(line) + len(word) > 60:
                draw.text((80, y), line, font=self.font, fill=20)
                line, y = "", y + 46
            line = f"{line} {word}".strip()
        draw.text((80, y), line, font=self.font, fill=20)
        if size:
            image.thumbnail((size, size))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=80)
        return out.getvalue()


def add_items(settings: Settings, store: ObjectStore, *, items: int, pages: int, seed: int) -> int:
    """Items as the ingest leaves them (original, pages with text, page images, thumbnails)."""
    rng = random.Random(seed)
    renderer = _Pages(rng)
    with session_scope(settings.sqlalchemy_url) as session:
        for _ in range(items):
            texts = [_text(rng) for _ in range(pages)]
            original = _pdf(texts)
            sha256 = hashlib.sha256(original).hexdigest()
            key = original_key(sha256)
            store.put_bytes(key, original, media_type="application/pdf")
            item = Item(
                title=f"Địa chí {rng.choice(WORDS)} {rng.randint(1, 10_000)}",
                creator=["Nhiều tác giả"],
                date=str(rng.randint(1900, 2024)),
                status=ItemStatus.PUBLISHED,
            )
            session.add(item)
            session.flush()
            stored = StoredFile(
                item_id=item.id,
                role="original",
                storage_key=key,
                original_name=f"dia-chi-{item.id}.pdf",
                media_type="application/pdf",
                size=len(original),
                sha256=sha256,
                page_count=pages,
            )
            session.add(stored)
            session.flush()

            def put(
                number: int, item_id: int = item.id, texts: list[str] = texts
            ) -> tuple[str, str]:
                text = texts[number - 1]
                image, thumb = (
                    f"pages/{item_id}/{number:05d}.jpg",
                    f"pages/{item_id}/{number:05d}-thumb.jpg",
                )
                store.put_bytes(image, renderer.jpeg(text), media_type="image/jpeg")
                store.put_bytes(thumb, renderer.jpeg(text, 300), media_type="image/jpeg")
                return image, thumb

            with ThreadPoolExecutor(max_workers=4) as pool:
                keys = list(pool.map(put, range(1, pages + 1)))
            for number, (image, thumb) in enumerate(keys, start=1):
                session.add(
                    Page(
                        item_id=item.id,
                        file_id=stored.id,
                        number=number,
                        text=texts[number - 1],
                        text_source=TextSource.EMBEDDED,
                        image_key=image,
                        thumbnail_key=thumb,
                        width=1131,
                        height=1600,
                    )
                )
    return items * pages


def _du(path: Path) -> int:
    return sum(p.stat().st_blocks * 512 for p in path.rglob("*") if p.is_file())


def _plain_get_rate(endpoint: str, access: str, secret: str, bucket: str) -> dict[str, float]:
    """Every object read with a plain GET, 8 at a time as the backup does: the copy's ceiling."""
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
    )
    keys = [
        obj["Key"]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for obj in page.get("Contents", [])
    ]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=backups.PARALLEL) as pool:
        total = sum(
            pool.map(lambda k: len(client.get_object(Bucket=bucket, Key=k)["Body"].read()), keys)
        )
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "mb_per_s": round(total / MB / seconds, 1)}


def run() -> dict[str, Any]:
    items = int(os.environ.get("BENCH_BACKUP_ITEMS", "50"))
    pages = int(os.environ.get("BENCH_BACKUP_PAGES", "20"))
    workdir = Path(tempfile.mkdtemp(prefix="kho-bench-backup-"))
    access, secret = "BENCH" + secrets.token_hex(4).upper(), secrets.token_urlsafe(24)
    s3_port, meili_port, meili_key = free_port(), free_port(), secrets.token_urlsafe(24)
    children: list[Child] = []
    try:
        _log("starting SeaweedFS and Meilisearch")
        children.append(
            start_seaweedfs(
                binary=weed_binary(None),
                data_dir=workdir / "weed",
                s3_port=s3_port,
                internal_ports=weed_ports(free_port_block(len(WEED_PORT_NAMES))),
                access_key=access,
                secret_key=secret,
                log_path=workdir / "log" / "weed.log",
            )
        )
        children[-1].stop_timeout = 3
        children.append(
            start_meilisearch(
                binary=MEILI_BINARY,
                data_dir=workdir / "meili",
                port=meili_port,
                master_key=meili_key,
                log_path=workdir / "log" / "meili.log",
            )
        )
        endpoint = f"http://127.0.0.1:{s3_port}"
        common: dict[str, Any] = dict(
            queue_url=f"sqlite:///{workdir / 'queue.db'}",
            s3_endpoint=endpoint,
            s3_access_key=access,
            s3_secret_key=secret,
            meili_url=f"http://127.0.0.1:{meili_port}",
            meili_master_key=meili_key,
            secret_key=secrets.token_urlsafe(32),
            startup_timeout=30,
        )
        source = Settings(
            var_dir=workdir / "source",
            database_url=f"sqlite:///{workdir / 'source.db'}",
            s3_bucket="bench-source",
            meili_index_prefix="src",
            **common,
        )
        target = Settings(
            var_dir=workdir / "target",
            database_url=f"sqlite:///{workdir / 'target.db'}",
            s3_bucket="bench-target",
            meili_index_prefix="dst",
            **common,
        )
        return _run(source, target, workdir, items=items, pages=pages)
    finally:
        for child in reversed(children):
            child.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _run(
    source: Settings, target: Settings, workdir: Path, *, items: int, pages: int
) -> dict[str, Any]:
    bootstrap.prepare(source)
    bootstrap.ensure_first_admin(source)
    store = store_for(source)
    _log(f"making {items} items × {pages} pages")
    made = time.perf_counter()
    total_pages = add_items(source, store, items=items, pages=pages, seed=7)
    _log(f"made in {time.perf_counter() - made:.1f} s; indexing")
    from collection.search import meili
    from collection.search.service import rebuild_index

    with session_scope(source.sqlalchemy_url) as session:
        rebuild_index(session=session, engine=meili.engine_for(source))
    with session_scope(source.sqlalchemy_url) as session:
        assert session.query(Page).count() == total_pages
    folder = workdir / "backup"

    def timed_backup() -> tuple[backups.BackupResult, float]:
        started = time.perf_counter()
        result = backups.backup(source, store, folder)
        return result, time.perf_counter() - started

    _log("first backup")
    first, first_s = timed_backup()
    folder_bytes = _du(folder)
    _log("second backup, nothing changed")
    second, second_s = timed_backup()
    add_items(source, store, items=1, pages=pages, seed=8)
    _log("third backup, one item more")
    third, third_s = timed_backup()
    baseline = _plain_get_rate(
        source.s3_endpoint_url,
        str(source.s3_access_key),
        str(source.s3_secret_key),
        source.s3_bucket,
    )

    _log("restore into a fresh instance")
    bootstrap.prepare(target)
    bootstrap.ensure_first_admin(target)
    started = time.perf_counter()
    restored = backups.restore(target, store_for(target), folder)
    restore_s = time.perf_counter() - started
    engine_for(target.sqlalchemy_url).dispose()

    def mb(value: int) -> float:
        return round(value / MB, 1)

    return {
        "collection": {
            "items": items,
            "pages": total_pages,
            "objects": first.objects,
            "bucket_mb": mb(first.bytes),
            "database_mb": mb(first.database_bytes),
        },
        "first_backup": {
            "seconds": round(first_s, 2),
            "objects_copied": first.copied,
            "mb_copied": mb(first.copied_bytes),
            "mb_per_s": round(first.copied_bytes / MB / first_s, 1),
            "folder_mb_on_disk": mb(folder_bytes),
        },
        "plain_get_of_every_object": baseline,
        "nothing_changed_backup": {
            "seconds": round(second_s, 2),
            "objects_copied": second.copied,
            "objects_unchanged": second.skipped,
        },
        "one_item_more_backup": {
            "seconds": round(third_s, 2),
            "objects_copied": third.copied,
            "mb_copied": mb(third.copied_bytes),
        },
        "restore": {
            "seconds": round(restore_s, 2),
            "objects": restored.objects,
            "mb": mb(restored.bytes),
            "items_reindexed": restored.reindexed.get("items", 0),
            "pages_reindexed": restored.reindexed.get("pages", 0),
        },
    }
