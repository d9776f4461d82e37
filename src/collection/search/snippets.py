"""Snippets with the query words marked in the original text, diacritics and all.

Meilisearch's own highlights are folded (it marks hòa for hóa), so we mark ourselves: when the
query carries diacritics, the words written exactly so (any tone placement, any case); otherwise
every word that folds to a query word. The result is HTML: escaped text and <mark> elements.

Pages run to hundreds of words and a results page shows twenty: the words are found by one
compiled pattern (each letter as the class of every letter that folds to it), so the scan runs
in the regex engine and only the few candidates it finds are looked at in Python."""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from html import escape

from collection.search.vietnamese import fold, telex

_WORD = re.compile(r"\w+")
WINDOW_WORDS = 36
_LEAD_WORDS = 6  # words shown before the first marked one
_LEAD_CHARS = 120  # where those words are looked for
# What the words after the lead span, at ~4 characters a word (a syllable and its space is
# 4–6): short rather than long, so the words counted are the words shown.
_WINDOW_CHARS = (WINDOW_WORDS - _LEAD_WORDS) * 4


def _letter_classes() -> dict[str, str]:
    """Folded letter → every letter (Latin, both cases) that folds to it."""
    classes: dict[str, set[str]] = {}
    for code in [*range(0x30, 0x7B), *range(0xC0, 0x250), *range(0x1E00, 0x1F00)]:
        char = chr(code)
        folded = fold(char)
        if char.isalnum() and len(folded) == 1:
            classes.setdefault(folded, set()).update({char, folded})
    return {
        folded: "[" + "".join(sorted(chars)) + "]" if len(chars) > 1 else re.escape(folded)
        for folded, chars in classes.items()
    }


_CLASSES = _letter_classes()


@lru_cache(maxsize=1024)
def _finder(words: tuple[str, ...]) -> re.Pattern[str] | None:
    """The whole words of ``text`` that fold to one of ``words``."""
    forms = {fold(w) for phrase in words for w in _WORD.findall(phrase)}
    if not forms:
        return None
    alternatives = sorted(
        ("".join(_CLASSES.get(c) or re.escape(c) for c in form) for form in forms),
        key=len,
        reverse=True,
    )
    # Every case is in the classes already: IGNORECASE would only slow the scan.
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)")


@lru_cache(maxsize=1024)
def _exact_keys(words: tuple[str, ...]) -> frozenset[str]:
    return frozenset(telex(w) for phrase in words for w in _WORD.findall(phrase))


@lru_cache(maxsize=65536)  # a page's words repeat across pages and queries
def _telex(word: str) -> str:
    return telex(word)


Hit = tuple[int, int, str]  # start, end, the key it matched (to count distinct words)


def _hits(text: str, words: tuple[str, ...], exact: bool) -> list[Hit]:
    finder = _finder(words)
    if finder is None:
        return []
    if not exact:
        return [(m.start(), m.end(), m.group().lower()) for m in finder.finditer(text)]
    wanted = _exact_keys(words)
    found = []
    for m in finder.finditer(text):
        key = _telex(m.group())
        if key in wanted:
            found.append((m.start(), m.end(), key))
    return found


def mark(text: str, words: tuple[str, ...], *, exact: bool) -> str:
    """All of ``text``, escaped, with the query words marked."""
    return _render(text, _hits(text, words, exact), 0, len(text))


def snippet(text: str, words: tuple[str, ...], *, exact: bool) -> str:
    """About WINDOW_WORDS words around the densest run of query words (the start of the text
    when none is there), escaped, with the words marked. Only the words around the window are
    split out: the page as a whole is scanned by the pattern alone."""
    hits = _hits(text, words, exact)
    if exact and not hits:
        hits = _hits(text, words, False)  # found by its folded form only: show that
    begin = 0
    if hits:
        anchor = _densest(hits)
        before = [m.start() for m in _WORD.finditer(text, max(0, anchor - _LEAD_CHARS), anchor)]
        begin = before[-_LEAD_WORDS] if len(before) >= _LEAD_WORDS else (before or [anchor])[0]
        if not _WORD.search(text, 0, begin):
            begin = 0
    end = begin
    shown = 0
    for shown, match in enumerate(_WORD.finditer(text, begin), start=1):
        end = match.end()
        if shown == WINDOW_WORDS:
            break
    if not shown:
        return ""
    more = shown == WINDOW_WORDS and _WORD.search(text, end) is not None
    if not more:
        end = len(text)
    body = _render(text, hits, begin, end)
    return ("… " if begin else "") + body + (" …" if more else "")


def _densest(hits: list[Hit]) -> int:
    """Where the hit that opens the window with the most distinct query words begins (the
    earliest such), in one sliding pass."""
    inside: Counter[str] = Counter()
    best, best_distinct, ahead = 0, -1, 0
    for start, _, key in hits:
        while ahead < len(hits) and hits[ahead][0] < start + _WINDOW_CHARS:
            inside[hits[ahead][2]] += 1
            ahead += 1
        if len(inside) > best_distinct:
            best, best_distinct = start, len(inside)
        inside[key] -= 1
        if not inside[key]:
            del inside[key]
    return best


def _render(text: str, hits: list[Hit], begin: int, end: int) -> str:
    out, cursor = [], begin
    for start, stop, _ in hits:
        if start < begin or stop > end:
            continue
        out.append(escape(text[cursor:start]))
        out.append(f"<mark>{escape(text[start:stop])}</mark>")
        cursor = stop
    out.append(escape(text[cursor:end]))
    return " ".join("".join(out).split())  # line breaks of the page mean nothing here
