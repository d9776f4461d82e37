"""Per-address limits on what costs the most for anyone to ask: searches and login attempts.

A public PC is shared by a queue of citizens, and an access point's PCs often reach us through
one NAT'ed address; the limits are set from what such a PC measurably does
(tests/test_rate_limits.py: a citizen typing with the results updating as they type) with
headroom, and an address inside an access point's IP ranges gets the larger allowance of a
room full of PCs. IPv6 addresses are limited per /64 (what one household or device is given).

Buckets live in each web process (like the widget's per-key limit): with several web workers
an address may make up to that many times as many requests."""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections.abc import Callable

from fastapi import Request

from collection.config import Settings
from collection.errors import TooManyRequests
from collection.points.service import Point

_PRUNE_EVERY = 4096  # takes between two sweeps of buckets that have refilled


class TokenBuckets:
    """A token bucket per key: ``capacity`` requests at once, refilled at ``per_second``."""

    def __init__(
        self, capacity: float, per_second: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.capacity = float(capacity)
        self.per_second = per_second
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key → (tokens, at)
        self._takes = 0

    def take(self, key: str, *, capacity: float | None = None) -> float:
        """0 if one request may go now (and count it), else the seconds until one may."""
        full = self.capacity if capacity is None else capacity
        rate = self.per_second * full / self.capacity
        now = self._clock()
        with self._lock:
            self._takes += 1
            if self._takes % _PRUNE_EVERY == 0:
                self._prune(now)
            tokens, at = self._buckets.get(key, (full, now))
            tokens = min(full, tokens + (now - at) * rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / rate

    def _prune(self, now: float) -> None:
        # A bucket refilled to the smallest capacity is the same as no bucket: forget it, so
        # addresses seen once do not accumulate.
        refill = self.capacity / self.per_second
        for key in [k for k, (_, at) in self._buckets.items() if now - at >= refill]:
            del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)


def refuse_if_waiting(wait: float, message: str, message_en: str) -> None:
    """TooManyRequests with Retry-After (whole seconds, at least 1) when a bucket says wait."""
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise TooManyRequests(
            f"{message} Vui lòng thử lại sau {seconds} giây.",
            message_en=f"{message_en}; retry in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )


def address_key(address: str | None) -> str:
    """The address a limit counts: IPv4 as is, IPv6 by its /64."""
    if not address:
        return "-"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:100]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(parsed) >> 64 << 64, 64)))
    return str(parsed)


class AddressLimits:
    """Searches and login attempts per address, an access point's addresses allowed more."""

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.searches = TokenBuckets(
            settings.searches_per_minute, settings.searches_per_minute / 60.0, clock=clock
        )
        self.point_searches = float(settings.point_searches_per_minute)
        self.logins = TokenBuckets(
            settings.logins_per_hour, settings.logins_per_hour / 3600.0, clock=clock
        )

    def check_search(self, address: str | None, point: Point | None) -> None:
        """TooManyRequests (Retry-After, in Vietnamese) when this address searches too fast."""
        capacity = max(self.point_searches, self.searches.capacity) if point else None
        refuse_if_waiting(
            self.searches.take(address_key(address), capacity=capacity),
            "Có quá nhiều lượt tìm kiếm từ địa chỉ mạng này trong thời gian ngắn.",
            "too many searches from this address",
        )

    def check_login(self, address: str | None) -> None:
        """TooManyRequests when this address tries to log in too often (any e-mail)."""
        refuse_if_waiting(
            self.logins.take(address_key(address)),
            "Có quá nhiều lần đăng nhập từ địa chỉ mạng này.",
            "too many login attempts from this address",
        )


_lock = threading.Lock()


def limits(request: Request, settings: Settings) -> AddressLimits:
    """The app's limits (kept on the app, so each app — each test — has its own buckets)."""
    with _lock:
        found: AddressLimits | None = getattr(request.app.state, "address_limits", None)
        if found is None:
            found = AddressLimits(settings)
            request.app.state.address_limits = found
        return found


def limit_search(request: Request, settings: Settings) -> None:
    """Count one search for the requester's address (an access point's address allowed more)."""
    from collection.api.audience import client_ip, points

    address = client_ip(request)
    limits(request, settings).check_search(address, points(request).for_ip(address))


def limit_login(request: Request, settings: Settings) -> None:
    """Count one login attempt for the requester's address."""
    from collection.api.audience import client_ip

    limits(request, settings).check_login(client_ip(request))
