"""OCR quality (character error rate) on degraded scans: our pipeline vs plain Tesseract vs
OCRmyPDF, on the same image-only PDFs, in the same run.

The scans are `bench/scans.py`'s conditions (150/200/300 dpi × skew 0-4° × blur × speckle × JPEG
quality 30-90 × a two-column newspaper page × a page upside down, and "hard" ones combining
them), each an image-only PDF of BENCH_OCR_QUALITY_PAGES pages (default 3) with its ground truth.
Each PDF is read three ways:

- pipeline: what the ingest `ocr` stage does with a page of it, `documents.render_for_ocr`
  (in this process, without the sandbox) then `ocr.recognise` with the dpi it found;
- tesseract: plain `tesseract IMAGE stdout -l vie --psm 3` on each page's embedded image, as a
  user with nothing else would;
- ocrmypdf: `ocrmypdf --deskew --rotate-pages -l vie --output-type pdf --sidecar` (OCRmyPDF
  17, one job), its sidecar text per page.

CER = Levenshtein distance between the whitespace-normalised NFC texts / length of the truth,
mean over pages. Aims (issue #15): mean CER over the hard conditions ≤ 0.3 %, and no condition
worse than OCRmyPDF by more than 0.1 point. Each (condition, reader) runs alone on one core.
"""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pymupdf

from bench import scans
from collection.ingest import documents, ocr

AIM_HARD_MEAN_PCT = 0.3
AIM_MARGIN_PCT = 0.1  # at most this much worse than OCRmyPDF on any condition
READERS = ("pipeline", "tesseract", "ocrmypdf")
ENV = {**os.environ, "OMP_THREAD_LIMIT": "1"}


def _log(message: str) -> None:
    print(f"[bench.ocr_quality] {message}", file=sys.stderr, flush=True)


def read_pipeline(pdf: Path, work: Path, pages: int) -> tuple[list[str], dict[str, Any]]:
    rendered = documents.render_for_ocr(
        str(pdf), "application/pdf", list(range(1, pages + 1)), str(work), dpi=300
    )
    texts = [ocr.recognise(Path(r["ocr"]), languages="vie", dpi=r["dpi"]).text for r in rendered]
    facts = {
        "dpi": [r["dpi"] for r in rendered],
        "skew_found_deg": [r["skew"] for r in rendered],
        "despeckled": [r["despeckled"] for r in rendered],
    }
    return texts, facts


def read_tesseract(pdf: Path, work: Path, pages: int) -> tuple[list[str], dict[str, Any]]:
    texts = []
    with pymupdf.open(pdf) as document:
        for index in range(pages):
            page = document[index]
            image = document.extract_image(page.get_images()[0][0])
            path = work / f"{index + 1}.{image['ext']}"
            path.write_bytes(image["image"])
            out = subprocess.run(
                ["tesseract", str(path), "stdout", "-l", "vie", "--psm", "3"],
                capture_output=True,
                env=ENV,
                check=True,
            )
            texts.append(out.stdout.decode("utf-8", errors="replace"))
    return texts, {}


def read_ocrmypdf(pdf: Path, work: Path, pages: int) -> tuple[list[str], dict[str, Any]]:
    sidecar = work / "sidecar.txt"
    subprocess.run(
        [
            sys.executable, "-m", "ocrmypdf",
            "--deskew", "--rotate-pages", "-l", "vie", "--output-type", "pdf",
            "--jobs", "1", "--quiet", "--sidecar", str(sidecar),
            str(pdf), str(work / "out.pdf"),
        ],
        env=ENV,
        check=True,
    )  # fmt: skip
    texts = sidecar.read_text(encoding="utf-8").split("\f")
    return (texts + [""] * pages)[:pages], {}


def word_diffs(truth: str, got: str) -> list[str]:
    """The words that differ, as "truth → OCR"."""
    want, have = scans.normalise(truth).split(), scans.normalise(got).split()
    matcher = difflib.SequenceMatcher(None, want, have, autojunk=False)
    return [
        f"{' '.join(want[i1:i2]) or '∅'} → {' '.join(have[j1:j2]) or '∅'}"
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


def _read(scan: scans.ScanSet, reader: str, root: Path) -> dict[str, Any]:
    work = root / scan.condition.name / reader
    work.mkdir(parents=True)
    pdf = work.parent / "scan.pdf"
    if not pdf.exists():
        pdf.write_bytes(scan.pdf)
    started = time.perf_counter()
    function = {"pipeline": read_pipeline, "tesseract": read_tesseract, "ocrmypdf": read_ocrmypdf}
    texts, facts = function[reader](pdf, work, len(scan.truths))
    seconds = time.perf_counter() - started
    cers = [scans.cer_pct(t, g) for t, g in zip(scan.truths, texts, strict=True)]
    diffs = [d for t, g in zip(scan.truths, texts, strict=True) for d in word_diffs(t, g)]
    return {
        "cer_pct": round(sum(cers) / len(cers), 2),
        "cer_pct_per_page": [round(c, 2) for c in cers],
        "seconds": round(seconds, 2),
        "examples": diffs[:6],
        **facts,
    }


def run() -> dict[str, Any]:
    started = time.perf_counter()
    pages = int(os.environ.get("BENCH_OCR_QUALITY_PAGES", "3"))
    only = os.environ.get("BENCH_OCR_QUALITY_CONDITIONS")
    conditions = [c for c in scans.CONDITIONS if not only or c.name in only.split(",")]
    ocr.check_languages("vie")
    cores = os.cpu_count() or 1
    _log(f"{len(conditions)} conditions × {pages} pages × {len(READERS)} readers on {cores} cores")
    sets = {c.name: scans.make(c, pages) for c in conditions}
    tasks = [(name, reader) for name in sets for reader in READERS]
    root = Path(tempfile.mkdtemp(prefix="kho-bench-ocr-quality-"))
    try:
        with ThreadPoolExecutor(max_workers=cores) as pool:
            done = list(pool.map(lambda t: _read(sets[t[0]], t[1], root), tasks))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    results = dict(zip(tasks, done, strict=True))

    report: dict[str, Any] = {}
    behind: list[str] = []
    for condition in conditions:
        readings = {reader: results[condition.name, reader] for reader in READERS}
        margin = round(readings["pipeline"]["cer_pct"] - readings["ocrmypdf"]["cer_pct"], 2)
        if margin > AIM_MARGIN_PCT:
            behind.append(condition.name)
        report[condition.name] = {
            "scan": condition.description,
            "hard": condition.hard,
            "true_skew_deg": condition.skew,
            **readings,
            "pipeline_minus_ocrmypdf_pct": margin,
        }
    hard = [c.name for c in conditions if c.hard]

    def mean(reader: str, names: list[str]) -> float | None:
        values = [report[n][reader]["cer_pct"] for n in names]
        return round(sum(values) / len(values), 3) if values else None

    every = [c.name for c in conditions]
    hard_mean = mean("pipeline", hard)
    return {
        "cores": cores,
        "wall_s": round(time.perf_counter() - started, 1),
        "pages_per_condition": pages,
        "cer": "Levenshtein distance / truth length, NFC, whitespace collapsed; mean over pages",
        "readers": {
            "pipeline": "documents.render_for_ocr + ocr.recognise (the ocr stage's own code)",
            "tesseract": "tesseract IMAGE stdout -l vie --psm 3 on each embedded page image",
            "ocrmypdf": "ocrmypdf --deskew --rotate-pages -l vie --output-type pdf --jobs 1",
        },
        "mean_cer_pct": {
            "hard": {reader: mean(reader, hard) for reader in READERS},
            "all": {reader: mean(reader, every) for reader in READERS},
        },
        "seconds_total": {
            reader: round(sum(results[n, reader]["seconds"] for n in sets), 1) for reader in READERS
        },
        "aims": {
            "hard_mean_cer_pct": AIM_HARD_MEAN_PCT,
            "hard_mean_met": hard_mean is not None and hard_mean <= AIM_HARD_MEAN_PCT,
            "max_behind_ocrmypdf_pct": AIM_MARGIN_PCT,
            "conditions_behind_ocrmypdf": behind,
        },
        "conditions": report,
    }


if __name__ == "__main__":
    import json

    json.dump(run(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
