"""The gazetteer for staff: find a place, see where it lies and what it became, give it other
names, add a village or a former name under it, and correct which new units an old one became
(the old link is retired with the reason, not deleted). Each form calls the places service."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from collection.api.deps import DbSession
from collection.errors import CollectionError, NotFound
from collection.ids import Id
from collection.models import Place, User
from collection.places import service as places
from collection.places.schemas import LinksIn, PlaceIn
from collection.web.staff import Cataloguer, StaffUser, done, page, refusal, staff_router
from collection.web.staff_items import Form

router = staff_router()


def _lines(text: str) -> list[str]:
    return [part.strip() for line in text.splitlines() for part in line.split(";") if part.strip()]


@router.get("/staff/dia-danh", response_class=HTMLResponse)
def place_list(
    request: Request,
    session: DbSession,
    user: StaffUser,
    q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    gaz = places.gazetteer(session)
    return page(
        request,
        "staff/places.html",
        user,
        {"q": q, "matches": gaz.lookup(q, limit=50) if q.strip() else [], "count": len(gaz.places)},
    )


@router.get("/staff/dia-danh/so/{place_id}")
def place_by_id(place_id: Id, session: DbSession, _user: StaffUser) -> Response:
    place = session.get(Place, place_id)
    if place is None:
        raise NotFound("Không có địa danh này.", message_en=f"no place {place_id}")
    return RedirectResponse(f"/staff/dia-danh/{place.key}", status_code=303)


def _place_page(
    request: Request,
    session: Session,
    user: User,
    key: str,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    error: str | None = None,
) -> Response:
    place = places.get_place(session, key)
    gaz = places.gazetteer(session)
    view = gaz.places[place.id]
    used = places.uses(session, place.id)
    return page(
        request,
        "staff/place.html",
        user,
        {
            "place": view,
            "label": gaz.title(place.id),
            "hierarchy": gaz.hierarchy(place.id),
            "inside": [gaz.match(c) for c in gaz.children.get(place.id, [])][:300],
            "links": places.links_of(session, key),
            "uses": used,
            "values": {
                "aliases": "\n".join(view.aliases),
                "note": view.note,
                "new": "; ".join(gaz.label(n) for n in gaz.successors.get(place.id, [])),
                "new_name": "",
                "new_kind": "",
                "new_aliases": "",
                **(values or {}),
            },
            "errors": errors or {},
            "search_url": f"/tim-kiem?place={view.key}",
        },
        status_code=status_code,
        error=error,
    )


def _refused(
    request: Request,
    session: Session,
    user: User,
    key: str,
    typed: dict[str, str],
    exc: ValidationError | CollectionError,
    *,
    field_prefix: str = "",
) -> Response:
    """The place page again after a refused form: what was typed, the fields marked."""
    session.rollback()
    errors, status, message = refusal(exc)
    errors = {k if k.startswith(field_prefix) else field_prefix + k: v for k, v in errors.items()}
    return _place_page(
        request, session, user, key, values=typed, errors=errors, status_code=status, error=message
    )


@router.get("/staff/dia-danh/{key}", response_class=HTMLResponse)
def place_page(key: str, request: Request, session: DbSession, user: StaffUser) -> Response:
    return _place_page(request, session, user, key)


@router.post("/staff/dia-danh/{key}", response_class=HTMLResponse)
def save_names(
    key: str, request: Request, session: DbSession, user: Cataloguer, form: Form
) -> Response:
    """Other names and the note of a place (a staff-added name may also be renamed)."""
    place = places.get_place(session, key)
    typed = {"aliases": str(form.get("aliases", "")), "note": str(form.get("note", ""))}
    try:
        data = PlaceIn(
            name=str(form.get("name", place.name)),
            kind=str(form.get("kind", place.kind)),
            under=place.parent.key if place.parent else key,
            aliases=_lines(typed["aliases"]),
            note=typed["note"],
            valid_from=place.valid_from,
            valid_to=place.valid_to,
        )
        places.update_place(session=session, actor=user, key=key, data=data)
    except (ValidationError, CollectionError) as exc:
        return _refused(request, session, user, key, typed, exc)
    return done(f"/staff/dia-danh/{key}", "da-luu")


@router.post("/staff/dia-danh/{key}/them", response_class=HTMLResponse)
def add_inside(
    key: str, request: Request, session: DbSession, user: Cataloguer, form: Form
) -> Response:
    """A village, a former or local name under this place."""
    typed = {k: str(form.get(k, "")) for k in ("new_name", "new_kind", "new_aliases")}
    try:
        data = PlaceIn(
            name=typed["new_name"],
            kind=typed["new_kind"] or "địa danh",
            under=key,
            aliases=_lines(typed["new_aliases"]),
        )
        added = places.add_place(session=session, actor=user, data=data)
    except (ValidationError, CollectionError) as exc:
        return _refused(request, session, user, key, typed, exc, field_prefix="new_")
    return done(f"/staff/dia-danh/{added.key}", "da-tao")


@router.post("/staff/dia-danh/{key}/lien-ket", response_class=HTMLResponse)
def save_links(
    key: str, request: Request, session: DbSession, user: Cataloguer, form: Form
) -> Response:
    """Which new units an old one became, with the decision that says so."""
    typed = {"new": str(form.get("new", "")), "note": str(form.get("note", ""))}
    try:
        data = LinksIn(new=places.place_values([typed["new"]]), note=typed["note"])
        places.set_successors(session=session, actor=user, key=key, data=data)
    except (ValidationError, CollectionError) as exc:
        return _refused(request, session, user, key, typed, exc)
    return done(f"/staff/dia-danh/{key}", "lien-ket")
