"""Retry policy: which outcomes are retried and how long to wait before the next attempt.

Delays follow `backoff.expo` (initial_interval * exponent**n, capped at
max_interval) with `backoff.full_jitter`, so many clients that failed together
do not come back together. A server's `Retry-After` (seconds or HTTP date)
replaces the computed delay, still capped at `max_interval`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection, Iterator
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import attrs
import backoff

DEFAULT_RETRY_CODES: tuple[str, ...] = ("429", "500", "502", "503", "504")


def _non_negative(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"{attribute.name} must be a number >= 0, got {value!r}")


@attrs.frozen(kw_only=True)
class BackoffStrategy:
    """Exponential backoff, all times in milliseconds (as in Autumn's TypeScript SDK)."""

    initial_interval: float = attrs.field(default=500, validator=_non_negative)
    max_interval: float = attrs.field(default=60_000, validator=_non_negative)
    exponent: float = attrs.field(default=1.5, validator=_non_negative)
    max_elapsed_time: float = attrs.field(default=3_600_000, validator=_non_negative)


def parse_retry_codes(value: Collection[str | int]) -> frozenset[str]:
    """Statuses ("503", 503) and ranges ("5XX") as one set of upper-case strings."""
    if isinstance(value, (str, int)):
        raise TypeError(f"expected a list of statuses, got {value!r}")
    codes = frozenset(str(code).upper() for code in value)
    for code in codes:
        if len(code) != 3 or not (code.isdigit() or (code[0].isdigit() and code[1:] == "XX")):
            raise ValueError(
                f"retry_codes: {code!r} is not a status like '503' or a range like '5XX'"
            )
    return codes


def _max_retries(_inst: object, _attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (type(value) is not int or value < 0):
        raise ValueError(f"max_retries must be None or an int >= 0, got {value!r}")


async def _asyncio_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


@attrs.frozen(kw_only=True)
class RetryConfig:
    """When and how a call is retried.

    The default (used by an `AutumnCore` built without `retry_config`) retries
    429 and 5xx answers, connection errors and timeouts, at most twice. That is
    safe for grants because every attempt of one call carries the same
    Idempotency-Key, so the server applies the call at most once.

    >>> RetryConfig(strategy="none")                      # never retry
    >>> RetryConfig(max_retries=5, retry_codes=["5XX"])   # more patience, only server faults

    `sleep` and `clock` exist so tests can run a retry schedule in no time.
    """

    strategy: Literal["backoff", "none"] = attrs.field(
        default="backoff", validator=attrs.validators.in_(("backoff", "none"))
    )
    backoff: BackoffStrategy = attrs.field(factory=BackoffStrategy)
    retry_connection_errors: bool = True
    max_retries: int | None = attrs.field(default=2, validator=_max_retries)
    retry_codes: frozenset[str] = attrs.field(
        default=DEFAULT_RETRY_CODES, converter=parse_retry_codes
    )
    sleep: Callable[[float], Awaitable[None]] = attrs.field(default=_asyncio_sleep, repr=False)
    clock: Callable[[], float] = attrs.field(default=time.monotonic, repr=False)


def status_is_retried(status: int, codes: frozenset[str]) -> bool:
    """True when `status` is listed in `codes` exactly or by its range ("5XX")."""
    text = str(status)
    return text in codes or f"{text[0]}XX" in codes


def computed_delays(strategy: BackoffStrategy) -> Iterator[float]:
    """Successive jittered delays in seconds, from backoff's exponential generator."""
    delays = backoff.expo(
        base=strategy.exponent,
        factor=strategy.initial_interval / 1000,
        max_value=strategy.max_interval / 1000,
    )
    next(delays)  # backoff's generators yield None first, to be primed by `send`
    for delay in delays:
        yield backoff.full_jitter(delay)


def retry_after_seconds(value: str | None) -> float | None:
    """The wait a `Retry-After` header asks for, or None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP date is always GMT
        return None
    return max(0.0, when.timestamp() - time.time())
