"""The yearly report from end to end against known events and figures: a point operator submits
months (the API, the form, the province's spreadsheet), impossible figures are refused naming the
field, the report's numbers equal the truth (JSON, the staff page, the XLSX read back with
openpyxl, the CSV), COUNTER 5.1 reports validate against COUNTER's own schema, and frozen
versions stay as they were while the spent year's reader key is destroyed."""

from __future__ import annotations

import csv
import io
import json
import secrets
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pymupdf
import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator, FormatChecker
from openpyxl import load_workbook
from playwright.sync_api import Page, expect
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import func, select

from collection.config import Settings
from collection.db import session_factory, session_scope
from collection.models import (
    AccessPoint,
    AuditEvent,
    Item,
    Place,
    PointFigures,
    PointKind,
    PointLevel,
    ReportKey,
    Role,
    UsageEvent,
    UsageKind,
)
from collection.reports import freezing
from collection.reports.template import TEMPLATE
from collection.stats import rollup
from collection.stats.keys import YearKeys
from tests.browsing import ARTIFACTS, ConsoleErrors, LiveApp, needs_chromium, shot, sign_in
from tests.helpers import PASSWORD, make_token, make_user
from tests.test_staff_pages import browser_login

TODAY = date.today()
Y = TODAY.year
MONTHS = TODAY.month - 1  # whole months reported this year so far
COUNTER_SCHEMA = Path(__file__).parent / "standards" / "counter" / "r5.1" / "COUNTER_SUSHI_API.json"
pytestmark = pytest.mark.skipif(MONTHS < 4, reason="the known truth needs four months of a year")


def _at(
    year: int, month: int, day: int, hour: int = 9, minute: int = 0, second: int = 0
) -> datetime:
    """A moment in Thanh Hóa (UTC+7) as the UTC the events store."""
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC) - timedelta(hours=7)


@pytest.fixture
def world(settings: Settings) -> dict[str, Any]:
    """Three points and a year and a half of known use:

    - counted here, this year: reader r1 visits A on 5, 12 and 20 January and B on 3 March
      (4 visits, 1 user); r2 reads at A on 10 February and reloads within 30 s (1 visit, one
      investigation counted); a browser without cookies at B on 11 February (1 visit, estimated).
      Last year: q1 visits A twice. r1 searches "sông Mã" twice (2 hits) and "trống đồng" (none).
    - reported by the points: A 110 visits / 42 users a month this year, 100 / 40 last year; B 50 /
      20 both years; C (a library that never reports) nothing.
    """
    with session_scope(settings.sqlalchemy_url) as session:
        district = session.scalar(select(Place).where(Place.key == "cu-398"))
        points = {}
        for key, name, kind in (
            ("A", "Thư viện huyện Thiệu Hóa", PointKind.TVCC),
            ("B", "Bưu điện văn hóa xã Thiệu Trung", PointKind.BDVHX),
            ("C", "Thư viện xã Nga Thạch", PointKind.TVCC),
        ):
            point = AccessPoint(
                name=name,
                kind=kind,
                level=PointLevel.COMMUNE,
                widget_key=secrets.token_hex(8),
                district_id=district.id if district and key != "C" else None,
                created_at=datetime(Y - 2, 1, 1, tzinfo=UTC),
            )
            session.add(point)
            session.flush()
            points[key] = point.id
        book = Item(title="Địa chí huyện Thiệu Hóa", document_type="sách")
        session.add(book)
        session.flush()
        a, b = points["A"], points["B"]

        def event(
            at: datetime, kind: UsageKind, point: int, reader: str | None, **extra: Any
        ) -> None:
            session.add(
                UsageEvent(
                    occurred_at=at,
                    kind=kind,
                    access_point_id=point,
                    reader=reader,
                    reader_new=False,
                    visitor_id=f"fb-{reader}" if reader else "fb-no-cookie",
                    **extra,
                )
            )

        for day in (5, 12, 20):
            event(_at(Y, 1, day), UsageKind.ITEM_VIEW, a, "r1", item_id=book.id, page_number=1)
        event(_at(Y, 1, 5, 9, 5), UsageKind.SEARCH, a, "r1", query="sông Mã", hits=2)
        event(_at(Y, 1, 5, 9, 6), UsageKind.SEARCH, a, "r1", query="Sông Mã", hits=2)
        event(_at(Y, 1, 5, 9, 7), UsageKind.SEARCH, a, "r1", query="trống đồng", hits=0)
        event(_at(Y, 3, 3), UsageKind.ITEM_VIEW, b, "r1", item_id=book.id)
        event(_at(Y, 2, 10), UsageKind.ITEM_VIEW, a, "r2", item_id=book.id, page_number=1)
        event(_at(Y, 2, 10, 9, 0, 20), UsageKind.ITEM_VIEW, a, "r2", item_id=book.id, page_number=1)
        event(_at(Y, 2, 11), UsageKind.PAGE_VIEW, b, None, item_id=book.id, page_number=2)
        for day in (3, 4):
            event(_at(Y - 1, 6, day), UsageKind.ITEM_VIEW, a, "q1", item_id=book.id)
        for year, visits_a, users_a in ((Y - 1, 100, 40), (Y, 110, 42)):
            for month in range(1, MONTHS + 1):
                for point_id, visits, users in ((a, visits_a, users_a), (b, 50, 20)):
                    session.add(
                        PointFigures(
                            point_id=point_id,
                            month=date(year, month, 1),
                            days_open=20,
                            computers_working=3,
                            computers_total=4,
                            users=users,
                            visits=visits,
                            trainings=1,
                            trainees=10,
                        )
                    )
        session.flush()
        rollup.rebuild(session, date(Y - 1, 1, 1), TODAY)
    make_user(settings, "bao.cao@thuvien.vn", Role.REPORTER)
    make_user(settings, "diem.a@thuvien.vn", Role.POINT_OPERATOR, point_id=points["A"])
    return {
        **points,
        "book": book.id,
        "reporter": {"Authorization": f"Bearer {make_token(settings, 'bao.cao@thuvien.vn')}"},
        "operator": {"Authorization": f"Bearer {make_token(settings, 'diem.a@thuvien.vn')}"},
    }


def _report(
    client: TestClient, world: dict[str, Any], year: int = Y, **params: Any
) -> dict[str, Any]:
    response = client.get(f"/api/v1/reports/{year}", headers=world["reporter"], params=params)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def test_report_numbers_equal_the_known_truth(client: TestClient, world: dict[str, Any]) -> None:
    r = _report(client, world)
    province = r["province"]
    assert province["visits"] == {"measured": 5, "estimated": 1, "total": 6}
    # r1 at two points is one user of the province (distinct, never a sum of points).
    assert province["users"]["measured"] == 2 and province["users"]["estimated"] == 1
    a = next(p for p in r["points"] if p["key"] == f"p:{world['A']}")
    assert a["visits"]["total"] == 4  # r1 three times, r2 once (the reload within 30 s is one)
    assert a["investigations"] == 4 and a["requests"] == 4
    assert a["reported"]["visits"] == MONTHS * 110 and a["reported"]["users"] == MONTHS * 42
    assert a["growth"]["reported_visits"] == 10.0 and a["growth"]["reported_users"] == 5.0
    assert a["district"] == "huyện Thiệu Hóa" and a["active"] is True
    c = next(p for p in r["points"] if p["key"] == f"p:{world['C']}")
    assert c["active"] is False and c["reason"] == "không báo cáo tháng nào"
    assert all(m["reported"] is None for m in c["months"])  # "không báo cáo", never 0

    targets = {t["label"]: t for t in r["targets"]}
    share = targets["Tỉ lệ điểm hoạt động hiệu quả"]
    assert (share["value"], share["met"], share["note"]) == (66.7, False, "2/3 điểm")
    visits = targets["Lượt truy cập (điểm tự báo cáo)"]
    assert visits["value"] == round(100 * (160 - 150) / 150, 1) and visits["met"] is True
    assert visits["note"] == "vượt mức cao (5 %)"
    users = targets["Người sử dụng (điểm tự báo cáo)"]
    assert users["value"] == round(100 * (62 - 60) / 60, 1) and users["met"] is True
    assert targets["Lượt truy cập kho số (đếm tự động)"]["value"] == 200.0  # 6 against 2

    assert r["top_queries"][0] == {"query": "sông mã", "searches": 2, "zero_results": 0}
    assert r["zero_queries"] == [{"query": "trống đồng", "searches": 1}]
    assert r["top_items"][0]["investigations"] == 6
    assert [d["name"] for d in r["departments"]] == [
        "Thư viện công cộng (TVCC)",
        "Bưu điện văn hóa xã (BĐVHX)",
    ]
    assert r["departments"][1]["receiver"] == "Sở Khoa học và Công nghệ"
    assert r["silent"] == []  # the month under way is not a silence
    assert r["inactive"] == [{"key": f"p:{world['C']}", "name": "Thư viện xã Nga Thạch",
                              "reason": "không báo cáo tháng nào"}]  # fmt: skip
    one = client.get(
        f"/api/v1/reports/{Y}", headers=world["reporter"], params={"point": world["B"]}
    ).json()
    assert one["users"] == {"measured": 1, "estimated": 1, "total": 2, "summed": False}


def test_the_xlsx_and_csv_read_back_as_the_truth(client: TestClient, world: dict[str, Any]) -> None:
    response = client.get(
        f"/api/v1/reports/{Y}/export", headers=world["reporter"], params={"format": "xlsx"}
    )
    assert response.status_code == 200
    assert f'filename="bao-cao-{Y}.xlsx"' in response.headers["content-disposition"]
    book = load_workbook(io.BytesIO(response.content), data_only=True)
    assert book.sheetnames == ["Tổng hợp", "TVCC", "BĐVHX", "Theo tháng", "Định nghĩa"]
    tvcc = list(book["TVCC"].iter_rows(values_only=True))
    header = list(tvcc[3])
    rows = {row[1]: dict(zip(header, row, strict=False)) for row in tvcc[4:] if row[1]}
    a = rows["Thư viện huyện Thiệu Hóa"]
    assert a["Lượt truy cập (điểm báo cáo)"] == MONTHS * 110
    assert a["Người sử dụng (điểm báo cáo)"] == MONTHS * 42
    assert a["Lượt truy cập kho số (đếm)"] == 4 and a["Người sử dụng kho số (đếm)"] == 2
    assert a["Hoạt động hiệu quả"] == "Có" and a["Huyện (cũ)"] == "huyện Thiệu Hóa"
    c = rows["Thư viện xã Nga Thạch"]
    assert (
        c["Lượt truy cập (điểm báo cáo)"] == "không báo cáo" and c["Hoạt động hiệu quả"] == "Không"
    )
    total = rows["Cộng"]
    assert total["Lượt truy cập (điểm báo cáo)"] == MONTHS * 110
    assert total["Hoạt động hiệu quả"] == "1/2"
    summary = list(book["Tổng hợp"].iter_rows(values_only=True))
    share = next(r for r in summary if r[0] == "Tỉ lệ điểm hoạt động hiệu quả")
    assert share[1] == 66.7 and share[3] == "Không đạt"
    months = list(book["Theo tháng"].iter_rows(values_only=True))
    c_january = next(r for r in months if r[1] == "Thư viện xã Nga Thạch" and r[3] == f"01/{Y}")
    assert c_january[4] == "không báo cáo"

    response = client.get(
        f"/api/v1/reports/{Y}/export", headers=world["reporter"], params={"format": "csv"}
    )
    rows_csv = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    a_january = next(
        r for r in rows_csv if r[1] == "Thư viện huyện Thiệu Hóa" and r[3] == f"01/{Y}"
    )
    assert a_january[8] == "110" and a_january[11] == "3"  # reported visits; counted visits


def _validator(report_id: str) -> Draft202012Validator:
    spec = json.loads(COUNTER_SCHEMA.read_text())
    uri = "urn:counter:sushi-api:5.1"
    registry = Registry().with_resource(
        uri, Resource.from_contents(spec, default_specification=DRAFT202012)
    )
    return Draft202012Validator(
        {"$ref": f"{uri}#/components/schemas/{report_id}"},
        registry=registry,
        format_checker=FormatChecker(),
    )


def test_counter_reports_validate_against_counters_schema(
    client: TestClient, world: dict[str, Any]
) -> None:
    params = {"begin_date": f"{Y}-01", "end_date": f"{Y}-03"}
    pr = client.get("/api/v1/counter/r51/reports/pr", headers=world["reporter"], params=params)
    assert pr.status_code == 200
    _validator("PR").validate(pr.json())
    performance = pr.json()["Report_Items"][0]["Attribute_Performance"]
    assert performance[0]["Performance"]["Searches_Platform"][f"{Y}-01"] == 3
    totals = performance[1]["Performance"]["Total_Item_Investigations"]
    assert (totals[f"{Y}-01"], totals[f"{Y}-02"], totals[f"{Y}-03"]) == (3, 2, 1)
    ir = client.get("/api/v1/counter/r51/reports/ir", headers=world["reporter"], params=params)
    _validator("IR").validate(ir.json())
    item = ir.json()["Report_Items"][0]["Items"][0]
    assert item["Item"] == "Địa chí huyện Thiệu Hóa"
    assert item["Attribute_Performance"][0]["Data_Type"] == "Book_Segment"
    one_point = client.get(
        "/api/v1/counter/r51/reports/pr",
        headers=world["reporter"],
        params={**params, "customer_id": f"point-{world['B']}"},
    )
    _validator("PR").validate(one_point.json())
    bad = client.get(
        "/api/v1/counter/r51/reports/pr",
        headers=world["reporter"],
        params={"begin_date": "tháng một", "end_date": f"{Y}-03"},
    )
    assert bad.status_code == 422 and "YYYY-MM" in bad.json()["message"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"computers_working": 5, "computers_total": 4}, "Số máy tính hoạt động"),
        ({"visits": -1}, "Số lượt truy cập"),
        ({"days_open": 2, "visits": 2000}, "Số lượt truy cập"),
        ({"users": 900, "visits": 100}, "Số người sử dụng"),
        ({"days_open": 32}, "Số ngày mở cửa"),
        ({"trainees": 5, "trainings": 0}, "Số buổi tập huấn"),
    ],
)
def test_impossible_figures_are_refused_naming_the_field(
    client: TestClient, world: dict[str, Any], change: dict[str, int], field: str
) -> None:
    body = {"days_open": 20, "computers_working": 3, "computers_total": 4, "users": 40,
            "visits": 90} | change  # fmt: skip
    response = client.put(
        f"/api/v1/points/{world['A']}/figures/{Y}-01", headers=world["operator"], json=body
    )
    assert response.status_code == 422, response.text
    assert field in response.json()["message"]


def test_an_operator_submits_a_month_and_a_resubmission_keeps_the_earlier(
    client: TestClient, settings: Settings, world: dict[str, Any]
) -> None:
    month = f"{Y}-{MONTHS:02d}"
    body = {"days_open": 22, "computers_working": 4, "computers_total": 4, "users": 45,
            "visits": 120, "trainings": 2, "trainees": 30, "note": "Tháng có hội sách"}  # fmt: skip
    first = client.put(
        f"/api/v1/points/{world['A']}/figures/{month}", headers=world["operator"], json=body
    )
    assert first.status_code == 200, first.text
    again = client.put(
        f"/api/v1/points/{world['A']}/figures/{month}",
        headers=world["operator"],
        json=body | {"visits": 130},
    )
    assert again.status_code == 200
    history = client.get(f"/api/v1/points/{world['A']}/figures", headers=world["operator"]).json()
    this_month = [h for h in history if h["month"] == month]
    assert [h["visits"] for h in this_month] == [130, 120, 110]  # newest first, all kept
    assert [h["replaced_at"] is None for h in this_month] == [True, False, False]
    a = _report(client, world, point=world["A"])
    assert a["months"][MONTHS - 1]["reported"]["visits"] == 130  # the last wins
    # Another point's figures, or the future, are not the operator's to enter.
    other = client.put(
        f"/api/v1/points/{world['B']}/figures/{month}", headers=world["operator"], json=body
    )
    assert other.status_code == 403 and "điểm truy cập của mình" in other.json()["message"]
    future = client.put(
        f"/api/v1/points/{world['A']}/figures/{Y + 1}-01", headers=world["operator"], json=body
    )
    assert future.status_code == 422 and "chưa đến" in future.json()["message"]
    assert client.get(f"/api/v1/reports/{Y}", headers=world["operator"]).status_code == 403
    with session_scope(settings.sqlalchemy_url) as session:
        logged = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "figures.submit")
        )
    assert logged == 2


def test_the_provinces_spreadsheet_saves_good_rows_and_names_bad_ones(
    client: TestClient, settings: Settings, world: dict[str, Any]
) -> None:
    book = load_workbook(TEMPLATE)
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["Mã điểm", "Tên điểm", "Tháng (MM/YYYY)"]
    good = {"Tháng (MM/YYYY)": f"{MONTHS:02d}/{Y}", "Số ngày mở cửa": 21, "Số máy tính hoạt động": 2,
            "Tổng số máy tính": 3, "Số người sử dụng": 30, "Số lượt truy cập": 60}  # fmt: skip
    rows: list[dict[str, Any]] = [
        good,  # the operator's own point, its code left empty
        good | {"Số máy tính hoạt động": 9},
        good | {"Tháng (MM/YYYY)": "tháng mười"},
        good | {"Mã điểm": world["B"]},  # not the operator's point
    ]
    for number, values in enumerate(rows, start=2):
        for name, value in values.items():
            sheet.cell(row=number, column=header.index(name) + 1, value=value)
    out = io.BytesIO()
    book.save(out)
    with session_scope(settings.sqlalchemy_url) as session:
        before = session.scalar(select(func.count()).select_from(PointFigures)) or 0
    response = client.post(
        "/api/v1/figures/sheet",
        headers=world["operator"],
        files={"sheet": ("so-lieu.xlsx", out.getvalue())},
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["saved"], result["refused"]) == (1, 3)
    errors = {r["row"]: r["error"] for r in result["rows"] if not r["saved"]}
    assert "Số máy tính hoạt động" in errors[3]
    assert "MM/YYYY" in errors[4]
    assert "điểm truy cập của mình" in errors[5]
    with session_scope(settings.sqlalchemy_url) as session:
        assert session.scalar(select(func.count()).select_from(PointFigures)) == before + 1
    not_xlsx = client.post(
        "/api/v1/figures/sheet",
        headers=world["operator"],
        files={"sheet": ("a.xlsx", b"PK\x03\x04broken")},
    )
    assert not_xlsx.status_code == 422 and ".xlsx" in not_xlsx.json()["message"]


def test_frozen_versions_stay_as_submitted_and_spent_keys_are_destroyed(
    client: TestClient, settings: Settings, world: dict[str, Any]
) -> None:
    first = client.post(
        f"/api/v1/reports/{Y - 1}/versions", headers=world["reporter"], json={"note": "gửi Sở"}
    )
    assert first.status_code == 201 and first.json()["number"] == 1
    body = {
        "days_open": 20,
        "computers_working": 3,
        "computers_total": 4,
        "users": 10,
        "visits": 70,
    }
    corrected = client.put(
        f"/api/v1/points/{world['A']}/figures/{Y - 1}-01", headers=world["reporter"], json=body
    )
    assert corrected.status_code == 200
    second = client.post(f"/api/v1/reports/{Y - 1}/versions", headers=world["reporter"], json={})
    assert second.json()["number"] == 2

    def a_visits(version: int) -> int:
        part = _report(client, world, Y - 1, point=world["A"], version=version)
        return int(part["reported"]["visits"])

    assert a_visits(1) == MONTHS * 100 and a_visits(2) == MONTHS * 100 - 30
    frozen = client.get(
        f"/api/v1/reports/{Y - 1}/export", headers=world["reporter"], params={"version": 1}
    )
    assert f"bao-cao-{Y - 1}-ban-1.xlsx" in frozen.headers["content-disposition"]

    keys = YearKeys(session_factory(settings.sqlalchemy_url))
    assert keys.reader_hash("cookie-id", _at(Y - 1, 3, 1)) is not None
    with session_scope(settings.sqlalchemy_url) as session:
        assert freezing.destroy_spent_keys(session, today=date(Y, 1, 2)) == [Y - 1]
        assert session.get(ReportKey, Y - 1).secret is None  # type: ignore[union-attr]
    keys.forget()
    assert keys.reader_hash("cookie-id", _at(Y - 1, 3, 1)) is None
    assert keys.reader_hash("cookie-id", _at(Y, 3, 1)) is not None  # this year's key is kept


def test_staff_pages_show_the_report_and_take_a_month(
    client: TestClient, settings: Settings, world: dict[str, Any]
) -> None:
    browser_login(client, "bao.cao@thuvien.vn")
    page = client.get(f"/staff/bao-cao?nam={Y}")
    assert page.status_code == 200
    html = page.text
    assert "Tỉ lệ điểm hoạt động hiệu quả" in html and "✗ Không đạt" in html and "✓ Đạt" in html
    assert "Thư viện xã Nga Thạch</a>: không báo cáo tháng nào" in html
    assert "<svg" in html and "trống đồng" in html
    due = date(Y, MONTHS, 1) if TODAY.day <= 20 else date(Y, TODAY.month, 1)
    assert f"Chưa gửi số liệu tháng {due:%m/%Y}" in html
    point = client.get(f"/staff/bao-cao/diem/{world['C']}?nam={Y}").text
    assert point.count("không báo cáo") >= MONTHS
    download = client.get(f"/staff/bao-cao/tai-ve?nam={Y}&dang=xlsx")
    assert download.status_code == 200 and download.content[:2] == b"PK"
    printed = client.get(f"/staff/bao-cao/tai-ve?nam={Y}&dang=pdf")
    assert printed.headers["content-type"] == "application/pdf"
    assert len(printed.content) < 500_000  # fonts subset, not embedded whole
    with pymupdf.open(stream=printed.content, filetype="pdf") as document:
        text = "".join(p.get_text() for p in document)
        assert document[0].get_images()  # the chart
        document[0].get_pixmap(dpi=70).save(str(ARTIFACTS / "report-year-pdf.png"))
    assert f"Báo cáo năm {Y}" in text and "Tỉ lệ điểm hoạt động hiệu quả" in text
    assert "Không đạt" in text and "Thư viện xã Nga Thạch" in text and "không báo cáo" in text

    client.cookies.clear()
    token = browser_login(client, "diem.a@thuvien.vn")
    assert client.get("/staff", follow_redirects=False).headers["location"] == "/staff/so-lieu"
    assert client.get(f"/staff/bao-cao?nam={Y}").status_code == 403
    form = client.get("/staff/so-lieu").text
    assert "Thư viện huyện Thiệu Hóa" in form and "Bưu điện" not in form
    wrong = client.post(
        "/staff/so-lieu",
        data={"csrf_token": token, "point_id": world["A"], "month": f"{Y}-01", "days_open": "20",
              "computers_working": "7", "computers_total": "4", "users": "10", "visits": "20"},
    )  # fmt: skip
    assert wrong.status_code == 422
    assert "không thể nhiều hơn" in wrong.text and 'class="invalid"' in wrong.text
    saved = client.post(
        "/staff/so-lieu",
        data={"csrf_token": token, "point_id": world["A"], "month": f"{Y}-01", "days_open": "20",
              "computers_working": "4", "computers_total": "4", "users": "10", "visits": "20"},
        follow_redirects=False,
    )  # fmt: skip
    assert saved.status_code == 303
    assert "Đã lưu" in client.get(saved.headers["location"]).text


@needs_chromium
def test_the_report_in_a_browser_and_on_paper(
    page: Page, live_app: LiveApp, world: dict[str, Any]
) -> None:
    errors = ConsoleErrors()
    errors.watch(page)
    sign_in(page, live_app, "bao.cao@thuvien.vn", PASSWORD, then="/staff/bao-cao")
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Báo cáo năm {Y}")
    targets = page.locator("table.targets")
    expect(targets.get_by_role("row", name="Tỉ lệ điểm hoạt động hiệu quả")).to_contain_text(
        "Không đạt"
    )
    expect(page.locator("svg.chart")).to_be_visible()
    shot(page, "report-year.png")
    page.emulate_media(media="print")
    expect(page.locator(".staff-nav")).to_be_hidden()
    expect(page.get_by_role("button", name="In", exact=True)).to_be_hidden()
    shot(page, "report-year-print.png")
    page.emulate_media(media="screen")
    inactive = page.locator("section[aria-labelledby=khong-h]")
    inactive.get_by_role("link", name="Thư viện xã Nga Thạch").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Thư viện xã Nga Thạch")
    expect(page.locator("table.months")).to_contain_text("không báo cáo")
    shot(page, "report-point.png")
    assert errors.messages == []


def test_a_point_renamed_or_closed_mid_year_keeps_its_history(
    client: TestClient, settings: Settings, world: dict[str, Any]
) -> None:
    with session_scope(settings.sqlalchemy_url) as session:
        b = session.get(AccessPoint, world["B"])
        assert b is not None
        b.name = "Điểm BĐVHX xã Thiệu Trung (sau sáp nhập)"  # renamed in the 2025 reform
        a = session.get(AccessPoint, world["A"])
        assert a is not None
        a.active = False  # closed this year
    r = _report(client, world)
    renamed = next(p for p in r["points"] if p["key"] == f"p:{world['B']}")
    assert renamed["name"].endswith("(sau sáp nhập)")
    assert renamed["reported"]["visits"] == MONTHS * 50 and renamed["visits"]["total"] == 2
    closed = next(p for p in r["points"] if p["key"] == f"p:{world['A']}")
    assert closed["reported"]["visits"] == MONTHS * 110  # its months before closing stay
    assert closed["active"] is False and closed["reason"].startswith("ngừng hoạt động từ ")
    assert f"p:{world['A']}" in {p["key"] for p in r["inactive"]}


@needs_chromium
def test_an_operator_sends_a_month_in_a_browser(
    page: Page, live_app: LiveApp, world: dict[str, Any]
) -> None:
    errors = ConsoleErrors()
    errors.watch(page)
    sign_in(page, live_app, "diem.a@thuvien.vn", PASSWORD, then="/staff")
    expect(page.get_by_role("heading", level=1)).to_have_text("Số liệu tháng của điểm truy cập")
    expect(page.locator(".staff-nav a")).to_have_text(["Số liệu điểm"])  # nothing else to open
    page.get_by_label("Tháng báo cáo").fill(f"{Y}-01")
    page.get_by_label("Số ngày mở cửa").fill("20")
    page.get_by_label("Số máy tính hoạt động").fill("6")
    page.get_by_label("Tổng số máy tính").fill("4")
    page.get_by_label("Số người sử dụng").fill("30")
    page.get_by_label("Số lượt truy cập").fill("75")
    page.get_by_role("button", name="Gửi số liệu tháng").click()
    expect(page.get_by_role("alert")).to_contain_text("không thể nhiều hơn")
    shot(page, "figures-refused.png")
    page.get_by_label("Số máy tính hoạt động").fill("4")
    page.get_by_role("button", name="Gửi số liệu tháng").click()
    expect(page.get_by_role("status")).to_have_text("Đã lưu.")
    expect(page.locator("table.list").last).to_contain_text("đang dùng")
    shot(page, "figures-saved.png")
    # The refused form answered 422 on purpose; Chromium logs that status, nothing else failed.
    assert [m for m in errors.messages if "status of 422" not in m] == []
