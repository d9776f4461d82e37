"""Charts drawn on the server as SVG: they print, and need no JavaScript."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from markupsafe import Markup

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 720, 240, 48, 28, 16


def bars(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int | None], str]],
    *,
    title: str,
) -> Markup:
    """Grouped bars, one group per label; ``None`` (not reported) is drawn as a hollow mark."""
    top = _nice(max([v for _, values, _ in series for v in values if v is not None] + [1]))
    inner_w, inner_h = WIDTH - PAD_LEFT - 8, HEIGHT - PAD_TOP - PAD_BOTTOM
    group_w = inner_w / max(len(labels), 1)
    bar_w = max(2.0, (group_w - 6) / max(len(series), 1))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT + 22}" '
        f'role="img" aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
    ]
    for step in range(5):
        tick = top * step / 4
        y = PAD_TOP + inner_h - inner_h * step / 4
        parts.append(
            f'<line x1="{PAD_LEFT}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{PAD_LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="11">'
            f"{int(tick):,}</text>".replace(",", ".")
        )
    for i, label in enumerate(labels):
        x0 = PAD_LEFT + i * group_w + 3
        for j, (name, values, color) in enumerate(series):
            value = values[i] if i < len(values) else None
            x = x0 + j * bar_w
            if value is None:
                y = PAD_TOP + inner_h - 3
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 1:.1f}" height="3" '
                    f'fill="none" stroke="{color}"><title>{escape(name)}, {escape(label)}: '
                    "không báo cáo</title></rect>"
                )
                continue
            h = inner_h * value / top
            parts.append(
                f'<rect x="{x:.1f}" y="{PAD_TOP + inner_h - h:.1f}" width="{bar_w - 1:.1f}" '
                f'height="{h:.1f}" fill="{color}"><title>{escape(name)}, {escape(label)}: '
                f"{value}</title></rect>"
            )
        parts.append(
            f'<text x="{x0 + group_w / 2 - 3:.1f}" y="{HEIGHT - 10}" text-anchor="middle" '
            f'font-size="11">{escape(label)}</text>'
        )
    x = PAD_LEFT
    for name, _, color in series:
        parts.append(
            f'<rect x="{x}" y="{HEIGHT + 6}" width="12" height="12" fill="{color}"/>'
            f'<text x="{x + 16}" y="{HEIGHT + 16}" font-size="12">{escape(name)}</text>'
        )
        x += 24 + 7 * len(name)
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 — every text above is escaped


MONTH_NAMES = [f"T{m}" for m in range(1, 13)]


def visits_chart(line: dict[str, Any], title: str) -> Markup:
    """A report line's visits by month: counted here beside the points' own reported figures."""
    labels = [MONTH_NAMES[int(m["month"][5:]) - 1] for m in line["months"]]
    counted = [m["visits"]["total"] if m["visits"] else None for m in line["months"]]
    reported: list[int | None] = []
    for m in line["months"]:  # a point's own figures, or a group's sum of them
        sent = m.get("reported")
        reported.append(sent["visits"] if sent else m.get("reported_visits"))
    return bars(
        labels,
        [
            ("Lượt truy cập kho số (đếm)", counted, "#2f6f4f"),
            ("Lượt truy cập tại điểm (điểm báo cáo)", reported, "#c98a1b"),
        ],
        title=title,
    )


def province_chart(data: dict[str, Any]) -> Markup:
    """The province's months, with the points' reported visits summed (None: nobody reported)."""
    months = []
    for index, month in enumerate(data["province"]["months"]):
        sent = [p["months"][index]["reported"] for p in data["points"] if p["months"]]
        values = [s["visits"] for s in sent if s]
        months.append({**month, "reported_visits": sum(values) if values else None})
    line = {**data["province"], "months": months}
    return visits_chart(line, f"Lượt truy cập theo tháng, năm {data['year']}")


def _nice(value: float) -> float:
    """A round top for the axis: 1, 2, 5 × a power of ten."""
    scale = 1.0
    while scale * 10 <= value:
        scale *= 10
    for step in (1, 2, 5, 10):
        if step * scale >= value:
            return step * scale
    return 10 * scale
