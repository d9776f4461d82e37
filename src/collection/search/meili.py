"""The Meilisearch adapter: the only module that imports the meilisearch client.

The app never uses the master key for its work: at start it provisions two narrower keys (one that
may write our indexes, one that may only search them) and uses those. No key reaches a browser.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import meilisearch
import orjson
import urllib3
from meilisearch.errors import (
    MeilisearchApiError,
    MeilisearchCommunicationError,
    MeilisearchError,
    MeilisearchTimeoutError,
)

from collection.config import Settings
from collection.errors import CollectionError, ConfigurationError, SearchUnavailable
from collection.search.vietnamese import fold, telex_terms

log = logging.getLogger(__name__)

INDEX_KINDS = ("items", "pages", "terms")
BATCH_SIZE = 2000
_SEED_ID = "seed"  # see _create_with_settings
LONG_FORM_WORDS = 3  # synonyms this long match one way only (see long_forms)
# Fixed key uids: Meilisearch derives a key's value from its uid and the master key, so the same
# keys come back after every restart and on every worker without being stored anywhere.
_KEY_NAMESPACE = uuid.UUID("6f1f7d0e-93a7-4f7e-9a51-6b0d1f0c7a11")


@dataclass(frozen=True)
class AppKeys:
    indexer: str
    searcher: str


# Threads that send a search while its caller works on the answer to the one before.
_SENDERS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="meili-search")


def _key_uid(prefix: str, role: str) -> str:
    return str(uuid.uuid5(_KEY_NAMESPACE, f"{prefix}:{role}"))


def _config(config_dir: Path, name: str, key: str | None = None) -> Any:
    """A JSON file of the search/ folder (or one key of it); ConfigurationError if unreadable."""
    try:
        value = json.loads((config_dir / name).read_text(encoding="utf-8"))
        return value[key] if key is not None else value
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigurationError(
            f"Không đọc được cấu hình tìm kiếm trong {config_dir}: {exc}",
            message_en=f"cannot read search settings from {config_dir}: {exc}",
        ) from exc


def _synonym_groups(config_dir: Path) -> list[list[str]]:
    groups = _config(config_dir, "synonyms.json", "groups")
    return [[w.casefold() for w in group] for group in groups]


def load_index_settings(config_dir: Path, kind: str) -> dict[str, Any]:
    """The Meilisearch settings for one index, as kept in the search/ folder (plus synonyms)."""
    raw = _config(config_dir, f"{kind}.json")
    settings = {k: v for k, v in raw.items() if not k.startswith("_")}
    synonyms: dict[str, list[str]] = {}
    # The Telex query needs the same synonyms in Telex form (thành phố → thanhf phoos), and
    # abbreviations with đ are also typed without it (hđnd, hdnd).
    groups = _synonym_groups(config_dir)
    groups = [sorted({*group, *(fold(w) for w in group)}) for group in groups] + [
        [telex_terms(w) for w in group] for group in groups
    ]
    for group in groups:
        for word in group:
            synonyms.setdefault(word, [])
            synonyms[word] += [other for other in group if other != word]
    settings["synonyms"] = synonyms
    return settings


def long_forms(config_dir: Path) -> dict[tuple[str, ...], str]:
    """Long forms of LONG_FORM_WORDS words or more (folded words) → their one-word abbreviation.

    Meilisearch expands "hđnd" in a query to "hội đồng nhân dân", but not the four words back
    to "hđnd": the query planner writes such long forms as their abbreviation instead."""
    forms = {}
    for group in _synonym_groups(config_dir):
        short = [w for w in group if " " not in w]
        for word in group:
            if short and len(word.split()) >= LONG_FORM_WORDS:
                forms[tuple(fold(word).split())] = short[0]
    return forms


class SearchEngine:
    """Our indexes on one Meilisearch server."""

    def __init__(
        self,
        url: str,
        *,
        keys: AppKeys,
        index_names: Mapping[str, str],
        config_dir: Path,
        timeout: int = 10,
    ) -> None:
        self.url = url
        self.index_names = dict(index_names)
        self.config_dir = config_dir
        self.long_forms = long_forms(config_dir)
        self._writer = meilisearch.Client(url, keys.indexer, timeout=timeout)
        self._reader = meilisearch.Client(url, keys.searcher, timeout=timeout)
        # Searches go through pooled connections: the client library opens a new one per
        # request, which costs more than a small search itself. urllib3 rather than httpx:
        # 0.4-1 ms less a request on this machine, and a search makes two (bench/search.py).
        self._search_path = urllib3.util.parse_url(url).path or ""
        self._http = urllib3.connection_from_url(
            url,
            maxsize=16,  # one per sender thread (_SENDERS)
            timeout=urllib3.Timeout(connect=2.0, read=timeout),
            retries=False,  # Meilisearch down is a clear 503 at once, not three tries later
        )
        self.search_headers = {
            "Authorization": f"Bearer {keys.searcher}",
            # Uncompressed: Meilisearch's chunked gzip answers each waited ~40 ms on a kept-alive
            # connection (bench/search.py: 87 → 46 ms a search); compression buys nothing here.
            "Accept-Encoding": "identity",
            "Content-Type": "application/json",
        }
        # Called with (path, headers, body) of each search as it goes out (bench/search.py
        # replays exactly those against Meilisearch).
        self.on_search: Callable[[str, dict[str, str], bytes], None] | None = None
        # The newest task this process gave Meilisearch (search/cache.py waits for it to be
        # done before trusting answers cached earlier), and the query that finds the newest
        # task done on our indexes (the key may only see those).
        self.last_write_task = -1
        self._tasks_path = f"{self._search_path}/tasks?statuses=succeeded,failed,canceled&limit=1"
        self._tasks_headers = {
            "Authorization": f"Bearer {keys.indexer}",
            "Accept-Encoding": "identity",
        }

    def _wrote(self, task_uid: int) -> int:
        self.last_write_task = max(self.last_write_task, task_uid)
        return task_uid

    def last_task_done(self) -> int | None:
        """The uid of the newest task on our indexes that Meilisearch has finished: it moves
        whenever what a search finds may have changed. None if our key may not list tasks."""
        try:
            response = self._http.urlopen(
                "GET", self._tasks_path, headers=self._tasks_headers, redirect=False
            )
        except urllib3.exceptions.HTTPError as exc:
            raise SearchUnavailable(
                "Không kết nối được máy tìm kiếm.", message_en=f"Meilisearch unreachable: {exc}"
            ) from exc
        if response.status in (401, 403):
            return None  # an operator's narrow key: answers are cached by time only
        if response.status != 200:
            raise SearchUnavailable(message_en=f"Meilisearch answered {response.status} (tasks)")
        results = orjson.loads(response.data).get("results") or [{"uid": -1}]
        return int(results[0]["uid"])

    # --- indexes -----------------------------------------------------------------------------
    def settings_for(self, kind: str) -> dict[str, Any]:
        return load_index_settings(self.config_dir, kind)

    def ensure_indexes(self, *, wait: bool = True) -> None:
        """Create our indexes if missing and apply the settings from search/ (idempotent)."""
        tasks: list[int] = []
        for kind in INDEX_KINDS:
            tasks += self._create_with_settings(self.index_names[kind], kind)
        if wait:
            for task_uid in tasks:
                # Two processes starting together may both create an index: one of the two
                # creations fails, and the index is there all the same.
                self.wait(task_uid, tolerate=frozenset({"index_already_exists"}))

    def current_settings(self, kind: str) -> dict[str, Any]:
        with _translated("get settings"):
            return dict(self._writer.index(self.index_names[kind]).get_settings())

    def document_count(self, kind: str) -> int:
        with _translated("stats"):
            return int(self._writer.index(self.index_names[kind]).get_stats().number_of_documents)

    def _create_with_settings(self, uid: str, kind: str) -> list[int]:
        tasks: list[int] = []
        with _translated(f"create index {uid}"):
            created = False
            try:
                self._writer.get_index(uid)
            except MeilisearchApiError as exc:
                if exc.code != "index_not_found":
                    raise
                tasks.append(
                    self._wrote(self._writer.create_index(uid, {"primaryKey": "id"}).task_uid)
                )
                created = True
            settings = self.settings_for(kind)
            index = self._writer.index(uid)
            tasks.append(self._wrote(index.update_settings(settings).task_uid))
            if created or not index.get_stats().number_of_documents:
                # Meilisearch 1.21 refuses attributesToSearchOn on an index that never held a
                # document (meilisearch#5921): every search failed until the first page was
                # indexed. A document with every searchable field, added and deleted (in one
                # batch, so no search sees it), is enough.
                seed = {"id": _SEED_ID} | {f: "x" for f in settings["searchableAttributes"]}
                tasks.append(self._wrote(index.add_documents([seed], "id").task_uid))
                tasks.append(self._wrote(index.delete_document(_SEED_ID).task_uid))
        return tasks

    # --- documents ---------------------------------------------------------------------------
    def upsert(
        self, kind: str, documents: Sequence[Mapping[str, Any]], *, wait: bool = False
    ) -> None:
        """Add or replace documents in one index."""
        if not documents:
            return
        with _translated("add documents"):
            task = self._writer.index(self.index_names[kind]).add_documents(list(documents), "id")
        self._wrote(task.task_uid)
        if wait:
            self.wait(task.task_uid)

    def delete(
        self, kind: str, *, ids: Sequence[str] = (), filter: str | None = None, wait: bool = False
    ) -> None:
        """Delete documents by id or by a filter we built (never a client's filter string)."""
        with _translated("delete documents"):
            index = self._writer.index(self.index_names[kind])
            if filter is not None:
                task = index.delete_documents(filter=filter)
            elif ids:
                task = index.delete_documents(list(ids))
            else:
                return
        self._wrote(task.task_uid)
        if wait:
            self.wait(task.task_uid)

    def rebuild(self, documents: Mapping[str, Iterable[Mapping[str, Any]]]) -> dict[str, int]:
        """Build fresh indexes (of the kinds in ``documents``) beside the live ones, then swap
        them in: search never goes empty."""
        counts: dict[str, int] = {}
        swaps: list[Mapping[str, list[str] | bool]] = []
        for kind, kind_documents in documents.items():
            live, fresh = self.index_names[kind], f"{self.index_names[kind]}_rebuild"
            with _translated("rebuild"):
                self._delete_if_exists(fresh)
                for task_uid in self._create_with_settings(live, kind) + self._create_with_settings(
                    fresh, kind
                ):
                    self.wait(task_uid)
                count = 0
                for batch in batches(kind_documents, BATCH_SIZE):
                    task = self._writer.index(fresh).add_documents(batch, "id")
                    self._wrote(task.task_uid)
                    self.wait(task.task_uid, timeout_ms=600_000)
                    count += len(batch)
            counts[kind] = count
            swaps.append({"indexes": [live, fresh]})
        with _translated("swap indexes"):
            self._wrote(self._writer.swap_indexes(swaps).task_uid)
            # A swap task has no single index, so a key limited to our indexes cannot see it.
            # Deleting the old copies is queued behind the swap on the same indexes: waiting
            # for those deletions waits for the swap.
            for kind in documents:
                self._delete_if_exists(f"{self.index_names[kind]}_rebuild")
        for kind in documents:
            if self.document_count(kind) != counts[kind]:
                raise CollectionError(
                    "Không hoán đổi được chỉ mục mới.",
                    message_en=f"index swap failed: {self.index_names[kind]} does not hold the "
                    f"{counts[kind]} rebuilt documents",
                )
        return counts

    def _delete_if_exists(self, uid: str) -> None:
        try:
            self.wait(self._wrote(self._writer.delete_index(uid).task_uid))
        except SearchUnavailable:
            raise
        except CollectionError:
            pass  # the task failed because the index was not there: nothing to delete

    def raw_search(self, kind: str, query: str, **params: Any) -> list[dict[str, Any]]:
        """Hits of one plain search with the search-only key (query planning comes later)."""
        with _translated("search"):
            result = self._reader.index(self.index_names[kind]).search(query, params)
        hits: list[dict[str, Any]] = result["hits"]
        return hits

    def multi_search(
        self, queries: Sequence[Mapping[str, Any]], *, federation: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """One /multi-search with the search-only key: federated (one merged list) when
        ``federation`` is given, else one result per query. ``queries`` name index kinds
        (``"items"``, ``"pages"``), not index uids."""
        body: dict[str, Any] = {
            "queries": [{**q, "indexUid": self.index_names[q["indexUid"]]} for q in queries]
        }
        if federation is not None:
            body["federation"] = dict(federation)
            if "facetsByIndex" in federation:
                body["federation"]["facetsByIndex"] = {
                    self.index_names[kind]: facets
                    for kind, facets in federation["facetsByIndex"].items()
                }
        path, payload = f"{self._search_path}/multi-search", orjson.dumps(body)
        if self.on_search is not None:
            self.on_search(path, self.search_headers, payload)
        try:
            response = self._http.urlopen(
                "POST", path, body=payload, headers=self.search_headers, redirect=False
            )
        except urllib3.exceptions.HTTPError as exc:
            raise SearchUnavailable(
                "Không kết nối được máy tìm kiếm.", message_en=f"Meilisearch unreachable: {exc}"
            ) from exc
        if response.status >= 500:
            raise SearchUnavailable(message_en=f"Meilisearch answered {response.status}")
        try:
            result: dict[str, Any] = orjson.loads(response.data)
        except orjson.JSONDecodeError as exc:
            raise SearchUnavailable(message_en="Meilisearch answered something not JSON") from exc
        if response.status != 200:
            raise CollectionError(
                "Máy tìm kiếm báo lỗi.",
                message_en=f"Meilisearch error (search): {result.get('code')}: "
                f"{result.get('message')}",
            )
        if "facetsByIndex" in result:
            kinds = {uid: kind for kind, uid in self.index_names.items()}
            result["facetsByIndex"] = {
                kinds.get(uid, uid): value for uid, value in result["facetsByIndex"].items()
            }
        return result

    def multi_search_soon(self, queries: Sequence[Mapping[str, Any]]) -> Future[dict[str, Any]]:
        """The same /multi-search (not federated) sent from another thread: the caller goes on
        with its own work while Meilisearch answers."""
        return _SENDERS.submit(self.multi_search, queries)

    def wait_for_idle(self, *, timeout_ms: int = 60_000) -> None:
        """Wait until no task on our indexes is enqueued or processing (CLI and tests only)."""
        with _translated("list tasks"):
            tasks = self._writer.get_tasks(
                {
                    "statuses": ["enqueued", "processing"],
                    "indexUids": list(self.index_names.values()),
                }
            )
        for task in tasks.results:
            self.wait(task.uid, timeout_ms=timeout_ms)

    # --- tasks -------------------------------------------------------------------------------
    def wait(
        self, task_uid: int, *, timeout_ms: int = 60_000, tolerate: frozenset[str] = frozenset()
    ) -> None:
        """Wait for a Meilisearch task; a failed task becomes our error with its reason, unless
        its error code is one to ``tolerate``."""
        with _translated("wait for task"):
            task = self._writer.wait_for_task(task_uid, timeout_in_ms=timeout_ms, interval_in_ms=20)
        if task.status != "succeeded":
            error = task.error or {}
            if error.get("code") in tolerate:
                return
            raise CollectionError(
                "Máy tìm kiếm không thực hiện được thao tác.",
                message_en=f"Meilisearch task {task_uid} {task.status}: {error.get('message', '')}",
            )


def provision_keys(url: str, master_key: str, prefix: str) -> AppKeys:
    """Create (or find) the app's two narrow keys, using the master key only for that."""
    admin = meilisearch.Client(url, master_key, timeout=5)
    wanted = {
        "indexer": ["search", "documents.*", "indexes.*", "settings.*", "tasks.get", "stats.get"],
        "searcher": ["search"],
    }
    values: dict[str, str] = {}
    with _translated("provision keys"):
        for role, actions in wanted.items():
            uid = _key_uid(prefix, role)
            try:
                values[role] = admin.get_key(uid).key
            except MeilisearchApiError as exc:
                if exc.code == "invalid_api_key" or exc.status_code == 403:
                    # Not a master key (an operator gave us an already narrow key): use it as is.
                    return AppKeys(indexer=master_key, searcher=master_key)
                if exc.code != "api_key_not_found":
                    raise
                values[role] = admin.create_key(
                    {
                        "uid": uid,
                        "name": f"{prefix}-{role}",
                        "description": f"Kho số Thanh Hóa {role} key (created by the app)",
                        "actions": actions,
                        "indexes": [f"{prefix}_*"],
                        "expiresAt": None,
                    }
                ).key
    return AppKeys(indexer=values["indexer"], searcher=values["searcher"])


def engine_for(settings: Settings) -> SearchEngine:
    """A SearchEngine for the settings: provisions the app's keys (needs Meilisearch up)."""
    url = settings.meili_endpoint_url
    keys = provision_keys(url, settings.meili_key(), settings.meili_index_prefix)
    return SearchEngine(
        url, keys=keys, index_names=settings.index_names, config_dir=settings.search_config_dir
    )


_ready: dict[tuple[str, str, str], SearchEngine] = {}
_readying = threading.Lock()


def ready_engine(settings: Settings) -> SearchEngine:
    """The engine with our indexes known to exist with their settings: once per process, so a
    worker never lets Meilisearch create an index without settings by adding documents to it.

    One thread does it; the others wait for it. Each of the forty threads of a web process
    that two hundred citizens reached at once did it before: a hundred settings updates,
    each a task that also moved the answer cache's generation (bench/load.py, py-spy: 43 % of
    the first 20 s went on it)."""
    cache_key = (settings.meili_endpoint_url, settings.meili_key(), settings.meili_index_prefix)
    engine = _ready.get(cache_key)
    if engine is None:
        with _readying:
            engine = _ready.get(cache_key)
            if engine is None:
                engine = engine_for(settings)
                engine.ensure_indexes(wait=True)
                _ready[cache_key] = engine
    return engine


def try_ready_engine(settings: Settings) -> None:
    """``ready_engine`` as a process starts (the web app, the worker); if Meilisearch cannot be
    reached yet, a warning, and the first search or sync tries again (and says why)."""
    try:
        ready_engine(settings)
    except CollectionError as exc:
        log.warning("search not ready at start: %s", exc.message_en)


def batches(documents: Iterable[Mapping[str, Any]], size: int) -> Iterator[list[Mapping[str, Any]]]:
    batch: list[Mapping[str, Any]] = []
    for document in documents:
        batch.append(document)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


@contextmanager
def _translated(doing: str) -> Iterator[None]:
    """Turn the client's exceptions into ours, naming what we were doing."""
    try:
        yield
    except CollectionError:
        raise
    except (MeilisearchCommunicationError, MeilisearchTimeoutError, ConnectionError) as exc:
        raise SearchUnavailable(
            "Không kết nối được máy tìm kiếm.",
            message_en=f"Meilisearch unreachable ({doing}): {exc}",
        ) from exc
    except MeilisearchApiError as exc:
        raise CollectionError(
            "Máy tìm kiếm báo lỗi.",
            message_en=f"Meilisearch error ({doing}): {exc.code}: {exc.message}",
        ) from exc
    except MeilisearchError as exc:
        raise SearchUnavailable(message_en=f"Meilisearch error ({doing}): {exc}") from exc


def ping(url: str) -> None:
    """Raise SearchUnavailable unless the Meilisearch at ``url`` is healthy (no key needed)."""
    with _translated("health"):
        status = meilisearch.Client(url, timeout=2).health().get("status")
    if status != "available":
        raise SearchUnavailable(message_en=f"Meilisearch status {status!r}")
