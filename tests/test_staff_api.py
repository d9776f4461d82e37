"""The staff API as cataloguers and admins use it: resumable uploads, jobs and retries, re-running
OCR on chosen pages, OCR corrections, collections, the place list, the audit log, accounts,
access points, and who may call what. Real services, no mocks."""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import pymupdf
import pytest
from fastapi import FastAPI, routing
from fastapi.testclient import TestClient

from collection.app import create_app
from collection.config import Settings
from collection.ingest.pipeline import run_job
from collection.models import Role
from collection.reports.template import TEMPLATE
from collection.storage import store_for
from tests import material
from tests.helpers import (
    PASSWORD,
    Api,
    add_pages,
    login,
    make_token,
    make_user,
    new_item,
    run_search_tasks,
    upload,
)

MiB = 1024 * 1024
ADMIN = "quan.tri@thuvien.vn"
CATALOGUER = "bien.muc@thuvien.vn"
HOST_ORIGIN = "https://thuvien-thoxuan.example.vn"
BROWSER = {"User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/109.0.0.0"}


def bearer(settings: Settings, email: str, role: Role) -> dict[str, str]:
    make_user(settings, email, role)
    return {"Authorization": f"Bearer {make_token(settings, email)}"}


def caller(client: TestClient, headers: dict[str, str]) -> Api:
    def call(method: str, path: str, **kwargs: Any) -> httpx.Response:
        extra = kwargs.pop("headers", {})
        response: httpx.Response = client.request(
            method, path, headers={**headers, **extra}, **kwargs
        )
        return response

    return call


def big_pdf() -> bytes:
    """The three born-digital pages of tests/material with 2.4 MB of appendix bytes attached
    (an embedded file): a valid PDF between 2 and 3 MiB, so three 1 MiB chunks."""
    document = pymupdf.open(stream=material.born_digital_pdf(), filetype="pdf")
    document.embfile_add("phu-luc.bin", random.Random(5).randbytes(2_400_000))
    data: bytes = document.tobytes()
    document.close()
    assert 2 * MiB < len(data) < 3 * MiB
    return data


def one_page_pdf(text: str = "Một trang duy nhất về sông Mã ở Thanh Hóa.") -> bytes:
    return material.born_digital_pdf([text])


def put_chunk(api: Api, upload_id: int, index: int, data: bytes) -> httpx.Response:
    return api(
        "PUT",
        f"/api/v1/uploads/{upload_id}/chunks/{index}",
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )


def job_of(api: Api, job_id: int) -> dict[str, Any]:
    response = api("GET", f"/api/v1/jobs/{job_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def pages_of(api: Api, item_id: int) -> list[dict[str, Any]]:
    response = api("GET", f"/api/v1/items/{item_id}/pages")
    assert response.status_code == 200, response.text
    return list(response.json())


@dataclass(frozen=True)
class SmallChunks:
    settings: Settings
    client: TestClient
    api: Api


@pytest.fixture
def small_chunks(settings: Settings) -> Iterator[SmallChunks]:
    """An app whose resumable uploads come in 1 MiB chunks, and a cataloguer calling it."""
    small = settings.model_copy(update={"upload_chunk_mb": 1})
    with TestClient(create_app(small), base_url="http://testserver") as client:
        api = caller(client, bearer(small, CATALOGUER, Role.CATALOGUER))
        yield SmallChunks(small, client, api)


# --- resumable uploads, rerun of chosen pages, OCR corrections ---------------------------------


def test_resumable_upload_survives_a_drop_then_pages_are_reocred_and_corrected(
    small_chunks: SmallChunks,
) -> None:
    settings, api = small_chunks.settings, small_chunks.api
    data = big_pdf()
    pieces = [data[i : i + MiB] for i in range(0, len(data), MiB)]
    assert len(pieces) == 3
    item_id = new_item(api, title="Địa chí Thanh Hóa (bản quét lớn)")

    started = api(
        "POST",
        f"/api/v1/items/{item_id}/uploads",
        json={"filename": "địa chí.pdf", "size": len(data)},
    )
    assert started.status_code == 201, started.text
    upload_id = started.json()["id"]
    assert started.json() | {"id": 0} == {
        "id": 0,
        "item_id": item_id,
        "filename": "địa chí.pdf",
        "size": len(data),
        "chunk_size": MiB,
        "chunks_done": 0,
        "received": 0,
        "complete": False,
        "result": None,
    }

    assert put_chunk(api, upload_id, 0, pieces[0]).status_code == 200
    # The connection drops in the middle of the second chunk: only part of it arrives.
    cut = put_chunk(api, upload_id, 1, pieces[1][: MiB // 3])
    assert cut.status_code == 422
    assert f"phải dài {MiB} byte" in cut.json()["message"]
    # The browser comes back and asks where to resume.
    state = api("GET", f"/api/v1/uploads/{upload_id}").json()
    assert (state["chunks_done"], state["received"], state["complete"]) == (1, MiB, False)
    early = api("POST", f"/api/v1/uploads/{upload_id}/complete", json={})
    assert early.status_code == 409
    assert "1/3" in early.json()["message"]
    skipped = put_chunk(api, upload_id, 2, pieces[2])
    assert skipped.status_code == 409
    assert "gửi tiếp từ phần 2" in skipped.json()["message"]

    assert put_chunk(api, upload_id, 1, pieces[1]).json()["chunks_done"] == 2
    again = put_chunk(api, upload_id, 1, pieces[1])  # its answer was lost: sent again
    assert again.status_code == 200 and again.json()["chunks_done"] == 2
    last = put_chunk(api, upload_id, 2, pieces[2])
    assert last.status_code == 200, last.text
    assert (last.json()["chunks_done"], last.json()["received"]) == (3, len(data))
    assert put_chunk(api, upload_id, 3, b"x").status_code == 409  # past the end
    assert put_chunk(api, upload_id, -1, pieces[0]).status_code == 422  # no such chunk

    done = api("POST", f"/api/v1/uploads/{upload_id}/complete", json={})
    assert done.status_code == 202, done.text
    result = done.json()
    assert result["sha256"] == hashlib.sha256(data).hexdigest()
    assert (result["size"], result["media_type"], result["duplicate"]) == (
        len(data),
        "application/pdf",
        False,
    )
    # The answer was lost: asking again gives the same one, without a second file or job.
    repeat = api("POST", f"/api/v1/uploads/{upload_id}/complete", json={})
    assert (repeat.status_code, repeat.json()) == (202, result)
    finished = api("GET", f"/api/v1/uploads/{upload_id}").json()
    assert finished["complete"] is True and finished["result"] == result
    assert put_chunk(api, upload_id, 2, pieces[2]).status_code == 409
    store = store_for(settings)
    assert store.get_bytes(f"originals/{result['sha256'][:2]}/{result['sha256']}") == data
    assert list(store.list_keys(f"uploads/{upload_id}/")) == []  # chunks cleaned up

    run_job(result["job_id"], settings=settings)
    assert job_of(api, result["job_id"])["state"] == "done"
    files = api("GET", f"/api/v1/items/{item_id}").json()["files"]
    assert [(f["original_name"], f["size"]) for f in files] == [("địa chí.pdf", len(data))]
    pages = pages_of(api, item_id)
    assert [(p["number"], p["text_source"]) for p in pages] == [
        (1, "embedded"),
        (2, "embedded"),
        (3, "embedded"),
    ]

    # OCR page 2 again (its text layer may be bad), in Vietnamese and English.
    missing = api(
        "POST", f"/api/v1/items/{item_id}/rerun", json={"stages": ["ocr"], "pages": [2, 9]}
    )
    assert missing.status_code == 422
    assert "không có trang: 9" in missing.json()["message"]
    rerun = api(
        "POST",
        f"/api/v1/items/{item_id}/rerun",
        json={"stages": ["ocr"], "ocr_languages": "vie+eng", "pages": [2]},
    )
    assert rerun.status_code == 202, rerun.text
    [job] = rerun.json()
    assert (job["kind"], job["pages"], job["ocr_languages"]) == ("rerun", [2], "vie+eng")
    run_job(job["id"], settings=settings)
    assert job_of(api, job["id"])["state"] == "done"
    pages = pages_of(api, item_id)
    assert [p["text_source"] for p in pages] == ["embedded", "ocr", "embedded"]
    assert "trống đồng" in pages[1]["text"]  # Tesseract read the rendered page

    # A cataloguer corrects page 2; the correction is what readers see and what is searched.
    correction = "Văn hóa Đông Sơn nổi tiếng với trống đồng Ngọclũ, đã soát lại."
    corrected = api("PUT", f"/api/v1/items/{item_id}/pages/2/text", json={"text": correction})
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["corrected"] is True
    assert (
        api("PUT", f"/api/v1/items/{item_id}/pages/7/text", json={"text": "x"}).status_code == 404
    )
    run_search_tasks(settings)
    found = api("GET", "/api/v1/staff/search", params={"q": "Ngọclũ"}).json()
    assert [(h["id"], h["best_page"]) for h in found["hits"]] == [(item_id, 2)]

    # OCR of the whole item again: the correction stays.
    [whole] = api("POST", f"/api/v1/items/{item_id}/rerun", json={"stages": ["ocr"]}).json()
    assert whole["pages"] == []
    run_job(whole["id"], settings=settings)
    assert job_of(api, whole["id"])["state"] == "done"
    page_2 = pages_of(api, item_id)[1]
    assert (page_2["text"], page_2["corrected"]) == (correction, True)
    run_search_tasks(settings)
    found = api("GET", "/api/v1/staff/search", params={"q": "Ngọclũ"}).json()
    assert [h["id"] for h in found["hits"]] == [item_id]


def test_resumable_uploads_refuse_what_cannot_be_stored(small_chunks: SmallChunks) -> None:
    settings, api = small_chunks.settings, small_chunks.api
    item_id = new_item(api, title="Tài liệu nhận tệp")

    def start(size: int, name: str = "tep.pdf", item: int = item_id) -> httpx.Response:
        return api("POST", f"/api/v1/items/{item}/uploads", json={"filename": name, "size": size})

    empty = start(0)
    assert empty.status_code == 422 and "rỗng" in empty.json()["message"]
    too_big = start(settings.max_upload_mb * MiB + 1)
    assert too_big.status_code == 413
    assert f"{settings.max_upload_mb} MB" in too_big.json()["message"]
    assert start(10, item=999_999).status_code == 404

    readme = "# Kho số Thanh Hóa\n\nKho tài liệu số địa phương.\n".encode() * 20
    text_upload = start(len(readme), "README.md").json()["id"]
    assert put_chunk(api, text_upload, 0, readme).status_code == 200
    refused = api("POST", f"/api/v1/uploads/{text_upload}/complete", json={})
    assert refused.status_code == 415
    assert "Chấp nhận: PDF" in refused.json()["message"]

    # The same bytes are already the file of another item: say which, link only if asked.
    data = one_page_pdf()
    other_id = new_item(api, title="Sách về sông Mã")
    assert upload(api, other_id, "song-ma.pdf", data).status_code == 202
    copy = start(len(data), "ban-sao.pdf").json()["id"]
    assert put_chunk(api, copy, 0, data).status_code == 200
    duplicate = api("POST", f"/api/v1/uploads/{copy}/complete", json={})
    assert duplicate.status_code == 409
    body = duplicate.json()
    assert body["error"] == "duplicate_file"
    assert f"tài liệu số {other_id}" in body["message"] and "Sách về sông Mã" in body["message"]
    assert "song-ma.pdf" in body["message"]
    assert api("GET", f"/api/v1/uploads/{copy}").json()["complete"] is False
    linked = api("POST", f"/api/v1/uploads/{copy}/complete", json={"link_duplicate": True})
    assert linked.status_code == 202, linked.text
    assert linked.json()["duplicate"] is True
    sha = linked.json()["sha256"]
    assert len(list(store_for(settings).list_keys(f"originals/{sha[:2]}/{sha}"))) == 1
    files = api("GET", f"/api/v1/items/{item_id}").json()["files"]
    assert [(f["original_name"], f["sha256"]) for f in files] == [("ban-sao.pdf", sha)]


# --- jobs ---------------------------------------------------------------------------------------


def test_jobs_list_with_vietnamese_labels_and_failed_jobs_are_retried(
    api: Api, settings: Settings
) -> None:
    good_id = new_item(api, title="Tờ rời đọc được")
    good = upload(api, good_id, "doc-duoc.pdf", one_page_pdf()).json()["job_id"]
    run_job(good, settings=settings)
    locked_id = new_item(api, title="Tài liệu có mật khẩu")
    locked = upload(api, locked_id, "khoa.pdf", material.encrypted_pdf()).json()["job_id"]
    run_job(locked, settings=settings)

    failed = api("GET", "/api/v1/jobs", params={"state": "failed", "item_id": locked_id})
    assert failed.status_code == 200
    [row] = failed.json()
    assert (row["id"], row["label"], row["item_title"]) == (locked, "Lỗi", "Tài liệu có mật khẩu")
    assert "mật khẩu" in row["error"]
    assert api("GET", "/api/v1/jobs", params={"state": "failed", "item_id": good_id}).json() == []
    [done] = api("GET", "/api/v1/jobs", params={"item_id": good_id}).json()
    assert (done["id"], done["label"], done["item_title"]) == (good, "Hoàn tất", "Tờ rời đọc được")
    assert {j["id"] for j in api("GET", "/api/v1/jobs", params={"state": "failed"}).json()} == {
        locked
    }

    retried = api("POST", f"/api/v1/jobs/{locked}/retry")
    assert retried.status_code == 202, retried.text
    assert (retried.json()["state"], retried.json()["error"]) == ("queued", None)
    assert retried.json()["label"] != "Lỗi"
    assert api("GET", "/api/v1/jobs", params={"state": "failed", "item_id": locked_id}).json() == []
    again = api("POST", f"/api/v1/jobs/{locked}/retry")
    assert again.status_code == 409  # queued, not failed
    not_failed = api("POST", f"/api/v1/jobs/{good}/retry")
    assert not_failed.status_code == 409
    assert "Hoàn tất" in not_failed.json()["message"]
    assert api("POST", "/api/v1/jobs/999999/retry").status_code == 404
    run_job(locked, settings=settings)  # still locked: fails again, and may be retried again
    assert job_of(api, locked)["state"] == "failed"
    assert api("POST", f"/api/v1/jobs/{locked}/retry").status_code == 202


# --- collections and places ---------------------------------------------------------------------


def test_collections_get_slugs_from_vietnamese_titles(api: Api) -> None:
    assert api("GET", "/api/v1/collections").json() == []
    created = api("POST", "/api/v1/collections", json={"title": "Báo Thanh Hóa xưa"})
    assert created.status_code == 201, created.text
    assert created.json()["slug"] == "bao-thanh-hoa-xua"
    same = api("POST", "/api/v1/collections", json={"title": "Báo  Thanh Hoá xưa"})
    assert same.status_code == 409
    assert "bao-thanh-hoa-xua" in same.json()["message"]
    for bad in ({"title": ""}, {"title": "   "}, {"title": "x", "slug": "Có Dấu"}):
        assert api("POST", "/api/v1/collections", json=bad).status_code == 422, bad
    other = api("POST", "/api/v1/collections", json={"title": "Đình làng xứ Thanh"}).json()
    assert other["slug"] == "dinh-lang-xu-thanh"
    api("POST", "/api/v1/collections", json={"title": "Dân ca xứ Thanh"})

    edited = api(
        "PUT",
        f"/api/v1/collections/{created.json()['id']}",
        json={"title": "Báo xưa", "slug": "bao-xua", "description": "Báo in trước 1945"},
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["title"], edited.json()["slug"]) == ("Báo xưa", "bao-xua")
    taken = api("PUT", f"/api/v1/collections/{other['id']}", json={"title": "x", "slug": "bao-xua"})
    assert taken.status_code == 409
    assert api("PUT", "/api/v1/collections/99999", json={"title": "x"}).status_code == 404
    titles = [c["title"] for c in api("GET", "/api/v1/collections").json()]
    assert titles == ["Báo xưa", "Dân ca xứ Thanh", "Đình làng xứ Thanh"]  # D before Đ


def test_places_come_from_the_gazetteer(api: Api) -> None:
    # "dong son" names a former district and three wards: asked, never guessed.
    asked = api("POST", "/api/v1/items", json={"title": "Trống đồng", "place": "dong son"})
    assert asked.status_code == 422
    assert "có ở nhiều nơi" in asked.json()["message"]
    assert "huyện Đông Sơn, thành phố Thanh Hóa (cũ)" in asked.json()["message"]
    created = api("POST", "/api/v1/items", json={"title": "Trống đồng", "place": "huyen dong son"})
    assert created.status_code == 201, created.text
    assert created.json()["place"] == ["huyện Đông Sơn, thành phố Thanh Hóa (cũ)"]
    assert created.json()["places"] == [
        {"key": "dp-huyen-dong-son", "label": "huyện Đông Sơn, thành phố Thanh Hóa (cũ)"}
    ]
    item_id = created.json()["id"]
    refused = api("POST", "/api/v1/items", json={"title": "Phố cổ", "place": "Hà Nội"})
    assert refused.status_code == 422
    assert (
        "Không có địa danh «Hà Nội» trong danh mục địa danh Thanh Hóa"
        in (refused.json()["message"])
    )
    item = api("GET", f"/api/v1/items/{item_id}").json()
    edit = api("PUT", f"/api/v1/items/{item_id}", json={**item, "place": "Hà Nội"})
    assert edit.status_code == 422
    edit = api("PUT", f"/api/v1/items/{item_id}", json={**item, "place": "HUYỆN THỌ XUÂN"})
    assert edit.status_code == 200 and edit.json()["place"] == ["huyện Thọ Xuân (cũ)"]
    # What GET gives, PUT takes back unchanged (labels read back to the same places).
    again = api("GET", f"/api/v1/items/{item_id}").json()
    assert api("PUT", f"/api/v1/items/{item_id}", json=again).json()["place"] == again["place"]


# --- the audit log ------------------------------------------------------------------------------


def test_audit_log_says_who_changed_what_and_never_holds_passwords(
    client: TestClient, api: Api, settings: Settings
) -> None:
    item_id = new_item(api, title="Địa chí huyện Nga Sơn")
    item = api("GET", f"/api/v1/items/{item_id}").json()
    saved = api("PUT", f"/api/v1/items/{item_id}", json={**item, "title": "Địa chí Nga Sơn"})
    assert saved.status_code == 200, saved.text
    stale = api("PUT", f"/api/v1/items/{item_id}", json={**item, "title": "Bản cũ"})
    assert stale.status_code == 409  # edited from an old version: refused, not logged
    add_pages(settings, item_id, ["Nga Sơn có nghề dệt chiếu cói."])
    assert (
        api(
            "PUT", f"/api/v1/items/{item_id}/pages/1/text", json={"text": "Nga Sơn dệt chiếu cói."}
        ).status_code
        == 200
    )

    log = api("GET", "/api/v1/audit", params={"target_type": "item", "target_id": item_id})
    assert log.status_code == 200, log.text
    entries = log.json()
    assert [e["action"] for e in entries] == ["page.correct", "item.update", "item.create"]
    assert {e["actor"] for e in entries} == {CATALOGUER}
    assert all(e["target_id"] == item_id for e in entries)
    assert entries[1]["changes"] == {"title": ["Địa chí huyện Nga Sơn", "Địa chí Nga Sơn"]}
    assert entries[0]["changes"]["text"] == [
        "Nga Sơn có nghề dệt chiếu cói.",
        "Nga Sơn dệt chiếu cói.",
    ]
    assert "trang 1" in entries[0]["summary"]

    admin = caller(client, bearer(settings, ADMIN, Role.ADMIN))
    first_password = "mật-khẩu-ban-đầu-9876"
    account = admin(
        "POST",
        "/api/v1/users",
        json={"email": "ke.toan@thuvien.vn", "role": "reporter", "password": first_password},
    )
    assert account.status_code == 201, account.text
    reset = admin("POST", f"/api/v1/users/{account.json()['id']}/password")
    assert reset.status_code == 200, reset.text
    new_password = reset.json()["password"]
    assert len(new_password) >= 10
    whole_log = admin("GET", "/api/v1/audit", params={"limit": 500})
    assert whole_log.status_code == 200
    text = whole_log.text
    assert {"user.create", "user.password"} <= {e["action"] for e in whole_log.json()}
    assert new_password not in text and first_password not in text
    login(client, "ke.toan@thuvien.vn", new_password)  # the new password works


# --- accounts -----------------------------------------------------------------------------------


def test_admin_changes_roles_and_disabling_an_account_ends_its_sessions(
    client: TestClient, settings: Settings
) -> None:
    admin = caller(client, bearer(settings, ADMIN, Role.ADMIN))
    make_user(settings, CATALOGUER, Role.CATALOGUER)
    token = make_token(settings, CATALOGUER)
    user_id = next(
        u["id"] for u in admin("GET", "/api/v1/users").json() if u["email"] == CATALOGUER
    )
    csrf = login(client, CATALOGUER)  # the cataloguer's browser session (the cookie)
    assert client.get("/api/v1/auth/me").json()["role"] == "cataloguer"

    demoted = admin(
        "PUT",
        f"/api/v1/users/{user_id}",
        json={"role": "reporter", "active": True, "display_name": " Lê Thị Hoà "},
    )
    assert demoted.status_code == 200, demoted.text
    assert (demoted.json()["role"], demoted.json()["display_name"]) == ("reporter", "Lê Thị Hoà")
    assert client.get("/api/v1/auth/me").json()["role"] == "reporter"  # at once
    assert client.post("/api/v1/collections", json={"title": "x"}, headers=csrf).status_code == 403

    disabled = admin(
        "PUT",
        f"/api/v1/users/{user_id}",
        json={"role": "reporter", "active": False, "display_name": "Lê Thị Hoà"},
    )
    assert disabled.status_code == 200 and disabled.json()["active"] is False
    assert client.get("/api/v1/auth/me").status_code == 401
    client.cookies.clear()
    refused = client.post("/api/v1/auth/login", json={"email": CATALOGUER, "password": PASSWORD})
    assert refused.status_code == 401
    tokened = client.get("/api/v1/jobs", headers={"Authorization": f"Bearer {token}"})
    assert tokened.status_code == 401  # nor do the account's API tokens work

    audit = admin("GET", "/api/v1/audit", params={"target_type": "user", "target_id": user_id})
    changes = [e["changes"] for e in audit.json() if e["action"] == "user.update"]
    assert changes == [
        {"active": [True, False]},
        {"role": ["cataloguer", "reporter"], "display_name": ["", "Lê Thị Hoà"]},
    ]

    admin_id = next(u["id"] for u in admin("GET", "/api/v1/users").json() if u["email"] == ADMIN)
    for body in (
        {"role": "cataloguer", "active": True, "display_name": ""},
        {"role": "admin", "active": False, "display_name": ""},
    ):
        own = admin("PUT", f"/api/v1/users/{admin_id}", json=body)
        assert own.status_code == 422, body
        assert "Bạn không thể tự đổi vai trò" in own.json()["message"]
    renamed = admin(
        "PUT",
        f"/api/v1/users/{admin_id}",
        json={"role": "admin", "active": True, "display_name": "Quản trị"},
    )
    assert renamed.status_code == 200
    assert admin("GET", "/api/v1/auth/me").json()["role"] == "admin"
    missing = {"role": "reporter", "active": True, "display_name": ""}
    assert admin("PUT", "/api/v1/users/99999", json=missing).status_code == 404


def test_password_reset_ends_the_sessions_of_the_account(
    client: TestClient, settings: Settings
) -> None:
    admin = caller(client, bearer(settings, ADMIN, Role.ADMIN))
    make_user(settings, CATALOGUER, Role.CATALOGUER)
    user_id = next(
        u["id"] for u in admin("GET", "/api/v1/users").json() if u["email"] == CATALOGUER
    )
    login(client, CATALOGUER)
    password = admin("POST", f"/api/v1/users/{user_id}/password").json()["password"]
    assert client.get("/api/v1/auth/me").status_code == 401
    client.cookies.clear()
    old = client.post("/api/v1/auth/login", json={"email": CATALOGUER, "password": PASSWORD})
    assert old.status_code == 401
    login(client, CATALOGUER, password)
    assert client.get("/api/v1/auth/me").json()["email"] == CATALOGUER


# --- access points ------------------------------------------------------------------------------


def widget_search(client: TestClient, key: str, origin: str = HOST_ORIGIN) -> httpx.Response:
    response: httpx.Response = client.get(
        "/api/v1/widget/search",
        params={"key": key, "q": "Thọ Xuân"},
        headers={**BROWSER, "Origin": origin},
    )
    return response


def test_admin_registers_points_and_rotates_their_widget_keys(
    client: TestClient, settings: Settings
) -> None:
    admin = caller(client, bearer(settings, ADMIN, Role.ADMIN))
    body: dict[str, Any] = {
        "name": "Thư viện huyện Thọ Xuân",
        "kind": "tvcc",
        "level": "district",
        "district": "tho xuan",
        "allowed_origins": [HOST_ORIGIN + "/"],
        "ip_ranges": ["113.160.12.7", "2001:db8::/48"],
    }
    created = admin("POST", "/api/v1/points", json=body)
    assert created.status_code == 201, created.text
    point = created.json()
    assert point["district"] == "cu-395"  # huyện Thọ Xuân, as the gazetteer names it
    assert point["place_label"] == "huyện Thọ Xuân (cũ)"
    assert point["allowed_origins"] == [HOST_ORIGIN]
    assert point["ip_ranges"] == ["113.160.12.7/32", "2001:db8::/48"]
    assert point["widget_key"].startswith("w_") and point["active"] is True
    old_key = point["widget_key"]

    refusals: list[tuple[dict[str, Any], str]] = [
        ({"allowed_origins": ["thuvien-thoxuan.example.vn"]}, "Địa chỉ trang web không hợp lệ"),
        ({"allowed_origins": ["https://a.example.vn/tim-kiem"]}, "Địa chỉ trang web không hợp lệ"),
        ({"ip_ranges": ["113.160.300.0/24"]}, "Dải địa chỉ IP không hợp lệ"),
        ({"district": "Hà Nội"}, "trong danh mục địa danh"),
        ({"kind": "cafe"}, "Dữ liệu gửi lên không hợp lệ"),
        ({"level": "nation"}, "Dữ liệu gửi lên không hợp lệ"),
    ]
    for bad, words in refusals:
        refused = admin("POST", "/api/v1/points", json={**body, **bad})
        assert refused.status_code == 422, bad
        assert words in refused.json()["message"], refused.json()
    assert len(admin("GET", "/api/v1/points").json()) == 1

    works = widget_search(client, old_key)
    assert works.status_code == 200, works.text
    assert works.headers["access-control-allow-origin"] == HOST_ORIGIN
    assert widget_search(client, old_key, "https://evil.example.com").status_code == 403

    rotated = admin("POST", f"/api/v1/points/{point['id']}/widget-key")
    assert rotated.status_code == 200, rotated.text
    new_key = rotated.json()["widget_key"]
    assert new_key != old_key and rotated.json()["widget_key_rotated_at"]
    assert widget_search(client, old_key).status_code == 401
    assert widget_search(client, new_key).status_code == 200
    snippets = admin("GET", f"/api/v1/points/{point['id']}/snippets")
    assert snippets.status_code == 200
    for snippet in snippets.json().values():
        assert new_key in snippet and old_key not in snippet

    edited = admin(
        "PUT",
        f"/api/v1/points/{point['id']}",
        json={**body, "name": "TV Thọ Xuân", "level": "commune", "active": False},
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["name"], edited.json()["widget_key"]) == ("TV Thọ Xuân", new_key)
    assert widget_search(client, new_key).status_code == 401  # a closed point's key stops
    assert admin("GET", "/api/v1/points/99999/snippets").status_code == 404
    actions = [
        e["action"]
        for e in admin(
            "GET", "/api/v1/audit", params={"target_type": "point", "target_id": point["id"]}
        ).json()
    ]
    assert actions == ["point.update", "point.rotate_key", "point.create"]

    # A point registered as not yet open stays closed: its key finds nothing.
    closed = admin(
        "POST", "/api/v1/points", json={**body, "name": "BĐVHX Xuân Lam", "active": False}
    )
    assert closed.status_code == 201, closed.text
    assert widget_search(client, closed.json()["widget_key"]).status_code == 401
    assert closed.json()["active"] is False


# --- who may do what ----------------------------------------------------------------------------

Body = Callable[[dict[str, int]], dict[str, Any]]
YEAR = date.today().year
FIGURES = {"days_open": 20, "computers_working": 3, "computers_total": 4, "users": 50, "visits": 80}
SHEET = "Nhan đề,Tác giả\nBản đồ Thanh Hóa,Sở Địa chính\n".encode()


def _nothing(ids: dict[str, int]) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Action:
    method: str
    path: str  # {item}, {job}, … are filled in from the workspace
    needs: str  # read | catalogue | users | points
    body: Body = field(default=_nothing)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


ACTIONS = [
    Action("GET", "/api/v1/items/{item}", "read"),
    Action("GET", "/api/v1/items/{item}/pages", "read"),
    Action("GET", "/api/v1/jobs", "read"),
    Action("GET", "/api/v1/jobs/{job}", "read"),
    Action("GET", "/api/v1/audit", "read"),
    Action("GET", "/api/v1/collections", "read"),
    Action("GET", "/api/v1/staff/search?q=Thanh", "read"),
    Action("POST", "/api/v1/items", "catalogue", lambda ids: {"json": {"title": "Tài liệu mới"}}),
    Action(
        "PUT",
        "/api/v1/items/{item}",
        "catalogue",
        lambda ids: {"json": {"title": "Địa chí (sửa)", "version": ids["version"]}},
    ),
    Action("DELETE", "/api/v1/items/{spare}", "catalogue"),
    Action(
        "POST",
        "/api/v1/items/{item}/files",
        "catalogue",
        lambda ids: {"files": {"file": ("them.pdf", one_page_pdf("Trang thêm vào."))}},
    ),
    Action(
        "POST",
        "/api/v1/items/{item}/uploads",
        "catalogue",
        lambda ids: {"json": {"filename": "lon.pdf", "size": 5 * MiB}},
    ),
    Action("GET", "/api/v1/uploads/{upload}", "catalogue"),
    Action(
        "PUT",
        "/api/v1/uploads/{upload}/chunks/0",
        "catalogue",
        lambda ids: {
            "content": one_page_pdf(),
            "headers": {"Content-Type": "application/octet-stream"},
        },
    ),
    Action("POST", "/api/v1/uploads/{upload}/complete", "catalogue", lambda ids: {"json": {}}),
    Action(
        "POST", "/api/v1/items/{item}/rerun", "catalogue", lambda ids: {"json": {"stages": ["ocr"]}}
    ),
    Action("POST", "/api/v1/jobs/{job}/retry", "catalogue"),
    Action(
        "PUT",
        "/api/v1/items/{item}/pages/1/text",
        "catalogue",
        lambda ids: {"json": {"text": "Trang đã sửa."}},
    ),
    Action("POST", "/api/v1/collections", "catalogue", lambda ids: {"json": {"title": "Ảnh cũ"}}),
    Action(
        "PUT",
        "/api/v1/collections/{collection}",
        "catalogue",
        lambda ids: {"json": {"title": "Báo xưa (sửa)"}},
    ),
    Action(
        "POST",
        "/api/v1/imports",
        "catalogue",
        lambda ids: {"files": {"sheet": ("bang-ke.csv", SHEET)}},
    ),
    Action("GET", "/api/v1/users", "users"),
    Action(
        "POST",
        "/api/v1/users",
        "users",
        lambda ids: {"json": {"email": "moi@thuvien.vn", "role": "reporter", "password": PASSWORD}},
    ),
    Action(
        "PUT",
        "/api/v1/users/{user}",
        "users",
        lambda ids: {"json": {"role": "cataloguer", "active": True, "display_name": "Lan"}},
    ),
    Action("POST", "/api/v1/users/{user}/password", "users"),
    Action("GET", "/api/v1/points", "points"),
    Action(
        "POST",
        "/api/v1/points",
        "points",
        lambda ids: {"json": {"name": "BĐVHX Xuân Lam", "kind": "bdvhx", "level": "commune"}},
    ),
    Action(
        "PUT",
        "/api/v1/points/{point}",
        "points",
        lambda ids: {"json": {"name": "TV Thọ Xuân", "kind": "tvcc", "level": "district"}},
    ),
    Action("POST", "/api/v1/points/{point}/widget-key", "points"),
    Action("GET", "/api/v1/points/{point}/snippets", "points"),
    Action(
        "POST",
        "/api/v1/places",
        "catalogue",
        lambda ids: {"json": {"name": "Làng Trung", "kind": "làng", "under": "cu-15841"}},
    ),
    Action(
        "PUT",
        "/api/v1/places/dp-huyen-dong-son",
        "catalogue",
        lambda ids: {
            "json": {"name": "Đông Sơn", "kind": "huyện", "under": "cu-380", "aliases": ["ĐS"]}
        },
    ),
    Action(
        "PUT",
        "/api/v1/places/cu-15841/links",
        "catalogue",
        lambda ids: {"json": {"new": ["moi-15835"], "note": "Nghị quyết (thử)"}},
    ),
    Action("DELETE", "/api/v1/places/dp-huyen-dong-son", "catalogue"),
    Action("GET", f"/api/v1/reports/{YEAR}", "read"),
    Action("GET", f"/api/v1/reports/{YEAR}?point={{point}}", "read"),
    Action("GET", f"/api/v1/reports/{YEAR}/export?format=xlsx", "read"),
    Action("GET", f"/api/v1/reports/{YEAR}/versions", "read"),
    Action("GET", "/api/v1/figures/missing", "read"),
    Action("GET", f"/api/v1/counter/r51/reports/pr?begin_date={YEAR}-01&end_date={YEAR}-02", "read"),
    Action("GET", f"/api/v1/counter/r51/reports/ir?begin_date={YEAR}-01&end_date={YEAR}-02", "read"),
    Action("POST", f"/api/v1/reports/{YEAR}/versions", "freeze", lambda ids: {"json": {"note": "thử"}}),
    Action("PUT", f"/api/v1/points/{{point}}/figures/{YEAR}-01", "figures", lambda ids: {"json": FIGURES}),
    Action("GET", "/api/v1/points/{point}/figures", "figures"),
    Action("GET", "/api/v1/harvest/sources", "harvest"),
    Action("POST", "/api/v1/harvest/sources", "harvest", lambda ids: {"json": {"url": "http://127.0.0.1:9/oai", "collection": str(ids["collection"])}}),
    Action("POST", "/api/v1/harvest/sources/{source}/run", "harvest"),
    Action(
        "POST",
        "/api/v1/figures/sheet",
        "figures",
        lambda ids: {"files": {"sheet": ("so-lieu.xlsx", TEMPLATE.read_bytes())}},
    ),
]  # fmt: skip
MAY = {
    Role.ADMIN: {"read", "catalogue", "users", "points", "freeze", "figures", "harvest"},
    Role.CATALOGUER: {"read", "catalogue"},
    Role.REPORTER: {"read", "freeze", "figures"},
}


def workspace(client: TestClient, settings: Settings) -> dict[str, int]:
    """One of everything the actions name, made by an admin: an item with a page and a queued
    job, a spare item to delete, an upload under way, a collection, a point, an account."""
    admin = caller(client, bearer(settings, ADMIN, Role.ADMIN))
    item = new_item(admin, title="Địa chí Thanh Hóa")
    add_pages(settings, item, ["Trang một về sông Mã."])
    job = upload(admin, item, "dia-chi.pdf", one_page_pdf()).json()["job_id"]
    started = admin(
        "POST",
        f"/api/v1/items/{item}/uploads",
        json={"filename": "them.pdf", "size": len(one_page_pdf())},
    )
    collection = admin("POST", "/api/v1/collections", json={"title": "Báo xưa"}).json()["id"]
    point = admin(
        "POST", "/api/v1/points", json={"name": "TV Thọ Xuân", "kind": "tvcc", "level": "district"}
    ).json()["id"]
    user = admin(
        "POST",
        "/api/v1/users",
        json={"email": "lan@thuvien.vn", "role": "reporter", "password": PASSWORD},
    ).json()["id"]
    source = admin(
        "POST",
        "/api/v1/harvest/sources",
        json={"url": "http://127.0.0.1:9/oai", "collection": str(collection)},
    )
    assert source.status_code == 201, source.text
    return {
        "source": source.json()["id"],
        "item": item,
        "version": admin("GET", f"/api/v1/items/{item}").json()["version"],
        "spare": new_item(admin, title="Bản nháp để xóa", status="draft"),
        "job": job,
        "upload": started.json()["id"],
        "collection": collection,
        "point": point,
        "user": user,
    }


def perform(call: Api, action: Action, ids: dict[str, int]) -> httpx.Response:
    return call(action.method, action.path.format(**ids), **action.body(ids))


@pytest.mark.parametrize(
    "role",
    [Role.ADMIN, Role.CATALOGUER, Role.REPORTER, None],
    ids=["admin", "cataloguer", "reporter", "anonymous"],
)
def test_each_role_may_do_exactly_what_it_is_allowed(
    client: TestClient, settings: Settings, role: Role | None
) -> None:
    ids = workspace(client, settings)
    headers = bearer(settings, f"{role.value}.2@thuvien.vn", role) if role else {}
    call = caller(client, headers)
    wrong = []
    for action in ACTIONS:
        response = perform(call, action, ids)
        status = response.status_code
        if role is None:
            ok = status == 401
        elif action.needs not in MAY[role]:
            ok = status == 403 and "không được phép" in response.json()["message"]
        elif action.needs == "read":
            ok = status == 200
        else:
            ok = status not in (401, 403) and status < 500
        if not ok:
            wrong.append(f"{action} → {status} {response.text[:200]}")
    assert wrong == [], "\n".join(wrong)


def test_cookie_sessions_must_send_the_csrf_header_on_every_change(
    client: TestClient, settings: Settings
) -> None:
    ids = workspace(client, settings)
    make_user(settings, "quan.tri.2@thuvien.vn", Role.ADMIN)
    csrf = login(client, "quan.tri.2@thuvien.vn")
    session = caller(client, {})
    wrong = []
    for action in ACTIONS:
        if action.method == "GET":
            continue
        response = perform(session, action, ids)
        if response.status_code != 403 or "CSRF" not in response.json()["message"]:
            wrong.append(f"{action} → {response.status_code} {response.text[:200]}")
    assert wrong == [], "\n".join(wrong)
    # Nothing was changed, and with the header the same session may.
    assert session("GET", f"/api/v1/items/{ids['spare']}").status_code == 200
    assert session("GET", "/api/v1/collections").json()[0]["title"] == "Báo xưa"
    allowed = session("POST", "/api/v1/collections", json={"title": "Ảnh cũ"}, headers=csrf)
    assert allowed.status_code == 201


PUBLIC = {
    "/api/v1/search",
    "/api/v1/suggest",
    "/api/v1/items/{item_id}/search",
    "/api/v1/auth/login",
    "/api/v1/auth/logout",
    "/api/v1/places",  # the gazetteer is public: readers and points look places up
    "/api/v1/places/{key}",
    "/api/v1/places/{key}/links",
}


def api_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route under /api/v1/, routers included."""
    walk = getattr(routing, "iter_route_contexts", None)  # FastAPI ≥ 0.16x nests routers
    routes: Any = walk(app.routes) if walk else app.routes
    found = set()
    for route in routes:
        path = getattr(route, "path", None) or ""
        if path.startswith("/api/v1/"):
            for method in getattr(route, "methods", None) or ():
                if method not in ("HEAD", "OPTIONS"):
                    found.add((method, path))
    return found


def test_no_staff_route_is_open_to_anonymous_callers(client: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    routes = api_routes(app)
    documented = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if path.startswith("/api/v1/")
        for method in operations
    }
    assert documented <= routes  # the walk sees every route
    # Every staff route is in the role matrix above (the own-account routes aside).
    shape = re.compile(r"\{[^}]+\}|(?<=/)\d+(?:-\d+)?(?=/|$)")
    in_matrix = {(a.method, shape.sub("{}", a.path.split("?")[0])) for a in ACTIONS}
    own_account = {"/api/v1/auth/me", "/api/v1/tokens", "/api/v1/tokens/{}"}
    staff = {
        (m, shape.sub("{}", p))
        for m, p in routes
        if p not in PUBLIC and not p.startswith("/api/v1/widget/")
    }
    assert {(m, p) for m, p in staff if p not in own_account} - in_matrix == set()

    open_routes = []
    for method, path in sorted(routes):
        if path in PUBLIC or path.startswith("/api/v1/widget/"):
            continue
        response = client.request(method, re.sub(r"\{[^}]+\}", "1", path))
        if response.status_code != 401:
            open_routes.append(f"{method} {path} → {response.status_code}")
    assert open_routes == [], "reachable without logging in:\n" + "\n".join(open_routes)
