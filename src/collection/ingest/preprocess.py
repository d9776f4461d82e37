"""Getting a scanned page ready for Tesseract: its own resolution, specks removed where there are
many, the skew taken out. Runs in the sandbox child (see sandbox.py), on Pillow images.

Measured on `bench/ocr_quality.py`'s degraded scans (the numbers are in its output):
- a 150 dpi scan rendered at 300 dpi reads far worse than at its own 150 (upsampling turns
  JPEG ringing and specks into letter-like strokes), so pages are OCRed at the resolution of
  their image, and only reduced (never enlarged) when it is beyond what OCR uses;
- a median filter removes specks that Tesseract reads as punctuation or accents, but it also
  thins strokes, so it runs only on a page where many ink dots stand alone;
- straightening 2-4° of skew keeps letters with descenders and stacked marks whole.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

# Tesseract gains nothing above this; a 600 dpi newspaper page is read at 300 (a quarter of the
# pixels: four times faster, a quarter of the memory).
MAX_OCR_DPI = 400
# A dpi field outside this range is a mistake of the software that wrote it (1, 72000...).
PLAUSIBLE_DPI = (50, 2400)
MAX_SKEW = 5.0  # degrees either way; more than this is a rotated page, which OSD handles
SKEW_STEP = 0.25
# Lone ink pixels (no other ink in their 5×5 neighbourhood) per 10,000 pixels above which a page
# is speckled: clean text at 150-300 dpi, JPEG or not, has none (0.00 on every clean page of
# the bench); dust and toner specks give 0.3-1.7. Thin strokes at 150 dpi are never alone.
SPECKLED = 0.15


@dataclass(frozen=True)
class Prepared:
    image: Any  # a grey Pillow image, ready for Tesseract
    dpi: int | None  # None: unknown, Tesseract estimates it from the text
    skew: float  # degrees turned to straighten it
    despeckled: bool


def plausible_dpi(dpi: float | None) -> int | None:
    if dpi is None or not PLAUSIBLE_DPI[0] <= dpi <= PLAUSIBLE_DPI[1]:
        return None
    return round(dpi)


def reduction(dpi: float) -> int:
    """By how much (a whole factor) to shrink a scan of ``dpi`` for OCR: 1 up to MAX_OCR_DPI."""
    return max(1, math.ceil(dpi / MAX_OCR_DPI - 1e-6))


def prepare(grey: Any, dpi: int | None) -> Prepared:
    """``grey`` at its own resolution ``dpi`` (None if unknown), made ready for Tesseract."""
    grey = grey if grey.mode == "L" else grey.convert("L")
    if dpi is not None and (factor := reduction(dpi)) > 1:
        grey = grey.reduce(factor)
        dpi = round(dpi / factor)
    despeckled = lone_specks(grey) >= SPECKLED
    if despeckled:
        from PIL import ImageFilter

        grey = grey.filter(ImageFilter.MedianFilter(3))
    grey, angle = deskew(grey)
    return Prepared(grey, dpi, angle, despeckled)


def lone_specks(grey: Any) -> float:
    """Ink pixels with no other ink within two pixels, per 10,000 pixels of the page."""
    from PIL import ImageChops, ImageFilter, ImageStat

    ink = grey.point(lambda v: 255 if v < 128 else 0)
    # The 5×5 mean of the ink mask is 10 for a lone pixel, 20 for a pair (255 / 25 each).
    crowd = ink.filter(ImageFilter.BoxBlur(2)).point(lambda v: 255 if v < 26 else 0)
    alone = ImageStat.Stat(ImageChops.multiply(ink, crowd)).sum[0] / 255
    return float(alone * 10_000 / max(grey.width * grey.height, 1))


def deskew(grey: Any) -> tuple[Any, float]:
    """Straighten a slightly skewed scan; the image and the angle it was turned by.

    The skew is the angle at which the rows of a small copy of the page are most uneven: text
    lines become sharp dark bands, the gaps between them white (a projection profile). Whole
    degrees first, then quarter degrees around the best one: 11 + 8 small rotations. On the
    bench's scans it finds the true angle within a quarter degree, where Tesseract's own
    estimate (what OCRmyPDF --deskew uses) was up to 0.4° off."""
    from PIL import Image, ImageOps, ImageStat

    small = ImageOps.invert(grey.convert("L"))  # ink bright: rotation fills with dark (no ink)
    small.thumbnail((900, 900))

    def unevenness(angle: float) -> float:
        turned = small.rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=0)
        rows = turned.resize((1, turned.height), Image.Resampling.BOX)
        return float(ImageStat.Stat(rows).var[0])

    if ImageStat.Stat(small).mean[0] < 1.0:
        return grey, 0.0  # a blank page
    coarse = max(range(-int(MAX_SKEW), int(MAX_SKEW) + 1), key=lambda a: unevenness(float(a)))
    fine = [
        coarse + SKEW_STEP * k
        for k in range(-4, 5)
        if k and abs(coarse + SKEW_STEP * k) <= MAX_SKEW
    ]
    best = max([float(coarse), *fine], key=unevenness)
    if abs(best) < SKEW_STEP:
        return grey, 0.0
    straight = grey.rotate(best, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    return straight, best
