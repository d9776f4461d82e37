"""Backup and restore of the whole repository: a backup restored into a fresh stack (another
bucket, other indexes, another database) gives the same items, files, pages, objects and search
answers; backups are incremental; an interrupted one is refused by restore and completed by the
next run; a non-empty instance is not overwritten. Real SeaweedFS, Meilisearch, SQLite."""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from collection import bootstrap, migrate
from collection.app import create_app
from collection.config import Settings
from collection.db import engine_for, session_scope
from collection.errors import InvalidInput
from collection.ingest.pipeline import run_job
from collection.models import User
from collection.preservation import backup as backups
from collection.search import meili
from collection.storage import store_for
from tests import material
from tests.helpers import Api, new_item, run_search_tasks, upload

QUERIES = ["trống đồng", "song ma", "Thanh Hóa", "Bỉm Sơn", "xyzzy"]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The source instance: the shared test settings with a bucket of its own (a backup copies
    the whole bucket, and other tests share theirs)."""
    own = settings.model_copy(update={"s3_bucket": "kho-bk-" + secrets.token_hex(4)})
    store_for(own).ensure_bucket()
    return own


def fresh_instance(root: Path, like: Settings, template_db: Path) -> Settings:
    """What `make run` makes on an empty var/: a migrated database with only the first admin,
    an empty bucket, empty indexes; on the same servers under other names."""
    root.mkdir(parents=True)
    target = like.model_copy(
        update={
            "var_dir": root / "var",
            "database_url": f"sqlite:///{root / 'collection.db'}",
            "s3_bucket": "kho-fresh-" + secrets.token_hex(4),
            "meili_index_prefix": "f" + secrets.token_hex(4),
        }
    )
    shutil.copyfile(template_db, root / "collection.db")
    bootstrap.prepare(target)
    assert bootstrap.ensure_first_admin(target).created
    return target


def ingest(api: Api, settings: Settings, item_id: int, name: str, data: bytes) -> None:
    response = upload(api, item_id, name, data)
    assert response.status_code == 202, response.text
    run_job(response.json()["job_id"], settings=settings)


def make_collection(api: Api, settings: Settings) -> list[int]:
    items = [
        new_item(api, title="Địa chí Thanh Hóa", subject=["Lịch sử"]),
        new_item(api, title="Văn hóa Đông Sơn", creator="Lê Văn A", date="1998"),
    ]
    ingest(api, settings, items[0], "địa chí.pdf", material.born_digital_pdf())
    ingest(
        api,
        settings,
        items[1],
        "đông sơn.pdf",
        material.born_digital_pdf(["Trống đồng Đông Sơn ở Thiệu Hóa.", "Bỉm Sơn và sông Mã."]),
    )
    corrected = api(
        "PUT", f"/api/v1/items/{items[1]}/pages/2/text", json={"text": "Bỉm Sơn, sông Mã (sửa)."}
    )
    assert corrected.status_code == 200, corrected.text
    run_search_tasks(settings)
    return items


def objects_by_key(settings: Settings) -> dict[str, str]:
    store = store_for(settings)
    return {
        key: hashlib.sha256(store.get_bytes(key)).hexdigest() for key, _, _ in store.list_etags()
    }


@pytest.fixture
def fresh(tmp_path: Path, settings: Settings, template_db: Path) -> Iterator[Settings]:
    target = fresh_instance(tmp_path / "fresh", settings, template_db)
    yield target
    engine_for(target.sqlalchemy_url).dispose()


def repository_view(settings: Settings, item_ids: list[int]) -> dict[str, Any]:
    """Everything a staff script and a citizen see: items with files, pages, search answers."""
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        from tests.helpers import make_token

        with session_scope(settings.sqlalchemy_url) as session:
            admin = session.query(User).order_by(User.id).first()
            assert admin is not None
            email = admin.email
        headers = {"Authorization": f"Bearer {make_token(settings, email)}"}
        view: dict[str, Any] = {"items": {}, "pages": {}, "search": {}}
        for item_id in item_ids:
            view["items"][item_id] = client.get(f"/api/v1/items/{item_id}", headers=headers).json()
            view["pages"][item_id] = client.get(
                f"/api/v1/items/{item_id}/pages", headers=headers
            ).json()
        meili.engine_for(settings).wait_for_idle()
        for query in QUERIES:
            answer = client.get("/api/v1/search", params={"q": query})
            assert answer.status_code == 200, answer.text
            view["search"][query] = answer.json()
    return view


def test_restore_into_a_fresh_stack_gives_the_same_repository(
    api: Api, settings: Settings, fresh: Settings, tmp_path: Path
) -> None:
    items = make_collection(api, settings)
    folder = tmp_path / "backup"
    messages: list[str] = []
    result = backups.backup(settings, store_for(settings), folder, progress=messages.append)
    source_objects = objects_by_key(settings)
    assert result.objects == len(source_objects) > 10  # originals, page images, PDFs, tiles
    assert result.copied == result.objects and result.skipped == 0
    assert any("đối tượng" in m for m in messages)  # progress on stderr in the CLI

    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["database"]["engine"] == "sqlite"
    assert manifest["objects"]["count"] == len(source_objects)
    assert manifest["secret_key"] == {
        "included": False,
        "fingerprint": backups.secret_fingerprint(settings.app_secret()),
    }
    assert "secret" not in json.dumps(manifest["settings"])
    listed = [
        json.loads(line) for line in (folder / manifest["objects"]["file"]).read_text().splitlines()
    ]
    assert {e["key"]: e["sha256"] for e in listed} == source_objects
    assert (folder / manifest["search"]["folder"] / "synonyms.json").exists()
    assert (folder.stat().st_mode & 0o777) == 0o700

    target = fresh
    restored = backups.restore(target, store_for(target), folder)
    assert restored.objects == len(source_objects)
    assert restored.reindexed["items"] == len(items) and restored.reindexed["pages"] == 5
    assert restored.migrated_from is None

    # Every object back, byte for byte.
    assert objects_by_key(target) == source_objects
    # The backup's accounts replaced the fresh instance's first admin (and its password file).
    with session_scope(target.sqlalchemy_url) as session:
        emails = sorted(u.email for u in session.query(User))
    with session_scope(settings.sqlalchemy_url) as session:
        assert emails == sorted(u.email for u in session.query(User))
    assert not (target.var_dir / "secrets" / "first-admin.json").exists()
    # Items, files, pages (the correction too) and search answers equal.
    before, after = repository_view(settings, items), repository_view(target, items)
    assert after["items"] == before["items"]
    assert after["pages"] == before["pages"]
    assert after["pages"][items[1]][1]["text"] == "Bỉm Sơn, sông Mã (sửa)."
    assert after["search"] == before["search"]
    assert before["search"]["trống đồng"]["total"] >= 1


def test_backups_are_incremental(api: Api, settings: Settings, tmp_path: Path) -> None:
    make_collection(api, settings)
    folder = tmp_path / "backup"
    store = store_for(settings)
    first = backups.backup(settings, store, folder)
    second = backups.backup(settings, store, folder)
    assert second.copied == 0 and second.skipped == first.objects  # a quiet night: nothing read

    before = set(objects_by_key(settings))
    added = new_item(api, title="Bản đồ Thanh Hóa")
    ingest(api, settings, added, "ban-do.pdf", material.born_digital_pdf(["Bản đồ tỉnh."]))
    new_keys = set(objects_by_key(settings)) - before
    third = backups.backup(settings, store, folder)
    assert third.copied == len(new_keys) > 0  # only the new item's objects
    assert third.objects == first.objects + len(new_keys)
    # Only one run is kept, and no copy that the manifest does not name.
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert [p.name for p in (folder / "runs").iterdir()] == [manifest["run"]]
    copies = {p.name for p in (folder / "objects").glob("*/*")}
    listed = (folder / manifest["objects"]["file"]).read_text().splitlines()
    assert copies == {json.loads(line)["sha256"] for line in listed}


def test_an_interrupted_backup_is_refused_then_completed(
    api: Api, settings: Settings, fresh: Settings, tmp_path: Path
) -> None:
    items = make_collection(api, settings)
    folder = tmp_path / "backup"
    store = store_for(settings)
    with pytest.raises(backups.BackupInterrupted):
        backups.backup(settings, store, folder, stop_after=3)
    assert not (folder / "manifest.json").exists()

    target = fresh
    with pytest.raises(backups.BackupIncomplete) as refused:
        backups.restore(target, store_for(target), folder)
    assert "chưa hoàn tất" in refused.value.message
    assert "collection backup" in refused.value.message
    assert "incomplete" in str(refused.value.message_en)
    with session_scope(target.sqlalchemy_url) as session:  # nothing was touched
        assert session.query(User).count() == 1

    completed = backups.backup(settings, store, folder)
    assert completed.skipped >= 3  # what the killed run copied is not read again
    assert completed.copied + completed.skipped == completed.objects
    restored = backups.restore(target, store_for(target), folder)
    assert restored.reindexed["items"] == len(items)

    # A later run interrupted: the complete backup is still there, restored only when asked.
    ingest(api, settings, new_item(api, title="Thêm"), "them.pdf", material.born_digital_pdf())
    with pytest.raises(backups.BackupInterrupted):
        backups.backup(settings, store, folder, stop_after=1)
    with pytest.raises(backups.BackupIncomplete) as refused_again:
        backups.check_complete(folder)
    assert "--last-complete" in refused_again.value.message
    assert backups.check_complete(folder, last_complete=True)["run"] == completed.run


def test_restore_refuses_an_instance_with_data(
    api: Api, settings: Settings, tmp_path: Path
) -> None:
    new_item(api, title="Đã có dữ liệu")
    folder = tmp_path / "backup"
    backups.backup(settings, store_for(settings), folder)
    with pytest.raises(backups.InstanceNotEmpty) as refused:
        backups.restore(settings, store_for(settings), folder)
    assert "không trống" in refused.value.message and "--force" in refused.value.message
    assert "items 1" in str(refused.value.message_en)
    # A folder that is no backup at all.
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInput) as not_backup:
        backups.restore(settings, store_for(settings), tmp_path / "empty")
    assert "không phải bản sao lưu" in not_backup.value.message


def test_a_backup_from_an_older_schema_is_migrated(
    api: Api, settings: Settings, fresh: Settings, tmp_path: Path
) -> None:
    from alembic.script import ScriptDirectory

    item_id = new_item(api, title="Lược đồ cũ")
    script = ScriptDirectory.from_config(migrate.alembic_config(settings.sqlalchemy_url))
    head = script.get_revision(str(script.get_current_head()))
    assert head is not None
    older = str(head.down_revision)
    migrate.downgrade(settings.sqlalchemy_url, older)
    folder = tmp_path / "backup"
    backups.backup(settings, store_for(settings), folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["database"]["revision"] == older

    target = fresh
    restored = backups.restore(target, store_for(target), folder)
    assert restored.migrated_from == older
    assert migrate.is_current(target.sqlalchemy_url)
    assert restored.reindexed["items"] == 1
    hits = meili.engine_for(target).raw_search("items", "Lược đồ cũ")
    assert [int(h["id"]) for h in hits] == [item_id]


def test_a_damaged_copy_is_not_restored(
    settings: Settings, fresh: Settings, tmp_path: Path
) -> None:
    store = store_for(settings)
    store.put_bytes("pages/999/00001.jpg", b"\xff\xd8 trang " * 50, media_type="image/jpeg")
    folder = tmp_path / "backup"
    backups.backup(settings, store, folder)
    copy = next(p for p in (folder / "objects").glob("*/*"))
    data = bytearray(copy.read_bytes())
    data[7] ^= 0x01
    copy.write_bytes(bytes(data))
    with pytest.raises(InvalidInput) as refused:
        backups.restore(fresh, store_for(fresh), folder)
    assert "bị hỏng" in refused.value.message and "pages/999/00001.jpg" in refused.value.message
    assert not store_for(fresh).exists("pages/999/00001.jpg")


def test_postgresql_is_backed_up_with_pg_dump_and_restored(
    settings: Settings, postgres_url: str, tmp_path: Path
) -> None:
    from sqlalchemy import text

    from collection.db import make_engine
    from collection.models import Item

    names = ["kho_src_" + secrets.token_hex(3), "kho_dst_" + secrets.token_hex(3)]
    admin = make_engine(postgres_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    base = postgres_url.rsplit("/", 1)[0]
    source = settings.model_copy(update={"database_url": f"{base}/{names[0]}"})
    migrate.upgrade(source.sqlalchemy_url)
    with session_scope(source.sqlalchemy_url) as session:
        session.add(Item(title="Gia phả họ Lê ở Thọ Xuân"))
    folder = tmp_path / "backup"
    backups.backup(source, store_for(source), folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["database"]["engine"] == "postgresql"
    assert manifest["database"]["file"].endswith("database.pgdump")

    target = settings.model_copy(
        update={
            "database_url": f"{base}/{names[1]}",
            "var_dir": tmp_path / "fresh-var",
            "s3_bucket": "kho-fresh-" + secrets.token_hex(4),
            "meili_index_prefix": "p" + secrets.token_hex(4),
        }
    )
    bootstrap.prepare(target)
    bootstrap.ensure_first_admin(target)
    restored = backups.restore(target, store_for(target), folder)
    assert restored.reindexed["items"] == 1
    with session_scope(target.sqlalchemy_url) as session:
        assert [i.title for i in session.query(Item)] == ["Gia phả họ Lê ở Thọ Xuân"]
        assert session.query(User).count() == 0  # the source had none: the first admin is gone
    for url in (source.sqlalchemy_url, target.sqlalchemy_url):
        engine_for(url).dispose()
