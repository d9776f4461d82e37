"""The yearly report, read from the rollups and the points' own figures: per point, department
(TVCC / BĐVHX), old district, new commune and the province; by month; this year against the last
over the same months, each target marked met or not; active points with the definition used;
points gone silent; what readers searched for (and did not find) and what they read.

Two sources, never mixed in one number: **counted** — the use of this collection, measured by the
service (stats/rollup.py) — and **reported** — the point's own monthly figures for its public
computers. A month a point did not report is "không báo cáo", never 0."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import extract, func, select
from sqlalchemy.orm import Session

from collection.config import Settings
from collection.db import utcnow
from collection.models import (
    AccessPoint,
    Item,
    PointKind,
    RobotList,
    UsageDaily,
    UsageItemDay,
    UsageMonthly,
    UsageQueryDay,
    UsageUsers,
)
from collection.reports import figures as own
from collection.search.vietnamese import sort_key
from collection.stats import robots, rollup
from collection.stats.periods import local_day

USERS_GOAL = 3.0  # % a year (174/KH-UBND)
VISITS_GOAL = (3.0, 5.0)
ACTIVE_GOAL = (80.0, 100.0)

DEFINITIONS: dict[str, str] = {
    "visit": "Lượt truy cập: một phiên đọc (ISO 2789), kết thúc sau 30 phút không thao tác hoặc khi "
    "bạn đọc bấm «Kết thúc phiên» ở máy tính công cộng.",
    "user": "Người sử dụng: một bạn đọc khác nhau trong tháng hoặc trong năm, nhận biết bằng cookie "
    "ngẫu nhiên (mã hóa bằng khóa của năm báo cáo, không lưu IP). Không có cookie thì ước tính "
    "theo mã ngày (IP + trình duyệt, đổi hằng ngày) và ghi rõ là ước tính.",
    "investigation": "Lượt xem tài liệu (COUNTER 5.1 Total_Item_Investigations): trang tài liệu, "
    "một trang của nó hoặc tải tệp; cùng thao tác trong 30 giây chỉ tính một lần.",
    "request": "Lượt đọc nội dung (COUNTER 5.1 Total_Item_Requests): một trang được hiển thị hoặc "
    "tệp được tải.",
    "excluded": "Không tính: robot và máy (danh sách COUNTER-Robots), cán bộ đã đăng nhập, lời gọi "
    "bằng mã API, yêu cầu lỗi.",
    "reported": "Số điểm tự báo cáo: số liệu hằng tháng của điểm về máy tính công cộng, người sử "
    "dụng và lượt truy cập tại điểm. Người sử dụng cả năm theo số tự báo cáo là tổng các tháng "
    "(một người đến nhiều tháng được tính nhiều lần).",
}


@dataclass(frozen=True)
class Count:
    measured: int = 0
    estimated: int = 0

    @property
    def total(self) -> int:
        return self.measured + self.estimated

    def __add__(self, other: Count) -> Count:
        return Count(self.measured + other.measured, self.estimated + other.estimated)

    @property
    def estimated_percent(self) -> float:
        return 100.0 * self.estimated / self.total if self.total else 0.0


@dataclass
class Month:
    month: date
    counted: dict[str, Count]  # measure → count (empty before counting began)
    users: Count | None
    reported: own.Sent | None
    active: bool = False

    @property
    def visits(self) -> Count:
        return self.counted.get(rollup.VISITS, Count())


@dataclass
class Line:
    """One point, or a group of points, over the report's months."""

    key: str
    name: str
    months: list[Month]
    counted: dict[str, Count]
    users: Count
    users_summed: bool  # a group's users as the sum of its points' (not distinct across them)
    reported_visits: int | None
    reported_users: int | None
    reported_months: int
    previous: dict[str, Any]
    points: list[Line] = field(default_factory=list)
    kind: str = ""
    place: str = ""
    district: str = ""
    commune: str = ""
    point_active: bool = True  # the point is open (not deactivated)
    active: bool = False
    reason: str = ""
    silent: list[date] = field(default_factory=list)
    computers: tuple[int, int] | None = None  # working, total: the last month reported
    receiver: str = ""  # a department's line: who receives its report
    trainings: int = 0
    trainees: int = 0

    @property
    def visits(self) -> Count:
        return self.counted.get(rollup.VISITS, Count())

    @property
    def active_points(self) -> tuple[int, int]:
        members = self.points or [self]
        return sum(p.active for p in members), len(members)


@dataclass(frozen=True)
class Target:
    label: str
    value: float | None  # growth or share, in %
    goal: str
    met: bool | None  # None: nothing to compare with
    note: str = ""


@dataclass
class YearReport:
    year: int
    generated_at: datetime
    through: date  # the last day counted
    months: list[date]
    counting_since: date | None
    province: Line
    departments: list[Line]
    districts: list[Line]
    communes: list[Line]
    points: list[Line]
    targets: list[Target]
    top_queries: list[tuple[str, int, int]]
    zero_queries: list[tuple[str, int]]
    top_items: list[tuple[int, str, int, int]]
    robot_lists: list[str]
    settings: dict[str, Any]
    definitions: dict[str, str] = field(default_factory=lambda: dict(DEFINITIONS))

    def point(self, point_id: int) -> Line | None:
        return next((p for p in self.points if p.key == f"p:{point_id}"), None)

    @property
    def inactive(self) -> list[Line]:
        return [p for p in self.points if not p.active]

    @property
    def silent(self) -> list[tuple[Line, date]]:
        return [(p, m) for p in self.points for m in p.silent]


def growth(now: float | None, before: float | None) -> float | None:
    if now is None or not before:
        return None
    return round(100.0 * (now - before) / before, 1)


def build(
    session: Session, settings: Settings, year: int, *, today: date | None = None
) -> YearReport:
    today = today or local_day(utcnow())
    last_month = 12 if year < today.year else max(1, today.month)
    months = [date(year, m, 1) for m in range(1, last_month + 1)]
    through = date(year, 12, 31) if year < today.year else today
    points = [
        p
        for p in session.scalars(select(AccessPoint))
        if local_day(p.created_at) <= date(year, 12, 31)
    ]
    this = _Sources.read(session, year, last_month)
    before = _Sources.read(session, year - 1, last_month)
    counting_since = session.scalar(select(func.min(UsageDaily.day)))

    # Only months that are over count for activity and silence (the current one is not due).
    due = own.due_months(year, today)
    needed = math.ceil(settings.active_min_months * due / 12)
    lines = [
        _point_line(p, months, this, before, settings, needed, due, counting_since) for p in points
    ]
    lines.sort(key=lambda line: sort_key(line.name))

    def group(key: str, name: str, members: list[Line], scope: str | None) -> Line:
        return _group(key, name, members, months, this, before, scope)

    departments = [
        _receiving(
            group(
                f"kind:{kind.value}",
                f"{kind.label} ({'TVCC' if kind == PointKind.TVCC else 'BĐVHX'})",
                [p for p in lines if p.kind == kind.value],
                f"kind:{kind.value}",
            ),
            dept,
        )
        for kind, dept in (
            (PointKind.TVCC, settings.department_tvcc),
            (PointKind.BDVHX, settings.department_bdvhx),
        )
    ]
    by_district: defaultdict[str, list[Line]] = defaultdict(list)
    by_commune: defaultdict[str, list[Line]] = defaultdict(list)
    for line in lines:
        by_district[line.district or "(chưa gắn huyện)"].append(line)
        by_commune[line.commune or "(chưa gắn xã)"].append(line)
    districts = [group(f"d:{n}", n, m, None) for n, m in by_district.items()]
    communes = [group(f"c:{n}", n, m, None) for n, m in by_commune.items()]
    districts.sort(key=lambda g: sort_key(g.name))
    communes.sort(key=lambda g: sort_key(g.name))
    province = group("points", "Toàn tỉnh", lines, "points")

    return YearReport(
        year=year,
        generated_at=utcnow(),
        through=through,
        months=months,
        counting_since=counting_since,
        province=province,
        departments=departments,
        districts=districts,
        communes=communes,
        points=lines,
        targets=targets(province),
        top_queries=this.top_queries(session, year, last_month),
        zero_queries=this.zero_queries(session, year, last_month),
        top_items=this.top_items(session, year, last_month),
        robot_lists=[v for v in session.scalars(select(RobotList.version))] or [robots.VERSION],
        settings={
            "active_min_visits": settings.active_min_visits,
            "active_min_months": settings.active_min_months,
            "active_months_needed": needed,
            "months_due": due,
            "silent_drop_percent": settings.silent_drop_percent,
            "department_tvcc": settings.department_tvcc,
            "department_bdvhx": settings.department_bdvhx,
        },
    )


def _receiving(line: Line, department: str) -> Line:
    line.receiver = department
    return line


def targets(line: Line) -> list[Target]:
    """The plan's three figures for a point or a group, this year against the last."""
    active, total = line.active_points
    share = round(100.0 * active / total, 1) if total else None
    prev = line.previous
    out = [
        Target(
            "Tỉ lệ điểm hoạt động hiệu quả",
            share,
            "80–100 %",
            None if share is None else share >= ACTIVE_GOAL[0],
            f"{active}/{total} điểm",
        )
    ]
    for label, now, then, high in (
        ("Người sử dụng (điểm tự báo cáo)", line.reported_users, prev["reported_users"], None),
        ("Lượt truy cập (điểm tự báo cáo)", line.reported_visits, prev["reported_visits"], VISITS_GOAL[1]),
        ("Người sử dụng kho số (đếm tự động)", line.users.total, prev["users"].total, None),
        ("Lượt truy cập kho số (đếm tự động)", line.visits.total, prev["visits"].total, VISITS_GOAL[1]),
    ):  # fmt: skip
        goal = USERS_GOAL if high is None else VISITS_GOAL[0]
        value = growth(now, then)
        note = ""
        if value is None:
            note = "không có số năm trước để so sánh" if now is not None else "không báo cáo"
        elif high is not None and value >= high:
            note = "vượt mức cao (5 %)"
        text = "+3 %/năm" if high is None else "+3–5 %/năm"
        out.append(Target(label, value, text, None if value is None else value >= goal, note))
    return out


@dataclass
class _Sources:
    """Everything one year's report reads, in a few grouped queries."""

    daily: dict[tuple[int, int, str], Count]  # (point, month number, measure)
    users: dict[tuple[str, int], Count]  # (scope, month number) for months
    users_period: dict[str, Count]  # scope → distinct users over the report's months
    figures: dict[tuple[int, date], own.Sent]

    @classmethod
    def read(cls, session: Session, year: int, last_month: int) -> _Sources:
        start, end = date(year, 1, 1), _month_end(year, last_month)
        month = extract("month", UsageMonthly.month)
        daily = {
            (point, int(m), measure): Count(int(a or 0), int(b or 0))
            for point, m, measure, a, b in session.execute(
                select(
                    UsageMonthly.point_id,
                    month,
                    UsageMonthly.measure,
                    UsageMonthly.measured,
                    UsageMonthly.estimated,
                ).where(UsageMonthly.month >= start, UsageMonthly.month < end)
            )
        }
        monthly = session.execute(
            select(
                UsageUsers.scope, UsageUsers.start, UsageUsers.measured, UsageUsers.estimated
            ).where(UsageUsers.period == "month", UsageUsers.start >= start, UsageUsers.start < end)
        )
        users = {(scope, first.month): Count(a, b) for scope, first, a, b in monthly}
        if last_month == 12:
            whole = session.execute(
                select(UsageUsers.scope, UsageUsers.measured, UsageUsers.estimated).where(
                    UsageUsers.period == "year", UsageUsers.start == start
                )
            )
            users_period = {scope: Count(a, b) for scope, a, b in whole}
        else:  # part of a year: distinct readers over exactly those months
            counted = rollup.distinct_users(session, start, end)
            users_period = {scope: Count(*pair) for scope, pair in counted.items()}
        return cls(
            daily,
            users,
            users_period,
            own.current(session, start=start, end=date(year, last_month, 1)),
        )

    def top_queries(self, session: Session, year: int, last: int) -> list[tuple[str, int, int]]:
        total = func.sum(UsageQueryDay.searches)
        rows = session.execute(
            select(UsageQueryDay.query, total, func.sum(UsageQueryDay.zero_results))
            .where(*_days(UsageQueryDay.day, year, last))
            .group_by(UsageQueryDay.query)
            .order_by(total.desc(), UsageQueryDay.query)
            .limit(20)
        )
        return [(q, int(n), int(z)) for q, n, z in rows]

    def zero_queries(self, session: Session, year: int, last: int) -> list[tuple[str, int]]:
        zero = func.sum(UsageQueryDay.zero_results)
        rows = session.execute(
            select(UsageQueryDay.query, zero)
            .where(*_days(UsageQueryDay.day, year, last), UsageQueryDay.zero_results > 0)
            .group_by(UsageQueryDay.query)
            .order_by(zero.desc(), UsageQueryDay.query)
            .limit(20)
        )
        return [(q, int(n)) for q, n in rows]

    def top_items(self, session: Session, year: int, last: int) -> list[tuple[int, str, int, int]]:
        inv = func.sum(UsageItemDay.investigations)
        rows = session.execute(
            select(UsageItemDay.item_id, Item.title, inv, func.sum(UsageItemDay.requests))
            .join(Item, Item.id == UsageItemDay.item_id)
            .where(*_days(UsageItemDay.day, year, last))
            .group_by(UsageItemDay.item_id, Item.title)
            .order_by(inv.desc(), UsageItemDay.item_id)
            .limit(20)
        )
        return [(i, t, int(a), int(b)) for i, t, a, b in rows]


def _month_end(year: int, last_month: int) -> date:
    return date(year + 1, 1, 1) if last_month == 12 else date(year, last_month + 1, 1)


def _days(column: Any, year: int, last: int) -> tuple[Any, Any]:
    return column >= date(year, 1, 1), column < _month_end(year, last)


def _point_line(
    point: AccessPoint,
    months: list[date],
    this: _Sources,
    before: _Sources,
    settings: Settings,
    needed: int,
    due: int,
    counting_since: date | None,
) -> Line:
    scope = f"p:{point.id}"
    rows: list[Month] = []
    for month in months:
        counted = {
            measure: this.daily[(point.id, month.month, measure)]
            for measure in rollup.MEASURES
            if (point.id, month.month, measure) in this.daily
        }
        began = counting_since is not None and month >= counting_since.replace(day=1)
        sent = this.figures.get((point.id, month))
        row = Month(
            month=month,
            counted=counted,
            users=this.users.get((scope, month.month), Count()) if began else None,
            reported=sent,
        )
        # An active month: the point reported it, with at least the visits the definition asks.
        row.active = sent is not None and sent.visits >= settings.active_min_visits
        rows.append(row)
    reported = [m.reported for m in rows if m.reported is not None]
    line = Line(
        key=scope,
        name=point.name,
        months=rows,
        counted=_sum_months(rows),
        users=this.users_period.get(scope, Count()),
        users_summed=False,
        reported_visits=sum(r.visits for r in reported) if reported else None,
        reported_users=sum(r.users for r in reported) if reported else None,
        reported_months=len(reported),
        previous=_previous([point.id], months, before, scope),
        kind=point.kind.value,
        place=point.place_label,
        district=f"{point.district.kind} {point.district.name}" if point.district else "",
        commune=f"{point.commune.kind} {point.commune.name}" if point.commune else "",
        point_active=point.active,
        trainings=sum(r.trainings for r in reported),
        trainees=sum(r.trainees for r in reported),
    )
    if reported:
        latest = max(reported, key=lambda r: r.month)
        line.computers = (latest.computers_working, latest.computers_total)
    active_months = sum(m.active for m in rows)
    line.active = point.active and active_months >= needed
    if not point.active:
        line.reason = f"ngừng hoạt động từ {local_day(point.updated_at):%d/%m/%Y}"
    elif not reported:
        line.reason = "không báo cáo tháng nào"
    elif active_months < needed:
        line.reason = (
            f"chỉ {active_months}/{due} tháng có báo cáo với ít nhất "
            f"{settings.active_min_visits} lượt (cần {needed})"
        )
    line.silent = _silent(rows[:due], settings.silent_drop_percent)
    return line


def _visits_of(month: Month) -> int | None:
    """The month's visits for the silence rule: reported if reported, else counted."""
    if month.reported is not None:
        return month.reported.visits
    return month.visits.total if month.counted else None


def _silent(rows: list[Month], drop_percent: int) -> list[date]:
    """Months whose visits fell ``drop_percent`` below the median of the six before (a negative
    spike, COUNTER's word for usage that suddenly stops), or that went unreported after use."""
    out = []
    for i, month in enumerate(rows):
        history = [v for v in (_visits_of(m) for m in rows[max(0, i - 6) : i]) if v is not None]
        if len(history) < 3:
            continue
        usual = statistics.median(history)
        if usual < 5:  # too little use to call a drop
            continue
        value = _visits_of(month)
        if value is None or value < usual * (100 - drop_percent) / 100:
            out.append(month.month)
    return out


def _sum_months(rows: list[Month]) -> dict[str, Count]:
    out: dict[str, Count] = {}
    for row in rows:
        for measure, count in row.counted.items():
            out[measure] = out.get(measure, Count()) + count
    return out


def _previous(
    point_ids: list[int], months: list[date], before: _Sources, scope: str | None
) -> dict[str, Any]:
    visits = Count()
    reported: list[own.Sent] = []
    for point_id in point_ids:
        for month in months:
            visits += before.daily.get((point_id, month.month, rollup.VISITS), Count())
            figures = before.figures.get((point_id, month.replace(year=month.year - 1)))
            if figures is not None:
                reported.append(figures)
    if scope is None:  # a district or a commune: the sum of its points, as this year's
        users = sum((before.users_period.get(f"p:{p}", Count()) for p in point_ids), Count())
    else:
        users = before.users_period.get(scope, Count())
    return {
        "visits": visits,
        "users": users,
        "reported_visits": sum(r.visits for r in reported) if reported else None,
        "reported_users": sum(r.users for r in reported) if reported else None,
    }


def _group(
    key: str,
    name: str,
    members: list[Line],
    months: list[date],
    this: _Sources,
    before: _Sources,
    scope: str | None,
) -> Line:
    rows = []
    for index, month in enumerate(months):
        sums: dict[str, list[int]] = {}
        for member in members:
            for measure, count in member.months[index].counted.items():
                total = sums.setdefault(measure, [0, 0])
                total[0] += count.measured
                total[1] += count.estimated
        counted = {measure: Count(a, b) for measure, (a, b) in sums.items()}
        users = this.users.get((scope, month.month)) if scope else None
        if users is None:
            users = sum((m.months[index].users or Count() for m in members), Count())
        rows.append(Month(month=month, counted=counted, users=users, reported=None))
    reported = [m for m in members if m.reported_visits is not None]
    users = this.users_period.get(scope, Count()) if scope else None
    point_ids = [int(m.key.removeprefix("p:")) for m in members]
    return Line(
        key=key,
        name=name,
        months=rows,
        counted=_sum_months(rows),
        users=users if users is not None else sum((m.users for m in members), Count()),
        users_summed=scope is None,
        reported_visits=sum(m.reported_visits or 0 for m in reported) if reported else None,
        reported_users=sum(m.reported_users or 0 for m in reported) if reported else None,
        reported_months=sum(m.reported_months for m in members),
        previous=_previous(point_ids, months, before, scope),
        points=members,
        active=False,
        trainings=sum(m.trainings for m in members),
        trainees=sum(m.trainees for m in members),
    )
