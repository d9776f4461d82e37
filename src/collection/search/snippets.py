"""Snippets with the query words marked in the original text, diacritics and all.

Meilisearch's own highlights are folded (it marks hòa for hóa), so we mark ourselves: when the
query carries diacritics, the words written exactly so (any tone placement, any case); otherwise
every word that folds to a query word. The result is HTML: escaped text and <mark> elements."""

from __future__ import annotations

import re
from functools import lru_cache
from html import escape

from collection.search.vietnamese import fold, telex

_WORD = re.compile(r"\w+")
WINDOW_WORDS = 36


@lru_cache(maxsize=65536)  # a page's words repeat; snippets were half of a search's Python time
def _key(word: str, *, exact: bool) -> str:
    return telex(word) if exact else fold(word)


def mark(text: str, words: tuple[str, ...], *, exact: bool) -> str:
    """All of ``text``, escaped, with the query words marked."""
    tokens = list(_WORD.finditer(text))
    return _render(text, tokens, _hits(tokens, words, exact), 0, len(text))


def snippet(text: str, words: tuple[str, ...], *, exact: bool) -> str:
    """A window of about WINDOW_WORDS words around the densest run of query words (the start
    of the text when none is there), escaped, with the words marked."""
    tokens = list(_WORD.finditer(text))
    if not tokens:
        return ""
    hits = _hits(tokens, words, exact)
    if exact and not hits:
        hits = _hits(tokens, words, False)  # found by its folded form only: show that
    positions = [i for i, token in enumerate(tokens) if token.start() in hits]
    start = 0
    if positions:
        # The window start that covers the most hits (distinct words first).
        best = max(
            positions,
            key=lambda p: (
                len({hits[tokens[i].start()] for i in positions if p <= i < p + WINDOW_WORDS}),
                -p,
            ),
        )
        start = max(0, best - 6)
    end = min(len(tokens), start + WINDOW_WORDS)
    begin_char = tokens[start].start() if start else 0
    end_char = tokens[end - 1].end() if end < len(tokens) else len(text)
    body = _render(text, tokens[start:end], hits, begin_char, end_char)
    return ("… " if start else "") + body + (" …" if end < len(tokens) else "")


def _hits(tokens: list[re.Match[str]], words: tuple[str, ...], exact: bool) -> dict[int, str]:
    """Start offset of each matching token → the key it matched."""
    wanted = {_key(w, exact=exact) for w in words}
    found = {}
    for token in tokens if wanted else ():
        key = _key(token.group(), exact=exact)
        if key in wanted:
            found[token.start()] = key
    return found


def _render(
    text: str, tokens: list[re.Match[str]], hits: dict[int, str], begin: int, end: int
) -> str:
    out, cursor = [], begin
    for token in tokens:
        if token.start() not in hits:
            continue
        out.append(escape(text[cursor : token.start()]))
        out.append(f"<mark>{escape(token.group())}</mark>")
        cursor = token.end()
    out.append(escape(text[cursor:end]))
    return " ".join("".join(out).split())  # line breaks of the page mean nothing here
