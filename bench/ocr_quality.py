"""OCR quality (character error rate) of our OCR path vs plain Tesseract, per scan defect.

Material is made here: six paragraphs of Vietnamese prose about Thanh Hóa (ground truth, NFC,
full diacritics), each set on an A5 page at 300 dpi in one of several fonts (Noto Serif, Noto
Sans, DejaVu Serif). Every page is then degraded in each way a library scan goes wrong (noise,
blur, low resolution, skew, JPEG artefacts, skew + noise) and saved as a PNG, and that same PNG
is read twice:

- pipeline: as an uploaded PNG would be, `documents.render_for_ocr` (in this process, without
  the sandbox) then `ocr.recognise`, with the condition's dpi;
- baseline: `tesseract PNG stdout -l vie --psm 3 --dpi DPI` (OMP_THREAD_LIMIT=1).

CER = Levenshtein distance between the whitespace-normalised NFC texts / length of the truth,
averaged over pages. Aims (from the issue): ≤ 0.5 % on clean pages, ≤ 3 % on degraded ones.
Errors are also sorted by kind from the alignment (a lost or wrong diacritic, words merged or
split, anything else), with a few word-level examples.

Pages run in parallel, one at a time per core (each runs its tesseracts one after the other).
BENCH_OCR_QUALITY_PAGES limits the number of pages (default: all six).
"""

from __future__ import annotations

import difflib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops, ImageFilter

from bench import ingest
from collection.ingest import documents, ocr

FONT_DIR = Path("/usr/share/fonts/truetype")
FONTS = [
    FONT_DIR / "noto" / "NotoSerif-Regular.ttf",
    FONT_DIR / "noto" / "NotoSans-Regular.ttf",
    FONT_DIR / "dejavu" / "DejaVuSerif.ttf",  # used only if installed
]
DPI = 300
MARGIN = 150
FONT_PX = 48  # about 11.5 pt at 300 dpi
SEED = 20240601
NOISE_SIGMA = 25.0  # grey levels (0-255)
BLUR_RADIUS = 1.2
JPEG_QUALITY = 20
AIM_CLEAN_PCT = 0.5
AIM_DEGRADED_PCT = 3.0

# Ground truth: one paragraph a page.
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


def _log(message: str) -> None:
    print(f"[bench.ocr_quality] {message}", file=sys.stderr, flush=True)


# --- material --------------------------------------------------------------------------------


def fonts() -> list[Path]:
    found = [f for f in FONTS if f.exists()]
    if len(found) < 2:
        raise RuntimeError(f"need at least two of these fonts: {[str(f) for f in FONTS]}")
    return found


def render_page(text: str, font_path: Path) -> tuple[Image.Image, int]:
    """An A5 page at 300 dpi, black text on white, wrapped on words; the image and its lines."""
    return ingest.typeset(text, font_path, size=FONT_PX, margin=MARGIN)


# --- degradations ----------------------------------------------------------------------------


def add_noise(page: Image.Image, rng: random.Random, sigma: float = NOISE_SIGMA) -> Image.Image:
    """Additive, nearly gaussian grey noise: the mean of three uniform noise images (Irwin-Hall),
    scaled to ``sigma``; seeded, unlike Image.effect_noise."""
    size = page.size

    def uniform() -> Image.Image:
        return Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))

    mean3 = Image.blend(Image.blend(uniform(), uniform(), 0.5), uniform(), 1 / 3)
    scale = sigma / (255 / 12**0.5 / 3**0.5)  # the std of a mean of 3 uniforms on 0..255
    centred = mean3.point([max(0, min(255, round(128 + (v - 127.5) * scale))) for v in range(256)])
    return ImageChops.add(page, centred, scale=1.0, offset=-128)


def rotate(page: Image.Image, degrees: float) -> Image.Image:
    return page.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)


def jpeg(page: Image.Image, quality: int = JPEG_QUALITY) -> Image.Image:
    import io

    buffer = io.BytesIO()
    page.save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return decoded.convert("L")


@dataclass(frozen=True)
class Condition:
    name: str
    degrade: Callable[[Image.Image, random.Random], Image.Image]
    dpi: int = DPI
    clean: bool = False


CONDITIONS = [
    Condition("clean", lambda p, _: p.copy(), clean=True),
    Condition(f"noise_sigma{NOISE_SIGMA:g}", add_noise),
    Condition(
        f"blur_r{BLUR_RADIUS:g}", lambda p, _: p.filter(ImageFilter.GaussianBlur(BLUR_RADIUS))
    ),
    Condition("150dpi", lambda p, _: p.reduce(2), dpi=150),  # box filter: a sensor's average
    Condition("skew_1deg", lambda p, _: rotate(p, 1.0)),
    Condition("skew_2deg", lambda p, _: rotate(p, 2.0)),
    Condition("skew_3deg", lambda p, _: rotate(p, 3.0)),
    Condition(f"jpeg_q{JPEG_QUALITY}", lambda p, _: jpeg(p)),
    Condition("skew_2deg_noise", lambda p, rng: add_noise(rotate(p, 2.0), rng)),
]


# --- scoring ---------------------------------------------------------------------------------


def normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _base(ch: str) -> str:
    """A letter without its marks (đ counts as d with a mark), case-folded."""
    stripped = "".join(
        c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c)
    ).casefold()
    return stripped.replace("đ", "d")


def alignment(truth: str, got: str) -> list[tuple[str, str, str]]:
    """The edits of a minimal Levenshtein alignment: (kind, truth char, OCR char), kind being
    "sub", "del" (in the truth, not read) or "ins" (read, not in the truth)."""
    n, m = len(truth), len(got)
    rows = [list(range(m + 1))]
    for i in range(1, n + 1):
        prev, cur, ca = rows[-1], [i] * (m + 1), truth[i - 1]
        for j in range(1, m + 1):
            best = prev[j - 1] + (ca != got[j - 1])
            if prev[j] + 1 < best:
                best = prev[j] + 1
            if cur[j - 1] + 1 < best:
                best = cur[j - 1] + 1
            cur[j] = best
        rows.append(cur)
    edits: list[tuple[str, str, str]] = []
    i, j = n, m
    while i or j:
        here = rows[i][j]
        if i and j and rows[i - 1][j - 1] + (truth[i - 1] != got[j - 1]) == here:
            if truth[i - 1] != got[j - 1]:
                edits.append(("sub", truth[i - 1], got[j - 1]))
            i, j = i - 1, j - 1
        elif i and rows[i - 1][j] + 1 == here:
            edits.append(("del", truth[i - 1], ""))
            i -= 1
        else:
            edits.append(("ins", "", got[j - 1]))
            j -= 1
    edits.reverse()
    return edits


ERROR_KINDS = ("diacritics", "case", "merged_words", "split_words", "other")


def error_kinds(edits: list[tuple[str, str, str]]) -> dict[str, int]:
    counts = dict.fromkeys(ERROR_KINDS, 0)
    for kind, want, have in edits:
        if kind == "sub" and want.casefold() == have.casefold():
            counts["case"] += 1
        elif kind == "sub" and _base(want) == _base(have) and want.isalpha():
            counts["diacritics"] += 1  # same letter, a tone or vowel mark lost, added or wrong
        elif kind == "del" and want == " ":
            counts["merged_words"] += 1
        elif kind == "ins" and have == " ":
            counts["split_words"] += 1
        else:
            counts["other"] += 1
    return counts


def word_diffs(truth: str, got: str) -> list[str]:
    """The words that differ, as "truth → OCR" (a little context makes short ones readable)."""
    want, have = truth.split(), got.split()
    matcher = difflib.SequenceMatcher(None, want, have, autojunk=False)
    return [
        f"{' '.join(want[i1:i2]) or '∅'} → {' '.join(have[j1:j2]) or '∅'}"
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


@dataclass
class Reading:
    """One text read off one degraded page, scored."""

    cer_pct: float
    edits: dict[str, int]
    diffs: list[str]
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)


def score(truth: str, raw: str, seconds: float) -> Reading:
    want, got = normalise(truth), normalise(raw)
    edits = alignment(want, got)
    return Reading(
        cer_pct=100 * len(edits) / len(want),
        edits=error_kinds(edits),
        diffs=word_diffs(want, got),
        seconds=seconds,
    )


# --- the two readers -------------------------------------------------------------------------


def read_pipeline(png: Path, out_dir: Path, dpi: int) -> tuple[str, float, dict[str, Any]]:
    """Our path for an uploaded PNG: render_for_ocr (as in the sandbox child), then recognise."""
    started = time.perf_counter()
    rendered = documents.render_for_ocr(str(png), "image/png", [1], str(out_dir), dpi=DPI)
    page = ocr.recognise(Path(rendered[0]["ocr"]), languages="vie", dpi=dpi)
    seconds = time.perf_counter() - started
    extra = {k: v for k, v in rendered[0].items() if k not in ("number", "ocr")}
    return page.text, seconds, extra


def read_baseline(png: Path, dpi: int) -> tuple[str, float]:
    started = time.perf_counter()
    out = subprocess.run(
        ["tesseract", str(png), "stdout", "-l", "vie", "--psm", "3", "--dpi", str(dpi)],
        capture_output=True,
        env={**os.environ, "OMP_THREAD_LIMIT": "1"},
        check=True,
    )
    return out.stdout.decode("utf-8", errors="replace"), time.perf_counter() - started


@dataclass(frozen=True)
class Job:
    condition: Condition
    page: int
    truth: str
    image: Image.Image


def run_job(job: Job, workdir: Path) -> tuple[Reading, Reading]:
    here = workdir / job.condition.name / f"page{job.page}"
    here.mkdir(parents=True)
    rng = random.Random(f"{SEED}-{job.condition.name}-{job.page}")
    degraded = job.condition.degrade(job.image, rng)
    png = here / "scan.png"
    degraded.save(png, dpi=(job.condition.dpi, job.condition.dpi), compress_level=1)
    text, seconds, extra = read_pipeline(png, here / "ocr", job.condition.dpi)
    pipeline = score(job.truth, text, seconds)
    pipeline.extra = extra
    text, seconds = read_baseline(png, job.condition.dpi)
    return pipeline, score(job.truth, text, seconds)


# --- the benchmark ---------------------------------------------------------------------------


def _summary(readings: list[Reading], examples: int) -> dict[str, Any]:
    cers = [r.cer_pct for r in readings]
    edits = {k: sum(r.edits[k] for r in readings) for k in ERROR_KINDS}
    diffs = [d for r in readings for d in r.diffs]
    return {
        "cer_pct": round(sum(cers) / len(cers), 2),
        "cer_pct_per_page": [round(c, 2) for c in cers],
        "errors": edits,
        "seconds": round(sum(r.seconds for r in readings), 2),
        "examples": diffs[:examples],
    }


def run() -> dict[str, Any]:
    started = time.perf_counter()
    limit = int(os.environ.get("BENCH_OCR_QUALITY_PAGES", str(len(PARAGRAPHS))))
    truths = [unicodedata.normalize("NFC", p) for p in PARAGRAPHS[:limit]]
    faces = fonts()
    pages = [render_page(text, faces[n % len(faces)]) for n, text in enumerate(truths)]
    cores = os.cpu_count() or 1
    ocr.check_languages("vie")
    jobs = [
        Job(condition, n + 1, truth, image)
        for condition in CONDITIONS
        for n, (truth, (image, _)) in enumerate(zip(truths, pages, strict=True))
    ]
    _log(f"{len(jobs)} pages ({len(CONDITIONS)} conditions × {len(truths)}) on {cores} cores")
    workdir = Path(tempfile.mkdtemp(prefix="kho-bench-ocr-quality-"))
    try:
        with ThreadPoolExecutor(max_workers=cores) as pool:
            results = list(pool.map(lambda job: run_job(job, workdir), jobs))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    conditions: dict[str, Any] = {}
    misses = []
    for condition in CONDITIONS:
        mine = [r for job, r in zip(jobs, results, strict=True) if job.condition is condition]
        pipeline = _summary([p for p, _ in mine], examples=8)
        baseline = _summary([b for _, b in mine], examples=4)
        aim = AIM_CLEAN_PCT if condition.clean else AIM_DEGRADED_PCT
        within = pipeline["cer_pct"] <= aim
        if not within:
            misses.append(condition.name)
        extras = [p.extra for p, _ in mine]
        if any("skew" in e for e in extras):
            pipeline["deskew_deg_per_page"] = [e.get("skew") for e in extras]
        conditions[condition.name] = {
            "dpi": condition.dpi,
            "pages": len(mine),
            "aim_cer_pct": aim,
            "within_aim": within,
            "pipeline": pipeline,
            "baseline_tesseract": baseline,
            "pipeline_minus_baseline_pct": round(pipeline["cer_pct"] - baseline["cer_pct"], 2),
        }
    return {
        "cores": cores,
        "wall_s": round(time.perf_counter() - started, 1),
        "material": {
            "pages": len(truths),
            "page_px": list(ingest.A5_PX),
            "dpi": DPI,
            "font_px": FONT_PX,
            "fonts": [faces[n % len(faces)].name for n in range(len(truths))],
            "lines_per_page": [lines for _, lines in pages],
            "truth_chars_per_page": [len(normalise(t)) for t in truths],
            "noise_sigma": NOISE_SIGMA,
            "seed": SEED,
        },
        "cer": "Levenshtein distance / truth length, NFC, whitespace collapsed; mean over pages",
        "error_kinds": "diacritics: same letter, marks differ (đ/d included); merged_words / "
        "split_words: a space lost / added; other: any other edit",
        "misses_aim": misses,
        "conditions": conditions,
    }
