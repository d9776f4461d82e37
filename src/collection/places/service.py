"""Places as the catalogue, search, points and staff use them: the gazetteer snapshot, placing an
item, the names staff add, and the old → new links staff correct. Services never commit."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from collection.audit import service as audit
from collection.db import utcnow
from collection.errors import Conflict, InvalidInput, NotFound
from collection.models import AccessPoint, Item, ItemPlace, Place, PlaceLevel, PlaceLink, User
from collection.places.gazetteer import Gazetteer, PlaceView, era_flags
from collection.places.schemas import LinkOut, LinksIn, PlaceIn
from collection.search.sync import schedule_sync
from collection.search.vietnamese import fold

MAX_PLACES_PER_ITEM = 20
# Who added a place or link is in the audit log; the public gazetteer says only that staff did.
STAFF_SOURCE = "cán bộ thư viện"
# Searches read the gazetteer as it was at most this long ago: checking that its tables have
# not changed costs two queries (~1 ms with the connection), on every search otherwise.
RECENT_S = 1.0


@dataclass
class _Snapshot:
    stamp: tuple[object, ...]
    gazetteer: Gazetteer
    checked_at: float


_cache: dict[str, _Snapshot] = {}  # by database URL
_checking = threading.Lock()


def _stamp(session: Session) -> tuple[object, ...]:
    places = session.execute(select(func.count(Place.id), func.max(Place.updated_at))).one()
    links = session.execute(select(func.count(PlaceLink.id), func.max(PlaceLink.retired_at))).one()
    return (*places, *links)


def forget() -> None:
    """Check the tables again on the next read (after places changed in this process)."""
    for snapshot in list(_cache.values()):
        snapshot.checked_at = -float("inf")


@event.listens_for(Session, "after_flush")
def _places_written(session: Session, _context: object) -> None:
    if any(
        isinstance(row, Place | PlaceLink)
        for row in (*session.new, *session.dirty, *session.deleted)
    ):
        forget()


def recent_gazetteer(session: Session) -> Gazetteer:
    """The gazetteer as it was at most RECENT_S ago (or as changed since by this process):
    for searches, which only label and expand places. One thread checks the tables; searches
    meanwhile take the snapshot they have (forty threads all checked at once before)."""
    snapshot = _cache.get(str(session.get_bind().engine.url))
    if snapshot is None:
        return gazetteer(session)
    if time.monotonic() - snapshot.checked_at < RECENT_S or not _checking.acquire(blocking=False):
        return snapshot.gazetteer
    try:
        return gazetteer(session)
    finally:
        _checking.release()


def gazetteer(session: Session) -> Gazetteer:
    """The gazetteer as the database has it now (rebuilt only when its tables changed)."""
    url = str(session.get_bind().engine.url)
    checked_at = time.monotonic()
    stamp = _stamp(session)
    found = _cache.get(url)
    if found is not None and found.stamp == stamp:
        found.checked_at = checked_at
        return found.gazetteer
    views = []
    for place in session.scalars(select(Place)):
        is_old, is_new = era_flags(place.valid_from, place.valid_to)
        views.append(
            PlaceView(
                id=place.id,
                key=place.key,
                code=place.code,
                name=place.name,
                kind=place.kind,
                level=place.level,
                parent_id=place.parent_id,
                is_old=is_old,
                is_new=is_new,
                lat=place.lat,
                lon=place.lon,
                aliases=tuple(place.aliases),
                valid_from=place.valid_from,
                valid_to=place.valid_to,
                note=place.note,
                source=place.source,
                in_source=place.in_source,
            )
        )
    links = session.execute(
        select(PlaceLink.old_id, PlaceLink.new_id).where(PlaceLink.retired_at.is_(None))
    )
    built = Gazetteer.build(views, [(old, new) for old, new in links])
    _cache[url] = _Snapshot(stamp, built, checked_at)
    return built


def filter_keys(session: Session, values: Iterable[str]) -> tuple[str, ...]:
    """The place keys a search filter means: a key as it is; a name every place so named (a
    reader filtering by "Đông Sơn" means all of them). InvalidInput, with the nearest names,
    when a value names no place."""
    values = list(values)
    if not values:
        return ()  # most searches: no need to read the gazetteer
    gaz = recent_gazetteer(session)
    keys: list[str] = []
    for value in values:
        if value in gaz.by_key:
            keys.append(value)
            continue
        found = gaz.candidates(value)
        if not found:
            gaz.resolve(value, field="place")  # raises, with suggestions
        keys += [gaz.places[pid].key for pid in found]
    return tuple(dict.fromkeys(keys))


def facet_labels(session: Session, facets: dict[str, list[Any]]) -> None:
    """Give the place facet's values (keys) their labels, in place."""
    values = facets.get("place")
    if not values:
        return
    gaz = recent_gazetteer(session)
    for value in values:
        place = gaz.by_key.get(str(value.value))
        value.label = gaz.label(place.id) if place else str(value.value)


def place_values(values: Iterable[str]) -> list[str]:
    """What a form or sheet cell holds as separate places ("A; B" or one per line)."""
    return [p.strip() for v in values for p in re.split(r"[;\n]", v) if p.strip()]


def resolve_all(session: Session, values: Iterable[str], *, field: str = "place") -> list[int]:
    """The place ids that ``values`` name, in order, without repeats; every value that does
    not name exactly one place is reported in one InvalidInput."""
    gaz = gazetteer(session)
    ids: list[int] = []
    problems: list[str] = []
    for value in place_values(values):
        try:
            pid = gaz.resolve(value, field=field).id
        except InvalidInput as exc:
            problems.append(exc.message)
            continue
        if pid not in ids:
            ids.append(pid)
    if problems:
        raise InvalidInput(" ".join(problems), message_en="unresolved places", field=field)
    if len(ids) > MAX_PLACES_PER_ITEM:
        raise InvalidInput(
            f"Một tài liệu có tối đa {MAX_PLACES_PER_ITEM} địa danh.",
            message_en=f"at most {MAX_PLACES_PER_ITEM} places",
            field=field,
        )
    return ids


def set_item_places(session: Session, item: Item, values: Iterable[str]) -> None:
    """Place ``item`` at the places ``values`` name (replacing its places)."""
    ids = resolve_all(session, values)
    if [p.place_id for p in item.places] == ids:
        return
    item.places = [ItemPlace(place_id=pid, position=n) for n, pid in enumerate(ids)]
    item.updated_at = utcnow()  # the item changed: its version moves, so concurrent edits clash


def item_labels(gaz: Gazetteer, item: Item) -> list[str]:
    """The labels of the item's places, in order (what the API and the form show)."""
    return [gaz.label(p.place_id) for p in item.places if p.place_id in gaz.places]


def affected_items(session: Session, place_ids: Iterable[int]) -> set[int]:
    """Items whose search documents change when these places (or their links) change: those
    placed at them, inside them, or at the places they are linked with."""
    gaz = gazetteer(session)
    around: set[int] = set()
    for pid in place_ids:
        if pid not in gaz.places:
            continue
        linked = [*gaz.successors.get(pid, []), *gaz.predecessors.get(pid, [])]
        for p in [pid, *linked]:
            around.add(p)
            around.update(gaz.descendants(p))
    if not around:
        return set()
    rows = session.scalars(select(ItemPlace.item_id).where(ItemPlace.place_id.in_(around)))
    return set(rows)


def get_place(session: Session, key: str) -> Place:
    place = session.scalar(select(Place).where(Place.key == key))
    if place is None:
        raise NotFound(f"Không có địa danh mã «{key}».", message_en=f"no place {key!r}")
    return place


@dataclass(frozen=True)
class PlaceUse:
    items: int
    points: int


def uses(session: Session, place_id: int) -> PlaceUse:
    items = session.scalar(
        select(func.count()).select_from(ItemPlace).where(ItemPlace.place_id == place_id)
    )
    points = session.scalar(
        select(func.count())
        .select_from(AccessPoint)
        .where((AccessPoint.commune_id == place_id) | (AccessPoint.district_id == place_id))
    )
    return PlaceUse(items or 0, points or 0)


def _place_fields(place: Place) -> dict[str, object]:
    return {
        "name": place.name,
        "kind": place.kind,
        "parent": place.parent.key if place.parent else None,
        "aliases": list(place.aliases),
        "note": place.note,
    }


def _duplicate_name(session: Session, parent: Place, kind: str, name: str, own: int | None) -> None:
    gaz = gazetteer(session)
    for child in gaz.children.get(parent.id, []):
        view = gaz.places[child]
        if child != own and view.kind == kind and fold(view.name).lower() == fold(name).lower():
            raise Conflict(
                f"Đã có «{gaz.label(child)}» (mã {view.key}).",
                message_en=f"{view.key} already has that name under {parent.key}",
            )


def add_place(*, session: Session, actor: User, data: PlaceIn) -> Place:
    """A local or historical name (a village, a former name) under a unit."""
    parent = get_place(session, data.under)
    _duplicate_name(session, parent, data.kind, data.name, None)
    place = Place(
        key="dp-tmp",
        name=data.name,
        kind=data.kind,
        level=PlaceLevel.LOCAL,
        parent_id=parent.id,
        valid_from=data.valid_from,
        valid_to=data.valid_to,
        lat=data.lat if data.lat is not None else parent.lat,
        lon=data.lon if data.lon is not None else parent.lon,
        aliases=data.aliases,
        note=data.note,
        source=STAFF_SOURCE,
        created_by_id=actor.id,
    )
    session.add(place)
    session.flush()
    place.key = f"dp-{place.id}"
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="place.create",
        target_type="place",
        target_id=place.id,
        summary=f"{place.kind} {place.name}",
        changes=audit.diff({}, _place_fields(place)),
    )
    return place


def update_place(*, session: Session, actor: User, key: str, data: PlaceIn) -> Place:
    """Save an edit of a place. A unit from the packages keeps its name, kind and parent (the
    next sync would restore them); staff give it other names and a note."""
    place = get_place(session, key)
    before = _place_fields(place)
    if place.level == PlaceLevel.LOCAL:
        parent = get_place(session, data.under)
        if parent.id == place.id or parent.id in gazetteer(session).descendants(place.id):
            raise InvalidInput(
                "Một địa danh không thể nằm trong chính nó.",
                message_en="a place cannot lie in itself",
                field="under",
            )
        _duplicate_name(session, parent, data.kind, data.name, place.id)
        place.name, place.kind, place.parent_id = data.name, data.kind, parent.id
        place.valid_from, place.valid_to = data.valid_from, data.valid_to
        if data.lat is not None and data.lon is not None:
            place.lat, place.lon = data.lat, data.lon
    elif (data.name, data.kind) != (place.name, place.kind):
        raise InvalidInput(
            "Tên và loại của đơn vị hành chính lấy từ dữ liệu chính thức; chỉ thêm được tên "
            "gọi khác và ghi chú.",
            message_en="package units keep their name and kind; add aliases instead",
            field="name",
        )
    place.aliases, place.note = data.aliases, data.note
    changes = audit.diff(before, _place_fields(place))
    if changes:
        audit.record(
            session,
            actor=actor,
            action="place.update",
            target_type="place",
            target_id=place.id,
            summary=f"{place.kind} {place.name}",
            changes=changes,
        )
    session.flush()
    for item_id in affected_items(session, {place.id}):
        schedule_sync(session, item_id)
    return place


def delete_place(*, session: Session, actor: User, key: str) -> None:
    """Remove a name staff added, when nothing is placed there and nothing lies inside it."""
    place = get_place(session, key)
    if place.level != PlaceLevel.LOCAL:
        raise InvalidInput(
            "Không xóa được đơn vị hành chính lấy từ dữ liệu chính thức.",
            message_en="package units cannot be deleted",
        )
    used = uses(session, place.id)
    inside = session.scalar(select(func.count()).where(Place.parent_id == place.id)) or 0
    if used.items or used.points or inside:
        raise Conflict(
            f"Không xóa được «{place.kind} {place.name}»: còn {used.items} tài liệu, "
            f"{used.points} điểm truy cập và {inside} địa danh bên trong gắn với nó.",
            message_en=f"{key} is in use",
        )
    audit.record(
        session,
        actor=actor,
        action="place.delete",
        target_type="place",
        target_id=place.id,
        summary=f"{place.kind} {place.name}",
        changes=audit.diff(_place_fields(place), {}),
    )
    session.delete(place)
    session.flush()


def links_of(session: Session, key: str) -> list[LinkOut]:
    """Every link of a place, the retired ones too (its history), newest first."""
    place = get_place(session, key)
    gaz = gazetteer(session)
    rows = session.scalars(
        select(PlaceLink)
        .where((PlaceLink.old_id == place.id) | (PlaceLink.new_id == place.id))
        .order_by(PlaceLink.retired_at.is_not(None), PlaceLink.id.desc())
    )
    return [
        LinkOut(
            id=link.id,
            old=gaz.label(link.old_id),
            new=gaz.label(link.new_id),
            old_key=gaz.places[link.old_id].key,
            new_key=gaz.places[link.new_id].key,
            whole=link.whole,
            is_default=link.is_default,
            source=link.source,
            note=link.note,
            created_at=link.created_at.isoformat(timespec="minutes"),
            retired_at=link.retired_at.isoformat(timespec="minutes") if link.retired_at else None,
            retired_reason=link.retired_reason,
        )
        for link in rows
    ]


def set_successors(*, session: Session, actor: User, key: str, data: LinksIn) -> list[LinkOut]:
    """Say which new units an old unit became (a later decision changed it): links no longer
    given are retired with the reason, new ones added; the history stays."""
    old = get_place(session, key)
    gaz = gazetteer(session)
    if not gaz.places[old.id].is_old:
        raise InvalidInput(
            "Chỉ đơn vị trước 01/07/2025 mới có đơn vị kế tiếp.",
            message_en="only units from before 1 July 2025 become new ones",
            field="new",
        )
    if not data.note.strip():
        raise InvalidInput(
            "Hãy ghi căn cứ của thay đổi (số quyết định, nghị quyết hoặc lý do).",
            message_en="say why (the decision) the link changes",
            field="note",
        )
    new_ids = resolve_all(session, data.new, field="new")
    for pid in new_ids:
        if not gaz.places[pid].is_new:
            raise InvalidInput(
                f"«{gaz.label(pid)}» không phải đơn vị từ 01/07/2025.",
                message_en=f"{gaz.places[pid].key} is not a unit from 1 July 2025",
                field="new",
            )
    active = list(
        session.scalars(
            select(PlaceLink).where(PlaceLink.old_id == old.id, PlaceLink.retired_at.is_(None))
        )
    )
    before = [gaz.label(link.new_id) for link in active]
    now = utcnow()
    for link in active:
        if link.new_id not in new_ids:
            link.retired_at, link.retired_by_id = now, actor.id
            link.retired_reason = data.note
    kept = {link.new_id for link in active}
    for n, pid in enumerate(new_ids):
        if pid not in kept:
            session.add(
                PlaceLink(
                    old_id=old.id,
                    new_id=pid,
                    whole=len(new_ids) == 1,
                    is_default=n == 0,
                    source=STAFF_SOURCE,
                    note=data.note,
                    created_by_id=actor.id,
                )
            )
    session.flush()
    after = [gaz.label(pid) for pid in new_ids]
    if before != after:
        audit.record(
            session,
            actor=actor,
            action="place.links",
            target_type="place",
            target_id=old.id,
            summary=f"{old.kind} {old.name}: {data.note}"[:500],
            changes={"new": [before, after]},
        )
    touched = {old.id, *new_ids, *(link.new_id for link in active)}
    for item_id in affected_items(session, touched):
        schedule_sync(session, item_id)
    return links_of(session, key)
