"""Keeping the gazetteer in step with its packages, at every start.

The first start loads every unit; a start after a package upgrade compares unit by unit (by key)
and says what changed: a renamed unit keeps its row (so items and points stay placed there) and
its former name becomes another name; a unit the package no longer lists is kept and marked;
links the package no longer gives are retired, not deleted. Links and names staff edited are
theirs: a sync never undoes them. Then any free-text place from before the gazetteer is linked."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from collection.db import utcnow
from collection.errors import InvalidInput
from collection.models import AccessPoint, GazetteerSource, Item, ItemPlace, Place, PlaceLink
from collection.places import sources
from collection.places.gazetteer import DISTRICT_KINDS
from collection.places.sources import SeedData, UnitRow
from collection.search.sync import schedule_sync

log = logging.getLogger(__name__)


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    links_added: int = 0
    links_retired: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)  # free-text places linked to units
    unmatched: list[str] = field(default_factory=list)  # free-text places kept as they were

    def lines(self) -> list[str]:
        """What changed, in Vietnamese, one line per kind of change."""
        out = []
        if self.added:
            out.append(f"Thêm {len(self.added)} đơn vị.")
        out += [f"Đổi tên: {r}" for r in self.renamed]
        out += [f"Thay đổi: {c}" for c in self.changed]
        out += [f"Không còn trong gói (vẫn giữ): {g}" for g in self.gone]
        if self.links_added:
            out.append(f"Thêm {self.links_added} liên kết cũ → mới.")
        out += [f"Bỏ liên kết: {r}" for r in self.links_retired]
        out += [f"Gắn địa danh cũ: {a}" for a in self.adopted]
        out += [f"Chưa gắn được (giữ nguyên văn): {u}" for u in self.unmatched]
        return out

    def as_dict(self) -> dict[str, list[str]]:
        return {"lines": self.lines()}


def ensure_gazetteer(session: Session, *, data: SeedData | None = None) -> SyncReport:
    """Load or update the gazetteer when the packages' versions differ from the last sync (or
    when ``data`` is given), then link free-text places. Cheap when nothing changed."""
    report = SyncReport()
    recorded = {s.package: s.version for s in session.scalars(select(GazetteerSource))}
    if data is not None or recorded != sources.installed_versions():
        report = sync_units(session, data or sources.package_data())
        from collection.places.service import forget  # bulk statements: no flush event

        forget()
    adopt_legacy(session, report)
    return report


def _fields(row: UnitRow, parent_id: int | None) -> dict[str, object]:
    return {
        "code": row.code,
        "kind": row.kind,
        "level": row.level,
        "parent_id": parent_id,
        "valid_from": row.valid_from,
        "valid_to": row.valid_to,
        "lat": row.lat,
        "lon": row.lon,
        "source": row.source,
    }


def first_load(session: Session, data: SeedData) -> SyncReport:
    """Load an empty gazetteer in two statements (every start of every test pays for this)."""
    report = SyncReport()
    rows = [*data.units, *sources.additions()]
    aliases = sources.added_aliases()
    now = utcnow()
    inserted = session.execute(
        insert(Place).returning(Place.id, Place.key, sort_by_parameter_order=True),
        [
            {
                "key": row.key,
                "name": row.name,
                "aliases": list(dict.fromkeys([*row.aliases, *aliases.get(row.key, [])])),
                "note": row.note,
                "in_source": True,
                "created_at": now,
                "updated_at": now,
                **_fields(row, None),
            }
            for row in rows
        ],
    )
    ids = {key: pid for pid, key in inserted}
    session.execute(
        update(Place),
        [{"id": ids[row.key], "parent_id": ids[row.parent_key]} for row in rows if row.parent_key],
    )
    links = [
        {
            "old_id": ids[link.old_key],
            "new_id": ids[link.new_key],
            "whole": link.whole,
            "is_default": link.is_default,
            "source": link.source,
            "note": "",
            "retired_reason": "",
            "created_at": now,
        }
        for link in data.links
    ]
    session.execute(insert(PlaceLink), links)
    report.added = [row.key for row in rows]
    report.links_added = len(links)
    return report


def sync_units(session: Session, data: SeedData) -> SyncReport:
    """Make the package-sourced part of the gazetteer what ``data`` says (see the module)."""
    if session.scalar(select(Place.id).limit(1)) is None:
        report = first_load(session, data)
        _record_versions(session, data, report)
        return report
    report = SyncReport()
    existing = {p.key: p for p in session.scalars(select(Place))}
    touched: set[int] = set()
    rows = list(data.units)
    for row in rows:  # parents come before their children
        place = existing.get(row.key)
        parent_id = existing[row.parent_key].id if row.parent_key else None
        if place is None:
            place = Place(key=row.key, name=row.name, aliases=list(row.aliases), note=row.note)
            for name, value in _fields(row, parent_id).items():
                setattr(place, name, value)
            session.add(place)
            session.flush()
            existing[row.key] = place
            report.added.append(row.key)
            continue
        if place.name != row.name:
            report.renamed.append(f"{place.kind} {place.name} → {row.kind} {row.name} ({row.key})")
            place.aliases = list(dict.fromkeys([*place.aliases, place.name]))
            place.name = row.name
            touched.add(place.id)
        differs = [n for n, v in _fields(row, parent_id).items() if getattr(place, n) != v]
        if differs:
            if {"parent_id", "kind", "valid_from", "valid_to"} & set(differs):
                report.changed.append(f"{row.kind} {row.name} ({row.key}): {', '.join(differs)}")
                touched.add(place.id)
            for name, value in _fields(row, parent_id).items():
                setattr(place, name, value)
        new_aliases = [a for a in row.aliases if a not in place.aliases]
        if new_aliases:
            place.aliases = [*place.aliases, *new_aliases]
        if row.note and row.note not in place.note:
            place.note = (place.note + " " + row.note).strip()
        place.in_source = True
    listed = {row.key for row in rows}
    package_names = tuple(sources.PACKAGES)
    for key, place in existing.items():
        from_package = place.source.startswith(package_names)
        if from_package and key not in listed and place.in_source:
            place.in_source = False
            report.gone.append(f"{place.kind} {place.name} ({key})")
            touched.add(place.id)
    _sync_links(session, data, existing, report, touched)
    _record_versions(session, data, report)
    if touched:
        _reindex_items_at(session, touched)
    for line in report.lines():
        log.info("gazetteer: %s", line)
    return report


def _record_versions(session: Session, data: SeedData, report: SyncReport) -> None:
    for package, installed in data.versions.items():
        source = session.get(GazetteerSource, package) or GazetteerSource(package=package)
        source.version = installed
        source.data_version = data.data_versions.get(package, "")
        source.synced_at = utcnow()
        source.report = report.as_dict()
        session.add(source)
    session.flush()


def _sync_links(
    session: Session,
    data: SeedData,
    places: dict[str, Place],
    report: SyncReport,
    touched: set[int],
) -> None:
    by_id = {p.id: p for p in places.values()}
    links = list(session.scalars(select(PlaceLink)))
    active = {(link.old_id, link.new_id): link for link in links if link.retired_at is None}
    # A link staff retired or made stays as they left it.
    staff_decided = {
        (link.old_id, link.new_id)
        for link in links
        if link.retired_by_id is not None or link.created_by_id is not None
    }
    wanted = {}
    for row in data.links:
        pair = (places[row.old_key].id, places[row.new_key].id)
        wanted[pair] = row
    for pair, row in wanted.items():
        if pair in active or pair in staff_decided:
            continue
        session.add(
            PlaceLink(
                old_id=pair[0],
                new_id=pair[1],
                whole=row.whole,
                is_default=row.is_default,
                source=row.source,
            )
        )
        report.links_added += 1
        touched.update(pair)
    for pair, link in active.items():
        if pair not in wanted and link.created_by_id is None:
            link.retired_at = utcnow()
            link.retired_reason = "Gói dữ liệu không còn liên kết này."
            old, new = by_id[pair[0]], by_id[pair[1]]
            report.links_retired.append(f"{old.kind} {old.name} → {new.kind} {new.name}")
            touched.update(pair)


def _reindex_items_at(session: Session, place_ids: set[int]) -> None:
    """Re-index, after the commit, the items placed at those places or inside them."""
    from collection.places.service import affected_items

    for item_id in affected_items(session, place_ids):
        schedule_sync(session, item_id)


def adopt_legacy(session: Session, report: SyncReport) -> None:
    """Link the free-text places of items and points from before the gazetteer to its units.
    They were names from the old list of district-level units ("Đông Sơn", "Thành phố Sầm
    Sơn", "Toàn tỉnh Thanh Hóa"), so they are read as such; a name no unit matches stays."""
    from collection.places.service import gazetteer

    items = list(session.scalars(select(Item).where(Item.legacy_place != "")))
    points = list(session.scalars(select(AccessPoint).where(AccessPoint.legacy_district != "")))
    if not items and not points:
        return
    gaz = gazetteer(session)
    kinds = (*DISTRICT_KINDS, "province")
    for item in items:
        try:
            place = gaz.resolve(item.legacy_place, kinds=kinds)
        except InvalidInput:  # an unknown name is kept as written, and reported
            report.unmatched.append(f"tài liệu {item.id}: «{item.legacy_place}»")
            continue
        if all(p.place_id != place.id for p in item.places):
            item.places.append(ItemPlace(place_id=place.id, position=len(item.places)))
        report.adopted.append(f"tài liệu {item.id}: «{item.legacy_place}» → {gaz.label(place.id)}")
        item.legacy_place = ""
        schedule_sync(session, item.id)
    for point in points:
        try:
            place = gaz.resolve(point.legacy_district, kinds=DISTRICT_KINDS)
        except InvalidInput:
            report.unmatched.append(f"điểm {point.id}: «{point.legacy_district}»")
            continue
        point.district_id = place.id
        report.adopted.append(f"điểm {point.id}: «{point.legacy_district}» → {gaz.label(place.id)}")
        point.legacy_district = ""
    session.flush()
