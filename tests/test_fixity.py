"""Fixity: originals read back from a real S3 and compared with the SHA-256 recorded at ingest.
A flipped byte is found, shown loudly on the dashboard, logged, and never repaired; an object
deleted behind our back is missing; the worker's schedule checks the share that is due."""

from __future__ import annotations

import hashlib
import io
import secrets
import tracemalloc
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from collection.config import Settings
from collection.db import session_scope, utcnow
from collection.ingest.service import original_key
from collection.models import AuditEvent, FixityCheck, FixityOutcome, Role, StoredFile
from collection.preservation import fixity
from collection.storage import store_for
from tests import material
from tests.helpers import Api, make_user, new_item
from tests.preservation_helpers import bucket_of_our_own, ingest
from tests.test_cli import env_for, run
from tests.test_staff_pages import browser_login


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return bucket_of_our_own(settings)


def audit_actions(settings: Settings, item_id: int) -> list[str]:
    with session_scope(settings.sqlalchemy_url) as session:
        return list(
            session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.target_id == item_id, AuditEvent.action.like("fixity.%"))
                .order_by(AuditEvent.id)
            )
        )


def test_a_flipped_byte_is_found_shown_logged_and_never_repaired(
    api: Api, client: TestClient, settings: Settings
) -> None:
    data = material.born_digital_pdf()
    item_id = new_item(api, title="Địa chí huyện Nga Sơn")
    ingest(api, settings, item_id, "nga-son.pdf", data)
    store = store_for(settings)
    key = original_key(hashlib.sha256(data).hexdigest())

    clean = fixity.run(settings, store, everything=True)
    assert clean.checked == 1 and clean.outcomes["ok"] == 1 and not clean.failures
    assert audit_actions(settings, item_id) == []  # a first check that is fine logs nothing

    flipped = bytearray(data)
    flipped[len(flipped) // 2] ^= 0x01
    store.put_bytes(key, bytes(flipped), media_type="application/pdf")  # behind our back

    found = fixity.run(settings, store, everything=True)
    assert found.outcomes["mismatch"] == 1
    assert found.failures[0].found_sha256 == hashlib.sha256(flipped).hexdigest()
    assert store.get_bytes(key) == bytes(flipped)  # reported, left as found: never "repaired"
    with session_scope(settings.sqlalchemy_url) as session:
        row = session.get(FixityCheck, key)
        assert row is not None and row.outcome == FixityOutcome.MISMATCH
        assert row.expected_sha256 == hashlib.sha256(data).hexdigest()
        assert row.failing_since is not None
    assert audit_actions(settings, item_id) == ["fixity.mismatch"]

    make_user(settings, "quan.tri@thuvien.vn", Role.REPORTER)
    browser_login(client, "quan.tri@thuvien.vn")
    dashboard = client.get("/staff").text
    assert 'class="card fixity-alarm" role="alert"' in dashboard
    assert "SAI MÃ KIỂM TRA" in dashboard and key in dashboard
    assert f'href="/staff/tai-lieu/{item_id}">Địa chí huyện Nga Sơn</a> — nga-son.pdf' in dashboard
    log = client.get(f"/staff/nhat-ky?loai=item&so={item_id}").text
    assert "TỆP GỐC BỊ THAY ĐỔI" in log

    # Checked again, still wrong: one log entry for the change, not one per check.
    fixity.run(settings, store, everything=True)
    assert audit_actions(settings, item_id) == ["fixity.mismatch"]
    # The CLI says so, and exits 3 for monitoring.
    cli = run(["fixity", "--all"], env_for(settings))
    assert cli.returncode == 3, cli.stderr
    assert "SAI MÃ KIỂM TRA" in cli.stderr and key in cli.stderr

    # Restored from a copy by a person: the next check says so and the alarm goes.
    store.put_bytes(key, data, media_type="application/pdf")
    assert fixity.run(settings, store, everything=True).outcomes["ok"] == 1
    assert audit_actions(settings, item_id) == ["fixity.mismatch", "fixity.restored"]
    assert "fixity-alarm" not in client.get("/staff").text


def test_an_object_deleted_behind_our_back_is_missing(
    api: Api, client: TestClient, settings: Settings
) -> None:
    data = material.born_digital_pdf(["Văn bia Lam Kinh " * 20])
    item_id = new_item(api, title="Văn bia Lam Kinh")
    ingest(api, settings, item_id, "van-bia.pdf", data)
    store = store_for(settings)
    key = original_key(hashlib.sha256(data).hexdigest())
    store.delete(key)

    cli = run(["fixity"], env_for(settings, COLLECTION_FIXITY_DAYS="1"))
    assert cli.returncode == 0, cli.stderr  # not due yet: stored today, checked within a day
    assert "checked 0" in cli.stderr
    cli = run(["fixity", "--all"], env_for(settings))
    assert cli.returncode == 3, cli.stderr
    assert "MẤT TỆP" in cli.stderr
    with session_scope(settings.sqlalchemy_url) as session:
        row = session.get(FixityCheck, key)
        assert row is not None and row.outcome == FixityOutcome.MISSING
        assert row.found_sha256 is None
    assert audit_actions(settings, item_id) == ["fixity.missing"]
    make_user(settings, "quan.tri@thuvien.vn", Role.REPORTER)
    browser_login(client, "quan.tri@thuvien.vn")
    dashboard = client.get("/staff").text
    assert "MẤT TỆP" in dashboard and "(không còn tệp)" in dashboard
    assert f'href="/staff/tai-lieu/{item_id}"' in dashboard


def test_a_shared_original_is_checked_once_and_reported_for_every_item(
    api: Api, settings: Settings
) -> None:
    data = material.born_digital_pdf(["Gia phả họ Lê " * 20])
    first, second = new_item(api, title="Gia phả họ Lê"), new_item(api, title="Bản sao gia phả")
    ingest(api, settings, first, "gia-pha.pdf", data)
    ingest(api, settings, second, "ban-sao.pdf", data)  # the same bytes: linked, stored once
    store = store_for(settings)
    key = original_key(hashlib.sha256(data).hexdigest())
    store.put_bytes(key, data[:-1])
    summary = fixity.run(settings, store, everything=True)
    assert summary.checked == 1 and summary.outcomes["mismatch"] == 1
    with session_scope(settings.sqlalchemy_url) as session:
        status = fixity.status(session, days=settings.fixity_days)
    assert status.originals == 1 and status.checked == 1 and status.due == 0
    assert [i[0] for i in status.failing[0].items] == [first, second]
    assert audit_actions(settings, first) == audit_actions(settings, second) == ["fixity.mismatch"]


def test_the_schedule_checks_what_is_due_oldest_first_within_a_budget(
    api: Api, settings: Settings
) -> None:
    item_id = new_item(api)
    for n in range(3):
        ingest(
            api, settings, item_id, f"{n}.pdf", material.born_digital_pdf([f"Trang số {n} " * 9])
        )
    store = store_for(settings)
    with session_scope(settings.sqlalchemy_url) as session:
        assert fixity.due(session, now=utcnow(), days=settings.fixity_days) == []
        # Stored 20, 19 and 18 days ago: all three overdue, the oldest first.
        files = list(session.scalars(select(StoredFile).order_by(StoredFile.id)))
        for age, file in zip((20, 19, 18), files, strict=True):
            session.execute(
                update(StoredFile)
                .where(StoredFile.id == file.id)
                .values(created_at=utcnow() - timedelta(days=age))
            )
        order = [o.storage_key for o in fixity.due(session, now=utcnow(), days=14)]
        assert order == [f.storage_key for f in files]
        # An even share: 3 originals over 14 days of 10-minute ticks is 1 a tick.
        assert fixity.tick_budget(session, days=14, max_mb=2048) == (1, 2048 * 1024 * 1024)

    first = fixity.run(settings, store, limit=1)
    assert first.checked == 1
    with session_scope(settings.sqlalchemy_url) as session:
        left = [o.storage_key for o in fixity.due(session, now=utcnow(), days=14)]
        assert left == [f.storage_key for f in files[1:]]
    # A byte budget smaller than one object still checks one (never none), and no more.
    assert fixity.run(settings, store, max_bytes=1).checked == 1
    assert fixity.run(settings, store).checked == 1  # the last one due
    assert fixity.run(settings, store).checked == 0  # nothing is due now
    with session_scope(settings.sqlalchemy_url) as session:
        status = fixity.status(session, days=14)
        assert (status.originals, status.checked, status.due) == (3, 3, 0)
        # Two weeks on, they are due again.
        assert len(fixity.due(session, now=utcnow() + timedelta(days=15), days=14)) == 3


def test_the_worker_tick_runs_on_the_default_sqlite_queue(
    api: Api, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scheduled tick as the worker runs it, on Huey's SQLite storage (whose locks cannot
    expire: asking for a ttl raised NotImplementedError on every tick); a tick already running
    makes the next one give way."""
    from collection.preservation import tasks
    from collection.queue import huey, locks_expire

    assert not locks_expire(huey)  # the tests' queue is the default, SQLite
    item_id = new_item(api)
    ingest(api, settings, item_id, "a.pdf", material.born_digital_pdf(["Trang một " * 9]))
    with session_scope(settings.sqlalchemy_url) as session:
        session.execute(update(StoredFile).values(created_at=utcnow() - timedelta(days=30)))
    monkeypatch.setattr(tasks, "get_settings", lambda: settings)

    with huey.lock_task(tasks.FIXITY_LOCK):
        tasks.fixity_task.call_local()  # another tick holds the lock: nothing is checked
    with session_scope(settings.sqlalchemy_url) as session:
        assert fixity.status(session, days=14).checked == 0
    tasks.fixity_task.call_local()
    with session_scope(settings.sqlalchemy_url) as session:
        assert fixity.status(session, days=14).checked == 1


def test_objects_are_streamed_in_bounded_memory(settings: Settings) -> None:
    store = store_for(settings)
    block = secrets.token_bytes(1024 * 1024)
    size = 48 * 1024 * 1024
    digest = hashlib.sha256()
    for _ in range(size // len(block)):
        digest.update(block)

    class Stream(io.RawIOBase):
        def __init__(self) -> None:
            self.left = size

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            n = min(len(buffer), self.left, len(block))
            buffer[:n] = block[:n]
            self.left -= n
            return n

    store.put_stream("originals/ab/big", io.BufferedReader(Stream()))
    tracemalloc.start()
    found, length = fixity.sha256_of(store, "originals/ab/big")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert (found, length) == (digest.hexdigest(), size)
    assert peak < 12 * 1024 * 1024, f"peak {peak / 1024 / 1024:.1f} MB for a 48 MB object"
