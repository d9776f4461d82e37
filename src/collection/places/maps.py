"""The province drawn on the server as SVG from the gazetteer's coordinates: where the items are
from and where the access points are. No tile server, no script: an old PC shows it as it is.

Positions are the communes' centres (the packages carry no boundaries), so the map says so."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from sqlalchemy import select
from sqlalchemy.orm import Session

from collection.models import AccessPoint, PlaceLevel
from collection.places.gazetteer import Gazetteer

WIDTH = 900
MARGIN = 30


@dataclass(frozen=True)
class PointMark:
    name: str
    kind: str
    lat: float
    lon: float


@dataclass
class MapDrawing:
    svg: str
    places_drawn: int = 0
    points_drawn: int = 0
    unplaced_points: list[str] = field(default_factory=list)


def point_marks(session: Session, gaz: Gazetteer) -> tuple[list[PointMark], list[str]]:
    """The active points with a position (their commune's, else their old district's), and the
    names of those without one."""
    marks, unplaced = [], []
    for point in session.scalars(select(AccessPoint).where(AccessPoint.active)):
        where = None
        for pid in (point.commune_id, point.district_id):
            place = gaz.places.get(pid) if pid is not None else None
            if place is not None and place.lat is not None and place.lon is not None:
                where = place
                break
        if where is None or where.lat is None or where.lon is None:
            unplaced.append(point.name)
            continue
        marks.append(PointMark(point.name, point.kind.label, where.lat, where.lon))
    return marks, unplaced


def province_map(
    gaz: Gazetteer,
    *,
    item_counts: dict[str, int],
    points: tuple[list[PointMark], list[str]],
    link: Callable[[str], str],
) -> MapDrawing:
    """The SVG: every new commune as a faint dot, the old districts' names, a circle per place
    with items (area ∝ count, linking to its search) and a square per access point."""
    located = [p for p in gaz.places.values() if p.lat is not None and p.lon is not None]
    communes = [p for p in located if p.level == PlaceLevel.COMMUNE and p.is_new]
    frame = communes or located
    if not frame:
        return MapDrawing('<p class="muted">Chưa có tọa độ địa danh.</p>')
    lats = [p.lat for p in frame if p.lat is not None]
    lons = [p.lon for p in frame if p.lon is not None]
    south, north, west, east = min(lats), max(lats), min(lons), max(lons)
    squeeze = math.cos(math.radians((south + north) / 2))  # a degree of longitude is shorter
    scale = (WIDTH - 2 * MARGIN) / max((east - west) * squeeze, 1e-6)
    height = round((north - south) * scale + 2 * MARGIN)

    def xy(lat: float, lon: float) -> tuple[float, float]:
        return (
            round(MARGIN + (lon - west) * squeeze * scale, 1),
            round(MARGIN + (north - lat) * scale, 1),
        )

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="map-title" class="map">',
        '<title id="map-title">Bản đồ tỉnh Thanh Hóa: nơi tài liệu nói đến và các điểm truy cập'
        "</title>",
        f'<rect width="{WIDTH}" height="{height}" fill="#f4f1ea"/>',
        '<g class="communes" fill="#c9c2b4">',
    ]
    for place in communes:
        x, y = xy(place.lat or 0, place.lon or 0)
        parts.append(
            f'<circle cx="{x}" cy="{y}" r="2"><title>{escape(place.named)}</title></circle>'
        )
    parts.append(
        '</g><g class="districts" font-family="sans-serif" font-size="11" fill="#6b665c" text-anchor="middle">'
    )
    for place in located:
        if place.level == PlaceLevel.DISTRICT:
            x, y = xy(place.lat or 0, place.lon or 0)
            parts.append(f'<text x="{x}" y="{y}">{escape(place.name)}</text>')
    parts.append('</g><g class="items" fill="#b5462a" fill-opacity=".55" stroke="#7a2c18">')
    most = max(item_counts.values(), default=1)
    drawn = 0
    for key, count in sorted(item_counts.items(), key=lambda kv: -kv[1]):
        at = gaz.by_key.get(key)
        if at is None or at.lat is None or at.lon is None or count <= 0:
            continue
        x, y = xy(at.lat, at.lon)
        radius = round(4 + 16 * math.sqrt(count / most), 1)
        label = f"{gaz.label(at.id)}: {count} tài liệu"
        parts.append(
            f'<a href={quoteattr(link(key))}><circle cx="{x}" cy="{y}" r="{radius}">'
            f"<title>{escape(label)}</title></circle></a>"
        )
        drawn += 1
    parts.append('</g><g class="points" fill="#1f5fa8" stroke="#fff">')
    marks, unplaced = points
    for mark in marks:
        x, y = xy(mark.lat, mark.lon)
        parts.append(
            f'<rect x="{x - 4}" y="{y - 4}" width="8" height="8">'
            f"<title>{escape(mark.name)} ({escape(mark.kind)})</title></rect>"
        )
    parts.append("</g></svg>")
    return MapDrawing("".join(parts), drawn, len(marks), unplaced)
