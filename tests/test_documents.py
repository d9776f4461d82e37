"""Page preparation for OCR: skew found and removed, blank pages left alone."""

from __future__ import annotations

import pytest
from PIL import Image

from collection.ingest.preprocess import deskew
from tests import material

TEXT = (
    "Thành nhà Hồ được xây dựng năm 1397 bằng những khối đá lớn. Sông Mã bắt nguồn từ Lào, "
    "chảy qua nhiều huyện của tỉnh Thanh Hóa rồi đổ ra biển. "
) * 3


@pytest.mark.parametrize("angle", [1.0, 2.0, -2.5, 3.0, -4.0])
def test_deskew_finds_the_angle(angle: float) -> None:
    page = material.scanned_image(TEXT, size=36)
    skewed = material.noisy(page.rotate(angle, expand=True, fillcolor=255), 0.2)
    straight, found = deskew(skewed)
    assert found == pytest.approx(-angle, abs=0.25)
    assert straight.size != skewed.size  # turned back, on a larger canvas


def test_straight_and_blank_pages_are_left_alone() -> None:
    page = material.scanned_image(TEXT, size=36)
    assert deskew(page)[1] == 0.0
    blank = Image.new("L", (1200, 1600), 255)
    result, angle = deskew(blank)
    assert angle == 0.0 and result is blank
