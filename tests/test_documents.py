"""Page preparation for OCR (skew found and removed, blank pages left alone) and page images."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest
from PIL import Image, ImageChops

from collection.ingest.documents import render
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


def test_page_images_keep_colour_where_there_is_some(tmp_path: Path) -> None:
    """Black text and grey scans make grey page images (a third of the bytes, half the time);
    a page with a red heading, a colour photograph or a colour scan keeps its colour."""
    document = pymupdf.open()
    for colour in ((0, 0, 0), (0.8, 0, 0)):
        page = document.new_page(width=595, height=842)
        page.insert_font(fontname="noto", fontfile=str(material.FONT))
        page.insert_text((60, 80), "Địa chí Thanh Hóa", fontname="noto", fontsize=24, color=colour)
        page.insert_text((60, 140), TEXT[:80], fontname="noto", fontsize=11)
    photo = Image.new("RGB", (900, 1200), (200, 170, 90))
    for image in (material.scanned_image(TEXT), photo):
        page = document.new_page(width=image.width * 72 / 300, height=image.height * 72 / 300)
        page.insert_image(page.rect, stream=material.png(image))
    pdf = tmp_path / "mixed.pdf"
    document.save(pdf)
    views = render(
        str(pdf), "application/pdf", [1, 2, 3, 4], str(tmp_path / "out"),
        long_side=1600, thumb_side=300, deep_from=2000,
    )  # fmt: skip
    modes = [(Image.open(v["image"]).mode, Image.open(v["thumb"]).mode) for v in views]
    assert modes == [("L", "L"), ("RGB", "RGB"), ("L", "L"), ("RGB", "RGB")]
    red, green, _ = Image.open(views[1]["image"]).split()
    assert ImageChops.subtract(red, green).getextrema()[1] > 100  # type: ignore[operator]

    grey_scan = tmp_path / "scan.png"
    material.scanned_image(TEXT).save(grey_scan)
    colour_scan = tmp_path / "photo.jpg"
    photo.save(colour_scan)
    for path, media_type, mode in (
        (grey_scan, "image/png", "L"),
        (colour_scan, "image/jpeg", "RGB"),
    ):
        [view] = render(
            str(path), media_type, [1], str(tmp_path / path.stem),
            long_side=1600, thumb_side=300, deep_from=2000,
        )  # fmt: skip
        assert Image.open(view["image"]).mode == mode
