"""The yearly report as files: XLSX (a sheet per department in the shape the plan reports, the
province's summary, per-point monthly data and the definitions) and CSV (the per-point months).
Both are written from the report's data (summary.py), so a frozen version exports as it was."""

from __future__ import annotations

import csv
import io
from typing import Any

import xlsxwriter

from collection.reports.figures import LABELS

NOT_REPORTED = "không báo cáo"
MONTH_COLUMNS = [
    "Mã điểm",
    "Tên điểm",
    "Loại điểm",
    "Tháng",
    *[f"{label} (điểm báo cáo)" for key, label in LABELS.items() if key != "note"],
    "Lượt truy cập kho số (đếm)",
    "trong đó ước tính",
    "Người sử dụng kho số trong tháng (đếm)",
    "trong đó ước tính",
    "Lượt tìm kiếm",
    "Tìm kiếm từ widget",
    "Lượt xem tài liệu (COUNTER)",
    "Lượt đọc nội dung (COUNTER)",
]
DEPT_COLUMNS = [
    "STT",
    "Tên điểm",
    "Huyện (cũ)",
    "Xã, phường (mới)",
    "Máy tính hoạt động",
    "Tổng số máy",
    "Người sử dụng (điểm báo cáo)",
    "Lượt truy cập (điểm báo cáo)",
    "Số tháng báo cáo",
    "Hoạt động hiệu quả",
    "Lý do",
    "Người sử dụng kho số (đếm)",
    "Lượt truy cập kho số (đếm)",
    "Buổi tập huấn",
    "Người được tập huấn",
]
KIND_LABELS = {"tvcc": "TVCC", "bdvhx": "BĐVHX"}


def month_rows(data: dict[str, Any]) -> list[list[Any]]:
    """One row per point and month: the point's own figures and what was counted here."""
    rows = []
    for point in data["points"]:
        for month in point["months"]:
            sent = month["reported"]
            own = [sent[key] if sent else NOT_REPORTED for key in LABELS if key != "note"]
            visits, users = month["visits"], month["users"]
            rows.append(
                [
                    int(point["key"].removeprefix("p:")),
                    point["name"],
                    KIND_LABELS.get(point["kind"], point["kind"]),
                    f"{month['month'][5:]}/{month['month'][:4]}",
                    *own,
                    visits["total"] if visits else "chưa đếm",
                    visits["estimated"] if visits else "",
                    users["total"] if users else "chưa đếm",
                    users["estimated"] if users else "",
                    month["searches"],
                    month["widget_searches"],
                    month["investigations"],
                    month["requests"],
                ]
            )
    return rows


def csv_bytes(data: dict[str, Any]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(MONTH_COLUMNS)
    writer.writerows(month_rows(data))
    return ("\ufeff" + out.getvalue()).encode()  # the BOM makes Excel read UTF-8


def _or(value: Any, missing: str = NOT_REPORTED) -> Any:
    return missing if value is None else value


def xlsx_bytes(data: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = book.add_format({"bold": True})
    head = book.add_format({"bold": True, "text_wrap": True, "bg_color": "#E8F0E6", "border": 1})
    title = book.add_format({"bold": True, "font_size": 14})
    percent = book.add_format({"num_format": '0.0" %"'})
    year = data["year"]

    summary = book.add_worksheet("Tổng hợp")
    summary.set_column(0, 0, 48)
    summary.set_column(1, 4, 18)
    summary.write(0, 0, f"Báo cáo năm {year} — các điểm truy cập Kho số Thanh Hóa", title)
    summary.write(1, 0, f"Số liệu đến ngày {data['through']}; lập lúc {data['generated_at']}")
    summary.write_row(3, 0, ["Chỉ tiêu", "Kết quả (%)", "Mục tiêu", "Đạt", "Ghi chú"], head)
    for row, target in enumerate(data["targets"], start=4):
        met = {True: "Đạt", False: "Không đạt", None: "Chưa so sánh được"}[target["met"]]
        summary.write(row, 0, target["label"])
        if target["value"] is None:
            summary.write(row, 1, "—")
        else:
            summary.write_number(row, 1, target["value"], percent)
        summary.write_row(row, 2, [target["goal"], met, target["note"]])
    row = 5 + len(data["targets"])
    summary.write_row(
        row, 0, ["Phạm vi", "Lượt truy cập kho số", "Người sử dụng kho số", "Lượt (điểm báo cáo)",
                 "Người (điểm báo cáo)"], head,
    )  # fmt: skip
    for offset, line in enumerate([data["province"], *data["departments"]], start=1):
        summary.write_row(
            row + offset,
            0,
            [
                line["name"],
                line["visits"]["total"],
                line["users"]["total"],
                _or(line["reported"]["visits"]),
                _or(line["reported"]["users"]),
            ],
        )

    for kind, dept in (("tvcc", data["departments"][0]), ("bdvhx", data["departments"][1])):
        sheet = book.add_worksheet(KIND_LABELS[kind])
        sheet.write(0, 0, f"{dept['name']}: báo cáo {dept['receiver']}", title)
        sheet.write(1, 0, f"Năm {year}, đến ngày {data['through']}")
        sheet.write_row(3, 0, DEPT_COLUMNS, head)
        sheet.set_row(3, 45)
        sheet.set_column(1, 1, 40)
        sheet.set_column(2, 3, 24)
        sheet.set_column(4, len(DEPT_COLUMNS) - 1, 13)
        sheet.set_column(10, 10, 40)
        points = [p for p in data["points"] if p["kind"] == kind]
        for number, point in enumerate(points, start=1):
            rep = point["reported"]
            sheet.write_row(
                3 + number,
                0,
                [
                    number,
                    point["name"],
                    point["district"],
                    point["commune"],
                    _or(rep["computers_working"]),
                    _or(rep["computers_total"]),
                    _or(rep["users"]),
                    _or(rep["visits"]),
                    rep["months"],
                    "Có" if point["active"] else "Không",
                    point["reason"],
                    point["users"]["total"],
                    point["visits"]["total"],
                    rep["trainings"],
                    rep["trainees"],
                ],
            )
        total_row = 4 + len(points)
        active, count = dept["active_points"]
        sheet.write(total_row, 1, "Cộng", bold)
        sheet.write_row(
            total_row,
            6,
            [
                _or(dept["reported"]["users"]),
                _or(dept["reported"]["visits"]),
                dept["reported"]["months"],
                f"{active}/{count}",
                "",
                dept["users"]["total"],
                dept["visits"]["total"],
                dept["reported"]["trainings"],
                dept["reported"]["trainees"],
            ],
            bold,
        )

    months = book.add_worksheet("Theo tháng")
    months.write_row(0, 0, MONTH_COLUMNS, head)
    months.set_row(0, 60)
    months.set_column(1, 1, 36)
    months.set_column(4, len(MONTH_COLUMNS) - 1, 12)
    months.freeze_panes(1, 2)
    for number, values in enumerate(month_rows(data), start=1):
        months.write_row(number, 0, values)

    notes = book.add_worksheet("Định nghĩa")
    notes.set_column(0, 0, 120)
    lines = [*data["definitions"].values(), "", "Danh sách robot COUNTER-Robots: "
             + ", ".join(data["robot_lists"])]  # fmt: skip
    settings = data["settings"]
    lines.append(
        f"Điểm hoạt động hiệu quả: có báo cáo với ít nhất {settings['active_min_visits']} lượt "
        f"trong ít nhất {settings['active_min_months']}/12 tháng "
        f"(năm nay cần {settings['active_months_needed']} tháng)."
    )
    for row, text in enumerate(lines):
        notes.write_string(row, 0, text)
    book.close()
    return buffer.getvalue()


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def render(data: dict[str, Any], form: str, frozen: Any = None) -> tuple[bytes, str]:
    """The report in one of the export formats, with its media type."""
    if form == "pdf":
        from collection.reports import charts, pdf  # PyMuPDF only when a PDF is asked for

        context = {"r": data, "year": data["year"], "frozen": frozen}
        return pdf.pdf_bytes(context, str(charts.province_chart(data))), "application/pdf"
    if form == "csv":
        return csv_bytes(data), "text/csv; charset=utf-8"
    return xlsx_bytes(data), XLSX
