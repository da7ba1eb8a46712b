"""Autumn's rate limits, route by route, with its headers and its 429 answers.

Fixed windows per organisation and environment (this server is one
organisation), some per customer too, counted before the body is validated:

- ``balances.create`` (and the ``features.*`` extras): 25 requests per
  second, shared, as Autumn's general limit.
- ``balances.update``: 10,000 per second per customer.
- ``customers.get`` / ``get_or_create``: 10,000 per second per customer,
  inside an organisation cap of 240,000 per minute.
- ``entities.get``: 50 per second per customer, inside 90,000 per minute.
- ``balances.check``: 10,000 per second per customer, sharing the
  customers routes' organisation cap of 240,000 per minute.
- ``balances.track``, ``balances.finalize`` (and ``balances.update``):
  10,000 per second per customer, inside an organisation cap of 120,000
  per minute.
- ``balances.delete``: the general 25 per second.
- ``balances.batch_track`` and ``batch_track_tokens``: 10 requests per
  second for the organisation, both routes counted together.

Every response after the check carries ``RateLimit-Policy``,
``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset``. Over a
limit the answer is 429 with the plain-text body
``Too many requests, please try again later.`` and ``Retry-After``, except
at the customers routes' organisation cap, where it is Autumn's JSON error
``rate_limit_exceeded`` without ``Retry-After``. The check and track
organisation caps never refuse: over them Autumn degrades instead (check
answers ``allowed: true`` at once, track queues the event), which the
handlers ask ``RateLimiter.exceeded`` about.

Windows follow the server clock, so a test can open the next one with
``server.clock.advance(seconds=1)``; on a frozen clock a full window stays
full until the clock moves.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "CHECK_ORG_FAIL_OPEN",
    "MAX_WINDOWS",
    "ROUTE_LIMITS",
    "TOO_MANY_REQUESTS",
    "TRACK_ORG",
    "Limit",
    "RateLimited",
    "RateLimiter",
]

TOO_MANY_REQUESTS = "Too many requests, please try again later."
# The limiter counts before the body is validated, so it meets customer ids of any
# size and number. Its memory stays bounded: an id longer than a valid one (256
# characters) is kept as a 32-character digest, and at most MAX_WINDOWS windows
# are kept (about 20 MB): expired ones are swept first, then the oldest dropped.
MAX_WINDOWS = 50_000
_MAX_KEPT_ID = 256


@dataclass(frozen=True)
class Limit:
    name: str
    limit: int
    window_ms: int
    per_customer: bool
    # The customers routes' organisation cap answers Autumn's JSON error.
    json_answer: bool = False
    # Over the limit the request goes on, degraded (see RateLimiter.exceeded).
    degrade: bool = False

    def headers(self, remaining: int, reset_seconds: int) -> dict[str, str]:
        headers = {
            "RateLimit-Policy": f"{self.limit};w={math.ceil(self.window_ms / 1000)}",
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(remaining),
        }
        if reset_seconds:
            headers["RateLimit-Reset"] = str(reset_seconds)
        return headers


_GENERAL = Limit("general", 25, 1000, per_customer=False)
_TRACK = Limit("track", 10_000, 1000, per_customer=True)
_CHECK = Limit("check", 10_000, 1000, per_customer=True)
_CHECK_ORG = Limit("check_org", 240_000, 60_000, per_customer=False, json_answer=True)
_ENTITIES_GET = Limit("customer_entities_get", 50, 1000, per_customer=True)
_ENTITIES_GET_ORG = Limit("entities_get_org", 90_000, 60_000, per_customer=False)
# The same windows as _CHECK_ORG: balances.check fails open where the customers routes refuse.
CHECK_ORG_FAIL_OPEN = Limit("check_org", 240_000, 60_000, per_customer=False, degrade=True)
TRACK_ORG = Limit("track_org", 120_000, 60_000, per_customer=False, degrade=True)
_BATCH_TRACK = Limit("batch_track", 10, 1000, per_customer=False)

# Outer (organisation-wide) limit first, as Autumn nests them.
ROUTE_LIMITS: Mapping[str, tuple[Limit, ...]] = {
    "/v1/balances.create": (_GENERAL,),
    "/v1/balances.update": (TRACK_ORG, _TRACK),
    "/v1/balances.check": (CHECK_ORG_FAIL_OPEN, _CHECK),
    "/v1/balances.track": (TRACK_ORG, _TRACK),
    "/v1/balances.finalize": (TRACK_ORG, _TRACK),
    "/v1/balances.delete": (_GENERAL,),
    "/v1/balances.batch_track": (_BATCH_TRACK,),
    "/v1/balances.batch_track_tokens": (_BATCH_TRACK,),
    "/v1/balances.track_tokens": (TRACK_ORG, _TRACK),
    "/v1/customers.get": (_CHECK_ORG, _CHECK),
    "/v1/customers.get_or_create": (_CHECK_ORG, _CHECK),
    "/v1/entities.get": (_ENTITIES_GET_ORG, _ENTITIES_GET),
    "/v1/features.create": (_GENERAL,),
    "/v1/features.list": (_GENERAL,),
}


class RateLimited(Exception):
    """Over a limit: answer 429 with ``headers`` (plain text unless ``json_answer``)."""

    def __init__(self, headers: dict[str, str], *, json_answer: bool = False) -> None:
        super().__init__(TOO_MANY_REQUESTS)
        self.json_answer = json_answer
        self.headers = headers


class RateLimiter:
    """Counts requests per window; ``check`` raises ``RateLimited`` over a limit."""

    _SWEEP_EVERY = 10_000

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        # (limit name, env, customer or None) -> [window end ms, hits]
        self._windows: dict[tuple[str, str, str | None], list[int]] = {}
        self._new_windows = 0

    def check(
        self, limits: tuple[Limit, ...], env: str, customer_id: str | None, now_ms: int
    ) -> dict[str, str]:
        """Count one request; return the headers to answer with."""
        headers: dict[str, str] = {}
        if not self.enabled:
            return headers
        if customer_id is not None and len(customer_id) > _MAX_KEPT_ID:
            customer_id = "#" + hashlib.blake2b(customer_id.encode(), digest_size=16).hexdigest()
        for limit in limits:
            key = (limit.name, env, customer_id if limit.per_customer else None)
            window = self._windows.get(key)
            # A clock moved back also starts a fresh window.
            if window is None or not 0 < window[0] - now_ms <= limit.window_ms:
                window = self._open(key, now_ms, limit.window_ms)
            window[1] += 1
            reset_seconds = max(0, math.ceil((window[0] - now_ms) / 1000))
            headers = limit.headers(max(limit.limit - window[1], 0), reset_seconds)
            if window[1] > limit.limit and not limit.degrade:
                if not limit.json_answer:
                    headers["Retry-After"] = str(reset_seconds)
                raise RateLimited(headers, json_answer=limit.json_answer)
        return headers

    def window_count(self) -> int:
        return len(self._windows)

    def exceeded(self, limit: Limit, env: str, now_ms: int) -> bool:
        """Whether an organisation-wide ``limit``'s current window is over its count."""
        if not self.enabled:
            return False
        window = self._windows.get((limit.name, env, None))
        return (
            window is not None
            and 0 < window[0] - now_ms <= limit.window_ms
            and (window[1] > limit.limit)
        )

    def _open(self, key: tuple[str, str, str | None], now_ms: int, window_ms: int) -> list[int]:
        self._new_windows += 1
        if self._new_windows >= self._SWEEP_EVERY or len(self._windows) >= MAX_WINDOWS:
            # Per-customer windows would otherwise pile up forever.
            self._new_windows = 0
            self._windows = {k: w for k, w in self._windows.items() if w[0] > now_ms}
            if len(self._windows) >= MAX_WINDOWS:
                # All live: a flood of distinct customers. Drop the oldest half; their
                # customers start fresh windows, which only ever lets more through.
                kept = list(self._windows.items())[len(self._windows) // 2 :]
                self._windows = dict(kept)
        self._windows.pop(key, None)  # re-inserted last: dict order is opening order
        window = self._windows[key] = [now_ms + window_ms, 0]
        return window
