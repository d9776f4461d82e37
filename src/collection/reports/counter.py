"""COUNTER Release 5.1 Platform (PR) and Item (IR) reports as JSON in the COUNTER_SUSHI shape,
for aggregators; validated in the tests against COUNTER's own schema (tests/standards/counter)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import extract, func, select
from sqlalchemy.orm import Session

from collection.db import utcnow
from collection.errors import InvalidInput
from collection.models import AccessPoint, Item, UsageItemDay, UsageMonthly
from collection.stats import rollup
from collection.stats.periods import months, next_month

PLATFORM = "Kho số Thanh Hóa"
PUBLISHER = "Thư viện tỉnh Thanh Hóa"
PROPRIETARY = "khosothanhhoa"
_PR_METRICS = {
    "Total_Item_Investigations": rollup.INVESTIGATIONS,
    "Total_Item_Requests": rollup.REQUESTS,
    "Unique_Item_Investigations": rollup.UNIQUE_INVESTIGATIONS,
    "Unique_Item_Requests": rollup.UNIQUE_REQUESTS,
}
# Our document types (free text, Vietnamese) → COUNTER 5.1 Data_Type for items.
_DATA_TYPES = {
    "sách": "Book_Segment",
    "báo": "News_Item",
    "tạp chí": "Article",
    "ảnh": "Image",
    "bản đồ": "Image",
    "luận văn": "Thesis_or_Dissertation",
    "âm thanh": "Sound",
    "video": "Audiovisual",
}


def period(begin: str, end: str) -> tuple[date, date]:
    """ "2026-01" or "2026-01-01" → first day of the month; end → the month's last day."""
    try:
        first = date.fromisoformat(begin[:7] + "-01")
        last_month = date.fromisoformat(end[:7] + "-01")
    except ValueError:
        raise InvalidInput(
            "Begin_Date và End_Date ghi theo dạng YYYY-MM hoặc YYYY-MM-DD.",
            message_en="begin_date and end_date must be YYYY-MM or YYYY-MM-DD",
        ) from None
    if last_month < first:
        raise InvalidInput("End_Date trước Begin_Date.", message_en="end_date before begin_date")
    return first, next_month(last_month)


def _header(
    report_id: str, name: str, first: date, end: date, point: AccessPoint | None
) -> dict[str, Any]:
    institution = point.name if point else "Các điểm truy cập tỉnh Thanh Hóa"
    ident = f"{PROPRIETARY}:{'point-' + str(point.id) if point else 'all'}"
    return {
        "Report_Name": name,
        "Report_ID": report_id,
        "Release": "5.1",
        "Institution_Name": institution,
        "Institution_ID": {"Proprietary": [ident]},
        "Report_Filters": {
            "Begin_Date": first.isoformat(),
            "End_Date": _last_day(end).isoformat(),
        },
        "Report_Attributes": {"Attributes_To_Show": ["Access_Method"]}
        if report_id == "PR"
        else {"Attributes_To_Show": ["Access_Type", "Access_Method"]},
        "Created": utcnow().replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "Created_By": PLATFORM,
        "Registry_Record": "",
    }


def _last_day(end: date) -> date:
    return end - timedelta(days=1)


def _month_keys(first: date, end: date) -> list[str]:
    return [m.strftime("%Y-%m") for m in months(first, _last_day(end))]


def platform_report(
    session: Session, first: date, end: date, point: AccessPoint | None = None
) -> dict[str, Any]:
    month = extract("month", UsageMonthly.month)
    year = extract("year", UsageMonthly.month)
    total = func.sum(UsageMonthly.measured + UsageMonthly.estimated)
    query = (
        select(year, month, UsageMonthly.measure, total)
        .where(UsageMonthly.month >= first, UsageMonthly.month < end)
        .group_by(year, month, UsageMonthly.measure)
    )
    if point is not None:
        query = query.where(UsageMonthly.point_id == point.id)
    values: defaultdict[str, dict[str, int]] = defaultdict(dict)
    for y, m, measure, n in session.execute(query):
        values[measure][f"{int(y):04d}-{int(m):02d}"] = int(n or 0)
    keys = _month_keys(first, end)

    def series(*measures: str) -> dict[str, int]:
        return {k: sum(values[m].get(k, 0) for m in measures) for k in keys}

    return {
        "Report_Header": _header("PR", "Platform Report", first, end, point),
        "Report_Items": [
            {
                "Platform": PLATFORM,
                "Attribute_Performance": [
                    {
                        "Data_Type": "Platform",
                        "Access_Method": "Regular",
                        "Performance": {
                            "Searches_Platform": series(rollup.SEARCHES, rollup.WIDGET_SEARCHES)
                        },
                    },
                    {
                        # Rollups are not split by the items' types.
                        "Data_Type": "Unspecified",
                        "Access_Method": "Regular",
                        "Performance": {c: series(m) for c, m in _PR_METRICS.items()},
                    },
                ],
            }
        ],
    }


def data_type(document_type: str) -> str:
    return _DATA_TYPES.get(document_type.strip().casefold(), "Other")


def item_report(session: Session, first: date, end: date, *, base_url: str) -> dict[str, Any]:
    month = extract("month", UsageItemDay.day)
    year = extract("year", UsageItemDay.day)
    rows = session.execute(
        select(
            UsageItemDay.item_id,
            year,
            month,
            func.sum(UsageItemDay.investigations),
            func.sum(UsageItemDay.requests),
        )
        .where(UsageItemDay.day >= first, UsageItemDay.day < end)
        .group_by(UsageItemDay.item_id, year, month)
    )
    per_item: defaultdict[int, dict[str, dict[str, int]]] = defaultdict(
        lambda: {"Total_Item_Investigations": {}, "Total_Item_Requests": {}}
    )
    for item_id, y, m, inv, req in rows:
        key = f"{int(y):04d}-{int(m):02d}"
        if inv:
            per_item[item_id]["Total_Item_Investigations"][key] = int(inv)
        if req:
            per_item[item_id]["Total_Item_Requests"][key] = int(req)
    items = {i.id: i for i in session.scalars(select(Item).where(Item.id.in_(list(per_item))))}
    entries = []
    for item_id in sorted(per_item):
        item = items.get(item_id)
        if item is None:
            continue
        performance = {k: v for k, v in per_item[item_id].items() if v}
        if not performance:
            continue
        entries.append(
            {
                "Item": item.title or f"#{item.id}",
                "Publisher": PUBLISHER,
                "Platform": PLATFORM,
                "Item_ID": {
                    "Proprietary": f"{PROPRIETARY}:{item.id}",
                    "URI": f"{base_url}/tai-lieu/{item.id}",
                },
                "Attribute_Performance": [
                    {
                        "Data_Type": data_type(item.document_type),
                        "Access_Type": "Free_To_Read",
                        "Access_Method": "Regular",
                        "Performance": performance,
                    }
                ],
            }
        )
    report: dict[str, Any] = {
        "Report_Header": _header("IR", "Item Report", first, end, None),
        "Report_Items": [{"Items": entries}] if entries else [],
    }
    if not entries:
        report["Report_Header"]["Exceptions"] = [
            {"Code": 3030, "Message": "No Usage Available for Requested Dates"}
        ]
    return report
