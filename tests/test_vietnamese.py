"""Vietnamese text for search: tone placement, the Telex form, folding, keyboard leaks and the
collation key. Pure functions: no services."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collection.search.vietnamese import (
    canonical,
    decode_leak,
    fold,
    has_diacritics,
    is_syllable,
    nfc,
    sort_key,
    telex,
    telex_open,
    telex_terms,
)

# Enough to find edge cases, little enough to keep the file fast.
FAST = settings(max_examples=100, deadline=None)


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


# --- examples ---------------------------------------------------------------------------------


def test_nfc() -> None:
    assert nfc(nfd("Thanh Hóa")) == "Thanh Hóa"
    assert nfc("") == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hoá", "hóa"),  # oa, oe, uy without a final consonant: tone on the first vowel
        ("thuý", "thúy"),
        ("khoẻ", "khỏe"),
        ("hòa", "hòa"),
        ("Thanh Hoá", "Thanh Hóa"),
        ("Thanh Hóa", "Thanh Hóa"),
        ("HOÁ", "HÓA"),  # case stays where it was
        ("Hoà-Bình, 1945!", "Hòa-Bình, 1945!"),
        ("hoàng", "hoàng"),  # a final consonant: the standard rule
        ("hòang", "hoàng"),
        ("thuyền", "thuyền"),
        ("quý", "quý"),  # qu is an onset
        ("qúy", "quý"),
        ("quà", "quà"),
        ("giữa", "giữa"),  # gi is an onset
        ("giá", "giá"),
        ("gía", "giá"),
        ("gì", "gì"),
        ("gìn", "gìn"),
        ("giếng", "giếng"),
        ("người", "người"),
        ("ngoài", "ngoài"),
        ("khuỷu", "khuỷu"),
        ("khúyu", "khuýu"),
        ("mùa", "mùa"),
        ("mía", "mía"),
        ("tài", "tài"),
        ("hoạ", "họa"),
        ("Nguyễn Du", "Nguyễn Du"),
        ("", ""),
    ],
)
def test_canonical_places_tones(text: str, expected: str) -> None:
    assert canonical(text) == expected
    assert canonical(nfd(text)) == expected


@pytest.mark.parametrize(
    "text",
    ["café", "élève", "Привет, мир", "東京 1945", "e-mail: kho@thanhhoa.vn", "hòc", "hóá", "x́"],
)
def test_canonical_leaves_what_is_not_a_syllable(text: str) -> None:
    assert canonical(text) == nfc(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hóa học", "hoas hocj"),
        ("Đường", "dduwowngf"),
        ("Thanh Hoá", "thanh hoas"),
        ("Thanh Hóa", "thanh hoas"),
        ("sông Mã", "soong max"),
        ("thương", "thuwowng"),
        ("thanh hoa", "thanh hoa"),
        ("Năm 1945, Thanh Hóa!", "nawm 1945 thanh hoas"),
        ("H2O", "h 2 o"),
        ("Khuỷu tay ngoằn ngoèo", "khuyur tay ngoawnf ngoeof"),
        ("Über café", "über cafes"),
        ("  ", ""),
        ("", ""),
    ],
)
def test_telex(text: str, expected: str) -> None:
    assert telex(text) == expected
    assert telex(nfd(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thanh Hóa", True),
        ("Đa", True),
        ("đa", True),
        ("Ăn", True),
        (nfd("thương"), True),
        ("café", True),
        ("thanh hoa", False),
        ("über", False),  # a diaeresis is not Vietnamese
        ("1945", False),
        ("", False),
    ],
)
def test_has_diacritics(text: str, expected: bool) -> None:
    assert has_diacritics(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thanh Hóa", "thanh hoa"),
        ("Đường sắt Bắc Nam", "duong sat bac nam"),
        (nfd("NGUYỄN Du, 1945."), "nguyen du, 1945."),
        ("Hoà Bình", "hoa binh"),
        ("", ""),
    ],
)
def test_fold(text: str, expected: str) -> None:
    assert fold(text) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("thanhf hoas", "thành hóa"),
        ("tha2nh ho1a", "thành hóa"),  # VNI, digit after the vowel
        ("thanh2 hoa1", "thành hóa"),  # VNI, digit at the end
        ("dduwowngf", "đường"),
        ("d9u7o7ng2", "đường"),
        ("duong972", "đường"),
        ("soong max", "sông mã"),
        ("tuwf", "từ"),
        ("nguowif", "người"),  # w after uo horns both
        ("truongwf", "trường"),  # w typed after the final consonant
        ("vietej", "việt"),
        ("hosa", "hóa"),  # tone key in the middle
        ("tieesng vieejt", "tiếng việt"),
        ("thuowr", "thuở"),
        ("Thanh Hóa dduwowngf", "thanh hóa đường"),
        ("thanhf hoas, 1945", "thành hóa, 1945"),
        ("THANHF HOAS", "thành hóa"),
        ("thanh hoa", None),
        ("Thanh Hóa", None),
        ("1945", None),
        ("thanh hoa 1945", None),
        ("history museum", None),
        ("hocf", None),  # a stop final takes only sắc or nặng
        ("thanhs hoaf", "thánh hòa"),
        ("", None),
    ],
)
def test_decode_leak(query: str, expected: str | None) -> None:
    assert decode_leak(query) == expected


@pytest.mark.parametrize(
    "word",
    [
        "a", "ý", "yêu", "hóa", "hoá", "Thanh", "THANH", "nghiêng", "khuỷu", "người", "quốc", "quý",
        "gì", "gìn", "giữa", "giếng", "xoong", "ngoẹo", "thuở", "khuya", "học", "Đường", "kỹ",
        "ghế", "uống", "oái", nfd("Nguyễn"),
    ],
)  # fmt: skip
def test_valid_syllables(word: str) -> None:
    assert is_syllable(word)


@pytest.mark.parametrize(
    "word",
    [
        "", "hoc", "hòc", "thanhf", "ge", "ci", "ngi", "coa", "kuy", "iên", "history", "hóá", "ab",
        "x", "1945", "thanh hoa", "über", "ghy", "yên ", "quo",
    ],
)  # fmt: skip
def test_invalid_syllables(word: str) -> None:
    assert not is_syllable(word)


# Thanh Hóa's districts and towns, in dictionary order.
DISTRICTS = [
    "Bá Thước", "Bỉm Sơn", "Cẩm Thủy", "Đông Sơn", "Hà Trung", "Hậu Lộc", "Hoằng Hóa",
    "Lang Chánh", "Mường Lát", "Nga Sơn", "Nghi Sơn", "Ngọc Lặc", "Như Thanh", "Như Xuân",
    "Nông Cống", "Quan Hóa", "Quan Sơn", "Quảng Xương", "Sầm Sơn", "Thạch Thành", "Thanh Hóa",
    "Thiệu Hóa", "Thọ Xuân", "Thường Xuân", "Triệu Sơn", "Vĩnh Lộc", "Yên Định",
]  # fmt: skip


@pytest.mark.parametrize(
    "ordered",
    [
        DISTRICTS,
        ["Hà Nội", "Hà Tĩnh", "Hải Dương"],  # word by word: a word break sorts first
        ["Dĩ An", "Dung Quất", "Dương Kinh", "Đà Lạt", "Đà Nẵng", "Điện Biên"],
        ["Anh", "Ăn", "Ân", "Bắc"],
        ["ba", "bà", "bả", "bã", "bá", "bạ", "bác", "bạc", "bách"],  # tones after letters
        ["ma", "mà", "ma ma", "ma má", "má ma"],  # tones across the whole text, left to right
        ["hà nội", "Hà Nội", "HÀ NỘI"],  # case last
        ["1945", "2000", "a", "Năm 1945", "Năm Căn"],  # digits before letters
    ],
)
def test_sort_key_orders_like_a_dictionary(ordered: list[str]) -> None:
    shuffled = ordered[::-1]
    assert sorted(shuffled, key=sort_key) == ordered
    keys = [sort_key(text) for text in ordered]
    assert len(set(keys)) == len(keys)


def test_sort_key_ignores_form_and_punctuation() -> None:
    assert sort_key("Thanh Hoá") == sort_key("Thanh Hóa") == sort_key(nfd("Thanh Hóa"))
    assert sort_key("“Hà-Nội”.") == sort_key("Hà Nội")


@given(st.text())
@FAST
def test_sort_key_is_ascii_that_meilisearch_keeps(text: str) -> None:
    key = sort_key(text)
    # Meilisearch trims and lowercases sortable strings before comparing their bytes.
    assert key.isascii()
    assert key == key.lower() == key.strip()


# --- properties -------------------------------------------------------------------------------

ONSETS = [
    "", "b", "c", "ch", "d", "đ", "g", "gh", "gi", "h", "k", "kh", "l", "m", "n", "ng", "ngh",
    "nh", "p", "ph", "qu", "r", "s", "t", "th", "tr", "v", "x",
]  # fmt: skip
# Rimes as written; oong/ooc are left out: their Telex (xoong) reads as ô (xông), see decode_leak.
RIMES = [
    "a", "ai", "ao", "au", "ay", "ac", "ach", "am", "an", "ang", "anh", "ap", "at", "ăc", "ăm",
    "ăn", "ăng", "ăp", "ăt", "âu", "ây", "âc", "âm", "ân", "âng", "âp", "ât", "e", "eo", "ec", "em",
    "en", "eng", "ep", "et", "ê", "êu", "êch", "êm", "ên", "ênh", "êp", "êt", "i", "ia", "iu",
    "ich", "im", "in", "inh", "ip", "it", "iêc", "iêm", "iên", "iêng", "iêp", "iêt", "iêu", "yêm",
    "yên", "yêng", "yêt", "yêu", "o", "oi", "oc", "om", "on", "ong", "op", "ot", "ô", "ôi", "ôc",
    "ôm", "ôn", "ông", "ôp", "ôt", "ơ", "ơi", "ơm", "ơn", "ơp", "ơt", "u", "ua", "ui", "uc", "um",
    "un", "ung", "up", "ut", "uôi", "uôc", "uôm", "uôn", "uông", "uôt", "ư", "ưa", "ưi", "ưu", "ưc",
    "ưng", "ưt", "ươi", "ươu", "ươc", "ươm", "ươn", "ương", "ươp", "ươt", "y", "oa", "oai", "oay",
    "oac", "oach", "oam", "oan", "oang", "oanh", "oat", "oăc", "oăm", "oăn", "oăng", "oăt", "oe",
    "oeo", "oen", "oet", "uân", "uâng", "uât", "uây", "uê", "uêch", "uênh", "uơ", "uy", "uya",
    "uyu", "uych", "uyn", "uynh", "uyp", "uyt", "uyên", "uyêt",
]  # fmt: skip
TONE_MARKS = ["", "\u0300", "\u0309", "\u0303", "\u0301", "\u0323"]
VOWELS = "aăâeêioôơuưy"


@st.composite
def spelled(draw: st.DrawFn) -> str:
    """An onset, a rime and a tone, the mark on any vowel (old or new placement), any case."""
    word = draw(st.sampled_from(ONSETS)) + draw(st.sampled_from(RIMES))
    at = draw(st.sampled_from([i for i, ch in enumerate(word) if ch in VOWELS]))
    word = nfc(word[: at + 1] + draw(st.sampled_from(TONE_MARKS)) + word[at + 1 :])
    case: Callable[[str], str] = draw(st.sampled_from([str.lower, str.capitalize, str.upper]))
    return case(word)


syllables = spelled().filter(is_syllable)
phrases = st.lists(syllables, min_size=1, max_size=3).map(" ".join)
# Vietnamese letters and marks, loose, mixed with anything Unicode has.
messy = st.text(
    st.one_of(
        st.sampled_from(list("aăâeêioôơuưyđdghnqtAĐ ,.-1") + TONE_MARKS[1:] + ["\u0302", "\u031b"]),
        st.characters(),
    )
)


@given(st.one_of(messy, phrases))
@FAST
def test_canonical_is_idempotent_and_ignores_normal_form(text: str) -> None:
    once = canonical(text)
    assert canonical(once) == once
    assert canonical(nfd(text)) == once
    assert unicodedata.is_normalized("NFC", once)


@given(st.one_of(messy, phrases))
@FAST
def test_telex_ignores_normal_form_and_tone_placement(text: str) -> None:
    form = telex(text)
    assert telex(nfd(text)) == form
    assert telex(canonical(text)) == form


@given(syllables)
@FAST
def test_telex_round_trips_through_decode_leak(word: str) -> None:
    expected = canonical(word).lower() if has_diacritics(word) else None
    assert decode_leak(telex(word)) == expected


@given(syllables, st.integers(min_value=1, max_value=7))
@FAST
def test_a_word_being_typed_matches_what_it_becomes(word: str, typed: int) -> None:
    """The open Telex form of any beginning of a word is a prefix of the word's index term, so
    "nông cố" finds "Nông Cống" while it is typed."""
    word = canonical(word)
    assert telex_terms(word).startswith(telex_open(word[:typed]))


@given(syllables)
@FAST
def test_fold_ignores_tone_placement(word: str) -> None:
    assert fold(word) == fold(canonical(word))
    assert fold(word).isascii()
    assert is_syllable(canonical(word))


ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}


Order = tuple[tuple[tuple[int, ...], ...], tuple[int, ...], tuple[bool, ...]]


def reference_order(text: str) -> Order:
    """Dictionary order as plain tuples: letters word by word, then tones, then case."""
    words: list[tuple[int, ...]] = []
    tones: list[int] = []
    upper: list[bool] = []
    for word in canonical(text).split():
        letters = []
        for ch in word:
            marks = nfd(ch)
            tones.append(next((TONES[m] for m in marks if m in TONES), 0))
            letters.append(ALPHABET.index(nfc("".join(m for m in marks if m not in TONES)).lower()))
            upper.append(ch.isupper())
        words.append(tuple(letters))
    return tuple(words), tuple(tones), tuple(upper)


@given(phrases, phrases)
@FAST
def test_sort_key_agrees_with_the_dictionary_order(a: str, b: str) -> None:
    assert (sort_key(a) < sort_key(b)) == (reference_order(a) < reference_order(b))
    assert (sort_key(a) == sort_key(b)) == (reference_order(a) == reference_order(b))


@given(phrases, phrases)
@FAST
def test_sort_key_equality_is_canonical_equality(a: str, b: str) -> None:
    a, b = a.lower(), b.lower()
    assert (sort_key(a) == sort_key(b)) == (canonical(a) == canonical(b))
    # Case only breaks ties: changing it never jumps over a different text.
    if canonical(a) != canonical(b):
        assert (sort_key(a.upper()) < sort_key(b)) == (sort_key(a) < sort_key(b))
