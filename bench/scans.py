"""A degraded-scan set with its ground truth: Vietnamese pages as a library's scanner, a tired
flatbed or a phone makes them, as image-only PDFs (the form most scans arrive in).

A page is set at 300 dpi in a book face (Noto Serif, Noto Sans, DejaVu Serif), then spoilt in
the order a scan is: optical blur → skew on the glass → the sensor's resolution (box filter) →
speckle (dust, paper fibres, toner dots) → JPEG at the scanner's quality. A condition names one
setting of each; the "hard" ones combine them as real scans of old material do. The two-column
newspaper page reads its headline, then the left column, then the right (its ground truth).

Used by `bench/ocr_quality.py` (every condition) and by the tests (a few).
"""

from __future__ import annotations

import io
import random
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pymupdf
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIR = Path("/usr/share/fonts/truetype")
FONTS = [
    FONT_DIR / "noto" / "NotoSerif-Regular.ttf",
    FONT_DIR / "noto" / "NotoSans-Regular.ttf",
    FONT_DIR / "dejavu" / "DejaVuSerif.ttf",  # used only if installed
]
BOLD = FONT_DIR / "noto" / "NotoSerif-Bold.ttf"
A5_PX = (1748, 2480)  # 148 × 210 mm at 300 dpi
A4_PX = (2480, 3508)
BASE_DPI = 300
FONT_PX = 46  # about 11 pt at 300 dpi
SEED = 20261202

# Ground truth: one paragraph a page (NFC, full diacritics).
PARAGRAPHS = [
    "Văn hóa Đông Sơn được đặt tên theo làng Đông Sơn ở bờ nam sông Mã, nay thuộc thành phố "
    "Thanh Hóa. Năm 1924, một người dân đi bắt cá đã tình cờ nhặt được mấy món đồ đồng cổ bên "
    "bờ sông, mở đầu cho nhiều đợt khai quật sau đó. Các nhà khảo cổ tìm thấy trống đồng, thạp "
    "đồng, rìu, giáo, dao găm và đồ trang sức có niên đại hơn hai nghìn năm. Trên mặt trống "
    "thường có hình ngôi sao nhiều cánh ở giữa, xung quanh là những vòng hoa văn khắc chim Lạc "
    "đang bay, nhà sàn mái cong, người giã gạo và thuyền chở chiến binh. Những hình ảnh ấy cho "
    "thấy đời sống của cư dân trồng lúa nước ven sông, biết đúc đồng, đi biển và tổ chức lễ hội. "
    "Ngày nay, trống đồng Đông Sơn được trưng bày trang trọng tại Bảo tàng tỉnh Thanh Hóa.",
    "Sông Mã bắt nguồn từ vùng núi tỉnh Điện Biên, chảy qua Sơn La, sang đất Lào rồi trở lại "
    "Việt Nam ở huyện Mường Lát. Dòng sông dài hơn năm trăm ki-lô-mét, trong đó đoạn chảy qua "
    "Thanh Hóa uốn lượn giữa núi rừng miền tây trước khi ra tới đồng bằng. Ở ngã ba Giàng, sông "
    "Chu đổ vào sông Mã, bồi đắp phù sa cho những cánh đồng lúa rộng lớn của các huyện Thiệu "
    "Hóa, Yên Định và Vĩnh Lộc. Cuối cùng, sông đổ ra biển qua cửa Hới, nơi có nhiều làng chài "
    "đông đúc. Địa hình Thanh Hóa thấp dần từ tây sang đông, gồm ba vùng rõ rệt là miền núi, "
    "trung du và đồng bằng ven biển. Những câu hò sông Mã của người chèo đò xưa vẫn được các "
    "nghệ nhân gìn giữ và biểu diễn trong các dịp lễ hội của tỉnh.",
    "Khu di tích Lam Kinh nằm ở huyện Thọ Xuân, trên vùng đất Lam Sơn, quê hương của Lê Lợi. Từ "
    "năm 1418 đến năm 1427, ông lãnh đạo nghĩa quân Lam Sơn chiến đấu suốt mười năm gian khổ để "
    "đánh đuổi quân Minh. Sau khi lên ngôi hoàng đế năm 1428, nhà vua cho xây dựng tại quê nhà "
    "một quần thể cung điện, lăng mộ và đền miếu, gọi là Lam Kinh. Nhiều vua và hoàng hậu nhà "
    "Lê sơ về sau cũng được đưa về đây an táng. Trải qua nhiều biến cố, phần lớn công trình đã "
    "bị hư hại, chỉ còn lại nền điện, hệ thống lăng mộ và tấm bia Vĩnh Lăng ghi công đức của vua "
    "Lê Thái Tổ. Hằng năm, vào tháng Tám âm lịch, nhân dân khắp nơi nô nức về dự lễ hội Lam "
    "Kinh để tưởng nhớ người anh hùng dân tộc.",
    "Cầu Hàm Rồng bắc qua sông Mã ở phía bắc thành phố Thanh Hóa, nằm giữa núi Rồng và núi "
    "Ngọc. Tên gọi Hàm Rồng bắt nguồn từ dáng núi giống đầu một con rồng đang há miệng uống "
    "nước sông. Cây cầu hiện nay được khánh thành năm 1964, mang cả đường sắt và đường bộ nối "
    "liền hai bờ. Trong những năm chiến tranh, nơi đây là trọng điểm đánh phá của máy bay Mỹ. "
    "Quân và dân Thanh Hóa đã kiên cường bám trụ, vừa chiến đấu vừa sửa chữa cầu, giữ vững "
    "mạch giao thông chi viện cho chiến trường miền Nam. Chiến thắng Hàm Rồng ngày 3 và 4 tháng "
    "4 năm 1965 đã đi vào lịch sử như một bản anh hùng ca. Ngày nay, núi Rồng, đồi Quyết Thắng "
    "và bến sông trở thành điểm tham quan quen thuộc của du khách.",
    "Bà Triệu, tên thật là Triệu Thị Trinh, là nữ anh hùng sống vào thế kỷ thứ ba. Năm 248, bà "
    "cùng anh trai là Triệu Quốc Đạt dựng cờ khởi nghĩa chống lại ách đô hộ của nhà Đông Ngô. "
    "Căn cứ của nghĩa quân đặt ở vùng núi Nưa, thuộc huyện Triệu Sơn ngày nay. Tương truyền, bà "
    "từng nói rằng mình muốn cưỡi cơn gió mạnh, đạp luồng sóng dữ, chém cá kình ở biển Đông, "
    "chứ không chịu khom lưng làm tì thiếp cho người. Cuộc khởi nghĩa tuy thất bại nhưng đã làm "
    "quân giặc khiếp sợ và để lại tấm gương sáng về lòng yêu nước của phụ nữ Việt Nam. Đền thờ "
    "Bà Triệu ở xã Triệu Lộc, huyện Hậu Lộc, là di tích lịch sử quốc gia. Lễ hội đền Bà Triệu "
    "được tổ chức long trọng vào tháng Hai âm lịch hằng năm.",
    "Sầm Sơn là thành phố biển nằm cách trung tâm tỉnh khoảng mười sáu ki-lô-mét về phía đông. "
    "Từ đầu thế kỷ XX, người Pháp đã xây dựng tại đây những biệt thự nghỉ mát đầu tiên, và bãi "
    "biển nhanh chóng nổi tiếng khắp Bắc Kỳ. Bờ cát dài, thoải và sóng êm, thích hợp cho các "
    "gia đình đến tắm biển vào mùa hè. Trên núi Trường Lệ có đền Độc Cước, đền Cô Tiên và hòn "
    "Trống Mái, gắn với truyền thuyết về đôi vợ chồng chung thủy hóa đá. Du khách đến Sầm Sơn "
    "thường thưởng thức hải sản tươi, mua nem chua, bánh gai và nước mắm làm quà. Văn hóa xứ "
    "Thanh còn có dân ca Đông Anh, trò Xuân Phả, múa đèn Đông Thanh và nghề dệt chiếu cói Nga "
    "Sơn, tất cả làm nên bản sắc riêng của vùng đất này.",
]
HEADLINES = [
    "Mùa lúa mới trên cánh đồng Yên Định",
    "Phố cổ Hàm Rồng đón khách du xuân",
    "Thư viện tỉnh mở rộng điểm đọc sách",
]


@dataclass(frozen=True)
class Condition:
    """One way a scan goes wrong (or several at once, for the hard ones)."""

    name: str
    dpi: int = BASE_DPI
    skew: float = 0.0  # degrees, counter-clockwise; the page turned on the glass
    blur: float = 0.0  # gaussian radius at 300 dpi (focus, a worn original)
    speckle: float = 0.0  # dark specks per 10,000 px at scan resolution
    quality: int | None = None  # JPEG quality; None: lossless (PNG in the PDF)
    newspaper: bool = False  # an A4 page: a headline over two columns
    upside_down: bool = False
    hard: bool = False  # counted in the "hard conditions" aim

    @property
    def description(self) -> str:
        parts = [f"{self.dpi} dpi"]
        if self.skew:
            parts.append(f"skew {self.skew:g}°")
        if self.blur:
            parts.append(f"blur r{self.blur:g}")
        if self.speckle:
            parts.append(f"speckle {self.speckle:g}/10k px")
        parts.append(f"JPEG q{self.quality}" if self.quality else "lossless")
        if self.newspaper:
            parts.append("A4 newspaper, 2 columns")
        if self.upside_down:
            parts.append("upside down")
        return ", ".join(parts)


CONDITIONS = [
    Condition("clean_300"),
    Condition("clean_200", dpi=200),
    Condition("clean_150", dpi=150),
    Condition("skew_1", skew=1.0),
    Condition("skew_2", skew=-2.0),
    Condition("skew_4", skew=4.0),
    Condition("blur_300", blur=1.3),
    Condition("speckle_300", speckle=3),
    Condition("jpeg_q30_200", dpi=200, quality=30),
    Condition("jpeg_q60_200", dpi=200, quality=60),
    Condition("jpeg_q90_150", dpi=150, quality=90),
    Condition("newspaper_300", skew=0.7, quality=75, newspaper=True),
    Condition("upside_down_300", quality=80, upside_down=True),
    # The hard ones: old material, as it really arrives.
    Condition("hard_150", dpi=150, skew=2.5, blur=1.0, speckle=2, quality=35, hard=True),
    Condition("hard_150_q30", dpi=150, skew=-3.0, blur=0.8, speckle=1.5, quality=30, hard=True),
    Condition("hard_200", dpi=200, skew=3.5, blur=1.2, speckle=2.5, quality=35, hard=True),
    Condition("hard_300", skew=-2.0, blur=1.5, speckle=3, quality=40, hard=True),
    Condition(
        "hard_newspaper_200",
        dpi=200,
        skew=1.5,
        blur=1.0,
        speckle=2,
        quality=40,
        newspaper=True,
        hard=True,
    ),
    Condition(
        "hard_upside_down_200",
        dpi=200,
        skew=2.0,
        blur=1.0,
        speckle=2,
        quality=35,
        upside_down=True,
        hard=True,
    ),
]
BY_NAME = {c.name: c for c in CONDITIONS}


def fonts() -> list[Path]:
    found = [f for f in FONTS if f.exists()]
    if len(found) < 2:
        raise RuntimeError(f"need at least two of these fonts: {[str(f) for f in FONTS]}")
    return found


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if line and font.getlength(candidate) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    lines.append(line)
    return lines


def book_page(text: str, font_path: Path) -> Image.Image:
    """An A5 page at 300 dpi: one paragraph, black on white."""
    width, height = A5_PX
    font = ImageFont.truetype(str(font_path), FONT_PX)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    for n, line in enumerate(_wrap(text, font, width - 300)):
        draw.text((150, 220 + n * int(FONT_PX * 1.6)), line, font=font, fill=0)
    return image


def newspaper_page(headline: str, left: str, right: str, font_path: Path) -> Image.Image:
    """An A4 page at 300 dpi: a bold headline across, then two columns with a rule between."""
    width, height = A4_PX
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    title = ImageFont.truetype(str(BOLD if BOLD.exists() else font_path), 96)
    draw.text((200, 220), headline, font=title, fill=0)
    body = ImageFont.truetype(str(font_path), 40)
    column = (width - 400 - 120) // 2
    for x, text in ((200, left), (200 + column + 120, right)):
        for n, line in enumerate(_wrap(text, body, column)):
            draw.text((x, 460 + n * 64), line, font=body, fill=0)
    draw.line([(width // 2, 460), (width // 2, height - 400)], fill=0, width=3)
    return image


def degrade(page: Image.Image, condition: Condition, rng: random.Random) -> Image.Image:
    """The page as the scanner saved it (before its JPEG compression)."""
    image = page.filter(ImageFilter.GaussianBlur(condition.blur)) if condition.blur else page
    if condition.upside_down:
        image = image.rotate(180)
    if condition.skew:
        image = image.rotate(
            condition.skew, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255
        )
    if condition.dpi != BASE_DPI:
        size = (image.width * condition.dpi // BASE_DPI, image.height * condition.dpi // BASE_DPI)
        image = image.resize(size, Image.Resampling.BOX)
    if condition.speckle:
        draw = ImageDraw.Draw(image)
        for _ in range(int(image.width * image.height * condition.speckle / 10_000)):
            x, y = rng.randrange(image.width), rng.randrange(image.height)
            r = rng.choice((0, 0, 0, 0, 0, 1, 1, 2))  # mostly lone pixels, some 2×2, a few 3×3
            draw.rectangle((x, y, x + r, y + r), fill=rng.randrange(0, 110))
    return image


@dataclass(frozen=True)
class ScanSet:
    condition: Condition
    pdf: bytes
    truths: list[str]  # per page, NFC
    skews: list[float]  # the true skew of each page, degrees


def make(condition: Condition, pages: int = 3) -> ScanSet:
    """An image-only PDF of ``pages`` pages spoilt as ``condition`` says, with its truth."""
    faces = fonts()
    document = pymupdf.open()
    truths: list[str] = []
    for n in range(pages):
        rng = random.Random(f"{SEED}-{condition.name}-{n}")
        face = faces[n % len(faces)]
        if condition.newspaper:
            headline = HEADLINES[n % len(HEADLINES)]
            left = PARAGRAPHS[(2 * n) % len(PARAGRAPHS)]
            right = PARAGRAPHS[(2 * n + 1) % len(PARAGRAPHS)]
            truth = f"{headline} {left} {right}"
            page = newspaper_page(headline, left, right, face)
        else:
            truth = PARAGRAPHS[n % len(PARAGRAPHS)]
            page = book_page(truth, face)
        truths.append(unicodedata.normalize("NFC", truth))
        scan = degrade(page, condition, rng)
        buffer = io.BytesIO()
        if condition.quality:
            scan.save(buffer, "JPEG", quality=condition.quality)
        else:
            scan.save(buffer, "PNG")
        points = 72 / condition.dpi
        target = document.new_page(width=scan.width * points, height=scan.height * points)
        target.insert_image(target.rect, stream=buffer.getvalue())
    data: bytes = document.tobytes(garbage=3, deflate=True)
    document.close()
    return ScanSet(condition, data, truths, [condition.skew] * pages)


# --- scoring ---------------------------------------------------------------------------------


def normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def edit_distance(truth: str, got: str) -> int:
    """Levenshtein distance (characters), two rows at a time."""
    previous = list(range(len(got) + 1))
    for i, want in enumerate(truth, start=1):
        current = [i]
        for j, have in enumerate(got, start=1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (want != have))
            )
        previous = current
    return previous[-1]


def cer_pct(truth: str, got: str) -> float:
    """Character error rate in percent: edits between the whitespace-normalised NFC texts,
    over the truth's length."""
    want, have = normalise(truth), normalise(got)
    return 100 * edit_distance(want, have) / max(len(want), 1)
