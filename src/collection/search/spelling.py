"""Help for a search that found nothing, or not what was typed: "did you mean" from the
collection's own vocabulary (the terms index, see vocabulary.py), and the query without its
rarest word.

A correction is offered only if it finds something with exactly its marks, under the same
filters and access rules as the search; so is the shorter query."""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from collection.search.meili import SearchEngine
from collection.search.query import Query, searched_fields, split_phrases
from collection.search.vietnamese import canonical, fold, telex_terms

MAX_CORRECTIONS = 3
CANDIDATES = 10  # terms read from the vocabulary
MAX_WORDS = 8  # longer queries are not corrected word by word
SIMILAR = 0.75  # how alike (folded) a term's word must be to stand for a typed word


@dataclass(frozen=True)
class Correction:
    """A query to search instead: ``query`` as it would be typed; for the shorter query,
    ``dropped`` the words left out."""

    query: str
    dropped: str | None = None


def typed_words(query: Query) -> list[str]:
    """The words of the query as typed (NFC, tone marks in place), quotes left out."""
    return canonical(" ".join(words for words, _ in split_phrases(query.typed))).split()


def corrections(
    engine: SearchEngine, query: Query, filters: dict[str, list[str]], *, nothing_found: bool
) -> list[str]:
    """Up to MAX_CORRECTIONS spellings of the query from the vocabulary that find something;
    when ``nothing_found``, also without the words the vocabulary has nothing like."""
    words = typed_words(query)
    if not words or len(words) > MAX_WORDS:
        return []
    # The whole query, and (Meilisearch drops words only from the end) the query without each
    # of its words in turn: a word that matches nothing does not hide the others.
    texts = [" ".join(words)] + [
        " ".join(words[:i] + words[i + 1 :]) for i in range(len(words)) if len(words) > 1
    ]
    results = engine.multi_search(
        [
            {"indexUid": "terms", "q": text, "limit": CANDIDATES, "attributesToRetrieve": ["term"]}
            for text in texts
        ]
    )["results"]
    terms = [hit for result in results for hit in result["hits"]]
    typed_form = telex_terms(" ".join(words))
    candidates: dict[str, str] = {}  # by Telex form: one per spelling, in the terms' order
    for term in terms:
        for candidate in _respelled(words, str(term["term"]))[: 2 if nothing_found else 1]:
            form = telex_terms(candidate)
            if form != typed_form:
                candidates.setdefault(form, candidate)
    tried = list(candidates.values())[:CANDIDATES]
    found = [c for c in tried if c in _finding(engine, tried, filters, exact=True)]
    # Those keeping the most of the query's words: «Lam Kinh» for «xyzzyq Lam Kinh», not «là».
    most = max((len(c.split()) for c in found), default=0)
    return [c for c in found if len(c.split()) == most][:MAX_CORRECTIONS]


def shorter(engine: SearchEngine, query: Query, filters: dict[str, list[str]]) -> Correction | None:
    """The query without its rarest word (the one found least), or without its two rarest if
    that is not enough, and so on, as long as one word is left and it finds something."""
    words = typed_words(query)
    if len(words) < 2 or len(words) > MAX_WORDS:
        return None
    alone = _counts(engine, words, filters, exact=False)
    by_rarity = sorted(range(len(words)), key=lambda i: alone[i])
    options = []
    for dropping in range(1, len(words)):
        left_out = set(by_rarity[:dropping])
        rest = " ".join(w for i, w in enumerate(words) if i not in left_out)
        dropped = " ".join(w for i, w in enumerate(words) if i in left_out)
        options.append(Correction(query=rest, dropped=dropped))
    found = _finding(engine, [o.query for o in options], filters, exact=False)
    return next((o for o in options if o.query in found), None)


def _respelled(words: list[str], term: str) -> list[str]:
    """``words`` with each one replaced by the most alike word of ``term`` (if alike enough),
    in lower case when it was typed so; then, if some words have no like in ``term``, the
    same without them."""
    term_words = term.split()
    folded_terms = [fold(w).lower() for w in term_words]
    out: list[tuple[str, bool]] = []
    after = -1  # the term's words are taken in order where they can be: "trống đồng", not "đông"
    for word in words:
        folded = fold(word).lower()
        ratios = [SequenceMatcher(None, folded, t).ratio() for t in folded_terms]
        # Most alike; among equals, the first one after the last word taken.
        best = max(range(len(ratios)), key=lambda i: (ratios[i], i > after, -i))
        alike = ratios[best] >= SIMILAR
        if alike:
            after = best
        chosen = term_words[best] if alike else word
        out.append((_cased(chosen, word), alike))
    spellings = [" ".join(w for w, _ in out)]
    if not all(alike for _, alike in out) and any(alike for _, alike in out):
        spellings.append(" ".join(w for w, alike in out if alike))
    return spellings


def _cased(chosen: str, typed: str) -> str:
    """``chosen`` in the case ``typed`` was in: lower case, or a capital first letter."""
    if typed.islower():
        return chosen.lower()
    if typed[:1].isupper():
        return chosen[:1].upper() + chosen[1:]
    return chosen


def _query(kind: str, text: str, filters: dict[str, list[str]], *, exact: bool) -> dict[str, Any]:
    return {
        "indexUid": kind,
        "q": telex_terms(text) if exact else text,
        "attributesToSearchOn": searched_fields(kind, exact),
        "filter": filters[kind],
        "matchingStrategy": "all",
        "limit": 0,
    }


def _hits(result: dict[str, Any]) -> int:
    return int(result.get("estimatedTotalHits") or result.get("totalHits") or 0)


def _finding(
    engine: SearchEngine, texts: list[str], filters: dict[str, list[str]], *, exact: bool
) -> set[str]:
    """Those of ``texts`` that find at least one item or page (all their words)."""
    counts = _counts(engine, texts, filters, exact=exact) if texts else []
    return {text for text, count in zip(texts, counts, strict=True) if count}


def _counts(
    engine: SearchEngine, texts: list[str], filters: dict[str, list[str]], *, exact: bool
) -> list[int]:
    """Items and pages each of ``texts`` finds (all its words), in one request."""
    kinds = list(filters)
    queries = [_query(kind, text, filters, exact=exact) for text in texts for kind in kinds]
    results = engine.multi_search(queries)["results"]
    return [
        sum(_hits(results[n * len(kinds) + k]) for k in range(len(kinds)))
        for n in range(len(texts))
    ]
