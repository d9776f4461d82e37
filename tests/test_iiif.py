"""IIIF through clients nobody here wrote: the IIIF consortium's image validator (level 0) against a
real uvicorn, the Presentation 3 JSON schema and ``iiif-prezi3`` on our manifests, and Content
Search answers as Mirador reads them. The browser test with a real viewer is in
test_iiif_viewer.py."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient
from iiif_prezi3 import Manifest
from PIL import Image

from collection.config import Settings
from collection.ingest.pipeline import run_job
from tests import material
from tests.browsing import LiveApp
from tests.helpers import Api, new_item, run_search_tasks, upload

STANDARDS = Path(__file__).parent / "standards" / "iiif"  # see its README
TEST_IMAGE = STANDARDS / "67352ccc-d1b0-11e1-89ae-279075081939.png"
SCHEMA = STANDARDS / "iiif_presentation_3.0.schema.json"
VALIDATOR = Path(sys.executable).parent / "iiif-validate.py"


def ingest(api: Api, settings: Settings, item_id: int, name: str, data: bytes) -> None:
    response = upload(api, item_id, name, data)
    assert response.status_code == 202, response.text
    run_job(response.json()["job_id"], settings=settings)
    job = api("GET", f"/api/v1/jobs/{response.json()['job_id']}").json()
    assert job["state"] == "done", job


def validate_image_service(live_app: LiveApp, identifier: str, *tests: str) -> str:
    """The consortium's validator at level 0 (or the named tests); its report."""
    server = live_app.url.removeprefix("http://")
    argv = [sys.executable, str(VALIDATOR), "--version", "3.0", "-s", server, "-p", "iiif/3"]
    argv += ["-i", identifier]
    argv += [f"--test={t}" for t in tests] if tests else ["--level", "0"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    return report


def test_the_iiif_validator_passes_level_0(
    api: Api, settings: Settings, live_app: LiveApp, client: TestClient
) -> None:
    """A page made from the validator's own test image passes every level-0 test; a big scan
    cut into tiles passes those that do not look for the test image's colours."""
    item_id = new_item(api, document_type="ảnh")
    ingest(api, settings, item_id, "validator.png", TEST_IMAGE.read_bytes())
    report = validate_image_service(live_app, f"{item_id}-1")
    assert "Done (5 tests, 0 failures)" in report, report

    scan = material.scanned_image("Bản đồ tỉnh Thanh Hóa năm 1909", width=2600)
    tiled_id = new_item(api, document_type="bản đồ")
    ingest(api, settings, tiled_id, "bản đồ.png", material.png(scan))
    report = validate_image_service(live_app, f"{tiled_id}-1", "info_json", "id_basic")
    assert "Done (2 tests, 0 failures)" in report, report

    info = client.get(f"/iiif/3/{tiled_id}-1/info.json").json()
    assert (info["width"], info["height"]) == scan.size
    # ``max`` is the page image, as maxWidth/maxHeight say; the tiles go deeper.
    full = client.get(f"/iiif/3/{tiled_id}-1/full/max/0/default.jpg")
    assert full.status_code == 200
    assert Image.open(io.BytesIO(full.content)).size == (info["maxWidth"], info["maxHeight"])
    assert max(info["maxWidth"], info["maxHeight"]) == settings.page_image_px
    [level] = info["tiles"]
    assert level["width"] == 1024 and level["scaleFactors"][0] == 1
    # The one-tile level: the whole image in one tile, as ``sizes`` lists it and a viewer asks
    # for it (region "full").
    [small] = info["sizes"]
    whole = client.get(
        f"/iiif/3/{tiled_id}-1/full/{small['width']},{small['height']}/0/default.jpg"
    )
    assert whole.status_code == 200
    assert Image.open(io.BytesIO(whole.content)).size == (small["width"], small["height"])
    side = min(1024, scan.height)
    corner = client.get(f"/iiif/3/{tiled_id}-1/0,0,1024,{side}/1024,{side}/0/default.jpg")
    assert corner.status_code == 200 and "public" in corner.headers["cache-control"]
    assert corner.headers["access-control-allow-origin"] == "*"
    for missing in [
        "full/500,500/0/default.jpg",  # a size never made
        "0,0,500,500/500,500/0/default.jpg",  # not a tile that was cut
        f"0,0,1024,{side}/1024,{side}/90/default.jpg",
        f"0,0,1024,{side}/1024,{side}/0/gray.jpg",
        f"0,0,1024,{side}/1024,{side}/0/default.png",
        "full/^max/0/default.jpg",
        "pct:10,10,10,10/max/0/default.jpg",
        "..%2F..%2Fpages/512,512/0/default.jpg",
    ]:
        assert client.get(f"/iiif/3/{tiled_id}-1/{missing}").status_code == 404, missing
    assert client.get(f"/iiif/3/{tiled_id}-9/info.json").status_code == 404  # no such page
    assert client.get(f"/iiif/3/{tiled_id}-1", follow_redirects=False).status_code == 303


def _manifest(client: TestClient, item_id: int) -> dict[str, Any]:
    response = client.get(f"/iiif/item/{item_id}/manifest")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/ld+json")
    assert response.headers["access-control-allow-origin"] == "*"
    document: dict[str, Any] = response.json()
    return document


def _check(document: dict[str, Any]) -> None:
    """Valid against the consortium's JSON schema, and loaded by iiif-prezi3."""
    schema = json.loads(SCHEMA.read_text())
    errors = sorted(
        jsonschema.Draft7Validator(schema).iter_errors(document), key=lambda e: list(e.path)
    )
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def test_manifests_are_valid_and_complete(api: Api, settings: Settings, client: TestClient) -> None:
    """A book of two files: a canvas per page with its image service, ranges per file,
    downloads, the item page, its OAI record, search services; valid for the schema and for
    iiif-prezi3; named by the item JSON and linked from the public page."""
    collection = api("POST", "/api/v1/collections", json={"title": "Sách cổ <Thanh Hóa>"})
    assert collection.status_code == 201, collection.text
    item_id = new_item(
        api,
        title="Địa chí Thanh Hóa <script>alert(1)</script>",
        creator=["Nguyễn Văn A"],
        document_type="sách",
        collection_id=collection.json()["id"],
        rights="http://rightsstatements.org/vocab/InC/1.0/",
    )
    ingest(api, settings, item_id, "tập 1.pdf", material.born_digital_pdf())
    ingest(api, settings, item_id, "tập 2.png", material.png(material.scanned_image("Sông Mã")))
    manifest = _manifest(client, item_id)
    _check(manifest)
    loaded = Manifest(**manifest)
    assert len(loaded.items) == 4

    assert manifest["label"]["vi"] == ["Địa chí Thanh Hóa <script>alert(1)</script>"]
    assert manifest["behavior"] == ["paged"]
    assert manifest["rights"] == "http://rightsstatements.org/vocab/InC/1.0/"
    labels = {row["label"]["en"][0]: row["value"]["vi"] for row in manifest["metadata"]}
    assert labels["Creator"] == ["Nguyễn Văn A"]
    assert manifest["homepage"][0]["id"].endswith(f"/tai-lieu/{item_id}")
    [dc, marc] = manifest["seeAlso"]
    oai = client.get(dc["id"].replace(str(client.base_url), ""))
    assert oai.status_code == 200 and "<dc:title>" in oai.text, oai.text[:500]
    assert "metadataPrefix=marc21" in marc["id"]
    formats = {r["format"] for r in manifest["rendering"]}
    assert {"application/pdf", "image/png"} <= formats
    for rendering in manifest["rendering"]:
        path = rendering["id"].replace(str(client.base_url), "")
        assert client.get(path).status_code == 200, path
    ranges = manifest["structures"]
    assert [len(r["items"]) for r in ranges] == [3, 1]
    assert "tập 2.png" in ranges[1]["label"]["vi"][0]

    for canvas in manifest["items"]:
        [page] = canvas["items"]
        [painting] = page["items"]
        assert painting["target"] == canvas["id"]
        body = painting["body"]
        assert (body["width"], body["height"]) == (canvas["width"], canvas["height"])
        image = client.get(body["id"].replace(str(client.base_url), ""))
        assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
        assert Image.open(io.BytesIO(image.content)).size == (body["width"], body["height"])
        service = body["service"][0]["id"].replace(str(client.base_url), "")
        assert client.get(f"{service}/info.json").status_code == 200
        thumbnail = canvas["thumbnail"][0]["id"].replace(str(client.base_url), "")
        assert client.get(thumbnail).headers["content-type"] == "image/jpeg"

    item = api("GET", f"/api/v1/items/{item_id}").json()
    assert item["iiif_manifest"] == manifest["id"]
    page = client.get(f"/tai-lieu/{item_id}").text
    assert f'href="{manifest["id"]}?manifest=' in page and 'src="/static/iiif.svg"' in page

    top = client.get("/iiif/collection").json()
    _check(top)
    [listed] = [c for c in top["items"] if c["label"]["vi"] == ["Sách cổ <Thanh Hóa>"]]
    one = client.get(listed["id"].replace(str(client.base_url), "")).json()
    _check(one)
    assert [m["id"] for m in one["items"]] == [manifest["id"]]


def test_manifests_follow_the_access_rules(
    api: Api, settings: Settings, client: TestClient
) -> None:
    """On-site material only at a point, drafts only for staff; a photo is ``individuals``."""
    photo = material.png(material.scanned_image("Ảnh chợ Thanh Hóa"))
    onsite_id = new_item(api, access="onsite", document_type="ảnh")
    draft_id = new_item(api, status="draft")
    for item_id in (onsite_id, draft_id):
        ingest(api, settings, item_id, "ảnh.png", photo)
    refused = client.get(f"/iiif/item/{onsite_id}/manifest")
    assert refused.status_code == 404
    assert "điểm truy cập" in refused.json()["message"]
    assert client.get(f"/iiif/3/{onsite_id}-1/info.json").status_code == 404
    assert client.get(f"/iiif/3/{onsite_id}-1/full/max/0/default.jpg").status_code == 404
    assert client.get(f"/iiif/item/{draft_id}/manifest").status_code == 404
    assert client.get(f"/iiif/item/{draft_id}/search?q=chợ").status_code == 404
    staff = api("GET", f"/iiif/item/{onsite_id}/manifest")
    assert staff.status_code == 200
    assert staff.json()["behavior"] == ["individuals"]
    assert "private" in staff.headers["cache-control"]
    assert client.get("/iiif/item/99999999/manifest").status_code == 404
    assert client.get("/iiif/item/99999999999999999999/manifest").status_code == 422
    assert client.get("/iiif/collection/99999").status_code == 404


def test_content_search_finds_pages_as_annotations(
    api: Api, settings: Settings, client: TestClient
) -> None:
    item_id = new_item(api, title="Địa chí", document_type="sách")
    ingest(api, settings, item_id, "địa chí.pdf", material.born_digital_pdf())
    run_search_tasks(settings)
    manifest = _manifest(client, item_id)
    services = {s.get("type") or s.get("@type"): s for s in manifest["service"]}
    search2 = services["SearchService2"]["id"].replace(str(client.base_url), "")
    search1 = services["SearchService1"]["@id"].replace(str(client.base_url), "")
    canvases = [c["id"] for c in manifest["items"]]

    answer = client.get(search2, params={"q": "sông Mã"})
    assert answer.status_code == 200
    found = answer.json()
    assert found["type"] == "AnnotationPage" and found["partOf"]["total"] == 1
    [hit] = found["items"]
    assert hit["motivation"] == "highlighting" and hit["target"] == canvases[0]
    assert "sông Mã" in hit["body"]["value"] and "<mark>" not in hit["body"]["value"]

    # 1.0 as Mirador reads it: annotations on canvases and hits with before/match/after.
    old = client.get(search1, params={"q": "song ma"}).json()
    assert old["@type"] == "sc:AnnotationList" and old["within"]["total"] == 1
    [resource] = old["resources"]
    assert resource["on"] == canvases[0]
    [match] = old["hits"]
    assert match["annotations"] == [resource["@id"]]
    assert match["match"].lower() in ("sông", "mã")

    nothing = client.get(search2, params={"q": "xyzzyq"}).json()
    assert nothing["items"] == [] and nothing["partOf"]["total"] == 0
    assert client.get(search2, params={"q": ""}).json()["items"] == []
    assert client.get(search2, params={"q": "x" * 501}).status_code == 422
    assert client.get(search2, params={"q": "sông", "page": 0}).status_code == 422


@pytest.mark.parametrize("identifier", ["1-1-1", "abc", "1-", "99999999999999-1"])
def test_bad_image_identifiers_are_404(client: TestClient, identifier: str) -> None:
    answer = client.get(f"/iiif/3/{identifier}/info.json")
    assert answer.status_code in (404, 422), answer.text
