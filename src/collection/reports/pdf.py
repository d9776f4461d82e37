"""The yearly report as PDF, drawn by PyMuPDF's Story from a plain HTML template, with Debian's
Noto fonts (every Vietnamese letter) and the chart rendered from its SVG to an image."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pymupdf

from collection.errors import ConfigurationError
from collection.web.templating import templates

FONTS = Path("/usr/share/fonts/truetype/noto")  # Debian fonts-noto-core (scripts/setup.sh)
CSS = """
* { font-family: sans-serif; font-size: 9pt; }
@font-face { font-family: sans-serif; src: url(NotoSans-Regular.ttf); }
@font-face { font-family: sans-serif; font-weight: bold; src: url(NotoSans-Bold.ttf); }
@font-face { font-family: sans-serif; font-style: italic; src: url(NotoSans-Italic.ttf); }
h1 { font-size: 15pt; } h2 { font-size: 11.5pt; margin-top: 10pt; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 0.5pt solid #999; padding: 2pt 3pt; vertical-align: top; }
th { background-color: #e8f0e6; text-align: left; }
td.num { text-align: right; }
"""


def pdf_bytes(context: dict[str, Any], chart_svg: str) -> bytes:
    if not (FONTS / "NotoSans-Regular.ttf").exists():
        raise ConfigurationError(
            "Thiếu phông chữ Noto để in PDF (gói fonts-noto-core).",
            message_en=f"no Noto fonts in {FONTS} (Debian fonts-noto-core)",
        )
    html = templates.get_template("staff/report_pdf.html").render(context)
    archive = pymupdf.Archive(str(FONTS))
    with pymupdf.open(stream=chart_svg.encode(), filetype="svg") as svg:
        archive.add(svg[0].get_pixmap(dpi=150).tobytes("png"), "chart.png")
    story = pymupdf.Story(html=html, user_css=CSS, archive=archive)
    buffer = io.BytesIO()
    writer = pymupdf.DocumentWriter(buffer)
    page = pymupdf.paper_rect("a4")
    frame = pymupdf.Rect(page.x0 + 40, page.y0 + 40, page.x1 - 40, page.y1 - 40)
    more = True
    while more:
        device = writer.begin_page(page)
        more, _ = story.place(frame)
        story.draw(device)
        writer.end_page()
    writer.close()
    # Story embeds whole fonts (~4 MB of Noto); keep only the letters used.
    with pymupdf.open(stream=buffer.getvalue(), filetype="pdf") as document:
        document.subset_fonts()
        small: bytes = document.tobytes(garbage=3, deflate=True)
    return small
