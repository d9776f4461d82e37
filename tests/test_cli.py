"""The `collection` command as an operator runs it: a real process, real services."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from collection.config import Settings
from collection.db import session_scope
from collection.models import Item, ItemStatus
from collection.search import meili
from collection.stack import free_port


def env_for(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTION_")}
    env.update(
        {
            "COLLECTION_VAR_DIR": str(settings.var_dir),
            "COLLECTION_DATABASE_URL": settings.sqlalchemy_url,
            "COLLECTION_QUEUE_URL": settings.huey_url,
            "COLLECTION_S3_ENDPOINT": settings.s3_endpoint_url,
            "COLLECTION_S3_ACCESS_KEY": settings.s3_credentials()[0],
            "COLLECTION_S3_SECRET_KEY": settings.s3_credentials()[1],
            "COLLECTION_S3_BUCKET": settings.s3_bucket,
            "COLLECTION_MEILI_URL": settings.meili_endpoint_url,
            "COLLECTION_MEILI_MASTER_KEY": settings.meili_key(),
            "COLLECTION_MEILI_INDEX_PREFIX": settings.meili_index_prefix,
            "COLLECTION_STARTUP_TIMEOUT": "2",
        }
    )
    env.update(extra)
    return env


def run(
    args: list[str], env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "collection.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def test_user_and_token_commands_give_a_working_token(
    settings: Settings, client: TestClient
) -> None:
    env = env_for(settings)
    created = run(
        [
            "user",
            "create",
            "bien.muc@thuvien.vn",
            "--role",
            "cataloguer",
            "--name",
            "Nguyễn Văn Hòa",
        ],
        env,
    )
    assert created.returncode == 0, created.stderr
    assert "Biên mục viên" in created.stderr
    generated_password = created.stdout.strip()
    assert len(generated_password) >= 12  # not a terminal: a password is generated and printed

    token = run(["token", "create", "bien.muc@thuvien.vn"], env)
    assert token.returncode == 0, token.stderr
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token.stdout.strip()}"})
    assert me.status_code == 200
    assert me.json()["display_name"] == "Nguyễn Văn Hòa"
    login = client.post(
        "/api/v1/auth/login", json={"email": "bien.muc@thuvien.vn", "password": generated_password}
    )
    assert login.status_code == 200

    duplicate = run(["user", "create", "bien.muc@thuvien.vn", "--role", "admin"], env)
    assert duplicate.returncode == 1
    assert "Đã có tài khoản" in duplicate.stderr
    bad_role = run(["user", "create", "x@thuvien.vn", "--role", "boss"], env)
    assert bad_role.returncode == 1
    assert "Vai trò không hợp lệ" in bad_role.stderr
    unknown = run(["token", "create", "nobody@thuvien.vn"], env)
    assert unknown.returncode == 1
    assert "Traceback" not in unknown.stderr


def test_reindex_command_rebuilds_from_the_database(settings: Settings) -> None:
    with session_scope(settings.sqlalchemy_url) as session:
        session.add_all(
            [Item(title=f"Tài liệu {n}", status=ItemStatus.PUBLISHED) for n in range(3)]
        )
    result = run(["reindex"], env_for(settings))
    assert result.returncode == 0, result.stderr
    assert "3 tài liệu" in result.stderr
    assert meili.engine_for(settings).document_count("items") == 3


def test_invalid_setting_is_a_clear_message_not_a_traceback(settings: Settings) -> None:
    result = run(["serve"], env_for(settings, COLLECTION_PORT="tám nghìn"))
    assert result.returncode == 2
    assert "COLLECTION_PORT" in result.stderr
    assert "Traceback" not in result.stderr
    bad_db = run(["db", "upgrade"], env_for(settings, COLLECTION_DATABASE_URL="mysql://x"))
    assert bad_db.returncode == 2
    assert "COLLECTION_DATABASE_URL" in bad_db.stderr


def test_unreachable_service_at_start_is_a_clear_message(settings: Settings) -> None:
    env = env_for(settings, COLLECTION_MEILI_URL=f"http://127.0.0.1:{free_port()}")
    result = run(["serve", "--port", str(free_port())], env)
    assert result.returncode == 1
    assert "Meilisearch không sẵn sàng" in result.stderr
    assert "Traceback" not in result.stderr
    env = env_for(settings, COLLECTION_S3_ENDPOINT=f"http://127.0.0.1:{free_port()}")
    result = run(["worker"], env)
    assert result.returncode == 1
    assert "S3" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_starts_and_answers(settings: Settings, tmp_path: Path) -> None:
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "collection.cli", "serve", "--port", str(port)],
        env=env_for(settings),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        from collection.stack import http_ok, wait_until

        wait_until(
            http_ok(f"http://127.0.0.1:{port}/healthz"), child=None, timeout=60, what="serve"
        )
        home = httpx.get(f"http://127.0.0.1:{port}/")
        assert home.status_code == 200
        assert "Kho số Thanh Hóa" in home.text
        docs = httpx.get(f"http://127.0.0.1:{port}/api/openapi.json").json()
        assert "/api/v1/auth/login" in docs["paths"]
    finally:
        process.terminate()
        process.wait(20)


def test_point_commands_give_a_working_widget_key(settings: Settings, client: TestClient) -> None:
    env = env_for(settings, COLLECTION_PUBLIC_URL="https://kho.thuvien.vn")
    created = run(
        [
            "point", "create", "Bưu điện văn hóa xã Hoằng Phụ", "--kind", "bdvhx",
            "--district", "Hoằng Hóa", "--origin", "https://hoangphu.vn",
            "--ip-range", "14.160.5.0/24",
        ],
        env,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    key = created.stdout.split("key: ")[1].split()[0]
    assert f'<script src="https://kho.thuvien.vn/widget.js" data-point="{key}" async>' in (
        created.stdout
    )
    assert "<iframe" in created.stdout
    search = {"key": key, "q": "Hoằng Hóa"}
    allowed = client.get(
        "/api/v1/widget/search", params=search, headers={"Origin": "https://hoangphu.vn"}
    )
    assert allowed.status_code == 200, allowed.text
    rotated = run(["point", "rotate-key", "1"], env)
    assert rotated.returncode == 0 and key not in rotated.stdout
    client.app.state.points.forget()  # type: ignore[attr-defined]
    refused = client.get(
        "/api/v1/widget/search", params=search, headers={"Origin": "https://hoangphu.vn"}
    )
    assert refused.status_code == 401
    bad = run(["point", "create", "Sai dải IP", "--ip-range", "300.1.1.1/24"], env)
    assert bad.returncode != 0 and "Dải địa chỉ IP không hợp lệ" in bad.stderr
    assert "Traceback" not in bad.stderr
