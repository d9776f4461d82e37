"""A point's own monthly figures (days open, public computers, users, visits, training), entered by
its point operator on a form, by the province's spreadsheet, or through the API.

A month submitted again replaces the earlier figures for the report and keeps them in history;
every submission is in the audit log. Impossible figures are refused with the field named."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from collection.accounts.roles import Permission, allows
from collection.audit import service as audit
from collection.config import Settings
from collection.db import utcnow
from collection.errors import InvalidInput, NotFound, PermissionDenied
from collection.models import AccessPoint, PointFigures, Role, User
from collection.stats.periods import local_day, month_days, month_of

# Field → its name on the form and in the province's spreadsheet (in this order).
LABELS: dict[str, str] = {
    "days_open": "Số ngày mở cửa",
    "computers_working": "Số máy tính hoạt động",
    "computers_total": "Tổng số máy tính",
    "users": "Số người sử dụng",
    "visits": "Số lượt truy cập",
    "trainings": "Số buổi tập huấn",
    "trainees": "Số người được tập huấn",
    "note": "Ghi chú",
}
NUMBERS = tuple(k for k in LABELS if k != "note")
MAX_FIGURE = 10_000_000


@dataclass(frozen=True)
class MonthFigures:
    month: date
    days_open: int
    computers_working: int
    computers_total: int
    users: int
    visits: int
    trainings: int = 0
    trainees: int = 0
    note: str = ""


def month_label(month: date) -> str:
    return f"{month.month:02d}/{month.year}"


def reporting_month(today: date) -> date:
    """The month points are reporting now: last month until the 20th, then this one."""
    this = month_of(today)
    if today.day > 20:
        return this
    return date(this.year - (this.month == 1), (this.month - 2) % 12 + 1, 1)


def due_months(year: int, today: date) -> int:
    """How many of the year's months are over (can have been reported)."""
    if year < today.year:
        return 12
    return today.month - 1 if year == today.year else 0


def parse_month(text: str) -> date:
    """ "11/2026", "2026-11" or "2026-11-01" → 2026-11-01."""
    value = text.strip()
    try:
        if "/" in value:
            mm, yyyy = value.split("/", 1)
            return date(int(yyyy), int(mm), 1)
        parts = value.split("-")
        return date(int(parts[0]), int(parts[1]), 1)
    except (ValueError, IndexError):
        raise InvalidInput(
            f"Tháng «{value}» không hợp lệ: ghi theo dạng MM/YYYY, ví dụ 11/2026.",
            message_en=f"invalid month {value!r}: use MM/YYYY",
            field="month",
        ) from None


def whole_number(value: Any, label: str, *, field: str | None = None) -> int:
    """A figure as typed on the form or in a spreadsheet cell ("1.250", 1250.0, empty: 0)."""
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise InvalidInput(
            f"«{label}» phải là số.", message_en=f"{label}: not a number", field=field
        )
    if isinstance(value, int | float) and float(value).is_integer():
        return int(value)
    text = str(value).strip().replace(".", "").replace(",", "")
    if text.lstrip("-").isdigit():
        return int(text)
    raise InvalidInput(
        f"«{label}»: «{value}» không phải số nguyên.",
        message_en=f"{label}: {value!r} is not a whole number",
        field=field,
    )


def check(figures: MonthFigures, settings: Settings, *, today: date | None = None) -> None:
    """Refuse what no point can have had, naming the field (Vietnamese first)."""
    today = today or local_day(utcnow())
    month = figures.month
    if month.day != 1:
        raise InvalidInput("Tháng phải là ngày đầu tháng.", message_en="month must be a month")
    if month > month_of(today):
        raise InvalidInput(
            f"Chưa thể báo cáo tháng {month_label(month)}: tháng này chưa đến.",
            message_en="that month has not come yet",
            field="month",
        )
    for name in NUMBERS:
        value = getattr(figures, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InvalidInput(
                f"«{LABELS[name]}» phải là số nguyên không âm.",
                message_en=f"{name} must be a whole number, not negative",
                field=name,
            )
        if value > MAX_FIGURE:
            raise InvalidInput(
                f"«{LABELS[name]}» quá lớn ({value}).", message_en=f"{name} too large", field=name
            )
    days = month_days(month)
    if figures.days_open > days:
        raise InvalidInput(
            f"«{LABELS['days_open']}» ({figures.days_open}) nhiều hơn số ngày của tháng "
            f"{month_label(month)} ({days}).",
            message_en=f"days_open exceeds the {days} days of the month",
            field="days_open",
        )
    if figures.computers_working > figures.computers_total:
        raise InvalidInput(
            f"«{LABELS['computers_working']}» ({figures.computers_working}) không thể nhiều hơn "
            f"«{LABELS['computers_total']}» ({figures.computers_total}).",
            message_en="computers_working exceeds computers_total",
            field="computers_working",
        )
    if figures.visits and not figures.days_open:
        raise InvalidInput(
            f"Có {figures.visits} lượt truy cập nhưng «{LABELS['days_open']}» là 0.",
            message_en="visits in a month the point was not open",
            field="visits",
        )
    most = (
        figures.days_open * max(figures.computers_total, 1) * settings.max_visits_per_computer_day
    )
    if figures.visits > most:
        raise InvalidInput(
            f"«{LABELS['visits']}» ({figures.visits}) vượt quá mức giờ mở cửa cho phép: "
            f"{figures.days_open} ngày × {max(figures.computers_total, 1)} máy × "
            f"{settings.max_visits_per_computer_day} lượt/máy/ngày = {most}.",
            message_en=f"visits exceed what opening hours allow ({most})",
            field="visits",
        )
    if figures.users > figures.visits:
        raise InvalidInput(
            f"«{LABELS['users']}» ({figures.users}) không thể nhiều hơn "
            f"«{LABELS['visits']}» ({figures.visits}): mỗi người có ít nhất một lượt.",
            message_en="users exceed visits",
            field="users",
        )
    if figures.trainees and not figures.trainings:
        raise InvalidInput(
            f"Có {figures.trainees} người được tập huấn nhưng «{LABELS['trainings']}» là 0.",
            message_en="trainees without a training session",
            field="trainees",
        )
    if len(figures.note) > 2000:
        raise InvalidInput("Ghi chú dài quá 2.000 ký tự.", message_en="note too long", field="note")


def allowed_point(user: User, point_id: int) -> None:
    """Point operators enter their own point's figures only; province staff any point's."""
    if not allows(user.role, Permission.SUBMIT_FIGURES):
        raise PermissionDenied(
            f"Vai trò «{user.role.label}» không được nhập số liệu của điểm.",
            message_en="not allowed to enter a point's figures",
        )
    if user.role == Role.POINT_OPERATOR and user.point_id != point_id:
        raise PermissionDenied(
            "Tài khoản này chỉ báo cáo cho điểm truy cập của mình.",
            message_en="an operator reports for their own point only",
        )


def submit(
    session: Session,
    *,
    point_id: int,
    figures: MonthFigures,
    actor: User,
    settings: Settings,
    source: str = "form",
) -> PointFigures:
    allowed_point(actor, point_id)
    point = session.get(AccessPoint, point_id)
    if point is None:
        raise NotFound("Không có điểm truy cập này.", message_en="no such point")
    check(figures, settings)
    earlier = session.scalars(
        select(PointFigures).where(
            PointFigures.point_id == point_id,
            PointFigures.month == figures.month,
            PointFigures.replaced_at.is_(None),
        )
    ).all()
    now = utcnow()
    for row in earlier:
        row.replaced_at = now
    values = asdict(figures)
    row = PointFigures(
        point_id=point_id, source=source, submitted_by_id=actor.id, submitted_at=now, **values
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="figures.submit",
        target_type="point",
        target_id=point_id,
        summary=f"{point.name}: số liệu tháng {month_label(figures.month)}"
        + (" (sửa lại)" if earlier else ""),
        changes={k: v for k, v in values.items() if k != "month"}
        | {"month": figures.month.isoformat(), "replaces": [r.id for r in earlier]},
    )
    return row


@dataclass(frozen=True)
class Sent:
    """Figures in force, as the report reads them (plain values: a year of 120 points is
    ~1,400 rows, and ORM objects cost more than the rest of the report)."""

    point_id: int
    month: date
    days_open: int
    computers_working: int
    computers_total: int
    users: int
    visits: int
    trainings: int
    trainees: int
    note: str
    submitted_at: datetime
    submitted_by_email: str


def current(
    session: Session, *, start: date, end: date, point_ids: Iterable[int] | None = None
) -> dict[tuple[int, date], Sent]:
    """The figures in force for months start..end (first days), per (point, month)."""
    names = [name for name in Sent.__dataclass_fields__ if name != "submitted_by_email"]
    columns = [getattr(PointFigures, name) for name in names]
    query = (
        select(*columns, User.email)
        .outerjoin(User, User.id == PointFigures.submitted_by_id)
        .where(
            PointFigures.month >= start,
            PointFigures.month <= end,
            PointFigures.replaced_at.is_(None),
        )
    )
    if point_ids is not None:
        query = query.where(PointFigures.point_id.in_(list(point_ids)))
    found = {}
    for row in session.execute(query):
        sent = Sent(**dict(zip(names, row[:-1], strict=True)), submitted_by_email=row[-1] or "")
        found[(sent.point_id, sent.month)] = sent
    return found


def history(session: Session, point_id: int) -> list[PointFigures]:
    """Every submission for a point, newest month first, newest submission first."""
    return list(
        session.scalars(
            select(PointFigures)
            .where(PointFigures.point_id == point_id)
            .order_by(PointFigures.month.desc(), PointFigures.submitted_at.desc())
        )
    )


def missing(session: Session, month: date) -> list[AccessPoint]:
    """Active points with no figures for ``month``."""
    reported = select(PointFigures.point_id).where(
        PointFigures.month == month, PointFigures.replaced_at.is_(None)
    )
    return list(
        session.scalars(
            select(AccessPoint).where(AccessPoint.active, AccessPoint.id.not_in(reported))
        )
    )
