"""Logins, sessions, tokens and roles, through the real app on a real database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from collection.config import Settings
from collection.db import session_scope, utcnow
from collection.models import LoginSession, Role
from tests.helpers import PASSWORD, login, make_token, make_user


def test_login_sets_a_secure_session_cookie_and_me_answers(
    client: TestClient, settings: Settings
) -> None:
    make_user(settings, "Thu.Thu@ThuVien.vn", Role.CATALOGUER)
    response = client.post(
        "/api/v1/auth/login", json={"email": "thu.thu@thuvien.vn ", "password": PASSWORD}
    )
    assert response.status_code == 200
    cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith("kho_session=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    me = client.get("/api/v1/auth/me")
    assert me.status_code == 200
    assert me.json()["email"] == "thu.thu@thuvien.vn"
    assert me.json()["role"] == "cataloguer"
    assert PASSWORD not in response.text


def test_wrong_password_is_401_with_a_vietnamese_message(
    client: TestClient, settings: Settings
) -> None:
    make_user(settings, "a@thuvien.vn", Role.ADMIN)
    response = client.post("/api/v1/auth/login", json={"email": "a@thuvien.vn", "password": "sai"})
    assert response.status_code == 401
    assert response.json()["message"] == "E-mail hoặc mật khẩu không đúng."
    unknown = client.post("/api/v1/auth/login", json={"email": "x@thuvien.vn", "password": "sai"})
    assert unknown.status_code == 401
    assert unknown.json()["message"] == response.json()["message"]  # existence is not revealed


def test_five_wrong_passwords_slow_down_even_the_right_one(
    client: TestClient, settings: Settings
) -> None:
    make_user(settings, "b@thuvien.vn", Role.ADMIN)
    for _ in range(settings.login_max_failures):
        wrong = client.post("/api/v1/auth/login", json={"email": "b@thuvien.vn", "password": "x"})
        assert wrong.status_code == 401
    blocked = client.post(
        "/api/v1/auth/login", json={"email": "b@thuvien.vn", "password": PASSWORD}
    )
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert "thử lại sau" in blocked.json()["message"]
    # Unknown addresses are slowed down the same way.
    for _ in range(settings.login_max_failures):
        client.post("/api/v1/auth/login", json={"email": "ghost@thuvien.vn", "password": "x"})
    assert (
        client.post(
            "/api/v1/auth/login", json={"email": "ghost@thuvien.vn", "password": "x"}
        ).status_code
        == 429
    )


def test_forged_and_expired_session_cookies_are_401(client: TestClient, settings: Settings) -> None:
    make_user(settings, "c@thuvien.vn", Role.ADMIN)
    client.cookies.set("kho_session", "forged-value")
    assert client.get("/api/v1/auth/me").status_code == 401
    client.cookies.clear()

    login(client, "c@thuvien.vn")
    assert client.get("/api/v1/auth/me").status_code == 200
    with session_scope(settings.sqlalchemy_url) as session:
        session.execute(update(LoginSession).values(expires_at=utcnow() - timedelta(minutes=1)))
    expired = client.get("/api/v1/auth/me")
    assert expired.status_code == 401
    assert "hết hạn" in expired.json()["message"]


def test_logout_ends_the_session(client: TestClient, settings: Settings) -> None:
    make_user(settings, "d@thuvien.vn", Role.REPORTER)
    login(client, "d@thuvien.vn")
    stolen = client.cookies["kho_session"]
    assert client.post("/api/v1/auth/logout").status_code == 204
    client.cookies.set("kho_session", stolen)
    assert client.get("/api/v1/auth/me").status_code == 401


def test_bearer_tokens(client: TestClient, settings: Settings) -> None:
    make_user(settings, "script@thuvien.vn", Role.CATALOGUER)
    token = make_token(settings, "script@thuvien.vn")
    assert token.startswith("kho_")
    ok = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200
    assert ok.json()["email"] == "script@thuvien.vn"
    forged = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}x"})
    assert forged.status_code == 401
    basic = client.get("/api/v1/auth/me", headers={"Authorization": "Basic YTpi"})
    assert basic.status_code == 401

    # A token made through the API is shown once, listed without its secret, and revocable.
    headers = {"Authorization": f"Bearer {token}"}
    created = client.post("/api/v1/tokens", json={"name": "nhập hàng loạt"}, headers=headers)
    assert created.status_code == 201
    second = created.json()["token"]
    listed = client.get("/api/v1/tokens", headers=headers).json()
    assert sorted(t["name"] for t in listed) == ["", "nhập hàng loạt"]
    assert all("token" not in t for t in listed)
    revoke = client.delete(f"/api/v1/tokens/{created.json()['id']}", headers=headers)
    assert revoke.status_code == 204
    assert (
        client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {second}"}).status_code
        == 401
    )


ROLE_MATRIX = [
    # (role, method, path, allowed)
    (Role.ADMIN, "GET", "/api/v1/users", True),
    (Role.CATALOGUER, "GET", "/api/v1/users", False),
    (Role.REPORTER, "GET", "/api/v1/users", False),
    (Role.ADMIN, "POST", "/api/v1/users", True),
    (Role.CATALOGUER, "POST", "/api/v1/users", False),
    (Role.REPORTER, "POST", "/api/v1/users", False),
    (Role.REPORTER, "GET", "/api/v1/tokens", True),
]


@pytest.mark.parametrize(("role", "method", "path", "allowed"), ROLE_MATRIX)
def test_roles_are_checked(
    client: TestClient, settings: Settings, role: Role, method: str, path: str, allowed: bool
) -> None:
    email = f"{role.value}@thuvien.vn"
    make_user(settings, email, role)
    headers = {"Authorization": f"Bearer {make_token(settings, email)}"}
    body = {"email": f"new-{role.value}@thuvien.vn", "role": "reporter", "password": PASSWORD}
    response = client.request(
        method, path, headers=headers, json=body if method == "POST" else None
    )
    if allowed:
        assert response.status_code in (200, 201), response.text
    else:
        assert response.status_code == 403
        assert "không được phép" in response.json()["message"]
    anonymous = client.request(method, path, json=body if method == "POST" else None)
    assert anonymous.status_code == 401


def test_admin_creates_accounts_with_validation(client: TestClient, settings: Settings) -> None:
    make_user(settings, "admin@thuvien.vn", Role.ADMIN)
    headers = {"Authorization": f"Bearer {make_token(settings, 'admin@thuvien.vn')}"}
    new = {
        "email": "bien.muc@thuvien.vn",
        "role": "cataloguer",
        "password": PASSWORD,
        "display_name": "Lê Thị Hoà",
    }
    assert client.post("/api/v1/users", json=new, headers=headers).status_code == 201
    again = client.post("/api/v1/users", json=new, headers=headers)
    assert again.status_code == 409
    short = client.post(
        "/api/v1/users", json={**new, "email": "z@thuvien.vn", "password": "ngắn"}, headers=headers
    )
    assert short.status_code == 422
    assert "password" in short.json()["message"]
    bad_role = client.post(
        "/api/v1/users", json={**new, "email": "y@thuvien.vn", "role": "boss"}, headers=headers
    )
    assert bad_role.status_code == 422


def test_cookie_changes_need_the_csrf_header(client: TestClient, settings: Settings) -> None:
    make_user(settings, "e@thuvien.vn", Role.ADMIN)
    csrf = login(client, "e@thuvien.vn")
    body = {"name": "x"}
    refused = client.post("/api/v1/tokens", json=body)
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["message"]
    assert client.post("/api/v1/tokens", json=body, headers=csrf).status_code == 201


def test_web_login_flow(client: TestClient, settings: Settings) -> None:
    make_user(settings, "f@thuvien.vn", Role.CATALOGUER)
    # Staff pages send anonymous visitors to the login form, remembering where they were going.
    first = client.get("/staff", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == "/login?next=/staff"
    form = client.get("/login?next=/staff")
    assert form.status_code == 200
    assert "Đăng nhập cho cán bộ thư viện" in form.text
    csrf = client.cookies["kho_csrf"]

    wrong = client.post(
        "/login",
        data={"email": "f@thuvien.vn", "password": "sai", "csrf_token": csrf, "next": "/staff"},
    )
    assert wrong.status_code == 401
    assert "E-mail hoặc mật khẩu không đúng." in wrong.text

    no_csrf = client.post("/login", data={"email": "f@thuvien.vn", "password": PASSWORD})
    assert no_csrf.status_code == 403

    ok = client.post(
        "/login",
        data={
            "email": "f@thuvien.vn",
            "password": PASSWORD,
            "csrf_token": csrf,
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert ok.headers["location"] == "/staff"  # never an open redirect
    staff = client.get("/staff")
    assert staff.status_code == 200
    assert "Biên mục viên" in staff.text
    assert "Bản nháp" in staff.text


def test_unknown_pages_are_vietnamese_404s(client: TestClient) -> None:
    page = client.get("/khong-co-trang-nay")
    assert page.status_code == 404
    assert "Không tìm thấy" in page.text
    api = client.get("/api/v1/khong-co")
    assert api.status_code == 404
    assert api.json()["error"] == "not_found"
