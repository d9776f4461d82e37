"""The ingest pipeline end to end: upload through the API, run the job, read pages, images,
the search index. Real S3, Meilisearch and Tesseract."""

from __future__ import annotations

import io
from typing import Any

import pymupdf
import pytest
from PIL import Image

from collection.config import Settings
from collection.ingest.pipeline import run_job
from collection.search import meili
from collection.storage import store_for
from tests import material
from tests.helpers import Api, new_item, upload


def ingest(api: Api, settings: Settings, item_id: int, name: str, data: bytes) -> dict[str, Any]:
    response = upload(api, item_id, name, data)
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    run_job(job_id, settings=settings)  # what a worker does with the queued task
    job = api("GET", f"/api/v1/jobs/{job_id}").json()
    return dict(job)


def test_item_contract(api: Api) -> None:
    response = api(
        "POST",
        "/api/v1/items",
        json={
            "title": "Thanh Hoá xưa và nay",  # old tone placement, NFD below
            "creator": ["Lê Văn A", "Trần Thị B"],
            "subject": "Lịch sử",
            "date": "1930–1945",
            "language": ["vi", "fr"],
            "access": "onsite",
            "description": "Tài liệu về Thanh Hóa".replace("ó", "o\u0301"),
        },
    )
    assert response.status_code == 201, response.text
    item = response.json()
    assert item["subject"] == ["Lịch sử"]
    assert item["year_start"] == 1930 and item["year_end"] == 1945
    assert item["status"] == "draft" and item["access"] == "onsite"
    assert item["description"] == "Tài liệu về Thanh Hóa"  # NFC
    for bad in [
        {"title": ""},
        {"title": "x", "date": "mùa xuân"},
        {"title": "x", "access": "all"},
        {"title": "x", "status": "withdrawn"},
        {"title": "x", "colour": "đỏ"},
    ]:
        refused = api("POST", "/api/v1/items", json=bad)
        assert refused.status_code == 422, bad
        assert refused.json()["message"].startswith("Dữ liệu gửi lên không hợp lệ")


def test_born_digital_pdf_becomes_pages_images_and_search(api: Api, settings: Settings) -> None:
    item_id = new_item(api)
    job = ingest(api, settings, item_id, "địa chí.pdf", material.born_digital_pdf())
    assert job["state"] == "done", job
    assert job["stages_done"] == ["extract", "ocr", "normalise", "index", "images", "pdf", "tiles"]
    pages = api("GET", f"/api/v1/items/{item_id}/pages").json()
    assert [p["number"] for p in pages] == [1, 2, 3]
    assert all(p["text_source"] == "embedded" for p in pages)
    assert "sông Mã" in pages[0]["text"]
    assert "trống đồng" in pages[1]["text"]
    assert all(p["has_image"] for p in pages)

    item = api("GET", f"/api/v1/items/{item_id}").json()
    assert item["files"][0]["media_type"] == "application/pdf"
    assert item["files"][0]["page_count"] == 3
    assert item["files"][0]["original_name"] == "địa chí.pdf"

    store = store_for(settings)
    image = Image.open(io.BytesIO(store.get_bytes(f"pages/{item_id}/00001.jpg")))
    thumb = Image.open(io.BytesIO(store.get_bytes(f"pages/{item_id}/00001-thumb.jpg")))
    assert max(image.size) == settings.page_image_px
    assert max(thumb.size) == settings.thumbnail_px

    engine = meili.engine_for(settings)
    engine.wait_for_idle()
    hits = engine.raw_search(
        "pages", "trong dong", filter=f"item_id = {item_id}", matchingStrategy="all"
    )
    assert [h["number"] for h in hits] == [2]


def test_scanned_pages_are_ocred_in_vietnamese(api: Api, settings: Settings) -> None:
    item_id = new_item(api, title="Báo Thanh Hóa")
    texts = ["Nghị quyết về phát triển văn hóa tỉnh Thanh Hóa", "Đường sắt Bắc Nam qua Bỉm Sơn"]
    job = ingest(api, settings, item_id, "bao.pdf", material.scanned_pdf(texts))
    assert job["state"] == "done", job
    pages = api("GET", f"/api/v1/items/{item_id}/pages").json()
    assert [p["text_source"] for p in pages] == ["ocr", "ocr"]
    assert "văn hóa" in pages[0]["text"] and "Thanh Hóa" in pages[0]["text"]
    assert "Đường sắt" in pages[1]["text"]

    # A searchable PDF is made for download, its text layer as readable as the OCR text.
    files = api("GET", f"/api/v1/items/{item_id}").json()["files"]
    derived = next(f for f in files if f["role"] == "searchable_pdf")
    assert derived["page_count"] == 2
    assert derived["original_name"] == "bao (tìm kiếm được).pdf"
    key = f"derived/{item_id}/{files[0]['id']}/searchable.pdf"
    with pymupdf.open(stream=store_for(settings).get_bytes(key), filetype="pdf") as pdf:
        layer = pdf[0].get_text()
    assert "văn hóa" in layer and "Thanh Hóa" in layer  # words kept apart, diacritics kept


def test_text_layers_in_old_vietnamese_encodings_become_unicode(
    api: Api, settings: Settings
) -> None:
    tcvn3 = "§Þa chÝ Thanh Ho¸ viÕt vÒ s«ng M· vµ v¨n ho¸ §«ng S¬n, trèng ®ång."
    vni = "Ñòa chí Thanh Hoùa vieát veà soâng Maõ vaø vaên hoùa Ñoâng Sôn, troáng ñoàng."
    item_id = new_item(api, title="Địa chí cũ")
    job = ingest(api, settings, item_id, "cu.pdf", material.born_digital_pdf([tcvn3, vni]))
    assert job["state"] == "done", job
    texts = [
        " ".join(p["text"].split()) for p in api("GET", f"/api/v1/items/{item_id}/pages").json()
    ]
    assert "Thanh Hoá viết về sông Mã và văn hoá Đông Sơn, trống đồng" in texts[0]
    assert "Thanh Hóa viết về sông Mã và văn hóa Đông Sơn, trống đồng" in texts[1]


def test_skewed_and_upside_down_scans_are_straightened_before_ocr(
    api: Api, settings: Settings
) -> None:
    text = "Lam Kinh là quê hương của Lê Lợi, người lãnh đạo khởi nghĩa Lam Sơn"
    page = material.scanned_image(text)
    skewed = material.noisy(page.rotate(2.5, expand=True, fillcolor=255))
    upside_down = page.rotate(180)
    item_id = new_item(api, title="Lam Kinh")
    job = ingest(
        api, settings, item_id, "lam-kinh.pdf", material.pdf_of_images([skewed, upside_down])
    )
    assert job["state"] == "done", job
    pages = api("GET", f"/api/v1/items/{item_id}/pages").json()
    for page_out in pages:
        assert "Lam Kinh" in page_out["text"] and "khởi nghĩa Lam Sơn" in page_out["text"], page_out


def test_images_tiff_cmyk_and_rotated_photo(api: Api, settings: Settings) -> None:
    tiff_item = new_item(api, title="Tờ rời")
    job = ingest(api, settings, tiff_item, "scan.tif", material.multipage_tiff(2))
    assert job["state"] == "done", job
    pages = api("GET", f"/api/v1/items/{tiff_item}/pages").json()
    assert [p["number"] for p in pages] == [1, 2]
    assert "Thanh Hóa" in pages[1]["text"]

    photo_item = new_item(api, title="Ảnh chụp")
    assert ingest(api, settings, photo_item, "anh.jpg", material.rotated_photo())["state"] == "done"
    shown = Image.open(io.BytesIO(store_for(settings).get_bytes(f"pages/{photo_item}/00001.jpg")))
    assert shown.height > shown.width  # turned upright as the EXIF orientation says

    cmyk_item = new_item(api, title="Áp phích")
    assert ingest(api, settings, cmyk_item, "cmyk.jpg", material.cmyk_jpeg())["state"] == "done"
    assert (
        Image.open(io.BytesIO(store_for(settings).get_bytes(f"pages/{cmyk_item}/00001.jpg"))).mode
        == "RGB"
    )


def test_comic_book_archive_of_page_scans(api: Api, settings: Settings) -> None:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for n in (1, 2):
            archive.writestr(
                f"trang-{n:02d}.png",
                material.png(material.scanned_image(f"Trang {n} tư liệu Nga Sơn")),
            )
    item_id = new_item(api, title="Tư liệu Nga Sơn")
    job = ingest(api, settings, item_id, "nga-son.cbz", out.getvalue())
    assert job["state"] == "done", job
    pages = api("GET", f"/api/v1/items/{item_id}/pages").json()
    assert [p["number"] for p in pages] == [1, 2]
    assert "Trang 2 tư liệu Nga Sơn" in pages[1]["text"]
    assert api("GET", f"/api/v1/items/{item_id}").json()["files"][0]["media_type"] == (
        "application/vnd.comicbook+zip"
    )


@pytest.mark.parametrize(
    ("name", "make", "media_type"),
    [
        ("dia-chi.epub", material.epub, "application/epub+zip"),
        ("dia-chi.xps", material.xps, "application/oxps"),
    ],
)
def test_ebooks_and_xps_documents_become_pages(
    api: Api, settings: Settings, name: str, make: Any, media_type: str
) -> None:
    """What MuPDF opens besides PDF: an EPUB laid out into pages, an XPS with its own pages."""
    item_id = new_item(api)
    job = ingest(api, settings, item_id, name, make())
    assert job["state"] == "done", job
    pages = api("GET", f"/api/v1/items/{item_id}/pages").json()
    assert len(pages) == 3
    assert all(p["text_source"] == "embedded" and p["has_image"] for p in pages)
    words = [" ".join(p["text"].split()) for p in pages]  # lines wrap where the layout puts them
    assert "sông Mã" in words[0] and "trống đồng" in words[1]
    assert api("GET", f"/api/v1/items/{item_id}").json()["files"][0]["media_type"] == media_type


def test_duplicate_upload_is_linked_not_stored_twice(api: Api, settings: Settings) -> None:
    data = material.born_digital_pdf(["Một trang duy nhất về Thanh Hóa và sông Mã."])
    first_item = new_item(api)
    first = upload(api, first_item, "a.pdf", data).json()
    again = upload(api, first_item, "a-copy.pdf", data).json()
    assert again["duplicate"] is True and again["job_id"] == first["job_id"]
    other_item = new_item(api, title="Bản sao")
    linked = upload(api, other_item, "b.pdf", data).json()
    assert linked["duplicate"] is True and linked["job_id"] != first["job_id"]
    keys = list(store_for(settings).list_keys(f"originals/{first['sha256'][:2]}/{first['sha256']}"))
    assert len(keys) == 1


@pytest.mark.parametrize(
    ("name", "data", "status", "words"),
    [
        ("rong.pdf", b"", 422, "rỗng"),
        ("rac.pdf", b"\x00\x01garbage bytes, not a PDF at all" * 50, 415, "PDF, JPEG, PNG, TIFF"),
        ("van-ban.txt", "Thanh Hóa".encode(), 415, "Chấp nhận"),
    ],
)
def test_bad_files_are_refused_at_upload(
    api: Api, name: str, data: bytes, status: int, words: str
) -> None:
    item_id = new_item(api)
    response = upload(api, item_id, name, data)
    assert response.status_code == status
    assert words in response.json()["message"]


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("khoa.pdf", material.encrypted_pdf(), "cần mật khẩu"),
        ("cut.pdf", material.born_digital_pdf()[:700], "hỏng"),
    ],
)
def test_unreadable_files_fail_their_job_clearly_and_keep_the_original(
    api: Api, settings: Settings, name: str, data: bytes, words: str
) -> None:
    item_id = new_item(api)
    response = upload(api, item_id, name, data)
    assert response.status_code == 202
    job_id = response.json()["job_id"]
    run_job(job_id, settings=settings)
    job = api("GET", f"/api/v1/jobs/{job_id}").json()
    assert job["state"] == "failed"
    assert words in job["error"]
    sha = response.json()["sha256"]
    assert store_for(settings).exists(f"originals/{sha[:2]}/{sha}")  # kept for staff


def test_rerun_ocr_with_other_languages(api: Api, settings: Settings) -> None:
    item_id = new_item(api)
    ingest(
        api,
        settings,
        item_id,
        "p.png",
        material.png(material.scanned_image("Thư viện tỉnh Thanh Hóa")),
    )
    rerun = api(
        "POST",
        f"/api/v1/items/{item_id}/rerun",
        json={"stages": ["ocr"], "ocr_languages": "vie+eng"},
    )
    assert rerun.status_code == 202, rerun.text
    [job] = rerun.json()
    assert job["stages_done"] == [
        "extract",
        "images",
        "tiles",
    ]  # OCR again, then its PDF, text, index
    run_job(job["id"], settings=settings)
    assert api("GET", f"/api/v1/jobs/{job['id']}").json()["state"] == "done"
    bad = api("POST", f"/api/v1/items/{item_id}/rerun", json={"stages": ["nấu cơm"]})
    assert bad.status_code == 422


def test_pages_get_iiif_zoom_tiles(api: Api, client: Any, settings: Settings) -> None:
    """A big scan is cut into static IIIF level-0 tiles that any IIIF viewer can read; drafts'
    tiles stay hidden from the public, and only the tiles listed in info.json exist."""
    scan = material.scanned_image("Bản đồ Thanh Hóa năm 1909", width=2600)
    public_id = new_item(api)
    draft_id = new_item(api, status="draft")
    for item_id in (public_id, draft_id):
        assert ingest(api, settings, item_id, "bản đồ.png", material.png(scan))["state"] == "done"

    info = client.get(f"/iiif/3/{public_id}-1/info.json")
    assert info.status_code == 200, info.text
    assert info.headers["content-type"].startswith("application/ld+json")
    document = info.json()
    # No public URL set and a Host that is not this machine: ids use the address we serve on.
    assert document["id"] == f"{settings.base_url}/iiif/3/{public_id}-1"
    local = client.get(
        f"/iiif/3/{public_id}-1/info.json", headers={"Host": "127.0.0.1:8123"}
    ).json()
    assert local["id"] == f"http://127.0.0.1:8123/iiif/3/{public_id}-1"
    forged = client.get(f"/iiif/3/{public_id}-1/info.json", headers={"Host": "evil.example"})
    assert "evil.example" not in forged.text
    assert document["profile"] == "level0" and document["type"] == "ImageService3"
    assert (document["width"], document["height"]) == scan.size
    tile_size = document["tiles"][0]["width"]
    assert tile_size == 1024 and document["tiles"][0]["scaleFactors"][:2] == [1, 2]
    assert document["maxWidth"] < document["width"]  # ``max`` is the page image

    # The top-left tile at full resolution.
    side = min(1024, scan.height)
    corner = client.get(f"/iiif/3/{public_id}-1/0,0,1024,{side}/1024,{side}/0/default.jpg")
    assert corner.status_code == 200 and corner.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(corner.content)).size == (1024, side)
    assert "public" in corner.headers["cache-control"]
    for missing in [
        "0,0,500,500/500,500/0/default.jpg",  # level 0: not a tile that was cut
        f"0,0,1024,{side}/1024,{side}/90/default.jpg",
        f"0,0,1024,{side}/1024,{side}/0/gray.jpg",
        "..%2F..%2Fpages/512,512/0/default.jpg",
    ]:
        assert client.get(f"/iiif/3/{public_id}-1/{missing}").status_code == 404, missing
    assert client.get(f"/iiif/3/{public_id}-2/info.json").status_code == 404

    # A page whose page image already shows all it has (an A4 born-digital page) gets no tiles:
    # its image service is its page image alone.
    small_id = new_item(api)
    assert ingest(api, settings, small_id, "a4.pdf", material.born_digital_pdf())["state"] == "done"
    small = client.get(f"/iiif/3/{small_id}-1/info.json").json()
    assert "tiles" not in small and small["sizes"] == [
        {"width": small["width"], "height": small["height"]}
    ]

    # The draft: nothing for the public, everything for staff.
    hidden = client.get(f"/iiif/3/{draft_id}-1/info.json")
    assert hidden.status_code == 404
    assert "tài liệu" in hidden.json()["message"]
    assert api("GET", f"/iiif/3/{draft_id}-1/info.json").status_code == 200
