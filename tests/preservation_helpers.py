"""Shared by the preservation tests: a bucket of the test's own (a storage check lists the whole
bucket), ingesting through the API, and running the queued preservation tasks inline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from collection.config import Settings
from collection.ingest.pipeline import run_job
from collection.preservation import hygiene
from collection.storage import store_for
from tests.helpers import Api, upload

BUCKET = "kho-preservation"


def bucket_of_our_own(settings: Settings) -> Settings:
    """The test's settings with a bucket that holds only this test's objects (a storage check
    lists the whole bucket). One bucket emptied for each test, not one per test: SeaweedFS
    gives every bucket volumes of its own, and runs out of them."""
    own = settings.model_copy(update={"s3_bucket": BUCKET})
    store = store_for(own)
    store.ensure_bucket()
    store.delete_many(list(store.list_keys()))
    return own


def ingest(api: Api, settings: Settings, item_id: int, name: str, data: bytes) -> dict[str, Any]:
    response = upload(api, item_id, name, data)
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    run_job(job_id, settings=settings)
    job = api("GET", f"/api/v1/jobs/{job_id}").json()
    assert job["state"] == "done", job
    return dict(job)


def run_cleanups(settings: Settings) -> int:
    """What a worker does with the queued item clean-ups, with this test's settings; other
    queued tasks are dropped (tests run ingest jobs themselves). Returns how many ran."""
    from collection.queue import huey, search_huey

    ran = 0
    while (task := huey.dequeue()) is not None:
        if task.name == "preservation.remove_item_objects":
            item_id, deleted_at, originals, uploads = task.args
            hygiene.remove_item_objects(
                settings,
                store_for(settings),
                item_id=item_id,
                deleted_at=datetime.fromisoformat(deleted_at),
                original_keys=originals,
                upload_ids=uploads,
            )
            ran += 1
    while search_huey.dequeue() is not None:
        pass
    return ran


def keys(settings: Settings, prefix: str = "") -> set[str]:
    return set(store_for(settings).list_keys(prefix))
