"""The six verbs of OAI-PMH 2.0 (``identify``, ``list_metadata_formats``, ``list_sets``,
``list_identifiers``, ``list_records``, ``get_record``) and ``respond``, which answers one
request — errors included — as the protocol's XML document.

What is exposed: published items whose access is public or on-site (their record is public;
their files are not given here). Drafts and staff-only items never appear. An exposed item that
went (deleted, withdrawn, unpublished, made staff-only) appears as a deleted header for ever
(deletedRecord "persistent"; see models/oai.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from xml.etree import ElementTree as ET

from sqlalchemy.orm import Session

from collection.config import Settings
from collection.db import utcnow
from collection.models import Item, OaiTombstone
from collection.models.oai import type_slug
from collection.oai import repository
from collection.oai.arguments import OaiRequest, date_range, datestamp, parse_request
from collection.oai.elements import (
    OAI_IDENTIFIER_NS,
    OAI_NS,
    SCHEMA_LOCATION,
    clean,
    sub,
    tag,
    to_bytes,
)
from collection.oai.errors import UNECHOED, OaiError
from collection.oai.identifiers import (
    admin_email,
    item_id_of,
    oai_base_url,
    oai_identifier,
    repository_identifier,
)
from collection.oai.metadata import METADATA_FORMATS, ItemRecord, MetadataFormat
from collection.oai.resumption_token import ListPosition, decode, encode
from collection.places import service as places
from collection.places.gazetteer import Gazetteer

REPOSITORY_NAME = "Kho số Thanh Hóa — Thư viện tỉnh Thanh Hóa"
GRANULARITY = "YYYY-MM-DDThh:mm:ssZ"
COLLECTION_SETS_NAME = "Bộ sưu tập"
TYPE_SETS_NAME = "Loại tài liệu"


@dataclass(frozen=True)
class Context:
    session: Session
    settings: Settings
    base: str  # the public address the request reached us at (links in records)
    now: datetime


def respond(
    *, session: Session, settings: Settings, base: str, arguments: list[tuple[str, str]]
) -> bytes:
    """The response document to one request: its arguments as sent, repeated ones included."""
    now = utcnow().replace(microsecond=0)
    root = ET.Element(tag(OAI_NS, "OAI-PMH"))
    root.set(SCHEMA_LOCATION, f"{OAI_NS} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd")
    sub(root, "responseDate", datestamp(now))
    echo = sub(root, "request", oai_base_url(base))
    try:
        request = parse_request(arguments)
        echo.set("verb", request.verb)
        for name, value in request.arguments.items():
            echo.set(name, clean(value))
        context = Context(session, settings, base, now)
        root.append(VERBS[request.verb](context, request))
    except OaiError as error:
        if error.code in UNECHOED:
            echo.attrib.clear()
        sub(root, "error", error.message, code=error.code)
    return to_bytes(root)


# --- Identify, ListMetadataFormats, ListSets -----------------------------------------------------


def identify(context: Context, request: OaiRequest) -> ET.Element:
    """What the repository is: name, base URL, datestamps, deletions, identifier scheme."""
    settings = context.settings
    element = ET.Element(tag(OAI_NS, "Identify"))
    earliest = repository.earliest_datestamp(context.session) or context.now
    sub(element, "repositoryName", REPOSITORY_NAME)
    sub(element, "baseURL", oai_base_url(context.base))
    sub(element, "protocolVersion", "2.0")
    sub(element, "adminEmail", admin_email(settings))
    sub(element, "earliestDatestamp", datestamp(earliest))
    sub(element, "deletedRecord", "persistent")
    sub(element, "granularity", GRANULARITY)
    description = sub(element, "description")
    scheme = sub(description, "oai-identifier", namespace=OAI_IDENTIFIER_NS)
    scheme.set(
        SCHEMA_LOCATION,
        f"{OAI_IDENTIFIER_NS} http://www.openarchives.org/OAI/2.0/oai-identifier.xsd",
    )
    sub(scheme, "scheme", "oai", namespace=OAI_IDENTIFIER_NS)
    sub(
        scheme,
        "repositoryIdentifier",
        repository_identifier(settings),
        namespace=OAI_IDENTIFIER_NS,
    )
    sub(scheme, "delimiter", ":", namespace=OAI_IDENTIFIER_NS)
    sub(
        scheme,
        "sampleIdentifier",
        oai_identifier(1, settings=settings),
        namespace=OAI_IDENTIFIER_NS,
    )
    return element


def _found(context: Context, identifier: str) -> Item | OaiTombstone:
    item_id = item_id_of(identifier, settings=context.settings)
    found = repository.find(context.session, item_id) if item_id is not None else None
    if found is None:
        raise OaiError("idDoesNotExist", f"{identifier!r} is unknown in this repository.")
    return found


def list_metadata_formats(context: Context, request: OaiRequest) -> ET.Element:
    """The formats of the repository, or of one item (none for a deleted one)."""
    identifier = request.arguments.get("identifier")
    if identifier is not None and isinstance(_found(context, identifier), OaiTombstone):
        raise OaiError("noMetadataFormats", f"{identifier!r} was deleted: it has no metadata.")
    element = ET.Element(tag(OAI_NS, "ListMetadataFormats"))
    for found in METADATA_FORMATS.values():
        entry = sub(element, "metadataFormat")
        sub(entry, "metadataPrefix", found.prefix)
        sub(entry, "schema", found.schema)
        sub(entry, "metadataNamespace", found.namespace)
    return element


def _sets(context: Context) -> list[tuple[str, str]]:
    """(setSpec, setName) of every set: collections, document types, and the two above them."""
    collections = [
        (f"{repository.COLLECTION_SETS}:{c.slug}", c.title)
        for c in repository.collections(context.session)
    ]
    types = [
        (f"{repository.TYPE_SETS}:{slug}", f"{TYPE_SETS_NAME}: {values[0]}")
        for slug, values in sorted(repository.document_types(context.session).items())
    ]
    found: list[tuple[str, str]] = []
    if collections:
        found += [(repository.COLLECTION_SETS, COLLECTION_SETS_NAME), *collections]
    if types:
        found += [(repository.TYPE_SETS, TYPE_SETS_NAME), *types]
    return found


def list_sets(context: Context, request: OaiRequest) -> ET.Element:
    """Collections (``collection:<slug>``) and document types (``type:<name>``)."""
    if "resumptionToken" in request.arguments:
        raise OaiError("badResumptionToken", "ListSets is answered whole: it has no tokens.")
    sets = _sets(context)
    if not sets:
        raise OaiError("noSetHierarchy", "The repository has no sets yet.")
    element = ET.Element(tag(OAI_NS, "ListSets"))
    for spec, name in sets:
        entry = sub(element, "set")
        sub(entry, "setSpec", spec)
        sub(entry, "setName", name)
    return element


# --- ListIdentifiers, ListRecords, GetRecord -----------------------------------------------------


def _format(prefix: str) -> MetadataFormat:
    found = METADATA_FORMATS.get(prefix)
    if found is None:
        raise OaiError(
            "cannotDisseminateFormat",
            f"{prefix!r} is not a format of this repository (oai_dc, marc21).",
        )
    return found


def _header(parent: ET.Element, context: Context, record: Item | OaiTombstone) -> None:
    settings = context.settings
    if isinstance(record, OaiTombstone):
        header = sub(parent, "header", status="deleted")
        sub(header, "identifier", oai_identifier(record.item_id, settings=settings))
        sub(header, "datestamp", datestamp(record.datestamp))
        collection, kind = record.collection_slug, record.type_slug
    else:
        header = sub(parent, "header")
        sub(header, "identifier", oai_identifier(record.id, settings=settings))
        sub(header, "datestamp", datestamp(record.updated_at))
        collection = record.collection.slug if record.collection else None
        kind = type_slug(record.document_type) or None
    if collection:
        sub(header, "setSpec", f"{repository.COLLECTION_SETS}:{collection}")
    if kind:
        sub(header, "setSpec", f"{repository.TYPE_SETS}:{kind}")


def _record(
    parent: ET.Element,
    context: Context,
    record: Item | OaiTombstone,
    metadata_format: MetadataFormat,
    gazetteer: Gazetteer,
) -> None:
    element = sub(parent, "record")
    _header(element, context, record)
    if isinstance(record, OaiTombstone):
        return
    labels = places.item_labels(gazetteer, record)
    if record.legacy_place.strip():
        labels.append(record.legacy_place.strip())
    metadata = sub(element, "metadata")
    metadata_format.write(
        metadata,
        ItemRecord(
            item=record,
            url=f"{context.base}/tai-lieu/{record.id}",
            places=labels,
            collection_title=record.collection.title if record.collection else None,
        ),
    )


def _list(context: Context, request: OaiRequest, *, with_metadata: bool) -> ET.Element:
    token = request.arguments.get("resumptionToken")
    secret = context.settings.app_secret()
    position: ListPosition | None = None
    if token is not None:
        position = decode(token, verb=request.verb, secret=secret, now=context.now)
        prefix, set_spec = position.metadata_prefix, position.set_spec
        from_, until = position.from_, position.until
    else:
        prefix, set_spec = request.arguments["metadataPrefix"], request.arguments.get("set")
        from_, until = request.arguments.get("from"), request.arguments.get("until")
    metadata_format = _format(prefix)
    try:
        dates = date_range(from_, until)
    except OaiError:
        raise OaiError("badResumptionToken", "The resumptionToken is invalid.") from None
    if set_spec is not None and not _sets(context):
        raise OaiError("noSetHierarchy", "The repository has no sets yet.")
    selection = repository.Selection(set_spec, dates.start, dates.end)
    limit = context.settings.oai_page_size
    after = position.after if position else None
    session = context.session
    candidates: list[tuple[datetime, int, Item | OaiTombstone]] = [
        *(
            (i.updated_at, i.id, i)
            for i in repository.items_after(session, selection, after, limit + 1)
        ),
        *(
            (t.datestamp, t.item_id, t)
            for t in repository.tombstones_after(session, selection, after, limit + 1)
        ),
    ]
    candidates.sort(key=lambda c: (c[0], c[1]))
    page, more = candidates[:limit], len(candidates) > limit
    if not page:
        raise OaiError("noRecordsMatch", "No record matches these arguments.")
    cursor = position.cursor if position else 0
    size = position.complete_list_size if position else repository.count(session, selection)
    size = max(size, cursor + len(page) + (1 if more else 0))
    element = ET.Element(tag(OAI_NS, request.verb))
    gazetteer = places.gazetteer(session) if with_metadata else None
    for _, _, record in page:
        if gazetteer is not None:
            _record(element, context, record, metadata_format, gazetteer)
        else:
            _header(element, context, record)
    if more:
        moment, item_id, _ = page[-1]
        next_position = ListPosition(
            verb=request.verb,
            metadata_prefix=prefix,
            set_spec=set_spec,
            from_=from_,
            until=until,
            after=(moment, item_id),
            cursor=cursor + len(page),
            complete_list_size=size,
            issued=context.now,
        )
        sub(
            element,
            "resumptionToken",
            encode(next_position, secret=secret),
            expirationDate=datestamp(next_position.expires),
            completeListSize=str(size),
            cursor=str(cursor),
        )
    elif position is not None:
        # The last part of a list sent in parts ends with an empty token (§3.5).
        sub(element, "resumptionToken", completeListSize=str(size), cursor=str(cursor))
    return element


def list_identifiers(context: Context, request: OaiRequest) -> ET.Element:
    """Headers of the records selected, a page at a time."""
    return _list(context, request, with_metadata=False)


def list_records(context: Context, request: OaiRequest) -> ET.Element:
    """Records (header and metadata; deleted ones header only), a page at a time."""
    return _list(context, request, with_metadata=True)


def get_record(context: Context, request: OaiRequest) -> ET.Element:
    """One record in one format."""
    metadata_format = _format(request.arguments["metadataPrefix"])
    found = _found(context, request.arguments["identifier"])
    element = ET.Element(tag(OAI_NS, "GetRecord"))
    _record(element, context, found, metadata_format, places.gazetteer(context.session))
    return element


VERBS = {
    "Identify": identify,
    "ListMetadataFormats": list_metadata_formats,
    "ListSets": list_sets,
    "ListIdentifiers": list_identifiers,
    "ListRecords": list_records,
    "GetRecord": get_record,
}
