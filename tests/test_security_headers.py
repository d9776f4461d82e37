"""Security headers on every answer: a strict Content-Security-Policy (no 'unsafe-inline'), no
MIME sniffing, no referrer beyond our origin, no framing of our pages (the widget frame keeps
its own rules), HSTS when the public address is https. The browser tests check that the pages
still work under this policy (a violation is a console error there)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from collection.app import create_app
from collection.config import Settings


@pytest.mark.parametrize(
    "path",
    ["/", "/tim-kiem?q=x", "/login", "/duyet", "/api/v1/search?q=x", "/khong-co", "/healthz"],
)
def test_every_answer_carries_the_security_headers(client: TestClient, path: str) -> None:
    response = client.get(path)
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    policy = headers["content-security-policy"]
    assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert headers["x-frame-options"] == "DENY"
    assert "strict-transport-security" not in headers  # plain http here


def test_the_widget_frame_keeps_its_own_frame_rules(client: TestClient) -> None:
    response = client.get("/widget/frame?key=w_unknown")
    assert "frame-ancestors *" in response.headers["content-security-policy"]
    assert "x-frame-options" not in response.headers  # it must be framed by the point's site
    assert response.headers["x-content-type-options"] == "nosniff"


def test_hsts_when_the_public_address_is_https(settings: Settings) -> None:
    secure = settings.model_copy(update={"public_url": "https://kho.example.vn"})
    with TestClient(create_app(secure), base_url="https://kho.example.vn") as client:
        response = client.get("/")
    assert response.headers["strict-transport-security"] == "max-age=31536000"
