"""Query planning: what a citizen typed, and the filters they chose, as one federated Meilisearch
request. Filters arrive as structured, validated values; only this module writes filter strings.

The plan (DESIGN.md, Vietnamese search): the plain query on the plain fields of both indexes (page
hits distinct per item), and, when the query carries diacritics or was typed on a Telex/VNI keyboard
left switched off, the same query in Telex form on the Telex fields, weighted so exact-diacritic
matches come first."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from collection.errors import InvalidInput
from collection.search.documents import ITEM_TEXT_FIELDS, PAGE_TEXT_FIELDS, telex_field
from collection.search.vietnamese import (
    canonical,
    decode_leak,
    fold,
    has_diacritics,
    nfc,
    telex_open,
    telex_terms,
)

# How much an exact-diacritic (Telex) match outweighs a folded one. Set on the relevance set in
# search/relevance/: high enough that "hóa học" puts chemistry above "hòa bình" even when the
# folded match sits in a better-ranked attribute.
TELEX_WEIGHT = 1.6
TYPING_WEIGHT = 1.4  # between the folded and the exact query (Query.typing)
MAX_QUERY_CHARS = 200
MAX_WINDOW = 1000  # hits read to merge items with their pages; deeper pages are not offered
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
FACETS = ("collection_id", "document_type", "place_key", "decade", "language", "subject")
FILTERS = ("collection_id", "document_type", "place", "decade", "language", "subject")
# A place filter finds what lies in the place or in what it became or came from (place_scope).
FILTERED_FIELD = {"place": "place_scope"}


class Sort(enum.StrEnum):
    RELEVANCE = "relevance"
    NEWEST = "newest"  # date, newest first
    OLDEST = "oldest"
    TITLE = "title"  # Vietnamese alphabetical order

    @property
    def meili(self) -> list[str] | None:
        return {
            Sort.RELEVANCE: None,
            Sort.NEWEST: ["year_start:desc"],
            Sort.OLDEST: ["year_start:asc"],
            Sort.TITLE: ["title_sort:asc"],
        }[self]


class Scope(enum.StrEnum):
    """Who is asking, as far as access rules go."""

    PUBLIC = "public"  # metadata of public and on-site items; text of public items
    ACCESS_POINT = "access_point"  # at a registered point: on-site text too
    STAFF = "staff"  # everything, drafts included


@dataclass(frozen=True)
class Filters:
    collection_id: tuple[int, ...] = ()
    document_type: tuple[str, ...] = ()
    place: tuple[str, ...] = ()
    decade: tuple[int, ...] = ()
    language: tuple[str, ...] = ()
    subject: tuple[str, ...] = ()

    @classmethod
    def checked(cls, **values: tuple[Any, ...]) -> Filters:
        """Filters from a client, each value checked (InvalidInput, in Vietnamese, if not)."""
        problems = []
        for name, given in values.items():
            for value in given:
                if name == "language" and not _LANGUAGE.match(value):
                    problems.append(
                        f"ngôn ngữ phải là mã ISO 639 như vi, en, fr (không phải {value!r})"
                    )
                elif name == "decade" and not (0 <= value <= 2100 and value % 10 == 0):
                    problems.append(
                        f"thập niên phải là năm chia hết cho 10, như 1960 (không phải {value})"
                    )
                elif isinstance(value, str) and not 0 < len(value) <= 200:
                    problems.append(f"giá trị lọc {name} phải dài 1–200 ký tự")
            if len(given) > 50:
                problems.append(f"quá nhiều giá trị lọc {name} (tối đa 50)")
        if problems:
            raise InvalidInput(
                "Tham số tìm kiếm không hợp lệ: " + "; ".join(problems),
                message_en=f"invalid search filters: {values}",
            )
        cleaned: dict[str, Any] = {
            name: tuple(nfc(v) if isinstance(v, str) else v for v in given)
            for name, given in values.items()
        }
        return cls(**cleaned)

    def active(self) -> dict[str, tuple[Any, ...]]:
        return {name: getattr(self, name) for name in FILTERS if getattr(self, name)}


@dataclass(frozen=True)
class Query:
    """The query as it will be searched: ``plain`` (what Meilisearch folds), and ``exact`` (its
    Telex form) when diacritics matter. Quoted phrases stay quoted in both (Meilisearch matches
    a phrase's words together and in order); a phrase typed with diacritics is written in Telex
    form in ``plain`` too, so that it matches exactly (``telex_phrases``: the plain query then
    searches the Telex fields as well). ``typing``: the Telex form again with the last word
    open (no tone key), for a last word still being typed ("nông cố" on the way to "nông
    cống"), weighted a little below ``exact`` so that a complete word's marks still decide."""

    typed: str
    plain: str
    exact: str | None
    typing: str | None = None
    decoded_leak: bool = False
    words: tuple[str, ...] = field(default=())
    phrases: tuple[str, ...] = field(default=())  # as typed (normalised), without the quotes
    telex_phrases: bool = False

    @classmethod
    def parse(cls, typed: str, long_forms: Mapping[tuple[str, ...], str] | None = None) -> Query:
        text = " ".join(nfc(typed).split())[:MAX_QUERY_CHARS]
        parts = [
            _Part.read(words, phrase, long_forms or {}) for words, phrase in split_phrases(text)
        ]
        open_last = bool(parts) and not parts[-1].phrase
        # Phrases first: if Meilisearch has to drop words to find anything, the plain ones go.
        parts.sort(key=lambda part: not part.phrase)
        plain = " ".join(part.searched() for part in parts)
        exact = typing = None
        if any(has_diacritics(part.plain) for part in parts):
            exact = " ".join(part.searched(telex=True) for part in parts)
            if open_last:
                *before, last = exact.split(" ")
                opened = telex_open(parts[-1].words[-1])
                typing = " ".join([*before, opened]) if opened != last else None
        return cls(
            typed=text,
            plain=plain,
            exact=exact or None,
            typing=typing,
            decoded_leak=any(part.decoded for part in parts),
            # Mark both forms.
            words=tuple(dict.fromkeys(w for part in parts for w in (*part.written, *part.words))),
            phrases=tuple(part.plain for part in parts if part.phrase),
            telex_phrases=any(part.phrase and has_diacritics(part.plain) for part in parts),
        )


MAX_PHRASES = 10  # Meilisearch reads 10 query words; more phrases are read as plain words
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})


def split_phrases(text: str) -> list[tuple[str, bool]]:
    """``text`` cut into (words, is a phrase) runs. Quotes pair up from the left; a quote left
    over is a slip and reads as a space; a phrase of one word or none is a plain word; past
    MAX_PHRASES, phrases are plain words."""
    pieces = text.translate(_QUOTES).split('"')
    if len(pieces) % 2 == 0:  # an odd number of quotes: the last one pairs with nothing
        pieces[-2:] = [pieces[-2] + " " + pieces[-1]]
    runs: list[tuple[str, bool]] = []
    phrases = 0
    for index, piece in enumerate(pieces):
        words = " ".join(piece.split())
        quoted = index % 2 == 1 and len(words.split()) > 1 and phrases < MAX_PHRASES
        phrases += quoted
        if words:
            runs.append((words, quoted))
    return runs


@dataclass(frozen=True)
class _Part:
    """A run of the query: plain words or one phrase, normalised."""

    phrase: bool
    plain: str  # canonical, Telex/VNI leaks decoded, long forms shortened
    written: tuple[str, ...]  # the words before shortening, for highlighting
    decoded: bool

    @classmethod
    def read(cls, text: str, phrase: bool, long_forms: Mapping[tuple[str, ...], str]) -> _Part:
        decoded = decode_leak(text)
        written = canonical(decoded or text)
        return cls(phrase, shorten(written, long_forms), tuple(written.split()), bool(decoded))

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.plain.split())

    def searched(self, *, telex: bool = False) -> str:
        if not self.phrase:
            return telex_terms(self.plain) if telex else self.plain
        exact = telex or has_diacritics(self.plain)
        return '"' + (telex_terms(self.plain) if exact else self.plain) + '"'


def shorten(text: str, long_forms: Mapping[tuple[str, ...], str]) -> str:
    """``text`` with each long form ("hội đồng nhân dân", with or without diacritics) as its
    abbreviation ("hđnd", or "hdnd" when written without diacritics)."""
    if not long_forms:
        return text
    words = text.split()
    folded = [fold(w) for w in words]
    out: list[str] = []
    at = 0
    while at < len(words):
        for form, short in long_forms.items():
            if tuple(folded[at : at + len(form)]) == form:
                run = words[at : at + len(form)]
                out.append(short if any(map(has_diacritics, run)) else fold(short))
                at += len(form)
                break
        else:
            out.append(words[at])
            at += 1
    return " ".join(out)


def quote(value: str) -> str:
    """A filter string literal: double-quoted, with backslash and quote escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def any_of(name: str, values: tuple[Any, ...]) -> str:
    literals = ", ".join(str(v) if isinstance(v, int) else quote(v) for v in values)
    return f"{name} IN [{literals}]"


def access_filter(scope: Scope, kind: str) -> list[str]:
    if scope == Scope.STAFF:
        return []
    if kind == "items":  # on-site items' metadata is public; their text is not
        return ['status = "published"', 'access IN ["public", "onsite"]']
    allowed = '["public", "onsite"]' if scope == Scope.ACCESS_POINT else '["public"]'
    return ['status = "published"', f"access IN {allowed}"]


def filter_for(kind: str, filters: Filters, scope: Scope, *extra: str) -> list[str]:
    """A Meilisearch filter (clauses ANDed) for one index."""
    clauses = access_filter(scope, kind)
    clauses += [
        any_of(FILTERED_FIELD.get(name, name), values) for name, values in filters.active().items()
    ]
    return clauses + list(extra)


def searched_fields(kind: str, exact: bool, telex_phrases: bool = False) -> list[str]:
    """The fields a query searches: plain or Telex twins (and the identifier, plain)."""
    fields = ITEM_TEXT_FIELDS if kind == "items" else PAGE_TEXT_FIELDS
    if exact:
        return [telex_field(f) for f in fields]
    # A phrase typed with diacritics is in Telex form even in the plain query: each field's
    # Telex twin follows it, in the same ranking order.
    searched = [g for f in fields for g in ((f, telex_field(f)) if telex_phrases else (f,))]
    return searched + (["identifier"] if kind == "items" else [])


def search_queries(
    query: Query,
    *,
    kinds: tuple[str, ...],
    filters: dict[str, list[str]],
    sort: list[str] | None,
    distinct_pages: bool,
    page_fields: list[str],
    item_fields: list[str],
) -> list[dict[str, Any]]:
    """The federated queries: plain on every index, plus Telex (weighted) when it applies."""
    forms: list[tuple[str, bool, float]] = [(query.plain, False, 1.0)]
    if query.decoded_leak:
        forms.append((query.typed, False, 1.0))  # in case the "leak" was a real word
    if query.exact:
        forms.append((query.exact, True, TELEX_WEIGHT))
    if query.typing:
        forms.append((query.typing, True, TYPING_WEIGHT))
    queries = []
    for kind in kinds:
        for text, exact, weight in forms:
            q: dict[str, Any] = {
                "indexUid": kind,
                "q": text,
                "attributesToSearchOn": searched_fields(kind, exact, query.telex_phrases),
                "attributesToRetrieve": page_fields if kind == "pages" else item_fields,
                "filter": filters[kind],
                "federationOptions": {"weight": weight},
            }
            if sort:
                q["sort"] = sort
            if query.phrases:
                q["matchingStrategy"] = "all"  # a quoted phrase is asked for, not a hint
            if kind == "pages" and distinct_pages:
                q["distinct"] = "item_id"
            queries.append(q)
    return queries
