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

import itertools
import math
from dataclasses import dataclass
from typing import Any

# Tesseract gains nothing above this; a 600 dpi newspaper page is read at 300 (a quarter of the
# pixels: four times faster, a quarter of the memory).
MAX_OCR_DPI = 400
# A dpi field outside this range is a mistake of the software that wrote it (1, 72000...).
PLAUSIBLE_DPI = (50, 2400)
MAX_SKEW = 5.0  # degrees either way; more than this is a rotated page, which OSD handles
SKEW_STEP = 0.05
MIN_SKEW = 0.1  # less is not worth a resampling of the page
SKEW_STRIPS = 16
# Long side of the copy the skew is measured on: at 700 px the bench's skews were found up to
# 0.2° off, at 1000 within 0.1°.
SKEW_SIDE = 1000
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
    """Ink pixels with no other ink within two pixels, per 10,000 pixels, counted on a band
    across the middle third of the page (specks fall everywhere alike; a third of the work)."""
    from PIL import ImageChops, ImageFilter, ImageStat

    band = grey.crop((0, grey.height // 3, grey.width, grey.height * 2 // 3))
    ink = band.point(lambda v: 255 if v < 128 else 0)
    # The 5×5 mean of the ink mask is 10 for a lone pixel, 20 for a pair (255 / 25 each).
    crowd = ink.filter(ImageFilter.BoxBlur(2)).point(lambda v: 255 if v < 26 else 0)
    alone = ImageStat.Stat(ImageChops.multiply(ink, crowd)).sum[0] / 255
    return float(alone * 10_000 / max(band.width * band.height, 1))


def skew_angle(grey: Any) -> float:
    """The page's skew in degrees (counter-clockwise turn that straightens it), 0.0 if it has
    none to speak of or no text; Leptonica's method (pixFindSkew): projection profiles of
    sheared copies of a small image, the angle whose text lines give the most uneven rows.

    The small image is cut into vertical strips whose row profiles are computed once; shearing
    by an angle is then shifting each strip's profile by its offset: 42 angles tried, to
    0.05°, for a tenth of the cost of one rotation of the page."""
    import numpy as np

    small = grey.reduce(max(1, math.ceil(max(grey.size) / SKEW_SIDE)))
    ink = 255.0 - np.asarray(small, dtype=np.float32)  # ink bright, paper 0
    if ink.mean() < 1.0:
        return 0.0  # a blank page
    height, width = ink.shape
    strips = SKEW_STRIPS
    edges = np.linspace(0, width, strips + 1).astype(int)
    profiles = np.stack([ink[:, a:b].sum(axis=1) for a, b in itertools.pairwise(edges)])
    centres = (edges[:-1] + edges[1:]) / 2 - width / 2
    margin = int(np.ceil(width / 2 * np.tan(np.radians(MAX_SKEW)))) + 1
    length = height + 2 * margin  # rows scored: the page's, and room to shift them
    # Each strip's profile with a margin of empty rows either side twice over, so that every
    # shifted copy of it is a window of this array (a view: nothing copied row by row).
    padded = np.zeros((strips, length + 2 * margin + 2), dtype=np.float32)
    padded[:, 2 * margin + 1 : 2 * margin + 1 + height] = profiles
    windows = np.lib.stride_tricks.sliding_window_view(padded, length, axis=1)
    strip = np.arange(strips)[None, :]

    def scores(angles: Any) -> Any:
        # Turning the page by +angle (counter-clockwise) lifts its right side: a strip at x
        # moves up by x·tan(angle), so its rows are read that much lower (between two rows:
        # shared between them, so a tenth of a degree still counts). All angles at once, as
        # arrays of angle × strip × row: a loop over strips and angles took 37 ms a page.
        shifts = np.tan(np.radians(angles))[:, None] * centres[None, :]
        whole = np.floor(shifts).astype(int) + margin + 1
        part = (shifts - np.floor(shifts)).astype(np.float32)[:, :, None]
        lower, upper = windows[strip, whole], windows[strip, whole + 1]
        total = (lower + part * (upper - lower)).sum(axis=1, dtype=np.float64)
        differences = np.diff(total, axis=1)
        return (differences * differences).sum(axis=1)  # Leptonica's "sum of squares of diff."

    # Half degrees, then every SKEW_STEP within half a degree of the best (a peak is ~2° wide).
    # Of angles that score alike (a straight page barely moves the strips), the one nearest 0.
    def best_of(angles: Any) -> float:
        return float(max(zip(scores(angles), -np.abs(angles), angles, strict=True))[2])

    coarse = best_of(np.arange(-MAX_SKEW, MAX_SKEW + 1e-9, 0.5))
    fine = np.round(np.arange(coarse - 0.5, coarse + 0.5 + 1e-9, SKEW_STEP), 2)
    best = best_of(fine[np.abs(fine) <= MAX_SKEW])
    return 0.0 if abs(best) < MIN_SKEW else round(best, 2)


def deskew(grey: Any) -> tuple[Any, float]:
    """Straighten a slightly skewed scan; the image and the angle it was turned by."""
    from PIL import Image

    angle = skew_angle(grey)
    if not angle:
        return grey, 0.0
    straight = grey.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    return straight, angle
