"""Test material made on the spot: born-digital and scanned Vietnamese pages, broken files."""

from __future__ import annotations

import io
from pathlib import Path

import pymupdf
from PIL import Image, ImageDraw, ImageFont

FONT = Path("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf")
SERIF = Path("/usr/share/fonts/truetype/noto/NotoSerif-Regular.ttf")

PAGES = [
    "Địa chí Thanh Hóa. Thanh Hóa là tỉnh cực bắc Trung Bộ, có sông Mã chảy qua.",
    "Văn hóa Đông Sơn nổi tiếng với trống đồng. Người xứ Thanh cần cù, hiếu học.",
    "Thành phố Thanh Hóa, thị xã Bỉm Sơn và huyện Hoằng Hóa nằm trong tỉnh.",
]


def born_digital_pdf(pages: list[str] = PAGES) -> bytes:
    document = pymupdf.open()
    for text in pages:
        page = document.new_page(width=595, height=842)
        page.insert_font(fontname="noto", fontfile=str(FONT))
        page.insert_textbox(pymupdf.Rect(50, 60, 545, 800), text, fontname="noto", fontsize=14)
    data: bytes = document.tobytes()
    document.close()
    return data


def scanned_image(text: str, *, width: int = 1700, size: int = 44) -> Image.Image:
    """A page as a scanner sees it: black text on white, 300 dpi-like sizes."""
    font = ImageFont.truetype(str(SERIF), size)
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if font.getlength(candidate) > width - 160:
            lines.append(line)
            line = word
        else:
            line = candidate
    lines.append(line)
    image = Image.new("L", (width, 120 + len(lines) * int(size * 1.6)), 255)
    draw = ImageDraw.Draw(image)
    for n, text_line in enumerate(lines):
        draw.text((80, 60 + n * int(size * 1.6)), text_line, font=font, fill=0)
    return image


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def scanned_pdf(texts: list[str]) -> bytes:
    """A PDF of page images with no text layer, as a scanner makes it."""
    return pdf_of_images([scanned_image(text) for text in texts])


def pdf_of_images(images: list[Image.Image]) -> bytes:
    document = pymupdf.open()
    for image in images:
        page = document.new_page(width=image.width * 72 / 300, height=image.height * 72 / 300)
        page.insert_image(page.rect, stream=png(image))
    data: bytes = document.tobytes()
    document.close()
    return data


def noisy(image: Image.Image, amount: float = 0.25, seed: int = 7) -> Image.Image:
    """Scanner speckle: the page blended with random grey noise."""
    import random

    rng = random.Random(seed)
    grey = image.convert("L")
    noise = Image.frombytes("L", grey.size, rng.randbytes(grey.width * grey.height))
    return Image.blend(grey, noise, amount)


def encrypted_pdf() -> bytes:
    document = pymupdf.open(stream=born_digital_pdf(PAGES[:1]))
    aes_256: int = pymupdf.PDF_ENCRYPT_AES_256  # type: ignore[attr-defined]
    data: bytes = document.tobytes(encryption=aes_256, user_pw="mat-khau", owner_pw="chu-so-huu")
    document.close()
    return data


def cmyk_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("CMYK", (800, 600), (0, 80, 80, 0)).save(out, "JPEG")
    return out.getvalue()


def multipage_tiff(count: int = 2) -> bytes:
    frames = [scanned_image(f"Trang {n}: tư liệu Thanh Hóa") for n in range(1, count + 1)]
    out = io.BytesIO()
    frames[0].save(out, "TIFF", save_all=True, append_images=frames[1:], compression="tiff_lzw")
    return out.getvalue()


def rotated_photo() -> bytes:
    """A phone photo stored sideways with EXIF orientation 6 (rotate 90° to view)."""
    image = Image.new("RGB", (400, 300), (200, 30, 30))
    ImageDraw.Draw(image).rectangle((0, 0, 100, 300), fill=(20, 20, 200))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def epub(chapters: list[str] = PAGES) -> bytes:
    """A minimal valid EPUB 3: one XHTML chapter per text (MuPDF lays it out into pages)."""
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as book:
        book.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        book.writestr(
            "META-INF/container.xml",
            '<?xml version="1.0"?><container version="1.0" '
            'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
            '<rootfile full-path="OEBPS/book.opf" media-type="application/oebps-package+xml"/>'
            "</rootfiles></container>",
        )
        items = "".join(
            f'<item id="c{n}" href="c{n}.xhtml" media-type="application/xhtml+xml"/>'
            for n in range(len(chapters))
        )
        spine = "".join(f'<itemref idref="c{n}"/>' for n in range(len(chapters)))
        book.writestr(
            "OEBPS/book.opf",
            '<?xml version="1.0" encoding="utf-8"?><package xmlns="http://www.idpf.org/2007/opf" '
            'version="3.0" unique-identifier="id"><metadata '
            'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">kho-1'
            "</dc:identifier><dc:title>Địa chí Thanh Hóa</dc:title><dc:language>vi"
            f"</dc:language></metadata><manifest>{items}</manifest><spine>{spine}</spine>"
            "</package>",
        )
        for n, text in enumerate(chapters):
            book.writestr(
                f"OEBPS/c{n}.xhtml",
                '<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml" '
                f'xml:lang="vi"><head><title>{n}</title><style>body{{page-break-before:always}}'
                f"</style></head><body><p>{text}</p></body></html>",
            )
    return out.getvalue()


def xps(pages: list[str] = PAGES) -> bytes:
    """A minimal OpenXPS document: one fixed page per text, set in Noto Sans (embedded)."""
    import zipfile
    from xml.sax.saxutils import quoteattr

    ns = "http://schemas.openxps.org/oxps/v1.0"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as doc:
        doc.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="utf-8"?><Types '
            'xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="fdseq" ContentType="application/vnd.ms-package.xps-fixeddocumentsequence+xml"/>'
            '<Default Extension="fdoc" ContentType="application/vnd.ms-package.xps-fixeddocument+xml"/>'
            '<Default Extension="fpage" ContentType="application/vnd.ms-package.xps-fixedpage+xml"/>'
            '<Default Extension="ttf" ContentType="application/vnd.ms-opentype"/></Types>',
        )
        doc.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="utf-8"?><Relationships '
            'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="r1" Target="/FixedDocumentSequence.fdseq" '
            'Type="http://schemas.openxps.org/oxps/v1.0/fixedrepresentation"/></Relationships>',
        )
        doc.writestr(
            "FixedDocumentSequence.fdseq",
            f'<FixedDocumentSequence xmlns="{ns}">'
            '<DocumentReference Source="/Documents/1/FixedDocument.fdoc"/></FixedDocumentSequence>',
        )
        refs = "".join(f'<PageContent Source="Pages/{n}.fpage"/>' for n in range(1, len(pages) + 1))
        doc.writestr(
            "Documents/1/FixedDocument.fdoc", f'<FixedDocument xmlns="{ns}">{refs}</FixedDocument>'
        )
        doc.write(FONT, "Resources/NotoSans.ttf")
        for n, text in enumerate(pages, start=1):
            doc.writestr(
                f"Documents/1/Pages/{n}.fpage",
                f'<FixedPage xmlns="{ns}" Width="816" Height="1056" xml:lang="vi">'
                '<Glyphs FontUri="/Resources/NotoSans.ttf" FontRenderingEmSize="14" '
                f'OriginX="60" OriginY="100" Fill="#FF000000" UnicodeString={quoteattr(text)}/>'
                "</FixedPage>",
            )
    return out.getvalue()
