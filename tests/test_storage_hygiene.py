"""Storage hygiene against a real S3: deleting an item removes what only it used, after the
commit (an original shared by dedupe stays); re-runs leave no orphans; abandoned uploads go;
`collection storage check` finds orphans and missing objects and `--fix` removes only orphans.
Each step may be interrupted and run again."""

from __future__ import annotations

import hashlib
import subprocess
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from collection.catalogue import service as catalogue
from collection.config import Settings
from collection.db import session_scope, utcnow
from collection.ingest.pipeline import run_job
from collection.ingest.service import original_key
from collection.models import ChunkedUpload, Page, User
from collection.preservation import hygiene
from collection.storage import store_for
from tests import material
from tests.helpers import Api, new_item
from tests.preservation_helpers import bucket_of_our_own, ingest, keys, run_cleanups
from tests.test_cli import env_for, run


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return bucket_of_our_own(settings)


def big_scan(text: str) -> bytes:
    """A one-page PDF of a 2600 px scan: OCRed, a searchable PDF, and deep zoom tiles."""
    return material.pdf_of_images([material.scanned_image(text, width=2600, size=60)])


def test_deleting_an_item_removes_its_objects_and_nothing_else(
    api: Api, settings: Settings
) -> None:
    doomed = new_item(api, title="Bản đồ tỉnh Thanh Hóa 1909")
    kept = new_item(api, title="Địa chí Thanh Hóa")
    scan = big_scan("Bản đồ tỉnh Thanh Hóa năm 1909")
    ingest(api, settings, doomed, "ban-do.pdf", scan)
    ingest(api, settings, kept, "dia-chi.pdf", material.born_digital_pdf())
    before = keys(settings)
    theirs = {k for k in before if k.split("/")[1] == str(doomed)} | {
        original_key(hashlib.sha256(scan).hexdigest())
    }
    # Everything the issue names is there to be removed: page image, thumbnail, OCR page PDF,
    # tiles, the searchable PDF and the original.
    assert f"pages/{doomed}/00001.jpg" in theirs and f"pages/{doomed}/00001-thumb.jpg" in theirs
    assert f"pages/{doomed}/00001-ocr.pdf" in theirs
    assert f"tiles/{doomed}/00001/info.json" in theirs
    assert any(k.startswith(f"derived/{doomed}/") for k in theirs)

    # A deletion that rolls back removes nothing, and queues nothing.
    run_cleanups(settings)
    with pytest.raises(RuntimeError), session_scope(settings.sqlalchemy_url) as session:
        actor = session.scalars(select(User)).first()
        assert actor is not None
        catalogue.delete_item(session=session, actor=actor, item_id=doomed)
        raise RuntimeError("the transaction fails after the delete")
    assert run_cleanups(settings) == 0
    assert keys(settings) == before

    assert api("DELETE", f"/api/v1/items/{doomed}").status_code == 204
    assert keys(settings) == before  # nothing before the task runs, after the commit
    assert run_cleanups(settings) == 1
    assert keys(settings) == before - theirs
    assert not any(k.startswith(f"tiles/{doomed}/") for k in keys(settings))

    # The clean-up run again (a retry after a crash) is harmless.
    removal = hygiene.remove_item_objects(
        settings,
        store_for(settings),
        item_id=doomed,
        deleted_at=utcnow(),
        original_keys=[original_key(hashlib.sha256(scan).hexdigest())],
    )
    assert removal.deleted == []
    assert keys(settings) == before - theirs
    check = hygiene.check(settings, store_for(settings), grace=timedelta(0))
    assert check.orphans == [] and check.missing == [] and check.unknown == []


def test_an_original_shared_by_dedupe_stays_with_the_other_item(
    api: Api, client: TestClient, settings: Settings
) -> None:
    data = material.born_digital_pdf(["Hương ước làng Đông Sơn " * 20])
    first, second = new_item(api, title="Hương ước"), new_item(api, title="Hương ước (bản sao)")
    ingest(api, settings, first, "huong-uoc.pdf", data)
    ingest(api, settings, second, "ban-sao.pdf", data)
    key = original_key(hashlib.sha256(data).hexdigest())

    assert api("DELETE", f"/api/v1/items/{first}").status_code == 204
    run_cleanups(settings)
    assert store_for(settings).get_bytes(key) == data
    assert not keys(settings, f"pages/{first}/") and keys(settings, f"pages/{second}/")
    file_id = api("GET", f"/api/v1/items/{second}").json()["files"][0]["id"]
    download = client.get(f"/tai-lieu/{second}/tep/{file_id}", follow_redirects=False)
    assert download.status_code in (200, 302, 303, 307), download.text
    if download.status_code != 200:
        download = client.get(download.headers["location"])
    assert download.content == data

    assert api("DELETE", f"/api/v1/items/{second}").status_code == 204
    run_cleanups(settings)
    assert keys(settings) == set()  # the last item holding it gone: the original goes too


def test_an_object_written_after_the_delete_is_left_alone(api: Api, settings: Settings) -> None:
    """SQLite may give a deleted item's id to the next item: a late clean-up must not touch
    what was written after the deletion, nor an original uploaded again since."""
    data = material.born_digital_pdf(["Sắc phong thời Lê " * 20])
    item_id = new_item(api)
    ingest(api, settings, item_id, "sac-phong.pdf", data)
    assert api("DELETE", f"/api/v1/items/{item_id}").status_code == 204
    deleted_at = utcnow() - timedelta(seconds=5)  # as if the task was queued earlier
    removal = hygiene.remove_item_objects(
        settings,
        store_for(settings),
        item_id=item_id,
        deleted_at=deleted_at,
        original_keys=[original_key(hashlib.sha256(data).hexdigest())],
    )
    assert removal.deleted == [] and len(removal.kept) >= 3
    run_cleanups(settings)  # the real one, queued at the commit
    assert keys(settings) == set()


def test_a_rerun_leaves_no_orphans(api: Api, settings: Settings) -> None:
    item_id = new_item(api, title="Bản đồ")
    ingest(api, settings, item_id, "ban-do.pdf", big_scan("Bản đồ huyện Hoằng Hóa"))
    store = store_for(settings)
    assert keys(settings, f"tiles/{item_id}/00001/")
    # As an earlier run might have left: a second page the file no longer has, and a tile of
    # a size this run does not make.
    with session_scope(settings.sqlalchemy_url) as session:
        first = session.scalars(select(Page).where(Page.item_id == item_id)).one()
        extra = Page(
            item_id=item_id,
            file_id=first.file_id,
            number=2,
            image_key=f"pages/{item_id}/00002.jpg",
            thumbnail_key=f"pages/{item_id}/00002-thumb.jpg",
            tiles_prefix=f"tiles/{item_id}/00002/",
        )
        session.add(extra)
    for key in (
        f"pages/{item_id}/00002.jpg",
        f"pages/{item_id}/00002-thumb.jpg",
        f"pages/{item_id}/00002-ocr.pdf",
        f"tiles/{item_id}/00002/info.json",
        f"tiles/{item_id}/00001/full/99,/0/default.jpg",
    ):
        store.put_bytes(key, b"old run")

    # Re-run everything from reading the file: page 2 and its objects go, the odd tile too.
    jobs = api(
        "POST",
        f"/api/v1/items/{item_id}/rerun",
        json={"stages": ["extract", "images", "tiles"]},
    )
    assert jobs.status_code in (200, 201, 202), jobs.text
    for job in jobs.json():
        run_job(job["id"], settings=settings)
    assert [p["number"] for p in api("GET", f"/api/v1/items/{item_id}/pages").json()] == [1]
    report = hygiene.check(settings, store, grace=timedelta(0))
    assert [o.key for o in report.orphans] == [] and report.missing == []
    assert f"tiles/{item_id}/00001/full/99,/0/default.jpg" not in keys(settings)

    # Page images big enough to show the whole scan: the page no longer wants tiles, and its
    # old ones go.
    larger = settings.model_copy(update={"page_image_px": 3000})
    jobs = api("POST", f"/api/v1/items/{item_id}/rerun", json={"stages": ["images", "tiles"]})
    for job in jobs.json():
        run_job(job["id"], settings=larger)
    assert not keys(settings, f"tiles/{item_id}/")
    with session_scope(settings.sqlalchemy_url) as session:
        assert session.scalars(select(Page.tiles_prefix)).all() == [None]
    report = hygiene.check(settings, store, grace=timedelta(0))
    assert report.orphans == [] and report.missing == []


def test_storage_check_finds_orphans_and_missing_and_fixes_only_orphans(
    api: Api, settings: Settings
) -> None:
    item_id = new_item(api)
    ingest(api, settings, item_id, "dia-chi.pdf", material.born_digital_pdf())
    store = store_for(settings)
    orphan, fresh = "pages/987654/00001.jpg", "originals/ff/" + "f" * 64
    store.put_bytes(orphan, b"left behind")
    gone = f"pages/{item_id}/00002-thumb.jpg"
    store.delete(gone)  # behind our back
    store.put_bytes("someone-else/notes.txt", b"not ours")
    time.sleep(4.5)  # the orphan is older than a 4-second grace period
    grace = ["--grace-hours", str(4 / 3600)]
    env = env_for(settings)

    def check(*args: str) -> subprocess.CompletedProcess[str]:
        # Written again just before: an upload writing it now, younger than the grace period.
        store.put_bytes(fresh, b"an upload being written right now")
        return run(["storage", "check", *args, *grace], env)

    listed = check()
    assert listed.returncode == 3, listed.stderr  # something is missing
    lines = listed.stdout.splitlines()
    assert any(line.startswith(f"orphan\t{orphan}\t") for line in lines), listed.stdout
    assert any(line.startswith(f"orphan-recent\t{fresh}\t") for line in lines), listed.stdout
    assert f"missing\t{gone}\titem {item_id}\tthumbnail" in lines
    assert any(line.startswith("unknown\tsomeone-else/notes.txt") for line in lines)
    assert store.exists(orphan)  # listing removes nothing

    fixed = check("--fix")
    assert "removed 1" in fixed.stderr, fixed.stderr
    assert not store.exists(orphan)
    assert store.exists(fresh) and store.exists("someone-else/notes.txt")
    referenced = {k for k in keys(settings) if k.split("/")[1] == str(item_id)}
    assert len(referenced) == 5  # 3 page images, the 2 thumbnails not deleted: all still there
    # Run again: nothing more to remove; the missing thumbnail is still reported, not invented.
    again = check("--fix")
    assert "removed 0" in again.stderr and f"missing\t{gone}" in again.stdout
    assert {k for k in keys(settings) if k.split("/")[1] == str(item_id)} == referenced


def test_abandoned_upload_chunks_go_and_a_fresh_upload_stays(api: Api, settings: Settings) -> None:
    item_id = new_item(api)
    data = material.born_digital_pdf(["Tài liệu tải lên từng phần " * 30])
    chunk = settings.upload_chunk_mb * 1024 * 1024

    def start() -> int:
        created = api(
            "POST",
            f"/api/v1/items/{item_id}/uploads",
            json={"filename": "a.pdf", "size": len(data)},
        )
        assert created.status_code == 201, created.text
        upload_id = int(created.json()["id"])
        sent = api("PUT", f"/api/v1/uploads/{upload_id}/chunks/0", content=data[:chunk])
        assert sent.status_code == 200, sent.text
        return upload_id

    old = start()
    time.sleep(2.1)
    fresh = start()
    newest_of_old = max(
        o.last_modified for o in store_for(settings).list_objects(f"uploads/{old}/")
    )
    # As if ``upload_abandon_hours`` have passed since the old upload's last chunk, not yet
    # since the fresh one's.
    now = newest_of_old + timedelta(hours=settings.upload_abandon_hours, seconds=1)
    sweep = hygiene.sweep_uploads(settings, store_for(settings), now=now)
    assert sweep.abandoned == [old]
    assert not keys(settings, f"uploads/{old}/") and keys(settings, f"uploads/{fresh}/")
    assert hygiene.sweep_uploads(settings, store_for(settings), now=now).abandoned == []

    # The browser that comes back is told to start from the first chunk, and can finish.
    seen = api("GET", f"/api/v1/uploads/{old}").json()
    assert seen["chunks_done"] == 0 and seen["complete"] is False
    assert api("PUT", f"/api/v1/uploads/{old}/chunks/0", content=data[:chunk]).status_code == 200
    done = api("POST", f"/api/v1/uploads/{old}/complete", json={"link_duplicate": True})
    assert done.status_code in (200, 201, 202), done.text
    assert not keys(settings, f"uploads/{old}/")  # chunks gone once the file is committed
    with session_scope(settings.sqlalchemy_url) as session:
        assert session.get(ChunkedUpload, old).completed_at is not None  # type: ignore[union-attr]
    # And chunks whose upload row is gone (its item deleted) go too.
    assert api("DELETE", f"/api/v1/items/{item_id}").status_code == 204
    run_cleanups(settings)
    assert not keys(settings, "uploads/")
