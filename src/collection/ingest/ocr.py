"""The Tesseract adapter: the only module that runs OCR. One `tesseract` process per core, each
reading a few pages, with OMP_THREAD_LIMIT=1 so parallel runs do not oversubscribe the cores."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from collection.errors import ConfigurationError, InvalidInput


@lru_cache(maxsize=1)
def installed_languages() -> frozenset[str]:
    binary = shutil.which("tesseract")
    if binary is None:
        raise ConfigurationError(
            "Chưa cài Tesseract OCR (gói tesseract-ocr).", message_en="tesseract is not installed"
        )
    out = subprocess.run(
        [binary, "--list-langs"], capture_output=True, text=True, timeout=30, check=False
    )
    return frozenset(line.strip() for line in out.stdout.splitlines()[1:] if line.strip())


def check_languages(languages: str) -> None:
    missing = set(languages.split("+")) - installed_languages()
    if missing:
        raise InvalidInput(
            f"Chưa cài ngôn ngữ OCR: {', '.join(sorted(missing))}.",
            message_en=f"Tesseract languages not installed: {', '.join(sorted(missing))}",
        )


@dataclass(frozen=True)
class PageText:
    text: str
    pdf: Path  # a one-page PDF: the page image with the recognised text as an invisible layer
    confidence: float | None  # Tesseract's mean word confidence, 0-100; None on a blank page


def recognise(image: Path, *, languages: str, dpi: int | None, timeout: float = 600) -> PageText:
    """The text Tesseract reads on one page image, plus a searchable one-page PDF of it.

    One run makes both (Tesseract's own PDF renderer keeps Vietnamese words apart, unlike
    MuPDF's OCR, which glues words after U+1Exx letters). A page that reads as nonsense is
    checked for being sideways or upside down (Tesseract's OSD), turned, and read again."""
    result = _recognise(image, languages=languages, dpi=dpi, timeout=timeout)
    if result.confidence is None or result.confidence >= LOW_CONFIDENCE:
        return result
    turn = orientation(image, timeout=timeout)
    if not turn:
        return result
    from PIL import Image

    with Image.open(image) as page:
        # OSD says how far to turn clockwise; Pillow turns counter-clockwise.
        page.rotate(-turn, expand=True, fillcolor=255).save(image, compress_level=1)
    return _recognise(image, languages=languages, dpi=dpi, timeout=timeout)


def recognise_many(
    images: list[Path], *, languages: str, dpi: int | None, timeout: float = 600
) -> list[PageText]:
    """``recognise`` for several page images in one Tesseract run: its start (loading the
    language models, ~0.25 s, a third of a page's time) is paid once. Pages that read as
    nonsense are checked for orientation and read again on their own; if the run fails, each
    page is read on its own, so one bad page fails alone."""

    def one_by_one() -> list[PageText]:
        return [recognise(i, languages=languages, dpi=dpi, timeout=timeout) for i in images]

    if len(images) == 1:
        return one_by_one()
    check_languages(languages)
    listing = images[0].with_name(f"{images[0].stem}-batch.txt")
    listing.write_text("".join(f"{image}\n" for image in images), encoding="utf-8")
    base = listing.with_suffix("")
    try:
        out = _tesseract(listing, base, languages, dpi, timeout * len(images))
    except InvalidInput:
        out = None
    pdf, tsv = base.with_suffix(".pdf"), base.with_suffix(".tsv")
    if out is None or out.returncode != 0 or not pdf.exists() or not tsv.exists():
        return one_by_one()
    pages = _page_texts(tsv.read_text(encoding="utf-8", errors="replace"), len(images))
    results = []
    import pymupdf

    with pymupdf.open(pdf) as joined:
        if joined.page_count != len(images):
            return one_by_one()
        for index, (image, (text, confidence)) in enumerate(zip(images, pages, strict=True)):
            if confidence is not None and confidence < LOW_CONFIDENCE:
                results.append(recognise(image, languages=languages, dpi=dpi, timeout=timeout))
                continue
            single = image.with_suffix(".pdf")
            with pymupdf.open() as part:
                part.insert_pdf(joined, from_page=index, to_page=index)
                part.save(single)
            results.append(PageText(text, single, confidence))
    return results


# A sideways or upside-down page still "reads" as letter-like junk, but with low confidence
# (measured here: upright pages 85-95, turned pages 30-55).
LOW_CONFIDENCE = 65.0


def orientation(image: Path, *, timeout: float = 120) -> int:
    """Degrees (90, 180, 270) to turn the page clockwise to read it; 0 if upright or unsure."""
    try:
        out = subprocess.run(
            ["tesseract", str(image), "stdout", "--psm", "0", "-l", "osd"],
            capture_output=True,
            timeout=timeout,
            env={**os.environ, "OMP_THREAD_LIMIT": "1"},
            check=False,
        )
    except subprocess.TimeoutExpired:
        return 0
    report = dict(
        line.split(":", 1)
        for line in out.stdout.decode(errors="replace").splitlines()
        if ":" in line
    )
    try:
        turn = int(report.get("Rotate", "0").strip())
        confidence = float(report.get("Orientation confidence", "0").strip())
    except ValueError:
        return 0
    return turn if turn in (90, 180, 270) and confidence >= 1.5 else 0


def _recognise(image: Path, *, languages: str, dpi: int | None, timeout: float) -> PageText:
    check_languages(languages)
    base = image.with_suffix("")
    out = _tesseract(image, base, languages, dpi, timeout)
    pdf, tsv = base.with_suffix(".pdf"), base.with_suffix(".tsv")
    if out.returncode != 0 or not tsv.exists() or not pdf.exists():
        raise InvalidInput(
            "OCR không đọc được trang này.",
            message_en=f"tesseract failed: {out.stderr.decode(errors='replace')[-300:]}",
        )
    [(text, confidence)] = _page_texts(tsv.read_text(encoding="utf-8", errors="replace"), 1)
    return PageText(text, pdf, confidence)


def _tesseract(
    source: Path, base: Path, languages: str, dpi: int | None, timeout: float
) -> subprocess.CompletedProcess[bytes]:
    """Tesseract on an image, or on a list of images (a text file, one path a line): a PDF
    with an invisible text layer and a TSV of the words, one page per image."""
    try:
        return subprocess.run(
            [
                "tesseract", str(source), str(base),
                "-l", languages, "--psm", "3",
                # No dpi: Tesseract estimates it from the size of the text.
                *(["--dpi", str(dpi)] if dpi else []),
                "-c", "textonly_pdf=0",
                "pdf", "tsv",
            ],
            capture_output=True,
            timeout=timeout,
            env={**os.environ, "OMP_THREAD_LIMIT": "1"},
            check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        raise InvalidInput(
            f"OCR quá {timeout:.0f} giây.", message_en="tesseract timed out"
        ) from exc


def _page_texts(tsv: str, pages: int) -> list[tuple[str, float | None]]:
    """Each page's text and mean word confidence, from Tesseract's TSV (column 2: the page)."""
    words: list[list[_Word]] = [[] for _ in range(pages)]
    for word in _words(tsv):
        if 1 <= word.page <= pages:
            words[word.page - 1].append(word)
    results = []
    for page in words:
        scores = [w.confidence for w in page]
        text = _text([w for w in _readable_blocks(page) if not w.junk])
        results.append((text, sum(scores) / len(scores) if scores else None))
    return results


@dataclass(frozen=True)
class _Word:
    text: str
    confidence: float
    page: int  # 1 for the first image of a run
    line: tuple[int, int, int]  # block, paragraph, line

    @property
    def junk(self) -> bool:
        """Specks read as punctuation standing alone (".", "_", "-_", "'"): in Vietnamese print
        punctuation clings to a word, so a token with no letter or digit is a speck, unless it
        is a dash read with confidence."""
        if any(ch.isalnum() for ch in self.text):
            return False
        return self.text not in DASHES or self.confidence < DASH_CONFIDENCE


DASHES = frozenset({"-", "–", "—", "…"})
DASH_CONFIDENCE = 60.0


def _words(tsv: str) -> list[_Word]:
    """The recognised words of Tesseract's TSV (level 5 rows), in reading order."""
    words = []
    for row in tsv.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) < 12 or cells[0] != "5" or not cells[11].strip():
            continue
        try:
            confidence = float(cells[10])
            page = int(cells[1])
            line = (int(cells[2]), int(cells[3]), int(cells[4]))
        except ValueError:
            continue
        words.append(_Word(cells[11].strip(), confidence, page, line))
    return words


# A block is text when at least this share of its words are read with confidence: on the bench's
# degraded scans real text blocks have 92-100 %; what Tesseract makes of photographs, halftone
# screens and drawings, 0-10 % (the halftone photograph in the tests).
SURE_SHARE = 0.5
SURE_CONFIDENCE = 60.0


def _readable_blocks(words: list[_Word]) -> list[_Word]:
    """The words of the blocks that are text, not a picture read as letters."""
    blocks: dict[int, list[_Word]] = {}
    for word in words:
        blocks.setdefault(word.line[0], []).append(word)
    kept = {
        number
        for number, members in blocks.items()
        if sum(w.confidence >= SURE_CONFIDENCE and not w.junk for w in members)
        >= SURE_SHARE * len(members)
    }
    return [w for w in words if w.line[0] in kept]


def _text(words: list[_Word]) -> str:
    """Words joined as Tesseract's own text output joins them: a space between words, a line
    break between lines, an empty line between paragraphs."""
    out: list[str] = []
    previous: tuple[int, int, int] | None = None
    for word in words:
        if previous is not None:
            if word.line == previous:
                out.append(" ")
            elif word.line[:2] == previous[:2]:
                out.append("\n")
            else:
                out.append("\n\n")
        out.append(word.text)
        previous = word.line
    return "".join(out) + ("\n" if out else "")
