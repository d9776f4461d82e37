"""A request's arguments checked against its verb (OAI-PMH 2.0 §3.1 and §4), and the
datestamps of ``from`` and ``until`` (§3.3: day or second granularity, both the same)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from collection.oai.errors import OaiError

VERBS: dict[str, tuple[frozenset[str], frozenset[str], bool]] = {
    # verb: (required, optional, may be resumed with an exclusive resumptionToken)
    "Identify": (frozenset(), frozenset(), False),
    "ListMetadataFormats": (frozenset(), frozenset({"identifier"}), False),
    "ListSets": (frozenset(), frozenset(), True),
    "ListIdentifiers": (frozenset({"metadataPrefix"}), frozenset({"from", "until", "set"}), True),
    "ListRecords": (frozenset({"metadataPrefix"}), frozenset({"from", "until", "set"}), True),
    "GetRecord": (frozenset({"identifier", "metadataPrefix"}), frozenset(), False),
}

# setSpec in the OAI-PMH schema (setSpecType)
_SET_SPEC = re.compile(r"^[A-Za-z0-9\-_.!~*'()]+(:[A-Za-z0-9\-_.!~*'()]+)*$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SECOND = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


@dataclass(frozen=True)
class OaiRequest:
    verb: str
    arguments: dict[str, str]  # without the verb


def parse_request(pairs: list[tuple[str, str]]) -> OaiRequest:
    """The verb and its arguments, or OaiError(badVerb | badArgument) naming what is wrong."""
    verbs = [value for name, value in pairs if name == "verb"]
    if not verbs:
        raise OaiError("badVerb", "The request has no verb argument.")
    if len(verbs) > 1:
        raise OaiError("badVerb", "The verb argument is repeated.")
    verb = verbs[0]
    if verb not in VERBS:
        raise OaiError("badVerb", f"{verb!r} is not an OAI-PMH verb.")
    required, optional, resumable = VERBS[verb]
    allowed = required | optional | ({"resumptionToken"} if resumable else set())
    arguments: dict[str, str] = {}
    problems: list[str] = []
    for name, value in pairs:
        if name == "verb":
            continue
        if name not in allowed:
            problems.append(f"{name!r} is not an argument of {verb}")
        elif name in arguments:
            problems.append(f"{name} is repeated")
        elif value == "":
            problems.append(f"{name} is empty")
        else:
            arguments[name] = value
    if "resumptionToken" in arguments:
        if len(arguments) > 1:
            problems.append("resumptionToken is an exclusive argument")
    else:
        problems += [f"{verb} needs {name}" for name in sorted(required - arguments.keys())]
    if problems:
        raise OaiError("badArgument", "; ".join(dict.fromkeys(problems)) + ".")
    if "set" in arguments and not _SET_SPEC.match(arguments["set"]):
        raise OaiError("badArgument", "set is not a setSpec.")
    date_range(arguments.get("from"), arguments.get("until"))  # checked before any lookup
    return OaiRequest(verb, arguments)


@dataclass(frozen=True)
class DateRange:
    start: datetime | None  # inclusive
    end: datetime | None  # exclusive: the end of the day or second ``until`` names


def parse_datestamp(text: str) -> tuple[datetime, timedelta]:
    """A UTC datetime and its granularity (a day or a second), or OaiError(badArgument)."""
    if _DAY.match(text):
        form, step = "%Y-%m-%d", timedelta(days=1)
    elif _SECOND.match(text):
        form, step = "%Y-%m-%dT%H:%M:%SZ", timedelta(seconds=1)
    else:
        raise OaiError(
            "badArgument", f"{text!r} is not a date (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)."
        )
    try:
        return datetime.strptime(text, form).replace(tzinfo=UTC), step
    except ValueError:
        raise OaiError("badArgument", f"{text!r} is not a date that exists.") from None


def date_range(from_: str | None, until: str | None) -> DateRange:
    """``from`` and ``until`` as a half-open UTC range (badArgument if they disagree)."""
    start = parse_datestamp(from_) if from_ else None
    end = parse_datestamp(until) if until else None
    if start and end:
        if start[1] != end[1]:
            raise OaiError("badArgument", "from and until have different granularities.")
        if start[0] > end[0]:
            raise OaiError("badArgument", "from is later than until.")
    return DateRange(start[0] if start else None, end[0] + end[1] if end else None)


def datestamp(moment: datetime) -> str:
    """A UTC datestamp at the repository's granularity (seconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
