"""Dates as catalogued (dc:date): a year, a month or a day, or a range of two of them.

One check for every way an item is described (API, staff form, bulk import): each side must be
a real calendar date (no 2023-02-30, no month 13) and a range must not run backwards."""

from __future__ import annotations

import re
from datetime import date

_SIDE = r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?"
_DATE = re.compile(rf"^{_SIDE}(?:\s*[/–-]\s*{_SIDE})?$")


def check_date(text: str) -> str:
    """``text`` if it is a valid dc:date as we catalogue it; ValueError (in Vietnamese) if not."""
    if not text:
        return text
    match = _DATE.match(text)
    if not match:
        raise ValueError("ngày phải có dạng YYYY, YYYY-MM, YYYY-MM-DD hoặc YYYY–YYYY")
    sides = [match.groups()[:3], match.groups()[3:]]
    bounds = [_bounds(*side) for side in sides if side[0] is not None]
    if len(bounds) == 2 and bounds[1][1] < bounds[0][0]:
        raise ValueError(f"khoảng thời gian «{text}» kết thúc trước khi bắt đầu")
    return text


def _bounds(year: str, month: str | None, day: str | None) -> tuple[date, date]:
    """The first and last day a side stands for."""
    y = int(year)
    if y < 1:
        raise ValueError("năm phải từ 0001 trở đi")
    if month is None:
        return date(y, 1, 1), date(y, 12, 31)
    m = int(month)
    if not 1 <= m <= 12:
        raise ValueError(f"tháng {month} không có (chỉ từ 01 đến 12)")
    if day is None:
        last = (date(y + 1, 1, 1) if m == 12 else date(y, m + 1, 1)).toordinal() - 1
        return date(y, m, 1), date.fromordinal(last)
    try:
        exact = date(y, m, int(day))
    except ValueError:
        raise ValueError(f"ngày {year}-{month}-{day} không có trong lịch") from None
    return exact, exact
