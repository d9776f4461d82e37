"""The Tesseract adapter: the only module that runs OCR. One `tesseract` process per page, with
OMP_THREAD_LIMIT=1 so parallel pages do not oversubscribe the cores."""

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


def recognise(image: Path, *, languages: str, dpi: int, timeout: float = 600) -> PageText:
    """The text Tesseract reads on one page image, plus a searchable one-page PDF of it.

    One run makes both (Tesseract's own PDF renderer keeps Vietnamese words apart, unlike
    MuPDF's OCR, which glues words after U+1Exx letters)."""
    check_languages(languages)
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    base = image.with_suffix("")
    try:
        out = subprocess.run(
            [
                "tesseract", str(image), str(base),
                "-l", languages, "--psm", "3", "--dpi", str(dpi),
                "-c", "textonly_pdf=0",
                "txt", "pdf",
            ],
            capture_output=True,
            timeout=timeout,
            env=env,
            check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        raise InvalidInput(
            f"OCR một trang quá {timeout:.0f} giây.", message_en="tesseract timed out"
        ) from exc
    txt, pdf = base.with_suffix(".txt"), base.with_suffix(".pdf")
    if out.returncode != 0 or not txt.exists() or not pdf.exists():
        raise InvalidInput(
            "OCR không đọc được trang này.",
            message_en=f"tesseract failed: {out.stderr.decode(errors='replace')[-300:]}",
        )
    return PageText(txt.read_text(encoding="utf-8", errors="replace"), pdf)
