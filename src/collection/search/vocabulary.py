"""The collection's own vocabulary, for "did you mean": the terms index.

Only what the public may see goes in: metadata of published public and on-site items (titles,
alternative titles, subjects, creators, places) and words of pages of published public items
(single words and adjacent pairs, the MAX_PAGE_TERMS used on most pages). A suggestion can then never
reveal a staff-only title or an on-site page. Each term is stored once per folded form, written
the way the collection writes it most often, weighted by how many items (or pages) use it.

Refreshed after `collection reindex`, and by the worker (search/tasks.py): metadata terms within
a minute of a change, page terms at most once an hour (counting every page's words costs more)."""

from __future__ import annotations

import hashlib
import itertools
import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from collection.models import Item, Page
from collection.models.catalogue import Access, ItemStatus
from collection.search.meili import BATCH_SIZE, SearchEngine, batches
from collection.search.vietnamese import fold, nfc

# The most frequent page words and pairs are kept: in a small collection every one, in a large
# one those used on many pages (a word seen once there is as likely an OCR slip as a word).
MAX_PAGE_TERMS = 50_000
MAX_TERM_WORDS = 12  # longer titles are kept by their beginning: suggestions are short
METADATA_WEIGHT = 5  # a title or subject counts as much as five pages using the words
# Counting pairs on a very large collection: when the counter holds this many, terms seen once
# so far are forgotten (a lossy count: a pair first seen late and rarely may be missed).
_PRUNE_AT = 1_000_000
_WORD = re.compile(r"[^\W\d_]+")
_BATCH = 500


class _Tally:
    """Counts of terms as written; folded together (with the written form seen most often)
    only at the end, so that folding runs once per distinct term, not once per word read."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def add(self, written: str, weight: int = 1) -> None:
        self.counts[written] += weight

    def update(self, terms: Iterable[str]) -> None:
        self.counts.update(terms)

    def prune(self) -> None:
        for key in [k for k, n in self.counts.items() if n <= 1]:
            del self.counts[key]

    def documents(self, *, limit: int | None = None) -> Iterator[dict[str, Any]]:
        totals: Counter[str] = Counter()
        forms: dict[str, tuple[int, str]] = {}  # folded → (count, written) of its commonest form
        for written, count in self.counts.items():
            key = fold(written).lower()
            totals[key] += count
            if key not in forms or count > forms[key][0]:
                forms[key] = (count, written)
        for key, count in totals.most_common(limit):
            yield {"id": _term_id(key), "term": forms[key][1], "weight": count}


def _term_id(folded: str) -> str:
    return hashlib.blake2b(folded.encode("utf-8"), digest_size=10).hexdigest()


def _words(text: str) -> list[str]:
    return _WORD.findall(nfc(text))


def _metadata_terms(item: Item) -> Iterable[str]:
    values = [item.title, item.alternative, *item.subject, *item.creator]
    values += [place.place.name for place in item.places if place.place is not None]
    for value in values:
        words = _words(value)[:MAX_TERM_WORDS]
        if words:
            yield " ".join(words)


def metadata_terms(session: Session) -> Iterator[dict[str, Any]]:
    """Terms of the metadata of published public and on-site items."""
    tally = _Tally()
    visible = select(Item).where(
        Item.status == ItemStatus.PUBLISHED, Item.access.in_([Access.PUBLIC, Access.ONSITE])
    )
    for item in session.scalars(visible.execution_options(yield_per=_BATCH)):
        for term in set(_metadata_terms(item)):
            tally.add(term, METADATA_WEIGHT)
    yield from tally.documents()


def page_terms(session: Session) -> Iterator[dict[str, Any]]:
    """Words and adjacent pairs of words of the pages of published public items."""
    tally = _Tally()
    public_pages = (
        select(Page)
        .join(Item, Page.item_id == Item.id)
        .where(Item.status == ItemStatus.PUBLISHED, Item.access == Access.PUBLIC)
    )
    for page in session.scalars(public_pages.execution_options(yield_per=_BATCH)):
        words = [w.lower() for w in _words(page.effective_text)]
        pairs = {f"{a} {b}" for a, b in itertools.pairwise(words)}
        tally.update({*words, *pairs})
        if len(tally.counts) > _PRUNE_AT:
            tally.prune()
    yield from tally.documents(limit=MAX_PAGE_TERMS)


SOURCES = {"metadata": metadata_terms, "pages": page_terms}


def term_documents(
    session: Session, sources: Iterable[str] = SOURCES, generation: int = 0
) -> Iterator[dict[str, Any]]:
    """The terms-index documents of ``sources``: a term found in both is kept in both (its
    weight differs), and suggestions are made once per spelling."""
    for source in sources:
        for document in SOURCES[source](session):
            yield {**document, "id": source[0] + document["id"], "source": source} | {
                "generation": generation
            }


def refresh(session: Session, engine: SearchEngine, sources: Iterable[str] = SOURCES) -> int:
    """Replace the terms of ``sources`` in the terms index: the new generation in, then the
    old one out, so suggestions never go empty. Returns the number of terms written."""
    written = 0
    for source in sources:
        generation = time.time_ns()
        for batch in batches(term_documents(session, [source], generation), BATCH_SIZE):
            engine.upsert("terms", batch, wait=True)
            written += len(batch)
        engine.delete(
            "terms",
            filter=f'source = "{source}" AND generation < {generation}',
            wait=True,
        )
    return written
