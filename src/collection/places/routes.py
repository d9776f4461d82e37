"""The places API: look a place up as one types (anyone: the gazetteer is public), read one with
its hierarchy and history, and, for cataloguers, add local names and correct old → new links."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from collection.accounts.roles import Permission
from collection.api.deps import DbSession, require
from collection.ids import Id
from collection.models import PlaceLevel, User
from collection.places import service
from collection.places.gazetteer import LOOKUP_LIMIT, Gazetteer
from collection.places.schemas import LinkOut, LinksIn, PlaceIn, PlaceOut, PlaceRef

router = APIRouter(prefix="/api/v1", tags=["places"])
Cataloguer = Annotated[User, Depends(require(Permission.CATALOGUE))]


class PlaceMatch(PlaceRef):
    hierarchy: str
    level: PlaceLevel


def place_out(gaz: Gazetteer, place_id: Id) -> PlaceOut:
    place = gaz.places[place_id]
    parent = gaz.places.get(place.parent_id) if place.parent_id is not None else None

    def refs(ids: list[int]) -> list[PlaceRef]:
        return [PlaceRef(key=gaz.places[i].key, label=gaz.label(i)) for i in ids]

    return PlaceOut(
        key=place.key,
        label=gaz.label(place_id),
        code=place.code,
        name=place.name,
        kind=place.kind,
        level=place.level,
        hierarchy=gaz.hierarchy(place_id),
        parent=parent.key if parent else None,
        aliases=list(place.aliases),
        note=place.note,
        source=place.source,
        in_source=place.in_source,
        valid_from=place.valid_from,
        valid_to=place.valid_to,
        lat=place.lat,
        lon=place.lon,
        became=refs(gaz.successors.get(place_id, [])),
        came_from=refs(gaz.predecessors.get(place_id, [])),
    )


@router.get("/places", response_model=list[PlaceMatch], summary="Find a place as one types")
def lookup(
    session: DbSession,
    q: Annotated[
        str, Query(max_length=200, description="Part of a name, with or without diacritics")
    ] = "",
    level: Annotated[list[PlaceLevel] | None, Query(description="Only these levels")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = LOOKUP_LIMIT,
) -> list[PlaceMatch]:
    gaz = service.gazetteer(session)
    return [
        PlaceMatch(key=m.place.key, label=m.label, hierarchy=m.hierarchy, level=m.place.level)
        for m in gaz.lookup(q, limit=limit, levels=level or ())
    ]


@router.get(
    "/places/{key}", response_model=PlaceOut, summary="A place, where it lies, what it became"
)
def get_place(key: str, session: DbSession) -> PlaceOut:
    place = service.get_place(session, key)
    return place_out(service.gazetteer(session), place.id)


@router.post(
    "/places",
    response_model=PlaceOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a local or historical name under a unit",
)
def add_place(body: PlaceIn, session: DbSession, user: Cataloguer) -> PlaceOut:
    place = service.add_place(session=session, actor=user, data=body)
    return place_out(service.gazetteer(session), place.id)


@router.put("/places/{key}", response_model=PlaceOut, summary="Edit a place (other names, note)")
def update_place(key: str, body: PlaceIn, session: DbSession, user: Cataloguer) -> PlaceOut:
    place = service.update_place(session=session, actor=user, key=key, data=body)
    return place_out(service.gazetteer(session), place.id)


@router.delete(
    "/places/{key}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove an unused local name"
)
def delete_place(key: str, session: DbSession, user: Cataloguer) -> Response:
    service.delete_place(session=session, actor=user, key=key)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/places/{key}/links",
    response_model=list[LinkOut],
    summary="The old → new links of a place, retired ones too (its history)",
)
def links(key: str, session: DbSession) -> list[LinkOut]:
    return service.links_of(session, key)


@router.put(
    "/places/{key}/links",
    response_model=list[LinkOut],
    summary="Say which new units an old unit became (a later decision); the history is kept",
)
def set_links(key: str, body: LinksIn, session: DbSession, user: Cataloguer) -> list[LinkOut]:
    return service.set_successors(session=session, actor=user, key=key, data=body)
