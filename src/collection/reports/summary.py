"""The yearly report as plain data: what the page, the API, the XLSX and CSV exports and a frozen
version all read, so a frozen report shows exactly what was submitted."""

from __future__ import annotations

from typing import Any

from collection.reports import figures as own
from collection.reports.yearly import Count, Line, Month, Target, YearReport, growth, targets
from collection.stats import rollup

COUNTED = (
    rollup.SEARCHES,
    rollup.WIDGET_SEARCHES,
    rollup.INVESTIGATIONS,
    rollup.REQUESTS,
    rollup.UNIQUE_INVESTIGATIONS,
    rollup.UNIQUE_REQUESTS,
)


def _count(count: Count | None) -> dict[str, int] | None:
    if count is None:
        return None
    return {"measured": count.measured, "estimated": count.estimated, "total": count.total}


def _target(target: Target) -> dict[str, Any]:
    return {
        "label": target.label,
        "value": target.value,
        "goal": target.goal,
        "met": target.met,
        "note": target.note,
    }


def _month(month: Month) -> dict[str, Any]:
    sent = month.reported
    return {
        "month": month.month.strftime("%Y-%m"),
        "visits": _count(month.visits) if month.users is not None else None,
        "users": _count(month.users),
        **{m: month.counted.get(m, Count()).total for m in COUNTED},
        "reported": None
        if sent is None
        else {name: getattr(sent, name) for name in own.LABELS}
        | {
            "submitted_at": sent.submitted_at.isoformat(),
            "submitted_by": sent.submitted_by_email,
        },
        "active": month.active,
    }


def _line(line: Line) -> dict[str, Any]:
    prev = line.previous
    return {
        "key": line.key,
        "name": line.name,
        "kind": line.kind,
        "place": line.place,
        "district": line.district,
        "commune": line.commune,
        "point_active": line.point_active,
        "active": line.active,
        "reason": line.reason,
        "receiver": line.receiver,
        "active_points": list(line.active_points),
        "visits": _count(line.visits),
        "users": {**(_count(line.users) or {}), "summed": line.users_summed},
        **{m: line.counted.get(m, Count()).total for m in COUNTED},
        "reported": {
            "visits": line.reported_visits,
            "users": line.reported_users,
            "months": line.reported_months,
            "trainings": line.trainings,
            "trainees": line.trainees,
            "computers_working": line.computers[0] if line.computers else None,
            "computers_total": line.computers[1] if line.computers else None,
        },
        "previous": {
            "visits": prev["visits"].total,
            "users": prev["users"].total,
            "reported_visits": prev["reported_visits"],
            "reported_users": prev["reported_users"],
        },
        "growth": {
            "visits": growth(line.visits.total, prev["visits"].total),
            "users": growth(line.users.total, prev["users"].total),
            "reported_visits": growth(line.reported_visits, prev["reported_visits"]),
            "reported_users": growth(line.reported_users, prev["reported_users"]),
        },
        "targets": [_target(t) for t in targets(line)],
        "months": [_month(m) for m in line.months],
        "silent": [m.strftime("%Y-%m") for m in line.silent],
    }


def to_dict(report: YearReport) -> dict[str, Any]:
    return {
        "year": report.year,
        "generated_at": report.generated_at.isoformat(),
        "through": report.through.isoformat(),
        "months": [m.strftime("%Y-%m") for m in report.months],
        "counting_since": report.counting_since.isoformat() if report.counting_since else None,
        "settings": report.settings,
        "definitions": report.definitions,
        "robot_lists": report.robot_lists,
        "targets": [_target(t) for t in report.targets],
        "province": _line(report.province),
        "departments": [_line(d) for d in report.departments],
        "districts": [_line(d) | {"months": []} for d in report.districts],
        "communes": [_line(c) | {"months": []} for c in report.communes],
        "points": [_line(p) for p in report.points],
        "inactive": [{"key": p.key, "name": p.name, "reason": p.reason} for p in report.inactive],
        "silent": [
            {"key": p.key, "name": p.name, "month": m.strftime("%Y-%m")} for p, m in report.silent
        ],
        "top_queries": [
            {"query": q, "searches": n, "zero_results": z} for q, n, z in report.top_queries
        ],
        "zero_queries": [{"query": q, "searches": n} for q, n in report.zero_queries],
        "top_items": [
            {"id": i, "title": t, "investigations": a, "requests": b}
            for i, t, a, b in report.top_items
        ],
    }


def point_view(data: dict[str, Any], point_id: int) -> dict[str, Any] | None:
    """One point's part of the report."""
    return next((p for p in data["points"] if p["key"] == f"p:{point_id}"), None)
