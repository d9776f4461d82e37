"""Hostile input that used to answer 500: secrets with non-ASCII characters, secrets created by
many processes at once, ids the database cannot hold. Each gets a clear 4xx, or works."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from collection.config import Settings
from collection.errors import InvalidInput
from collection.points.service import checked_origins
from tests.helpers import Api


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/widget/search?key=%C3%A9&q=x",
        "/widget/frame?key=%C3%A9",
        "/tim-kiem?q=x&w=%C3%A9",
    ],
)
def test_a_widget_key_with_non_ascii_characters_is_refused_not_a_crash(
    client: TestClient, path: str
) -> None:
    response = client.get(path)
    assert response.status_code < 500, response.text


def test_a_csrf_token_with_non_ascii_characters_is_refused(client: TestClient) -> None:
    cookie = "kho_csrf=é".encode()  # as a browser may send it: raw UTF-8
    form = client.post(
        "/login",
        data={"email": "a@b.vn", "password": "x", "csrf_token": "é"},
        headers={"Cookie": cookie},
    )
    assert form.status_code == 403 and "Biểu mẫu đã hết hạn" in form.text
    api = client.post(
        "/api/v1/items",
        json={"title": "x"},
        headers={"Cookie": "kho_session=é; kho_csrf=é".encode(), "X-CSRF-Token": "é".encode()},
    )
    assert 400 <= api.status_code < 500, api.text


def _secret(var_dir: str, start: object) -> str:
    start.wait()  # type: ignore[attr-defined]
    return Settings(var_dir=Path(var_dir)).app_secret()


def test_processes_starting_together_keep_one_secret(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    start = context.Manager().Event()
    with context.Pool(6) as pool:
        pending = [pool.apply_async(_secret, (str(tmp_path), start)) for _ in range(6)]
        start.set()
        secrets = {p.get(timeout=60) for p in pending}
    assert len(secrets) == 1
    assert Settings(var_dir=tmp_path).app_secret() in secrets
    assert [p.name for p in (tmp_path / "secrets").iterdir()] == ["app.json"]


HUGE = "99999999999999999999"  # > 2^63: no database holds it


@pytest.mark.parametrize(
    "path",
    [
        f"/tai-lieu/{HUGE}",
        f"/tai-lieu/1/trang/{HUGE}",
        f"/bo-suu-tap/{HUGE}",
        f"/tim-kiem?collection={HUGE}",
        f"/api/v1/search?collection={HUGE}",
        f"/api/v1/items/{HUGE}/search?q=x",
    ],
)
def test_public_ids_too_large_for_the_database_are_refused(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert 400 <= response.status_code < 500, (path, response.status_code, response.text)
    assert "không được lớn hơn 9223372036854775807" in response.text


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"/api/v1/items/{HUGE}", None),
        ("GET", f"/api/v1/jobs?offset={HUGE}", None),
        ("GET", f"/api/v1/jobs?item_id={HUGE}", None),
        ("POST", "/api/v1/items", {"title": "Sách", "collection_id": int(HUGE)}),
        ("GET", f"/staff/tai-lieu/{HUGE}", None),
    ],
)
def test_staff_ids_too_large_for_the_database_are_refused(
    api: Api, method: str, path: str, body: dict[str, object] | None
) -> None:
    response = api(method, path, json=body)
    assert response.status_code == 422 or response.status_code == 404, response.text
    if path.startswith("/api/"):
        message = response.json()["message"]
        assert "không hợp lệ" in message and "should" not in message, message


@pytest.mark.parametrize(
    ("date", "why"),
    [
        ("2023-02-30", "không có trong lịch"),
        ("2023-13-01", "tháng 13 không có"),
        ("2023-00", "tháng 00 không có"),
        ("1990–1980", "kết thúc trước khi bắt đầu"),
        ("1990-05-02/1990-05-01", "kết thúc trước khi bắt đầu"),
        ("0000", "năm phải từ 0001"),
        ("năm 1990", "phải có dạng"),
    ],
)
def test_impossible_dates_are_refused_in_vietnamese(api: Api, date: str, why: str) -> None:
    response = api("POST", "/api/v1/items", json={"title": "Sách", "date": date})
    assert response.status_code == 422, response.text
    assert why in response.json()["message"]


@pytest.mark.parametrize("date", ["2024-02-29", "1930–1945", "1945-08", "1945-08/1945-09-02"])
def test_real_dates_are_kept(api: Api, date: str) -> None:
    response = api("POST", "/api/v1/items", json={"title": "Sách", "date": date})
    assert response.status_code == 201, response.text
    assert response.json()["date"] == date


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"title": "Sách\x00 mật"}, "ký tự điều khiển U+0000"),
        ({"title": "Sách", "subject": ["a\x1bb"]}, "ký tự điều khiển U+001B"),
        ({"title": "Sách", "creator": [f"Tác giả {n}" for n in range(100_000)]}, "nhiều quá 200"),
    ],
)
def test_control_characters_and_endless_lists_are_refused(
    api: Api, fields: dict[str, object], why: str
) -> None:
    response = api("POST", "/api/v1/items", json=fields)
    assert response.status_code == 422, response.text[:300]
    assert why in response.json()["message"]


@pytest.mark.parametrize(
    "value",
    [
        "https://thuvien.vn;script-src *",
        "https://thuvien.vn frame-ancestors *",
        "https://thuvien.vn'",
        "javascript:alert(1)",
        "https://user@thuvien.vn",
        "https://thuvien.vn/trang",
        "https://thuvien.vn?x=1",
        "https://-thuvien.vn",
        "https://",
        "thuvien.vn",
    ],
)
def test_access_point_origins_are_parsed_as_origins(value: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        checked_origins([value])
    assert "Địa chỉ trang web không hợp lệ" in refused.value.message


def test_good_origins_are_written_as_browsers_send_them() -> None:
    assert checked_origins(
        ["https://ThuVien.ThanhHoa.gov.vn/", "http://[::1]:8080", "https://thưviện.vn:443"]
    ) == ["https://thuvien.thanhhoa.gov.vn", "http://[::1]:8080", "https://xn--thvin-grb5423c.vn"]
