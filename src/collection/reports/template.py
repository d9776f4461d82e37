"""The province's spreadsheet for points' monthly figures: written with xlsxwriter (shipped as
``ingest/so-lieu-diem-truy-cap.xlsx``) and read back with openpyxl. One row per point and month;
a wrong row is reported with its number and field, and the other rows still go in."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import xlsxwriter
from openpyxl import load_workbook

from collection.config import PROJECT_ROOT
from collection.errors import CollectionError, InvalidInput
from collection.reports.figures import LABELS, NUMBERS, MonthFigures, parse_month, whole_number

TEMPLATE = PROJECT_ROOT / "ingest" / "so-lieu-diem-truy-cap.xlsx"
HEADERS = ["Mã điểm", "Tên điểm", "Tháng (MM/YYYY)", *LABELS.values()]
MAX_ROWS = 5000


@dataclass(frozen=True)
class SheetRow:
    row: int  # as the spreadsheet numbers it
    point_id: int | None
    figures: MonthFigures | None
    error: str = ""


def write_template(path: Path = TEMPLATE, rows: list[tuple[int, str]] | None = None) -> Path:
    """The empty template (or one pre-filled with points' codes and names)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Số liệu tháng")
    head = book.add_format({"bold": True, "text_wrap": True, "bg_color": "#E8F0E6", "border": 1})
    sheet.write_row(0, 0, HEADERS, head)
    sheet.set_row(0, 45)
    sheet.set_column(0, 0, 10)
    sheet.set_column(1, 1, 38)
    sheet.set_column(2, 2, 14)
    sheet.set_column(3, len(HEADERS) - 2, 14)
    sheet.set_column(len(HEADERS) - 1, len(HEADERS) - 1, 40)
    sheet.freeze_panes(1, 0)
    whole = {"validate": "integer", "criteria": ">=", "value": 0}
    sheet.data_validation(1, 3, MAX_ROWS, 3 + len(NUMBERS) - 1, whole)
    for number, (point_id, name) in enumerate(rows or [], start=1):
        sheet.write_number(number, 0, point_id)
        sheet.write_string(number, 1, name)
    notes = book.add_worksheet("Hướng dẫn")
    for line, text in enumerate(
        [
            "Mỗi dòng là số liệu một tháng của một điểm truy cập.",
            "Mã điểm: số ở trang điểm truy cập (hoặc để trống nếu tài khoản chỉ có một điểm).",
            "Tháng: ghi MM/YYYY, ví dụ 11/2026. Gửi lại một tháng thì số mới thay số cũ "
            "(số cũ vẫn được lưu).",
            "Số máy tính hoạt động không nhiều hơn tổng số máy; số người không nhiều hơn số lượt.",
        ]
    ):
        notes.write_string(line, 0, text)
    notes.set_column(0, 0, 100)
    book.close()
    return path


def _month(value: Any) -> date:
    if isinstance(value, datetime | date):  # Excel turned "11/2026" into a date
        return date(value.year, value.month, 1)
    return parse_month(str(value or ""))


def read_sheet(data: bytes, *, default_point: int | None = None) -> list[SheetRow]:
    """Every filled row of the first sheet, each parsed or with the reason it cannot be."""
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError, XML errors for a bad file
        raise InvalidInput(
            "Tệp không phải bảng tính .xlsx đọc được.", message_en=f"not a readable .xlsx: {exc}"
        ) from exc
    sheet = book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = [str(h or "").strip() for h in next(rows, ())]
    lacking = [h for h in HEADERS[2:] if h not in header]
    if lacking:
        raise InvalidInput(
            "Bảng tính thiếu cột: " + ", ".join(f"«{h}»" for h in lacking) + ". Hãy dùng mẫu.",
            message_en="the sheet lacks the template's columns",
        )
    where = {h: header.index(h) for h in HEADERS if h in header}
    out: list[SheetRow] = []
    for number, values in enumerate(rows, start=2):
        if number > MAX_ROWS + 1:
            out.append(SheetRow(number, None, None, f"Quá {MAX_ROWS} dòng; phần sau bị bỏ qua."))
            break
        cells = {h: values[i] if i < len(values) else None for h, i in where.items()}
        if all(v in (None, "") for k, v in cells.items() if k not in ("Mã điểm", "Tên điểm")):
            continue  # an empty or pre-filled but unfilled row
        try:
            code = cells.get("Mã điểm")
            point_id = whole_number(code, "Mã điểm") if code not in (None, "") else default_point
            if point_id is None:
                raise InvalidInput("Thiếu «Mã điểm».")
            figures = MonthFigures(
                month=_month(cells["Tháng (MM/YYYY)"]),
                note=str(cells.get(LABELS["note"]) or "").strip(),
                **{k: whole_number(cells[LABELS[k]], LABELS[k]) for k in NUMBERS},
            )
        except CollectionError as exc:
            out.append(SheetRow(number, None, None, exc.message))
            continue
        out.append(SheetRow(number, point_id, figures))
    return out
