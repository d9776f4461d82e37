"""TCVN3 and VNI text, as old PDFs yield it, becomes Unicode; Unicode text is left alone."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collection.text.legacy import detect, to_unicode

UNICODE = "Địa chí Thanh Hóa. Đường sắt Bắc Nam đi qua tỉnh; Việt Nam có nhiều di tích lịch sử."
# The same sentence as .VnTime (TCVN3) and VNI-Times fonts put it in a PDF's text layer.
TCVN3 = "§Þa chÝ Thanh Ho¸. §­êng s¾t B¾c Nam ®i qua tØnh; ViÖt Nam cã nhiÒu di tÝch lÞch sö."
VNI = "Ñòa chí Thanh Hoùa. Ñöôøng saét Baéc Nam ñi qua tænh; Vieät Nam coù nhieàu di tích lòch söû."


def test_tcvn3_is_converted() -> None:
    assert detect(TCVN3) == "tcvn3"
    # TCVN3 text carries the old tone placement (Hoá): canonical placement is search's concern.
    assert to_unicode(TCVN3) == (UNICODE.replace("Hóa", "Hoá"), "tcvn3")


def test_vni_is_converted() -> None:
    assert detect(VNI) == "vni"
    assert to_unicode(VNI) == (UNICODE, "vni")


@pytest.mark.parametrize(
    "text",
    [
        UNICODE,
        "Thanh Hoá",  # old tone placement is still Unicode
        "Le café à Paris était très animé, près de l'église.",  # French keeps its accents
        "Mù Cang Chải, mùa lúa chín; ông Tư ở Ngọc Lặc",
        "Chapter 1: Introduction — © 2001",
    ],
)
def test_unicode_text_is_left_alone(text: str) -> None:
    assert to_unicode(text) == (text, None)


@given(st.text(alphabet=st.sampled_from(list(UNICODE + "ăâđêôơưáàảãạ ")), max_size=200))
def test_vietnamese_unicode_is_never_converted(text: str) -> None:
    assert to_unicode(text)[1] is None
