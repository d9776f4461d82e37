"""The gazetteer in memory: every place with its parents and its old → new links, the labels staff
and readers see, what a place "covers" for search, and the resolution of what someone typed.

One snapshot is a few hundred kilobytes (about 750 units, 560 links); it is rebuilt only when the
tables change (``places.service.gazetteer``), so a lookup as one types is a scan of a list."""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from collection.errors import InvalidInput
from collection.models import REFORM_DATE, PlaceLevel
from collection.search.vietnamese import canonical, fold, has_diacritics, nfc, sort_key

# Kind words people write before a name, and the kinds they stand for.
KIND_WORDS = {
    "tỉnh": "tỉnh",
    "toàn tỉnh": "tỉnh",
    "thành phố": "thành phố",
    "tp": "thành phố",
    "tp.": "thành phố",
    "thị xã": "thị xã",
    "tx": "thị xã",
    "tx.": "thị xã",
    "huyện": "huyện",
    "h.": "huyện",
    "thị trấn": "thị trấn",
    "tt": "thị trấn",
    "tt.": "thị trấn",
    "xã": "xã",
    "phường": "phường",
    "p.": "phường",
    "đặc khu": "đặc khu",
}
# Kind words typed without diacritics that cannot be the start of a name ("tinh" can: Tĩnh Gia).
_UNACCENTED_KINDS = {
    "thanh pho": "thành phố",
    "thi xa": "thị xã",
    "thi tran": "thị trấn",
    "huyen": "huyện",
    "phuong": "phường",
    "xa": "xã",
    "dac khu": "đặc khu",
}
DISTRICT_KINDS = frozenset({"huyện", "thị xã", "thành phố"})
_KIND_PREFIX = re.compile(
    r"^(" + "|".join(re.escape(w) for w in sorted(KIND_WORDS, key=len, reverse=True)) + r")\s+",
    re.IGNORECASE,
)
_ERA = re.compile(r"\s*\((cũ|cu|mới|moi|trước 2025|truoc 2025|từ 2025|tu 2025)\)\s*$", re.I)
_KEY = re.compile(r"^(\d{2}|cu-\d{3,6}|moi-\d{3,6}|dp-[a-z0-9-]{1,30})$")
LOOKUP_LIMIT = 20


@dataclass(frozen=True)
class PlaceView:
    """One place as the gazetteer knows it (a plain copy of its row)."""

    id: int
    key: str
    code: str | None
    name: str
    kind: str
    level: PlaceLevel
    parent_id: int | None
    is_old: bool  # existed only before 1 July 2025
    is_new: bool  # exists only since
    lat: float | None
    lon: float | None
    aliases: tuple[str, ...] = ()
    valid_from: date | None = None
    valid_to: date | None = None
    note: str = ""
    source: str = ""
    in_source: bool = True

    @property
    def named(self) -> str:
        """ "xã Thiệu Trung": the kind in lower case, as in running Vietnamese text."""
        return f"{self.kind} {self.name}"


@dataclass(frozen=True)
class Match:
    place: PlaceView
    label: str
    hierarchy: str


def _exact(text: str) -> str:
    """Diacritics kept, case and tone placement ignored (hoá = hóa, Hóa = hóa)."""
    return canonical(nfc(text)).casefold()


def _loose(text: str) -> str:
    return " ".join(fold(text).casefold().split())


def strip_kind(text: str) -> tuple[str | None, str]:
    """("xã", "Thiệu Trung") from "xã Thiệu Trung"; (None, text) when no kind word leads."""
    found = _KIND_PREFIX.match(text)
    if found is None:
        folded = _loose(text)
        for word, kind in _UNACCENTED_KINDS.items():
            if folded.startswith(word + " ") and not has_diacritics(text[: len(word)]):
                return kind, text[len(word) :].strip()
        return None, text.strip()
    return KIND_WORDS[found.group(1).lower()], text[found.end() :].strip()


@dataclass
class Gazetteer:
    places: dict[int, PlaceView]
    successors: dict[int, list[int]] = field(default_factory=dict)  # old → new (active links)
    predecessors: dict[int, list[int]] = field(default_factory=dict)
    children: dict[int, list[int]] = field(default_factory=dict)
    by_key: dict[str, PlaceView] = field(default_factory=dict)
    # (id, exact, loose, kind) per name of a place; kind is the name's own ("huyện Tĩnh Gia")
    _names: list[tuple[int, str, str, str]] = field(default_factory=list)
    # A snapshot never changes: each label is worked out once (search labels every place
    # facet value, a few hundred on each search).
    _labels: dict[int, str] = field(default_factory=dict)

    @classmethod
    def build(cls, places: Iterable[PlaceView], links: Iterable[tuple[int, int]]) -> Gazetteer:
        gazetteer = cls(places={p.id: p for p in places})
        successors: dict[int, list[int]] = defaultdict(list)
        predecessors: dict[int, list[int]] = defaultdict(list)
        children: dict[int, list[int]] = defaultdict(list)
        for old, new in links:
            successors[old].append(new)
            predecessors[new].append(old)
        for place in gazetteer.places.values():
            if place.parent_id is not None:
                children[place.parent_id].append(place.id)
            gazetteer.by_key[place.key] = place
            for name in (place.name, *place.aliases):
                kind, bare = strip_kind(name)
                entry = (place.id, _exact(bare), _loose(bare), kind or place.kind)
                gazetteer._names.append(entry)
        order = gazetteer.sort_order
        gazetteer.successors = {k: sorted(v, key=order) for k, v in successors.items()}
        gazetteer.predecessors = {k: sorted(v, key=order) for k, v in predecessors.items()}
        gazetteer.children = {k: sorted(v, key=order) for k, v in children.items()}
        return gazetteer

    # --- labels ---------------------------------------------------------------------------------

    def sort_order(self, place_id: int) -> tuple[str, str]:
        place = self.places[place_id]
        return sort_key(place.name), sort_key(place.kind)

    def ancestors(self, place_id: int) -> list[PlaceView]:
        """Parents from the nearest up (a commune's district, then the province)."""
        out: list[PlaceView] = []
        parent = self.places[place_id].parent_id
        while parent is not None and parent in self.places and len(out) < 10:
            out.append(self.places[parent])
            parent = self.places[parent].parent_id
        return out

    def label(self, place_id: int) -> str:
        """A name that says which place, and that ``resolve`` reads back to the same place:
        "xã Thiệu Trung, huyện Thiệu Hóa (cũ)", "xã Thiệu Trung (mới)", "huyện Thiệu Hóa (cũ)"."""
        found = self._labels.get(place_id)
        if found is None:
            found = self._labels[place_id] = self._label(place_id)
        return found

    def _label(self, place_id: int) -> str:
        place = self.places[place_id]
        parts = [place.named]
        parts += [a.named for a in self.ancestors(place_id) if a.level != PlaceLevel.PROVINCE]
        era = " (cũ)" if place.is_old or self._under_old(place_id) else ""
        era = " (mới)" if place.is_new else era
        return ", ".join(parts) + era

    def _under_old(self, place_id: int) -> bool:
        return any(a.is_old for a in self.ancestors(place_id))

    def title(self, place_id: int) -> str:
        """The label with a capital first letter, for the start of a line."""
        text = self.label(place_id)
        return text[:1].upper() + text[1:]

    def hierarchy(self, place_id: int) -> str:
        """Where a place sits and what it became or came from: "xã Thiệu Trung — huyện Thiệu
        Hóa (cũ) → xã Thiệu Trung (mới)"; "xã Hạc Thành (mới) ← phường Điện Biên, … (cũ)"."""
        place = self.places[place_id]
        up = [a.named for a in self.ancestors(place_id) if a.level != PlaceLevel.PROVINCE]
        text = place.named + (" — " + ", ".join(up) if up else "")
        if place.is_old or self._under_old(place_id):
            text += " (cũ)"
        elif place.is_new:
            text += " (mới)"
        after = self.successors.get(place_id, [])
        before = self.predecessors.get(place_id, [])
        if after:
            text += " → " + "; ".join(self.label(n) for n in after)
        if before:
            shown = [self.places[b].named for b in before[:6]]
            more = f" và {len(before) - 6} nơi khác" if len(before) > 6 else ""
            text += " ← " + ", ".join(shown) + more + " (cũ)"
        return text

    # --- what a place covers ------------------------------------------------------------------

    def scope(self, place_id: int) -> set[int]:
        """The places whose filter should find something placed at ``place_id``: itself, the
        units it lies in, the units it became or came from, and the units those lie in. So a
        filter by an old district finds its communes' items, a filter by a new commune finds what
        was catalogued under the old ones, and the reverse."""
        within = [place_id, *(a.id for a in self.ancestors(place_id))]
        out = set(within)
        for pid in within:
            for linked in [*self.successors.get(pid, []), *self.predecessors.get(pid, [])]:
                out.add(linked)
                out.update(a.id for a in self.ancestors(linked))
        return out

    def related_names(self, assigned: Iterable[int]) -> list[str]:
        """Names (and other names) of the places an item is placed in, and of those they lie in
        or became, but not of the province (which every item is in): what a text search by
        place matches."""
        names: dict[str, None] = {}
        for place_id in assigned:
            for pid in sorted(self.scope(place_id), key=self.sort_order):
                place = self.places[pid]
                if place.level == PlaceLevel.PROVINCE:
                    continue
                names[place.named] = None
                names.update(dict.fromkeys(place.aliases))
        return list(names)

    def descendants(self, place_id: int) -> set[int]:
        out: set[int] = set()
        todo = [place_id]
        while todo:
            pid = todo.pop()
            for child in self.children.get(pid, []):
                if child not in out:
                    out.add(child)
                    todo.append(child)
        return out

    # --- finding places -----------------------------------------------------------------------

    def match(self, place_id: int) -> Match:
        return Match(self.places[place_id], self.label(place_id), self.hierarchy(place_id))

    def lookup(
        self, text: str, *, limit: int = LOOKUP_LIMIT, levels: Iterable[PlaceLevel] = ()
    ) -> list[Match]:
        """Places whose name (or another name) starts with, or contains, what was typed, with or
        without diacritics; names that start with it first, then in Vietnamese order."""
        kind, bare = strip_kind(" ".join(nfc(text).split()))
        wanted = _loose(bare)
        if not wanted:
            return []
        exact = _exact(bare) if has_diacritics(bare) else None
        allowed = set(levels)
        ranked: dict[int, tuple[int, int]] = {}
        for pid, exact_name, loose_name, name_kind in self._names:
            if wanted not in loose_name:
                continue
            place = self.places[pid]
            if (allowed and place.level not in allowed) or (kind and name_kind != kind):
                continue
            rank = (
                0 if loose_name == wanted else 1 if loose_name.startswith(wanted) else 2,
                0 if exact is None or exact in exact_name else 1,
            )
            ranked[pid] = min(ranked.get(pid, rank), rank)
        best = sorted(
            ranked, key=lambda pid: (ranked[pid][1], ranked[pid][0], self.sort_order(pid))
        )
        return [self.match(pid) for pid in best[:limit]]

    def resolve(self, text: str, *, kinds: Iterable[str] = (), field: str = "place") -> PlaceView:
        """The one place ``text`` names: a key ("cu-398", "moi-14797"), a label as ``label``
        writes it, or a name with or without its kind, diacritics, "(cũ)"/"(mới)" and the units
        it lies in ("Thiệu Trung, Thiệu Hóa"). InvalidInput when no place, or more than one,
        fits: the message lists the candidates, so the person asked can choose."""
        typed = " ".join(nfc(text).split())
        if not typed:
            raise InvalidInput("Địa danh trống.", message_en="empty place", field=field)
        candidates = self._candidates(typed, set(kinds))
        if len(candidates) == 1:
            return self.places[candidates[0]]
        if candidates:
            listed = "; ".join(
                f"«{self.label(pid)}» (mã {self.places[pid].key})" for pid in candidates[:8]
            )
            raise InvalidInput(
                f"Địa danh «{typed}» có ở nhiều nơi: {listed}. Hãy chọn một: ghi đủ như trên "
                "hoặc ghi mã.",
                message_en=f"place {typed!r} is ambiguous: "
                + "; ".join(self.places[pid].key for pid in candidates[:8]),
                field=field,
            )
        near = self.suggestions(typed, kinds=set(kinds))
        hint = f" Có phải: {'; '.join(near)}?" if near else ""
        raise InvalidInput(
            f"Không có địa danh «{typed}» trong danh mục địa danh Thanh Hóa.{hint}",
            message_en=f"place {typed!r} is not in the gazetteer",
            field=field,
        )

    def candidates(self, text: str) -> list[int]:
        """Every place ``text`` may name (one, several or none)."""
        return self._candidates(" ".join(nfc(text).split()), set())

    def _candidates(self, typed: str, kinds: set[str]) -> list[int]:
        if _KEY.match(typed.lower()) and typed.lower() in self.by_key:
            return [self.by_key[typed.lower()].id]
        if typed.isdigit():  # an official code: old and new codes may coincide
            return sorted(p.id for p in self.places.values() if p.code == typed)
        era_match = _ERA.search(typed)
        era = _loose(era_match.group(1)) if era_match else None
        body = typed[: era_match.start()] if era_match else typed
        parts = [p.strip() for p in re.split(r",|—|–|\s-\s", body) if p.strip()]
        if not parts:
            return []
        kind, name = strip_kind(parts[0])
        within = [strip_kind(p) for p in parts[1:]]
        # Someone who writes diacritics anywhere ("xã Nga Thanh, huyện Nga Sơn") means the name
        # as written: Nga Thanh, not Nga Thành.
        found = self._by_name(name, kind, accented=has_diacritics(typed))
        out = []
        for pid in found:
            place = self.places[pid]
            if kinds and place.kind not in kinds and place.level.value not in kinds:
                continue
            if era in ("cu", "truoc 2025") and place.is_new:
                continue
            if era in ("moi", "tu 2025") and (place.is_old or self._under_old(pid)):
                continue
            if within and not all(self._lies_in(pid, k, w) for k, w in within):
                continue
            out.append(pid)
        return sorted(out, key=self.sort_order)

    def _by_name(self, name: str, kind: str | None, *, accented: bool) -> list[int]:
        exact, loose = _exact(name), _loose(name)
        names = [n for n in self._names if kind is None or n[3] == kind]
        if accented:
            found = {pid for pid, e, _, _ in names if e == exact}
            if found:
                return sorted(found)
        return sorted({pid for pid, _, ln, _ in names if ln == loose})

    def _lies_in(self, place_id: int, kind: str | None, name: str) -> bool:
        loose = _loose(name)
        for unit in self.ancestors(place_id):
            if kind is not None and unit.kind != kind:
                continue
            names = [unit.name, *unit.aliases]
            if any(_loose(strip_kind(n)[1]) == loose for n in names):
                return True
        return False

    def suggestions(self, typed: str, *, kinds: Iterable[str] = (), n: int = 3) -> list[str]:
        """The labels of the places whose names are nearest to ``typed``."""
        _, name = strip_kind(_ERA.sub("", typed.split(",")[0]))
        loose = _loose(name)
        names: dict[str, int] = {}
        kinds = set(kinds)
        for pid, _, ln, _ in self._names:
            place = self.places[pid]
            if kinds and place.kind not in kinds and place.level.value not in kinds:
                continue
            names.setdefault(ln, pid)
        close = difflib.get_close_matches(loose, list(names), n=n, cutoff=0.6)
        contained = [ln for ln in names if loose and (loose in ln or ln in loose)][:n]
        picked = list(dict.fromkeys([*close, *contained]))[:n]
        return [self.label(names[ln]) for ln in picked]


def era_flags(valid_from: date | None, valid_to: date | None) -> tuple[bool, bool]:
    """(is_old, is_new) from a unit's validity dates, against the reform of 1 July 2025."""
    is_old = valid_to is not None and valid_to < REFORM_DATE
    is_new = valid_from is not None and valid_from >= REFORM_DATE
    return is_old, is_new
