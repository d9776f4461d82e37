"""Vietnamese text for search: canonical tone placement, the Telex form, folding, keyboard leaks
and a collation key.

Meilisearch folds every diacritic, so "hóa", "hoa" and "họa" are one word to it. The Telex form
(``telex``: "hóa" → "hoas") spells the diacritics with ASCII letters that Meilisearch cannot fold,
so an attribute holding it lets exact-diacritic matches rank first. Documents and queries go
through the same functions, so everything here is deterministic and stdlib only.

A syllable is valid (``is_syllable``) when it is spelled as an onset, a rime and a tone that
Vietnamese orthography allows; that table is what keeps ordinary words from being "decoded" as
keyboard leaks and what tells ``canonical`` where a tone mark belongs.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache
from itertools import chain, product
from typing import NamedTuple

__all__ = [
    "canonical",
    "decode_leak",
    "fold",
    "has_diacritics",
    "is_syllable",
    "nfc",
    "sort_key",
    "telex",
]

# Tones, numbered in the order Vietnamese dictionaries sort them.
NGANG, HUYEN, HOI, NGA, SAC, NANG = range(6)

_TONE_MARKS = {"\u0300": HUYEN, "\u0309": HOI, "\u0303": NGA, "\u0301": SAC, "\u0323": NANG}
_TONE_MARK_OF = {tone: mark for mark, tone in _TONE_MARKS.items()}
# Base letter and combining mark of the six modified vowels; any other pairing is not Vietnamese.
_MODIFIED = {
    ("a", "\u0306"): "ă", ("a", "\u0302"): "â", ("e", "\u0302"): "ê",
    ("o", "\u0302"): "ô", ("o", "\u031b"): "ơ", ("u", "\u031b"): "ư",
}  # fmt: skip
_CIRCUMFLEX = {"a": "â", "e": "ê", "o": "ô"}
_HORN = {"a": "ă", "o": "ơ", "u": "ư"}  # Telex "w": breve on a, horn on o and u
_VOWELS = frozenset("aăâeêioôơuưy")
# The alphabet in dictionary order, with the Latin letters Vietnamese does not use (f j w z) in
# their Latin places so that foreign words sort sensibly too.
_ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzđ")

_TELEX_TONE_KEYS = {"f": HUYEN, "r": HOI, "x": NGA, "s": SAC, "j": NANG}
_TELEX_TONE_KEY = {tone: key for key, tone in _TELEX_TONE_KEYS.items()}
_TELEX_LETTER = {"ă": "aw", "â": "aa", "đ": "dd", "ê": "ee", "ô": "oo", "ơ": "ow", "ư": "uw"}
_VNI_TONE_KEYS = {"1": SAC, "2": HUYEN, "3": HOI, "4": NGA, "5": NANG}
# A VNI shape digit as a floating modifier key (see _float_options): 6 ^, 7 horn, 8 breve, 9 đ.
_VNI_SHAPE_KEYS = {"6": "^", "7": "7", "8": "8", "9": "đ"}

# Combining marks that NFC may leave standing alone (mark orders it cannot compose): they belong
# to the word they follow.
_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_WORD = re.compile(rf"(?:[^\W\d_]|[{_MARKS}])+")  # letters: what canonical looks at
_TELEX_TOKEN = re.compile(rf"(?:[^\W\d_]|[{_MARKS}])+|\d+")  # a letter run or a digit run
_ALNUM = re.compile(rf"(?:[^\W_]|[{_MARKS}])+")  # letters and digits: VNI words, sort words
_COMBINING = re.compile(f"[{_MARKS}]")
_VN_MARK = re.compile("[\u0300\u0301\u0302\u0303\u0306\u0309\u031b\u0323đĐ]")

_CACHE = 1 << 17  # distinct words; a Vietnamese corpus has a few tens of thousands

# (letter, tone, is upper case): letter is one of _ALPHABET, a digit, or for anything else the
# lowercase NFC cluster of the character and its marks, which no syllable contains.
_Char = tuple[str, int, bool]


def _char_table() -> dict[str, _Char]:
    table: dict[str, _Char] = {digit: (digit, NGANG, False) for digit in "0123456789"}
    for letter in _ALPHABET:
        for tone in range(6) if letter in _VOWELS else (NGANG,):
            lower = unicodedata.normalize("NFC", letter + _TONE_MARK_OF.get(tone, ""))
            table[lower] = (letter, tone, False)
            table[lower.upper()] = (letter, tone, True)
    return table


_CHARS = _char_table()
_COMPOSE = {(letter, tone): char for char, (letter, tone, upper) in _CHARS.items() if not upper}


def nfc(text: str) -> str:
    """``text`` in Unicode normalization form C."""
    return unicodedata.normalize("NFC", text)


# --- characters -------------------------------------------------------------------------------


def _analyze(word: str) -> list[_Char]:
    """Letters, tones and case of ``word``, one entry per base character."""
    chars: list[_Char] = []
    for ch in word:
        known = _CHARS.get(ch)
        if known is None:
            break
        chars.append(known)
    else:
        return chars
    # Rare: a letter outside the table, or marks NFC could not compose (e.g. acute before
    # circumflex). Decompose and read the marks of each base character in any order.
    clusters: list[list[str]] = []
    for ch in unicodedata.normalize("NFD", word):
        if unicodedata.combining(ch) and clusters:
            clusters[-1].append(ch)
        else:
            clusters.append([ch])
    return [_cluster(base, marks) for base, *marks in clusters]


def _cluster(base: str, marks: list[str]) -> _Char:
    lower = base.lower()
    tones = [m for m in marks if m in _TONE_MARKS]
    shapes = [m for m in marks if m not in _TONE_MARKS]
    letter: str | None = lower if lower in _PLAIN and len(tones) <= 1 and len(shapes) <= 1 else None
    if letter and shapes:
        letter = _MODIFIED.get((letter, shapes[0]))
    if letter and tones and letter not in _VOWELS:
        letter = None  # a tone on a consonant (ḿ, ǹ) is not Vietnamese
    if letter is None:
        return nfc(base + "".join(marks)).lower(), NGANG, base != lower
    return letter, _TONE_MARKS[tones[0]] if tones else NGANG, base != lower


# --- syllables --------------------------------------------------------------------------------


class _Syllable(NamedTuple):
    tone_at: int  # index of the letter that carries the tone mark
    stop: bool  # ends in c, ch, p or t: only sắc and nặng are possible


# Rimes as written after an ordinary consonant: nucleus → codas. Glides (i, y, o, u, a) count as
# codas here; only the written string matters.
_RIME_CODAS = {
    "a": ("", "i", "o", "u", "y", "c", "ch", "m", "n", "ng", "nh", "p", "t"),
    "ă": ("c", "m", "n", "ng", "p", "t"),
    "â": ("u", "y", "c", "m", "n", "ng", "p", "t"),
    "e": ("", "o", "c", "m", "n", "ng", "p", "t"),
    "ê": ("", "u", "ch", "m", "n", "nh", "p", "t"),
    "i": ("", "a", "u", "ch", "m", "n", "nh", "p", "t"),
    "iê": ("c", "m", "n", "ng", "p", "t", "u"),
    "yê": ("m", "n", "ng", "t", "u"),
    "o": ("", "i", "c", "m", "n", "ng", "p", "t"),
    "oo": ("c", "ng"),  # loanwords: xoong, boong, moóc
    "ô": ("", "i", "c", "m", "n", "ng", "p", "t"),
    "ơ": ("", "i", "m", "n", "p", "t"),
    "u": ("", "a", "i", "c", "m", "n", "ng", "p", "t"),
    "uô": ("i", "c", "m", "n", "ng", "t"),
    "ư": ("", "a", "i", "u", "c", "ng", "t"),
    "ươ": ("i", "u", "c", "m", "n", "ng", "p", "t"),
    "y": ("",),
    # With the medial /w/, written o before a, ă, e and u before the rest.
    "oa": ("", "i", "y", "c", "ch", "m", "n", "ng", "nh", "t"),
    "oă": ("c", "m", "n", "ng", "p", "t"),
    "oe": ("", "o", "n", "t"),
    "uâ": ("n", "ng", "t", "y"),
    "uê": ("", "ch", "n", "nh", "t"),
    "uơ": ("",),
    "uy": ("", "a", "u", "ch", "n", "nh", "p", "t"),
    "uyê": ("n", "t"),
}
_RIMES = tuple(nucleus + coda for nucleus, codas in _RIME_CODAS.items() for coda in codas)
_MEDIAL = ("oa", "oă", "oe", "uâ", "uê", "uơ", "uy")
# Onsets other than gi and qu, which swallow a letter of the rime and are handled apart.
_ONSETS = (
    "", "b", "c", "ch", "d", "đ", "g", "gh", "h", "k", "kh", "l", "m", "n", "ng", "ngh", "nh",
    "p", "ph", "r", "s", "t", "th", "tr", "v", "x",
)  # fmt: skip
_Y_ONSETS = frozenset({"", "h", "k", "l", "m", "n", "s", "t", "th", "v"})  # hy, kỹ, lý, Mỹ, Thy…


def _rime_tone_at(rime: str) -> int:
    """Where the tone goes in ``rime``: the traditional rule (as in "Thanh Hóa")."""
    if "ươ" in rime:
        return rime.index("ươ") + 1
    for i, ch in enumerate(rime):
        if ch in "ăâêôơư":
            return i
    vowels = [i for i, ch in enumerate(rime) if ch in _VOWELS]
    if rime[-1] not in _VOWELS:
        return vowels[-1]  # hoàng, toán, quỳnh, xoóng
    # Open rimes: the middle of three (ngoài, khuỷu), else the first: hóa, thúy, khỏe, mía, mùa.
    return vowels[1] if len(vowels) == 3 else vowels[0]


def _spellable(onset: str, rime: str) -> bool:
    front = rime[0] in "ieêy"
    if rime.startswith("yê"):
        return onset == ""  # yên, yêu; after a consonant it is written iê
    if onset == "" and rime.startswith(("iê", "oo")):
        return False
    if rime == "y" and onset not in _Y_ONSETS:
        return False
    if onset in ("c", "k") and rime.startswith(_MEDIAL):
        return False  # /kw/ is written qu
    if onset == "c":
        return not front
    if onset == "k":
        return front
    if onset in ("g", "ng"):
        return not front
    if onset in ("gh", "ngh"):
        return front and rime != "y"
    return True


def _syllable_table() -> dict[str, _Syllable]:
    table: dict[str, _Syllable] = {}

    def add(written: str, tone_at: int) -> None:
        table.setdefault(written, _Syllable(tone_at, written.endswith(("c", "ch", "p", "t"))))

    for rime in _RIMES:
        at = _rime_tone_at(rime)
        for onset in _ONSETS:
            if _spellable(onset, rime):
                add(onset + rime, len(onset) + at)
        medial = rime.startswith(_MEDIAL)
        # gi: its i is the onset (giá, giữa) unless the rime starts with i, which then merges
        # into it and may carry the tone itself (gì, gìn; giếng).
        if not medial and not rime.startswith(("oo", "yê")) and rime != "y":
            if not rime.startswith("i"):
                add("gi" + rime, 2 + at)
            elif rime not in ("ia", "iu"):  # gia, giu are gi + a, gi + u
                add("g" + rime, 1 + at)
        # qu: its u is the medial (qua = /kwa/), so the tone follows the rest of the rime.
        if medial and rime[1:] not in ("ya", "yu"):
            add("qu" + rime[1:], 2 + _rime_tone_at(rime[1:]))
    for rest in ("i", "it", "ôc"):  # qui (old spelling of quy), quít, quốc
        add("qu" + rest, 2 + _rime_tone_at(rest))
    return table


_SYLLABLES = _syllable_table()


def _fits(syllable: _Syllable, tone: int) -> bool:
    return not syllable.stop or tone in (SAC, NANG)


def _spell(letters: str, tone: int, syllable: _Syllable) -> str:
    """Lowercase ``letters`` with ``tone`` in its canonical place."""
    at = syllable.tone_at
    return letters[:at] + _COMPOSE[letters[at], tone] + letters[at + 1 :]


def _parse(chars: list[_Char]) -> tuple[str, int, _Syllable] | None:
    """Toneless letters, tone and table entry of a valid syllable, else None."""
    tones = [tone for _, tone, _ in chars if tone]
    if len(tones) > 1:
        return None
    letters = "".join(letter for letter, _, _ in chars)
    syllable = _SYLLABLES.get(letters)
    tone = tones[0] if tones else NGANG
    if syllable is None or not _fits(syllable, tone):
        return None
    return letters, tone, syllable


def is_syllable(word: str) -> bool:
    """True if ``word`` is one Vietnamese syllable: a valid onset, rime and tone (any case, NFC
    or NFD, tone mark on any of its vowels: old and new placement are both accepted)."""
    return bool(word) and _parse(_analyze(nfc(word))) is not None


# --- canonical form ---------------------------------------------------------------------------


def canonical(text: str) -> str:
    """NFC ``text`` with each Vietnamese syllable's tone mark in its canonical place.

    The rule is the traditional one of the province's name "Thanh Hóa": in the open rimes oa, oe
    and uy the tone goes on the first vowel (hóa, khỏe, thúy; "hoá", "khoẻ", "thuý" are moved).
    Otherwise the standard rule: a modified vowel takes it (ơ in ươ: người; ê in iê, yê, uyê:
    thuyền), else the last vowel when a consonant ends the syllable (hoàng, quỳnh), else the
    middle of three vowels (ngoài, khuỷu) or the first of two (mía, mùa, tài). The u of qu and
    the i of gi belong to the onset (quý, quà, giữa, giá) unless gi has no other vowel (gì, gìn).
    Case and everything that is not a valid syllable (foreign words, digits, punctuation) stay.
    """
    if text.isascii():
        return text
    return nfc(_WORD.sub(_canonical_match, nfc(text)))


def _canonical_match(match: re.Match[str]) -> str:
    return _canonical_word(match.group())


@lru_cache(maxsize=_CACHE)
def _canonical_word(word: str) -> str:
    chars = _analyze(word)
    parsed = _parse(chars)
    if parsed is None:
        return word
    _, tone, syllable = parsed
    out = []
    for i, (letter, _, upper) in enumerate(chars):
        ch = _COMPOSE[letter, tone if i == syllable.tone_at else NGANG]
        out.append(ch.upper() if upper else ch)
    return "".join(out)


# --- Telex form -------------------------------------------------------------------------------


def telex(text: str) -> str:
    """The lowercase Telex form of ``text``: "Đường Hóa học" → "dduwowngf hoas hocj".

    Modified letters are spelled aa aw dd ee oo ow uw, and the tone key (s f r x j) ends the
    word, so tone placement does not matter. Letters and digit runs become space-separated
    tokens, punctuation is dropped, and words without diacritics are only lowercased. Foreign
    accented letters that Vietnamese does not use are kept as they are.
    """
    return " ".join(map(_telex_word, _TELEX_TOKEN.findall(nfc(text))))


@lru_cache(maxsize=_CACHE)
def _telex_word(word: str) -> str:
    if word.isascii():
        return word.lower()
    spelled: list[str] = []
    keys: list[str] = []
    for letter, tone, _ in _analyze(word):
        spelled.append(_TELEX_LETTER.get(letter, letter))
        if tone:
            keys.append(_TELEX_TONE_KEY[tone])
    return "".join(spelled) + "".join(keys)


def telex_terms(text: str) -> str:
    """The Telex form for the search index and the Telex query: as ``telex``, but a syllable in
    the level tone (ngang) ends in "z" (Telex's "no tone" key), so every syllable ends in a tone
    key. Meilisearch matches the last query word as a prefix: without the "z", "muwowng"
    (mương) would also match "muwowngf" (Mường)."""
    return " ".join(map(_term, _TELEX_TOKEN.findall(nfc(text))))


@lru_cache(maxsize=_CACHE)
def _term(word: str) -> str:
    form = _telex_word(word)
    if form[-1] in "sfrxj" or not is_syllable(word):
        return form
    return form + "z"


def telex_open(word: str) -> str:
    """The Telex form of a word still being typed: its letters without the tone key (and
    without the "z" of the level tone), so that it matches every syllable it may become as a
    prefix. "cố" (on the way to "cống", "coongs") → "coo"; "đị" (→ "định") → "ddi"."""
    form = _telex_word(word)
    toned = not word.isascii() and any(tone for _, tone, _ in _analyze(word))
    return form[:-1] if toned else form  # _telex_word puts the one tone key last


# --- diacritics and folding -------------------------------------------------------------------


def has_diacritics(text: str) -> bool:
    """True if any letter of ``text`` carries a Vietnamese diacritic: a tone mark, a circumflex,
    breve or horn, or is đ/Đ."""
    if text.isascii():
        return False
    return _VN_MARK.search(unicodedata.normalize("NFD", text)) is not None


def fold(text: str) -> str:
    """``text`` lowercase with every diacritic removed and đ as d: "Đường Hóa" → "duong hoa"."""
    if text.isascii():
        return text.lower()
    stripped = _COMBINING.sub("", unicodedata.normalize("NFD", text.lower()))
    return nfc(stripped.replace("đ", "d"))


# --- keyboard leaks ---------------------------------------------------------------------------


def decode_leak(query: str) -> str | None:
    """``query`` decoded from Telex or VNI keystrokes, if a Vietnamese keyboard was off.

    "thanhf hoas" and "tha2nh ho1a" → "thành hóa". A word is decoded only when it used a key
    (tone letter or digit, aa/aw/w/dd or 6-9) and the result is a valid syllable; others stay as
    they are. The result is lowercase, NFC, with canonical tone placement, or None when no word
    decoded ("thanh hoa", "Thanh Hóa", "1945").
    """
    decoded_any = False

    def decode(match: re.Match[str]) -> str:
        nonlocal decoded_any
        word = match.group().lower()
        decoded = _decode_word(word)
        if decoded is None:
            return word
        decoded_any = True
        return decoded

    text = _ALNUM.sub(decode, nfc(query))
    return canonical(text) if decoded_any else None


@lru_cache(maxsize=_CACHE)
def _decode_word(word: str) -> str | None:
    if not word.isascii() or not word.isalnum() or word.isdigit():
        return None
    if word.isalpha():
        return _decode_telex(word)
    return _decode_vni(word)


def _decode_telex(word: str) -> str | None:
    first_vowel = next((i for i, ch in enumerate(word) if ch in "aeiouyw"), None)
    if first_vowel is None:
        return None
    # No Vietnamese letter after the first vowel is a tone key, so wherever a key appears there
    # (hoas, hosa, tieesng) it is the tone.
    tone = NGANG
    keys = []
    for i, ch in enumerate(word):
        if i > first_vowel and ch in _TELEX_TONE_KEYS:
            if tone:
                return None  # two tone keys: not a syllable typed once
            tone = _TELEX_TONE_KEYS[ch]
        else:
            keys.append(ch)
    strict = _telex_strict(keys)
    letters, floating = _telex_floating(keys)
    return _first_valid([strict], _floated(letters, floating), tone)


def _telex_strict(keys: list[str]) -> str:
    """Telex as ``telex`` writes it: each modifier right after its letter, w alone is ư."""
    out: list[str] = []
    previous = ""
    for i, key in enumerate(keys):
        if key == "d" and i == 1 and keys[0] == "d":
            out[-1] = "đ"
        elif key == "w" and out and out[-1] == previous and previous in _HORN:
            out[-1] = _HORN[previous]
        elif key == "w":
            out.append("ư")
        elif key in _CIRCUMFLEX and out and out[-1] == previous == key:
            out[-1] = _CIRCUMFLEX[key]
        else:
            out.append(key)
        previous = key
    return "".join(out)


def _telex_floating(keys: list[str]) -> tuple[list[str], list[str]]:
    """Letters and modifier keys typed anywhere later, as IMEs accept them (nguowif, tuongwf,
    vietej, did): every w, a repeated a/e/o, a d after an initial d."""
    letters: list[str] = []
    floating: list[str] = []
    for i, key in enumerate(keys):
        if key == "w":
            floating.append("w")
        elif key == "d" and i > 0 and keys[0] == "d":
            floating.append("đ")
        elif key in _CIRCUMFLEX and key in letters:
            floating.append(key)
        else:
            letters.append(key)
    return letters, floating


def _decode_vni(word: str) -> str | None:
    letters: list[str] = []
    tone = NGANG
    typed: list[tuple[str, int]] = []  # shape digit, number of letters before it
    for ch in word:
        if ch in _VNI_TONE_KEYS:
            if tone or not _VOWELS.intersection(letters):
                return None
            tone = _VNI_TONE_KEYS[ch]
        elif ch in _VNI_SHAPE_KEYS:
            typed.append((ch, len(letters)))
        elif ch.isdigit():
            return None  # 0 (tone removal) or a number: not a syllable
        else:
            letters.append(ch)
    strict = _vni_strict(letters, typed)
    floating = [_VNI_SHAPE_KEYS[digit] for digit, _ in typed]
    return _first_valid([strict] if strict else [], _floated(letters, floating), tone)


def _vni_strict(letters: list[str], typed: list[tuple[str, int]]) -> str | None:
    """Each shape digit on the letter just before it (tha2nh, d9u7o7ng2), if they all fit."""
    out = list(letters)
    for digit, at in typed:
        previous = out[at - 1] if at else ""
        if digit == "6" and previous in _CIRCUMFLEX:
            out[at - 1] = _CIRCUMFLEX[previous]
        elif digit == "7" and previous in ("o", "u"):
            out[at - 1] = _HORN[previous]
        elif digit == "8" and previous == "a":
            out[at - 1] = "ă"
        elif digit == "9" and previous == "d":
            out[at - 1] = "đ"
        else:
            return None
    return "".join(out)


def _floated(letters: list[str], floating: list[str]) -> Iterator[str]:
    """Every way of putting the floating modifier keys on ``letters``, one change per letter."""
    if not floating:
        return
    for edits in product(*(_float_options(letters, key) for key in floating)):
        changes = [change for edit in edits for change in edit]
        changed = dict(changes)
        if len(changed) == len(changes):  # two keys on one letter: not how anyone types
            yield "".join(changed.get(i, letter) for i, letter in enumerate(letters))


def _float_options(letters: list[str], key: str) -> list[tuple[tuple[int, str], ...]]:
    if key == "đ":
        return [((0, "đ"),)] if letters[:1] == ["d"] else []
    if key in _CIRCUMFLEX or key == "^":  # Telex aa/ee/oo, VNI 6
        targets = _CIRCUMFLEX if key == "^" else {key: _CIRCUMFLEX[key]}
        return [((i, targets[ch]),) for i, ch in enumerate(letters) if ch in targets]
    targets = {"w": _HORN, "7": {"o": "ơ", "u": "ư"}, "8": {"a": "ă"}}[key]
    options: list[tuple[tuple[int, str], ...]] = []
    if key in ("w", "7"):  # one key horns both letters of uo: ươ
        options += [
            ((i, "ư"), (i + 1, "ơ"))
            for i in range(len(letters) - 1)
            if letters[i : i + 2] == ["u", "o"]
        ]
    options += [((i, targets[ch]),) for i, ch in enumerate(letters) if ch in targets]
    return options


def _first_valid(exact: Iterable[str], loose: Iterable[str], tone: int) -> str | None:
    """The first candidate spelling that is a valid syllable with ``tone``, if it decoded."""
    for letters in chain(exact, loose):
        syllable = _SYLLABLES.get(letters)
        if syllable is not None and _fits(syllable, tone):
            if tone == NGANG and letters.isascii():
                return None  # a plain word that needed no key: not a leak
            return _spell(letters, tone, syllable)
    return None


# --- collation --------------------------------------------------------------------------------

# Primary weights as ASCII that Meilisearch keeps as it is: it trims and lowercases sortable
# strings before comparing their bytes, so no upper case letters and no spaces at the ends.
# A modified letter is its base letter plus a suffix above every other weight, so "a…" < "ă".
_PRIMARY = {letter: letter for letter in "abcdefghijklmnopqrstuvwxyz0123456789"} | {
    "ă": "a|", "â": "a}", "đ": "d|", "ê": "e|", "ô": "o|", "ơ": "o}", "ư": "u|",
}  # fmt: skip
_FOREIGN = "{"  # + 6 hex digits of the code point: after every letter, before any suffix
_WORD_BREAK = "-"  # between words: before digits and letters, so "Hà Nội" < "Hải Dương"
_LEVEL_BREAK = "!"  # between levels: before everything, so "ba" < "ba ba"


def sort_key(text: str) -> str:
    """An ASCII key whose byte order is Vietnamese dictionary order of ``text``.

    Primary: words compared letter by letter in the order a ă â b c d đ e ê g h i k l m n o ô ơ p
    q r s t u ư v x y (f j w z in their Latin places), digits before letters, and any run of
    spaces or punctuation as one word break that sorts before both. Secondary, only when the
    letters are equal: the tones across the whole text, ngang < huyền < hỏi < ngã < sắc < nặng.
    Tertiary: lower case before upper case. Tone placement and NFC/NFD do not matter; accents
    that are not Vietnamese are ignored and other scripts sort after z by code point.
    """
    primary: list[str] = []
    secondary: list[str] = []
    tertiary: list[str] = []
    for word in _ALNUM.findall(canonical(text)):
        weights = _sort_word(word)
        primary.append(weights[0])
        secondary.append(weights[1])
        tertiary.append(weights[2])
    # Trailing 0s are the lowest weight: dropping them keeps the order and shortens the key.
    return _LEVEL_BREAK.join(
        (
            _WORD_BREAK.join(primary),
            "".join(secondary).rstrip("0"),
            "".join(tertiary).rstrip("0"),
        )
    )


@lru_cache(maxsize=_CACHE)
def _sort_word(word: str) -> tuple[str, str, str]:
    primary = []
    secondary = []
    tertiary = []
    for letter, tone, upper in _analyze(word):
        primary.append(_PRIMARY.get(letter) or _foreign_weight(letter))
        secondary.append(str(tone))
        tertiary.append("1" if upper else "0")
    return "".join(primary), "".join(secondary), "".join(tertiary)


def _foreign_weight(char: str) -> str:
    base = unicodedata.normalize("NFD", char)[0]
    if base in _PRIMARY:
        return _PRIMARY[base]  # ü, ç, ñ sort as u, c, n
    digit = unicodedata.digit(char[0], None)
    if digit is not None:
        return str(digit)
    return f"{_FOREIGN}{ord(char[0]):06x}"
