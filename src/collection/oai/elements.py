"""Building the response XML with ElementTree: every text and attribute passes through
``clean``, so a character XML 1.0 cannot hold (a control character in a record or an argument)
never makes the whole response unreadable; ElementTree escapes the rest."""

from __future__ import annotations

import re
from xml.etree import ElementTree as ET

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC_NS = "http://purl.org/dc/elements/1.1/"
MARC_NS = "http://www.loc.gov/MARC21/slim"
OAI_IDENTIFIER_NS = "http://www.openarchives.org/OAI/2.0/oai-identifier"
XML_NS = "http://www.w3.org/XML/1998/namespace"

for _prefix, _uri in (
    ("", OAI_NS),
    ("xsi", XSI_NS),
    ("oai_dc", OAI_DC_NS),
    ("dc", DC_NS),
    ("marc", MARC_NS),
    ("oai-identifier", OAI_IDENTIFIER_NS),
):
    ET.register_namespace(_prefix, _uri)

SCHEMA_LOCATION = f"{{{XSI_NS}}}schemaLocation"

# What XML 1.0 allows (§2.2 Char): tab, newline, carriage return, and from U+0020 on, less the
# surrogates and U+FFFE/U+FFFF.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def tag(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


def sub(
    parent: ET.Element, name: str, text: str | None = None, namespace: str = OAI_NS, **attrs: str
) -> ET.Element:
    """A child element ``name`` (in ``namespace``) with cleaned text and attributes."""
    element = ET.SubElement(
        parent, tag(namespace, name), {key: clean(value) for key, value in attrs.items()}
    )
    if text is not None:
        element.text = clean(text)
    return element


def to_bytes(root: ET.Element) -> bytes:
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document
