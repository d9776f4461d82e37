"""Snippets and marks: the words a citizen typed, marked where they stand in the original text
(diacritics, case and tone placement as printed), everything else escaped."""

from __future__ import annotations

from collection.search.snippets import WINDOW_WORDS, mark, snippet


def marked(html: str) -> list[str]:
    return [part.split("</mark>")[0] for part in html.split("<mark>")[1:]]


def test_exact_query_marks_the_same_word_in_any_case_and_tone_placement() -> None:
    text = "Thanh Hoá, THANH HÓA và thanh hóa; không phải hòa bình hay hoa cỏ."
    assert marked(mark(text, ("thanh", "hóa"), exact=True)) == [
        "Thanh", "Hoá", "THANH", "HÓA", "thanh", "hóa",
    ]  # fmt: skip


def test_unaccented_query_marks_every_variant_and_d_for_dd() -> None:
    text = "Đường hòa bình, hóa học, hoa cỏ, duong; hoai và thanhhoa thì không."
    assert marked(mark(text, ("duong", "hoa"), exact=False)) == [
        "Đường", "hòa", "hóa", "hoa", "duong",
    ]  # fmt: skip


def test_text_and_query_cannot_inject_markup() -> None:
    html = mark("<script>alert(1)</script> hóa <b>", ("<script>", "hóa"), exact=True)
    assert "<script>" not in html and "<b>" not in html
    assert html.startswith("&lt;<mark>script</mark>&gt;") and "<mark>hóa</mark>" in html


def test_snippet_shows_the_run_with_most_query_words() -> None:
    filler = " ".join(["lúa"] * 80)
    text = f"Hóa chất ở đầu trang. {filler} Môn hóa học ở trường. {filler}"
    html = snippet(text, ("hóa", "học"), exact=True)
    assert "<mark>hóa</mark> <mark>học</mark>" in html
    assert html.startswith("… ") and html.endswith(" …")
    assert len(html.split()) <= WINDOW_WORDS + 2 + 2 * html.count("<mark>")


def test_snippet_without_a_match_starts_at_the_top_and_short_text_is_whole() -> None:
    assert snippet("Sông Mã chảy qua.", ("đồng",), exact=True) == "Sông Mã chảy qua."
    long = " ".join(f"từ{i}" for i in range(100))
    assert snippet(long, ("đồng",), exact=True).startswith("từ0 từ1")
    assert snippet("", ("a",), exact=False) == "" and snippet("  \n ", ("a",), exact=False) == ""


def test_exact_query_found_only_by_folding_shows_the_folded_match() -> None:
    assert marked(snippet("Tỉnh Thanh Hoá.", ("thánh",), exact=True)) == ["Thanh"]


def test_quoted_phrase_words_are_marked() -> None:
    html = mark("Trống đồng Đông Sơn", ('"trống', "đồng", "Đông", 'Sơn"'), exact=True)
    assert marked(html) == ["Trống", "đồng", "Đông", "Sơn"]
