"""The API under an OpenAPI fuzzer nobody here wrote: Schemathesis, from its own command line,
against a real uvicorn serving our /api/openapi.json, with a token of each role and with none.
Every operation of the schema is exercised with generated valid and invalid requests; the run
fails on any 5xx, on an answer that does not match its documented schema, and on a refusal that
is not our JSON error with a Vietnamese message."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest

from collection.config import Settings
from collection.db import session_scope
from collection.models import PointKind, PointLevel, Role
from collection.points.service import create_point
from tests.browsing import ARTIFACTS, LiveApp
from tests.helpers import add_pages, make_token, make_user, new_item, run_search_tasks

ST = Path(sys.executable).with_name("st")
EXAMPLES = 4  # per operation and role: ~1,000 requests a role, well within the suite's budget
# What the fuzzer checks (its names): no 5xx, answers as documented (status, content type,
# headers, body), and our own check of refusals below.
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
# Vietnamese has letters ASCII lacks; every refusal says something in it.
VIETNAMESE = re.compile(r"[À-ỹ]")  # Latin-1 to Latin Extended Additional: ă, đ, ệ, ữ…


@pytest.fixture
def seeded(live_app: LiveApp, settings: Settings) -> dict[str, str]:
    """Some published items with pages (so ids the fuzzer tries may exist) and a token a role."""
    make_user(settings, "bien.muc@thuvien.vn", Role.CATALOGUER)
    tokens = {"cataloguer": make_token(settings, "bien.muc@thuvien.vn")}
    with httpx.Client(
        base_url=live_app.url, headers={"Authorization": f"Bearer {tokens['cataloguer']}"}
    ) as client:

        def api(method: str, path: str, **kwargs: Any) -> httpx.Response:
            return client.request(method, path, **kwargs)

        for n in range(1, 4):
            item = new_item(api, title=f"Địa chí Thanh Hóa, tập {n}")
            add_pages(settings, item, [f"Trang {n} của địa chí.", "Sông Mã chảy qua."])
    run_search_tasks(settings)
    with session_scope(settings.sqlalchemy_url) as session:
        point = create_point(
            session=session,
            name="TV Thọ Xuân",
            kind=PointKind.TVCC,
            level=PointLevel.DISTRICT,
            district="Thọ Xuân",
            allowed_origins=("https://thuvien-thoxuan.example.vn",),
        )
        point_id = point.id
    for role in (Role.ADMIN, Role.REPORTER, Role.POINT_OPERATOR):
        email = f"{role.value.replace('_', '.')}@thuvien.vn"
        make_user(settings, email, role, point_id=point_id if role == Role.POINT_OPERATOR else None)
        tokens[role.value] = make_token(settings, email)
    return tokens


# An admin fuzzed at random soon revokes its own token or takes away its own role, and every
# later request is a 401: the account operations get a run of their own, after the rest.
ACCOUNTS = "^/api/v1/(users|tokens|auth)"


def _fuzz(
    url: str, token: str | None, report: Path, filters: list[str]
) -> subprocess.CompletedProcess[str]:
    command = [
        str(ST),
        "run",
        f"{url}/api/openapi.json",
        "--checks",
        CHECKS,
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        "20261202",
        "--workers",
        "2",
        "--request-timeout",
        "30",
        "--continue-on-failure",
        "--report",
        "junit,ndjson",
        "--report-junit-path",
        str(report / "junit.xml"),
        "--report-ndjson-path",
        str(report / "events.ndjson"),
        "--no-color",
    ]
    if token is not None:
        command += ["--header", f"Authorization: Bearer {token}"]
    command += filters
    # From the report's folder: Schemathesis keeps a crash cache in its working directory, and
    # the checkout is no place for it.
    return subprocess.run(
        command, capture_output=True, text=True, timeout=900, check=False, cwd=report
    )


def _responses(events: Path) -> list[dict[str, object]]:
    """Every response the fuzzer received (its NDJSON event log), with the request's method."""
    found: list[dict[str, object]] = []
    for line in events.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if '"response"' not in text:
            continue
        _collect(json.loads(text), found)
    return found


def _collect(node: object, found: list[dict[str, object]]) -> None:
    if isinstance(node, dict):
        response = node.get("response")
        if isinstance(response, dict) and "status_code" in response:
            found.append(response)
        for value in node.values():
            _collect(value, found)
    elif isinstance(node, list):
        for value in node:
            _collect(value, found)


@pytest.mark.timeout(1500)
@pytest.mark.parametrize(
    ("role", "part"),
    [
        ("anonymous", "all"),
        ("admin", "all but accounts"),
        ("admin", "accounts"),
        ("cataloguer", "all"),
        ("reporter", "all"),
        ("point_operator", "all"),
    ],
)
def test_the_fuzzer_finds_no_server_error_and_only_documented_answers(
    role: str, part: str, live_app: LiveApp, seeded: dict[str, str], tmp_path: Path
) -> None:
    filters = {
        "all": [],
        "all but accounts": ["--exclude-path-regex", ACCOUNTS],
        "accounts": ["--include-path-regex", ACCOUNTS],
    }[part]
    run = _fuzz(live_app.url, seeded.get(role), tmp_path, filters)
    report = tmp_path / "junit.xml"
    assert report.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    suite = ElementTree.parse(report).getroot()  # noqa: S314 -- the report this test wrote
    failures = [
        f"{case.get('name')}: {(failure.get('message') or failure.text or '')[:500]}"
        for case in suite.iter("testcase")
        for failure in [*case.iter("failure"), *case.iter("error")]
    ]
    assert not failures, "\n".join(failures) + "\n" + run.stdout[-4000:]
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    operations = len(list(suite.iter("testcase")))
    assert operations >= (8 if part == "accounts" else 45)  # every operation of its part

    responses = _responses(tmp_path / "events.ndjson")
    assert len(responses) >= operations  # at least one request each
    # What the run did, for the closing note and the next session (tests/artifacts/).
    statuses = Counter(str(r["status_code"]) for r in responses)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"fuzz-{role}-{part.replace(' ', '-')}.json").write_text(
        json.dumps({"operations": operations, "requests": len(responses), "statuses": statuses}),
        encoding="utf-8",
    )
    refusals = [r for r in responses if 400 <= int(str(r["status_code"])) < 500]
    assert refusals  # invalid requests were generated, and refused
    bodies = [body for body in map(_body, refusals) if body is not None]  # HEAD has none
    assert len(bodies) >= len(refusals) // 2
    for body in bodies:
        assert isinstance(body, dict) and isinstance(body.get("message"), str), body
        assert VIETNAMESE.search(body["message"]), body


def _body(response: dict[str, object]) -> object | None:
    """The response's JSON body as the event log keeps it (base64), or None if it kept none."""
    content = response.get("content")
    if isinstance(content, dict) and isinstance(content.get("$base64"), str):
        content = base64.b64decode(content["$base64"]).decode("utf-8", "replace")
    if not isinstance(content, str) or not content.strip():
        return None
    try:
        parsed: object = json.loads(content)
    except json.JSONDecodeError:
        return content
    return parsed
