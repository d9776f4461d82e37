"""Reading documents and rendering pages (PyMuPDF for PDF/EPUB/XPS/CBZ, Pillow for images).

These functions run inside the sandbox child process (see sandbox.py): they take and return plain
data and write images to files, so a crash here cannot take the worker down.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from collection.errors import InvalidInput
from collection.ingest import preprocess
from collection.ingest.sniff import IMAGE_TYPES

# Pillow refuses images above twice this (decompression bombs); 300 MP lets a 600 dpi A1 newspaper
# scan through while the sandbox's memory limit still bounds what decoding may use.
MAX_IMAGE_PIXELS = 150_000_000
USABLE_TEXT_CHARS = 25  # fewer letters than this on a page: treat it as a scan and OCR it
_FILETYPES = {
    "application/pdf": "pdf",
    "application/epub+zip": "epub",
    "application/oxps": "xps",
    "application/vnd.comicbook+zip": "cbz",
}


def inspect(path: str, media_type: str, max_pages: int) -> list[dict[str, Any]]:
    """Each page's text layer (may be empty) and size in pixels or points."""
    if media_type in IMAGE_TYPES:
        return _inspect_image(path, max_pages)
    import pymupdf

    try:
        document = pymupdf.open(path, filetype=_FILETYPES[media_type])
    except (RuntimeError, ValueError) as exc:  # MuPDF raises FileDataError (a RuntimeError)
        raise InvalidInput(
            "Tệp bị hỏng, không mở được.", message_en=f"cannot open the document: {exc}"
        ) from exc
    with document:
        if document.needs_pass:
            raise InvalidInput(
                "Tệp PDF cần mật khẩu để mở. Hãy tải lên bản không đặt mật khẩu; bản gốc vẫn được giữ.",
                message_en="the PDF needs a password",
            )
        if document.page_count == 0:
            raise InvalidInput("Tệp không có trang nào.", message_en="the document has no pages")
        if document.page_count > max_pages:
            raise InvalidInput(
                f"Tệp có {document.page_count} trang, vượt giới hạn {max_pages} trang.",
                message_en=f"{document.page_count} pages is more than {max_pages}",
            )
        pages = []
        for index in range(document.page_count):
            page = document[index]
            try:
                # Blocks in reading order, joined: the same words as get_text(sort=True) at a
                # fraction of its cost (0.4 ms instead of 11-20 ms a page).
                blocks = page.get_text("blocks", sort=True)
                text = "\n".join(b[4].rstrip() for b in blocks if b[6] == 0)
            except RuntimeError:
                text = ""  # a broken content stream: the page will be OCRed instead
            pages.append({"text": text, "width": page.rect.width, "height": page.rect.height})
            if index % 50 == 49:
                pymupdf.TOOLS.store_shrink(100)  # MuPDF's cache otherwise grows on long files
        if document.is_repaired and not any(
            page["text"].strip() or _has_content(document[n]) for n, page in enumerate(pages)
        ):
            # MuPDF "repairs" a truncated file into empty pages; that is a broken upload.
            raise InvalidInput(
                "Tệp PDF bị hỏng hoặc không đầy đủ (có thể bị cắt cụt khi tải lên).",
                message_en="the PDF is damaged or truncated: no page has any content",
            )
        return pages


def _has_content(page: Any) -> bool:
    try:
        return bool(page.get_images() or page.get_drawings())
    except RuntimeError:
        return False


def _open_image(path: str) -> Any:
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        image = Image.open(path)
        image.size  # noqa: B018 -- touching the header makes Pillow check for bombs now
    except Image.DecompressionBombError as exc:
        raise InvalidInput(
            "Ảnh quá lớn (nghi là tệp bom giải nén).", message_en=f"image too large: {exc}"
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidInput(
            "Ảnh bị hỏng, không mở được.", message_en=f"cannot open image: {exc}"
        ) from exc
    return image


def _inspect_image(path: str, max_pages: int) -> list[dict[str, Any]]:
    image = _open_image(path)
    frames = getattr(image, "n_frames", 1)
    if frames > max_pages:
        raise InvalidInput(f"Ảnh có quá nhiều trang ({frames}).", message_en=f"{frames} frames")
    pages = []
    for frame in range(frames):
        image.seek(frame)
        pages.append({"text": "", "width": image.width, "height": image.height})
    return pages


def render(
    path: str,
    media_type: str,
    numbers: list[int],
    out_dir: str,
    *,
    long_side: int,
    thumb_side: int,
    deep_from: int,
) -> list[dict[str, Any]]:
    """Write page images (JPEG, ``long_side`` px) and thumbnails; their files and sizes, and
    whether the page has more detail than ``deep_from`` px to show in deep zoom (``deep``)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if media_type in IMAGE_TYPES:
        results = []
        for n in numbers:
            frame = _open_image(path)
            frame.seek(n - 1)
            deep = max(frame.size) > deep_from
            views = _save_views(
                _image_page(path, n, draft=long_side), out, n, long_side, thumb_side
            )
            results.append(views | {"deep": deep})
        return results
    import pymupdf

    results = []
    with pymupdf.open(path, filetype=_FILETYPES[media_type]) as document:
        for count, number in enumerate(numbers):
            page = document[number - 1]
            side = max(page.rect.width, page.rect.height, 1)
            thumb = None
            scanned = bool(page.get_images())
            if scanned:
                grey = _grey_scan(page)
            else:
                # A vector page: its thumbnail, drawn first (1.4 ms), shows whether it has any
                # colour; a page of black text is then drawn and stored in grey, in half the
                # time RGB takes (15 ms a page against 28).
                thumb = _draw(page, thumb_side / side, grey=False)
                grey = _looks_grey(thumb)
                thumb = thumb.convert("L") if grey else thumb
            image = _draw(page, long_side / side, grey=grey)
            views = _save_views(image, out, number, long_side, thumb_side, thumb=thumb)
            results.append(views | {"deep": _wants_deep_zoom(page, deep_from)})
            _after_page(count, scanned=scanned)
    return results


def _after_page(count: int, *, scanned: bool) -> None:
    """Empty MuPDF's cache after each page with a scan: its decoded image (~5 MB for an A5 page
    at 300 dpi) is never drawn again, and twenty of them were 95 MB of a renderer's peak on a
    1,000-page scan. Vector pages share their fonts: the cache is kept for twenty of them."""
    import pymupdf

    if scanned or count % 20 == 19:
        pymupdf.TOOLS.store_shrink(100)


def _draw(page: Any, zoom: float, *, grey: bool) -> Any:
    """A PDF page drawn at ``zoom`` as a Pillow image, in grey (L) or RGB."""
    import pymupdf
    from PIL import Image

    pix = page.get_pixmap(
        matrix=pymupdf.Matrix(zoom, zoom),
        colorspace=pymupdf.csGRAY if grey else pymupdf.csRGB,
        alpha=False,
    )
    return Image.frombytes("L" if grey else "RGB", (pix.width, pix.height), pix.samples)


# Largest difference between colour channels still taken for grey: anti-aliased black text on
# white has none; a coloured mark even a few pixels across at 300 px shows far more.
GREY_TOLERANCE = 8


def _looks_grey(image: Any) -> bool:
    from PIL import ImageChops

    red, green, blue = image.split()
    for a, b in ((red, green), (green, blue)):
        _, largest = ImageChops.difference(a, b).getextrema()
        if int(largest) > GREY_TOLERANCE:  # type: ignore[arg-type]  # one band: two ints
            return False
    return True


# Fewer, larger objects: a 300 dpi A4 scan is 9 tiles at 1024 px (29 at 512), and each one
# stored is a round trip to S3; viewers ask for 1024 px tiles as readily as for 512.
TILE_SIZE = 1024


def render_tiles(
    path: str, media_type: str, numbers: list[int], out_dir: str, *, long_side: int, deep_from: int
) -> list[dict[str, Any]]:
    """Static IIIF level-0 tiles (TILE_SIZE px) of each page that has more detail than its page
    image shows, in ``out_dir/<number>/``, cut by libvips from an image at most ``long_side``
    px; ``dir`` is None for the others (which pages: see ``_pixels``)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    for number, width, height, bands, pixels in _pixels(
        path, media_type, numbers, long_side, deep_from
    ):
        if pixels is None:
            results.append({"number": number, "dir": None, "width": width, "height": height})
            continue
        from collection.ingest.vips import pyvips  # loaded in the fork server already

        image = pyvips.Image.new_from_memory(pixels, width, height, bands, "uchar")
        target = out / str(number)
        image.dzsave(
            str(target),
            layout="iiif3",
            tile_size=TILE_SIZE,
            overlap=0,
            # Down to the level that fits in one tile, not to one pixel: 9 objects for an A5
            # page at 300 dpi instead of 19, each a round trip to S3.
            depth="onetile",
            suffix=".jpg[Q=80,strip]",
            id="https://iiif.invalid",  # replaced when served: the public URL may change
        )
        (target / "vips-properties.xml").unlink(missing_ok=True)
        results.append({"number": number, "dir": str(target), "width": width, "height": height})
    return results


# A vector page (born-digital) larger than A4 (842 pt) is zoomed into, an A3 newspaper say; an
# A4 or smaller one reads well in its page image, and its PDF is there to download.
DEEP_ZOOM_VECTOR_PT = 900


def _wants_deep_zoom(page: Any, deep_from: int) -> bool:
    """Whether a PDF page has clearly more to show than its page image: a scan whose own
    resolution gives more than ``deep_from`` px, a vector page larger than A4."""
    points = float(max(page.rect.width, page.rect.height, 1))
    scan = _scan_zoom(page)
    if scan == float("inf"):
        return points > DEEP_ZOOM_VECTOR_PT
    return points * scan > deep_from


def _pixels(
    path: str, media_type: str, numbers: list[int], long_side: int, deep_from: int
) -> Iterator[tuple[int, int, int, int, bytes | None]]:
    """(number, width, height, bands, pixels) of each page, long side at most ``long_side``,
    in grey (one band) where the page's scan is grey, else RGB; no pixels (and no rendering)
    for a page whose own detail is at most ``deep_from`` px."""
    if media_type in IMAGE_TYPES:
        for number in numbers:
            image = _open_image(path)
            image.seek(number - 1)
            if max(image.size) <= deep_from:
                yield number, image.width, image.height, 3, None
                continue
            image = _image_page(path, number, draft=long_side)
            image.thumbnail((long_side, long_side))
            yield number, image.width, image.height, len(image.getbands()), image.tobytes()
        return
    import pymupdf

    with pymupdf.open(path, filetype=_FILETYPES[media_type]) as document:
        for count, number in enumerate(numbers):
            page = document[number - 1]
            if not _wants_deep_zoom(page, deep_from):
                yield number, round(page.rect.width), round(page.rect.height), 3, None
                continue
            points = max(page.rect.width, page.rect.height, 1)
            scan = _scan_zoom(page)
            zoom = min(long_side / points, scan)
            # A grey scan drawn in grey: a third of the bytes, and 3.5 × faster to draw.
            pix = page.get_pixmap(
                matrix=pymupdf.Matrix(zoom, zoom),
                colorspace=pymupdf.csGRAY if _grey_scan(page) else pymupdf.csRGB,
                alpha=False,
            )
            yield number, pix.width, pix.height, pix.n, pix.samples
            _after_page(count, scanned=scan != float("inf"))


def _scan_zoom(page: Any) -> float:
    """The zoom that shows a scanned page's images at their own resolution: rendering a 300 dpi
    scan at more would only make bigger tiles of the same detail. Infinite for vector pages."""
    if not page.get_images():
        return float("inf")  # no image at all (read from the resources, without drawing)
    zooms = [
        info["width"] / (info["bbox"][2] - info["bbox"][0])
        for info in page.get_image_info()
        if info["bbox"][2] - info["bbox"][0] > page.rect.width / 2  # a page-sized image
    ]
    return max(zooms, default=float("inf"))


# Longest side of an image given to Tesseract: a bigger page is reduced (a whole factor) first.
MAX_OCR_SIDE = 7000


def render_for_ocr(
    path: str, media_type: str, numbers: list[int], out_dir: str, *, dpi: int
) -> list[dict[str, Any]]:
    """A grey image (PGM) per page for Tesseract, at the resolution of the page's own scan (``dpi``
    only for pages with no page-sized image), specks removed and skew taken out where needed
    (see preprocess.py); with the dpi to tell Tesseract (None: let it estimate)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for number, grey, native in _ocr_pages(path, media_type, numbers, dpi):
        ready = preprocess.prepare(grey, native)
        # Uncompressed: written and read in milliseconds (PNG took 30-40 ms each way a page).
        target = out / f"{number}-ocr.pgm"
        ready.image.save(target)
        results.append(
            {
                "number": number,
                "ocr": str(target),
                "dpi": ready.dpi,
                "skew": ready.skew,
                "despeckled": ready.despeckled,
            }
        )
    return results


def _ocr_pages(
    path: str, media_type: str, numbers: list[int], dpi: int
) -> Iterator[tuple[int, Any, int | None]]:
    """(number, grey image, its dpi or None) of each page, at the scan's own resolution."""
    if media_type in IMAGE_TYPES:
        for number in numbers:
            yield (number, *_image_for_ocr(path, number))
        return
    import pymupdf
    from PIL import Image

    with pymupdf.open(path, filetype=_FILETYPES[media_type]) as document:
        for count, number in enumerate(numbers):
            page = document[number - 1]
            native = _scan_zoom(page) * 72
            wanted = float(dpi) if native == float("inf") else native / preprocess.reduction(native)
            longest = max(page.rect.width, page.rect.height, 1) * wanted / 72
            if longest > MAX_OCR_SIDE:
                wanted /= math.ceil(longest / MAX_OCR_SIDE)
            pix = page.get_pixmap(
                matrix=pymupdf.Matrix(wanted / 72, wanted / 72),
                colorspace=pymupdf.csGRAY,
                alpha=False,
            )
            yield number, Image.frombytes("L", (pix.width, pix.height), pix.samples), round(wanted)
            _after_page(count, scanned=native != float("inf"))


def _image_for_ocr(path: str, number: int) -> tuple[Any, int | None]:
    """One frame of an image file in grey, upright, with square pixels, at most MAX_OCR_SIDE
    px (reduced while decoding where JPEG allows: a 600 dpi A3 page never exists at full size);
    its dpi if the file's is believable."""
    from PIL import Image, ImageOps

    image = _open_image(path)
    image.seek(number - 1)
    x_dpi, y_dpi = (preprocess.plausible_dpi(v) for v in _dpi_field(image))
    if image.format == "JPEG":
        factor = max(
            preprocess.reduction(max(x_dpi or 0, y_dpi or 0)),
            math.ceil(max(image.size) / MAX_OCR_SIDE),
        )
        if factor > 1:
            full_width = image.width
            image.draft("L", (image.width // factor, image.height // factor))
            shrink = image.width / full_width
            x_dpi, y_dpi = (round(v * shrink) if v else None for v in (x_dpi, y_dpi))
    image = ImageOps.exif_transpose(image).convert("L")
    if (factor := math.ceil(max(image.size) / MAX_OCR_SIDE)) > 1:
        image = image.reduce(factor)
        x_dpi, y_dpi = (round(v / factor) if v else None for v in (x_dpi, y_dpi))
    if x_dpi and y_dpi and abs(x_dpi - y_dpi) > 0.1 * max(x_dpi, y_dpi):
        # A fax at 204 × 98 dpi: stretch the short axis so letters have their shape again.
        top = max(x_dpi, y_dpi)
        image = image.resize(
            (round(image.width * top / x_dpi), round(image.height * top / y_dpi)),
            Image.Resampling.BICUBIC,
        )
        x_dpi = top
    return image, x_dpi


def _dpi_field(image: Any) -> tuple[float | None, float | None]:
    """The image's own resolution, as its file states it (PNG pHYs, TIFF, JPEG JFIF/EXIF)."""
    dpi = image.info.get("dpi")
    try:
        x, y = (float(v) for v in dpi)
    except (TypeError, ValueError):
        return None, None
    return x, y


# Image modes kept in grey: a grey scan's views and tiles are a third of the bytes, and quicker
# to make (16-bit and float grey go through RGB, as Pillow converts those to 8 bits).
GREY_MODES = ("1", "L", "LA")


def _image_page(path: str, number: int, *, draft: int | None) -> Any:
    """One frame of an image file, upright (EXIF), in grey (L) if it is grey, else RGB (CMYK,
    palette, 16-bit converted)."""
    from PIL import ImageOps

    image = _open_image(path)
    image.seek(number - 1)
    mode = "L" if image.mode in GREY_MODES else "RGB"
    if draft and image.format == "JPEG":
        image.draft(mode, (draft, draft))  # decode at reduced size: far less memory
    image = ImageOps.exif_transpose(image)  # phone photos: upright as the camera held them
    return image.convert(mode)


def _grey_scan(page: Any) -> bool:
    """Whether a PDF page is a scan in grey: every image on it has one colour component (its
    vector marks, if any, are taken to be grey too: a scanner's PDF has none)."""
    return bool(page.get_images()) and all(
        info.get("colorspace") == 1 for info in page.get_image_info()
    )


def _save_views(
    image: Any, out: Path, number: int, long_side: int, thumb_side: int, *, thumb: Any = None
) -> dict[str, Any]:
    """The page image and thumbnail as JPEG files (the thumbnail made from the page image
    unless it was drawn already)."""
    image.thumbnail((long_side, long_side))
    image_path, thumb_path = out / f"{number}.jpg", out / f"{number}-thumb.jpg"
    # Baseline with optimised Huffman tables: 13 ms for an A4 page at 1600 px, where progressive
    # took 38 ms for 12 % fewer bytes (160 KB against 141 KB): the page images were most of a
    # born-digital file's ingest time.
    image.save(image_path, "JPEG", quality=82, optimize=True)
    if thumb is None:
        # A box reduction to about twice the thumbnail first: Lanczos over the whole page
        # image took 17 ms, this 6 ms, and looks the same at 300 px.
        thumb = image.reduce(max(1, max(image.size) // (2 * thumb_side)))
        thumb.thumbnail((thumb_side, thumb_side))
    thumb.save(thumb_path, "JPEG", quality=80, optimize=True)
    return {
        "number": number,
        "image": str(image_path),
        "thumb": str(thumb_path),
        "width": image.width,
        "height": image.height,
    }


def assemble_pdf(plan: list[tuple[str, int]], target: str) -> int:
    """One PDF from (source PDF, page index) pairs; an empty source means a blank page."""
    import pymupdf

    out = pymupdf.open()
    sources: dict[str, Any] = {}
    for source, index in plan:
        if not source:
            out.new_page()
            continue
        if source not in sources:
            sources[source] = pymupdf.open(source)
        out.insert_pdf(sources[source], from_page=index, to_page=index)
    out.save(target, garbage=3, deflate=True)
    count: int = out.page_count
    out.close()
    for document in sources.values():
        document.close()
    return count
