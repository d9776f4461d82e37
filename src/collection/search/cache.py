"""Search answers kept for a few seconds in each web process: citizens at the points search the
same few things again and again (bench/load.py measures what that buys).

An answer is keyed by everything it depends on: the kind of answer, the scope (public, at an
access point, staff: never shared across scopes, so on-site text never reaches the public), the
query as the planner normalises it (NFC, runs of spaces as one), the filters, the sort, the page
and its size. It is served only while

- the index has not changed: the uid of the newest task Meilisearch finished on our indexes is the
  index's generation; it is re-read at most every CHECK_EVERY_S (one small request, whoever made
  the change: a worker's sync, `collection reindex`, another web process), and at once while a
  write this process sent (a sync run here) is not yet done, so that such an edit shows at once;
- and it is younger than ``search_cache_seconds`` (a few seconds): the bound for what the
  generation does not see (place labels from the database) and the only bound when the key may
  not list tasks (an operator's narrow key).

Concurrent misses of one key wait for the first (one Meilisearch search, not two hundred).
Nothing here records usage: every caller records its search event whether the answer was
cached or not (a cached answer is still a search by that reader, COUNTER 5.1 / ISO 2789).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from collection.config import Settings
from collection.search.query import MAX_QUERY_CHARS, Scope
from collection.search.vietnamese import nfc

if TYPE_CHECKING:
    from collection.search.meili import SearchEngine

T = TypeVar("T")
# How stale an answer may be after another process (the worker's sync) changed the index: one
# small request to Meilisearch at most ten times a second; bench/edits.py waited up to 0.25 s.
CHECK_EVERY_S = 0.1


def query_key(q: str) -> str:
    """The query as the planner reads it (Query.parse): answers to these are the same."""
    return " ".join(nfc(q).split())[:MAX_QUERY_CHARS]


def answer_key(kind: str, scope: Scope, q: str, *rest: Hashable) -> tuple[Hashable, ...]:
    return (kind, scope.value, query_key(q), *rest)


@dataclass
class _Entry:
    value: Any
    generation: int | None
    stored_at: float


class AnswerCache:
    """A bounded LRU map of answers, dropped when the index's generation moves."""

    def __init__(
        self,
        *,
        entries: int,
        ttl_s: float,
        generation: Callable[[], int | None],
        written: Callable[[], int],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_entries = entries
        self.ttl_s = ttl_s
        self._read_generation = generation
        self._written = written
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._flights: dict[Hashable, Future[Any]] = {}
        self._generation: int | None = None
        self._checked_at = float("-inf")
        self._checking = False
        self.hits = self.misses = self.shared = 0

    @property
    def enabled(self) -> bool:
        return self.max_entries > 0 and self.ttl_s > 0

    def __len__(self) -> int:
        return len(self._entries)

    def _current(self) -> int | None:
        """The index generation: re-read when CHECK_EVERY_S have passed, or while a write of
        this process is not yet in it (one thread reads; the others keep the last value)."""
        now = self._clock()
        with self._lock:
            known = self._generation
            behind = known is not None and known < self._written()
            if self._checking or (now - self._checked_at < CHECK_EVERY_S and not behind):
                return known
            self._checking = True
        try:
            generation = self._read_generation()
        finally:
            with self._lock:
                self._checking = False
        with self._lock:
            if generation != self._generation:
                self._entries.clear()
                self._generation = generation
            self._checked_at = now
        return generation

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The cached answer for ``key``, else ``compute()`` (once for concurrent callers)."""
        if not self.enabled:
            return compute()
        generation = self._current()
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if (
                entry is not None
                and entry.generation == generation
                and now - entry.stored_at < self.ttl_s
            ):
                self._entries.move_to_end(key)
                self.hits += 1
                value: T = entry.value
                return value
            flight = self._flights.get(key)
            first = flight is None
            if flight is None:
                flight = self._flights[key] = Future()
        if not first:
            with self._lock:
                self.shared += 1
            shared: T = flight.result()
            return shared
        try:
            value = compute()
        except BaseException as exc:
            flight.set_exception(exc)
            raise
        finally:
            with self._lock:
                self._flights.pop(key, None)
        flight.set_result(value)
        with self._lock:
            self.misses += 1
            if generation == self._generation:  # not if the index moved meanwhile
                self._entries[key] = _Entry(value, generation, now)
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        return value

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "entries": len(self._entries),
                "hits": self.hits,
                "shared": self.shared,
                "misses": self.misses,
            }


_caches: dict[SearchEngine, AnswerCache] = {}  # ready_engine keeps one engine per index set
_caches_lock = threading.Lock()


def answers_for(settings: Settings) -> AnswerCache:
    """This process's cache for the indexes the settings name (one per engine)."""
    from collection.search import meili

    engine = meili.ready_engine(settings)
    cache = _caches.get(engine)
    if cache is None:
        with _caches_lock:
            cache = _caches.get(engine)
            if cache is None:
                cache = _caches[engine] = AnswerCache(
                    entries=settings.search_cache_entries,
                    ttl_s=settings.search_cache_seconds,
                    generation=engine.last_task_done,
                    written=lambda: engine.last_write_task,
                )
    return cache
