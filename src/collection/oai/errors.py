"""The protocol's error conditions (OAI-PMH 2.0 §3.6), by their codes, verbatim.

They are not HTTP errors: the answer is 200 with an ``<error code=…>`` in the response."""

from __future__ import annotations

from typing import Literal

ErrorCode = Literal[
    "badArgument",
    "badResumptionToken",
    "badVerb",
    "cannotDisseminateFormat",
    "idDoesNotExist",
    "noRecordsMatch",
    "noMetadataFormats",
    "noSetHierarchy",
]

# The two whose response must not echo the request's arguments (§3.2: "the repository must
# return the base URL of the protocol request only").
UNECHOED: frozenset[str] = frozenset({"badVerb", "badArgument"})


class OaiError(Exception):
    """One protocol error: its code and a message for the harvester's operator."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message
