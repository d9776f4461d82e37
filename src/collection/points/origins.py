"""Web origins of the sites that embed the widget, parsed as origins (RFC 6454): a scheme
(http or https), a host (a DNS name, Vietnamese letters written in punycode as browsers send
them, or an IP address) and a port. Nothing else may pass: an origin is written into the
widget frame's Content-Security-Policy, where a ``;`` or a space would add a directive."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def normal_origin(value: str) -> str:
    """``scheme://host[:port]`` in lower case, without the scheme's default port; "" if
    ``value`` is not an origin."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    if (
        scheme not in ("http", "https")
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username is not None
        or parts.password is not None
        or not parts.hostname
    ):
        return ""
    host = _host(parts.hostname)
    if not host:
        return ""
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")


def _host(name: str) -> str:
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        pass
    else:
        return f"[{address}]" if address.version == 6 else str(address)
    try:
        ascii_name = name.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        return ""
    labels = ascii_name.split(".")
    return ascii_name if all(_LABEL.match(label) for label in labels) else ""
