"""Bulk import from a folder (CLI) and from a ZIP (API): a report per row, nothing created twice,
and the bad rows and hostile archives refused without stopping the rest."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import func, select

from collection.config import PROJECT_ROOT, Settings
from collection.db import session_scope
from collection.models import Item, Role
from tests import material
from tests.helpers import Api, make_user
from tests.test_cli import env_for, run

HEADER = ["Tệp", "Nhan đề", "Tác giả", "Năm", "Mức truy cập", "Trạng thái", "Mã định danh"]


def write_xlsx(path: Path, rows: list[list[object]], header: list[str] = HEADER) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    workbook.save(path)


def item_count(settings: Settings) -> int:
    with session_scope(settings.sqlalchemy_url) as session:
        return int(session.scalar(select(func.count()).select_from(Item)) or 0)


def test_template_sheet_is_read(tmp_path: Path) -> None:
    from collection.ingest import bulk

    for name in ("mau-nhap-lieu.xlsx", "mau-nhap-lieu.csv"):
        rows = bulk.read_sheet(PROJECT_ROOT / "ingest" / name)
        assert rows[0][1]["title"].startswith("Địa chí Thanh Hóa")
        assert rows[1][1]["files"].count(";") == 1


def test_cli_import_reports_every_row_and_runs_again_without_duplicates(
    settings: Settings, tmp_path: Path
) -> None:
    make_user(settings, "bien.muc@thuvien.vn", Role.CATALOGUER)
    folder = tmp_path / "kho"
    (folder / "bao").mkdir(parents=True)
    (folder / "dia-chi.pdf").write_bytes(material.born_digital_pdf(material.PAGES[:1]))
    (folder / "bao" / "so-1.png").write_bytes(material.png(material.scanned_image("Báo số 1")))
    sheet = tmp_path / "bang-ke.xlsx"
    write_xlsx(
        sheet,
        [
            ["dia-chi.pdf", "Địa chí Thanh Hóa", "Nhiều tác giả", 2000, "công khai", "công bố", ""],
            ["bao/so-1.png", "Báo Thanh Hóa số 1", "", "1955-01-01", "tại chỗ", "nháp", "BAO-1"],
            ["", "Thư mục sách Hán Nôm", "Lê Văn A; Trần B", "1930–1945", "", "", ""],
            ["khong-co.pdf", "Tệp bị thiếu", "", "", "", "", ""],
            ["", "Ngày hỏng", "", "mùa thu 1945", "", "", ""],
            ["../../etc/passwd", "Tên tệp thoát thư mục", "", "", "", "", ""],
            ["", "", "", "", "", "", ""],  # blank row: ignored
        ],
    )
    report = tmp_path / "ket-qua.csv"
    env = env_for(settings)
    first = run(["import", str(folder), "--sheet", str(sheet), "--report", str(report)], env)
    assert first.returncode == 1, first.stderr  # some rows failed
    assert "3 đã tạo, 0 trùng (bỏ qua), 3 lỗi" in first.stderr
    lines = list(csv.reader(report.open(encoding="utf-8-sig")))
    assert lines[0][:3] == ["Dòng", "Kết quả", "Nhan đề"]
    by_row = {int(line[0]): line for line in lines[1:]}
    assert [by_row[r][1] for r in (2, 3, 4)] == ["Đã tạo"] * 3
    assert "Không thấy tệp «khong-co.pdf»" in by_row[5][5]
    assert by_row[6][5].startswith("Năm: ngày phải có dạng YYYY")
    assert "ngoài thư mục" in by_row[7][5]
    assert item_count(settings) == 3

    again = run(["import", str(folder), "--sheet", str(sheet)], env)
    assert "0 đã tạo, 3 trùng (bỏ qua), 3 lỗi" in again.stderr
    assert item_count(settings) == 3


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([HEADER, *rows])
    return out.getvalue().encode("utf-8-sig")


def test_api_import_from_a_zip(api: Api, settings: Settings) -> None:
    archive = _zip({"tu-lieu/anh.png": material.png(material.scanned_image("Ảnh tư liệu"))})
    sheet = _csv([["tu-lieu/anh.png", "Ảnh tư liệu Hàm Rồng", "", "1965", "", "", "HR-1"]])
    response = api(
        "POST",
        "/api/v1/imports",
        files={"sheet": ("bang-ke.csv", sheet), "archive": ("tep.zip", archive)},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["created"], body["duplicate"], body["failed"]) == (1, 0, 0)
    assert body["rows"][0]["job_ids"]
    again = api(
        "POST",
        "/api/v1/imports",
        files={"sheet": ("bang-ke.csv", sheet), "archive": ("tep.zip", archive)},
    ).json()
    assert (again["created"], again["duplicate"]) == (0, 1)


def test_api_import_refuses_hostile_archives_and_bad_sheets(api: Api) -> None:
    sheet = _csv([["a.png", "Ảnh", "", "", "", "", ""]])
    escape = _zip({"../../thoat-ra.png": b"x"})
    response = api(
        "POST", "/api/v1/imports", files={"sheet": ("s.csv", sheet), "archive": ("z.zip", escape)}
    )
    assert response.status_code == 422
    assert "ngoài thư mục" in response.json()["message"]

    bomb = _zip({"a.png": b"\0" * (40 * 1024 * 1024)})
    response = api(
        "POST", "/api/v1/imports", files={"sheet": ("s.csv", sheet), "archive": ("z.zip", bomb)}
    )
    assert response.status_code == 422
    assert "bom nén" in response.json()["message"]

    broken = api(
        "POST",
        "/api/v1/imports",
        files={"sheet": ("s.csv", sheet), "archive": ("z.zip", b"PK\x03\x04 no")},
    )
    assert broken.status_code == 422

    no_title = io.StringIO()
    csv.writer(no_title).writerows([["Tệp", "Tác giả"], ["a.png", "X"]])
    missing = api(
        "POST", "/api/v1/imports", files={"sheet": ("s.csv", no_title.getvalue().encode())}
    )
    assert missing.status_code == 422
    assert "Nhan đề" in missing.json()["message"]
    wrong_type = api("POST", "/api/v1/imports", files={"sheet": ("s.txt", b"x")})
    assert wrong_type.status_code == 422


def test_only_cataloguers_import(client: TestClient, settings: Settings) -> None:
    from tests.helpers import make_token

    make_user(settings, "bao.cao@thuvien.vn", Role.REPORTER)
    headers = {"Authorization": f"Bearer {make_token(settings, 'bao.cao@thuvien.vn')}"}
    response = client.post("/api/v1/imports", headers=headers, files={"sheet": ("s.csv", _csv([]))})
    assert response.status_code == 403


def _odd_member_zip(*, flag_bits: int = 0, method: int | None = None) -> bytes:
    """A ZIP whose one member is marked encrypted, or compressed with ``method`` (9: deflate64),
    as other archivers write them (zipfile writes neither)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("a.png", b"\x89PNG not really")
    data = bytearray(out.getvalue())
    # The general-purpose flags and the method, in the local and the central header.
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature) + flags_at
        data[at] |= flag_bits
        if method is not None:
            data[at + 2 : at + 4] = method.to_bytes(2, "little")
    return bytes(data)


def _truncated_xlsx(tmp_path: Path) -> bytes:
    write_xlsx(tmp_path / "s.xlsx", [["a.png", "Ảnh"]])
    whole = (tmp_path / "s.xlsx").read_bytes()
    return whole[: len(whole) * 2 // 3]


SHEET = _csv([["a.png", "Ảnh", "", "", "", "", ""]])


def test_hostile_sheets_and_archives_get_one_clear_refusal(api: Api, tmp_path: Path) -> None:
    cases = {
        "truncated xlsx": ({"sheet": ("s.xlsx", _truncated_xlsx(tmp_path))}, "Excel"),
        "300-character name": (
            {"sheet": ("s.csv", SHEET), "archive": ("z.zip", _zip({"a" * 300 + ".png": b"x"}))},
            "tên quá dài",
        ),
        "a file and a folder of one name": (
            {"sheet": ("s.csv", SHEET), "archive": ("z.zip", _zip({"x": b"1", "x/y.pdf": b"2"}))},
            "trùng tên một thư mục",
        ),
        "encrypted member": (
            {"sheet": ("s.csv", SHEET), "archive": ("z.zip", _odd_member_zip(flag_bits=0x1))},
            "mật khẩu",
        ),
        "deflate64 member": (
            {"sheet": ("s.csv", SHEET), "archive": ("z.zip", _odd_member_zip(method=9))},
            "không hỗ trợ",
        ),
    }
    for case, (files, why) in cases.items():
        response = api("POST", "/api/v1/imports", files=files)
        assert response.status_code == 422, (case, response.status_code, response.text[:300])
        assert why in response.json()["message"], (case, response.json()["message"])


def test_a_sheet_of_one_column_is_read(api: Api, settings: Settings) -> None:
    """The CSV sniffer cannot tell a delimiter from one column: it is read as plain CSV."""
    response = api(
        "POST", "/api/v1/imports", files={"sheet": ("s.csv", "Nhan đề\nSách một cột\n".encode())}
    )
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1 and item_count(settings) == 1
    # A NUL in one row fails that row, with its reason; the others go in.
    sheet = "Nhan đề\nA\x00B\nSách thứ hai\n".encode()
    mixed = api("POST", "/api/v1/imports", files={"sheet": ("s.csv", sheet)}).json()
    assert (mixed["created"], mixed["failed"]) == (1, 1)
    assert "ký tự điều khiển U+0000" in mixed["rows"][0]["reason"]
