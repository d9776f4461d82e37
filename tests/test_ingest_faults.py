"""Faults during ingest: hostile files, and backing services going away mid-job."""

from __future__ import annotations

import io
import struct
import zlib

import pymupdf
import pytest
from PIL import Image

from collection.config import Settings
from collection.errors import ServiceUnavailable
from collection.ingest.pipeline import run_job
from collection.stack import free_port
from tests import material
from tests.helpers import Api, new_item, upload


def _png_bomb(width: int, height: int) -> bytes:
    """A tiny PNG that claims width × height pixels of one colour (compresses to almost nothing)."""
    raw = zlib.compress(b"\x00" * (width + 1) * 64, 9)  # only a few rows: the header is the bomb

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def _job(api: Api, settings: Settings, name: str, data: bytes) -> dict[str, object]:
    item_id = new_item(api)
    response = upload(api, item_id, name, data)
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    run_job(job_id, settings=settings)
    return dict(api("GET", f"/api/v1/jobs/{job_id}").json())


def test_decompression_bomb_fails_the_job_not_the_worker(api: Api, settings: Settings) -> None:
    job = _job(api, settings, "bom.png", _png_bomb(40_000, 40_000))  # 1.6 gigapixels
    assert job["state"] == "failed"
    assert "quá lớn" in str(job["error"])


def test_a_200_megapixel_tiff_is_processed_within_the_memory_limit(
    api: Api, settings: Settings
) -> None:
    big = Image.new("L", (16_000, 12_500), 255)  # 200 MP, as a large newspaper scan
    out = io.BytesIO()
    big.save(out, "TIFF", compression="tiff_lzw")
    del big
    job = _job(api, settings, "bao-lon.tif", out.getvalue())
    assert job["state"] == "done", (
        job["stage"],
        job["error"],
    )  # 200 MP decodes within the parser's 2 GB limit


def test_a_pdf_over_the_page_limit_is_refused_clearly(api: Api, settings: Settings) -> None:
    document = pymupdf.open()
    for _ in range(60):
        document.new_page()
    # The same path as a 5,000-page file against the default limit, at a fraction of the cost.
    limited = settings.model_copy(update={"max_pages": 50})
    job = _job(api, limited, "dai.pdf", document.tobytes())
    assert job["state"] == "failed"
    assert "60 trang, vượt giới hạn 50 trang" in str(job["error"])


def test_search_down_during_a_job_waits_and_resumes_at_the_index_stage(
    api: Api, settings: Settings
) -> None:
    item_id = new_item(api)
    job_id = upload(api, item_id, "a.pdf", material.born_digital_pdf(material.PAGES[:1])).json()[
        "job_id"
    ]
    down = settings.model_copy(update={"meili_url": f"http://127.0.0.1:{free_port()}"})
    with pytest.raises(ServiceUnavailable):
        run_job(job_id, settings=down)  # raised so the queue retries it later
    job = api("GET", f"/api/v1/jobs/{job_id}").json()
    assert job["state"] == "queued"
    assert job["stages_done"] == ["extract", "ocr", "normalise"]
    assert "Đang chờ dịch vụ" in job["error"]
    run_job(job_id, settings=settings)
    job = api("GET", f"/api/v1/jobs/{job_id}").json()
    assert job["state"] == "done" and job["error"] is None and job["attempts"] == 2


def test_storage_down_during_a_job_waits(api: Api, settings: Settings) -> None:
    item_id = new_item(api)
    job_id = upload(api, item_id, "b.pdf", material.born_digital_pdf(material.PAGES[1:2])).json()[
        "job_id"
    ]
    down = settings.model_copy(update={"s3_endpoint": f"http://127.0.0.1:{free_port()}"})
    with pytest.raises(ServiceUnavailable):
        run_job(job_id, settings=down)
    assert api("GET", f"/api/v1/jobs/{job_id}").json()["state"] == "queued"
    run_job(job_id, settings=settings)
    assert api("GET", f"/api/v1/jobs/{job_id}").json()["state"] == "done"
