"""Retry policy: which outcomes are retried and how long to wait before the next attempt.

`next_wait` is the whole decision, a function of the attempt's `Outcome`, the
attempt number, the time elapsed since the call began and the `RetryConfig`;
it does no I/O and reads no clock, so it is tested without a server.

Delays follow `backoff.expo` (initial_interval * exponent**n, capped at
max_interval) with full jitter (a uniform draw between 0 and that delay), so
many clients that failed together do not come back together. A server's
`Retry-After` (seconds or HTTP date) replaces the computed delay, still capped
at `max_interval`.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import time
from collections.abc import Awaitable, Callable, Collection
from email.utils import parsedate_to_datetime
from typing import Any, Literal, cast

import attrs
import backoff

from autumn_core._field_checks import field_name, instance_of, invalid, is_callable, is_number
from autumn_core._outcome import TRANSIENT_FAILURES, Outcome

DEFAULT_RETRY_CODES: frozenset[str] = frozenset(("429", "500", "502", "503", "504"))

# Autumn error codes that are final whatever the status: the real server answers
# some invalid creates with 500 invalid_inputs, and sending them again fails again.
FINAL_CODES: frozenset[str] = frozenset(("invalid_inputs",))


def _non_negative(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not (is_number(value) and value >= 0):
        raise invalid(field_name(instance, attribute), f"expected a number >= 0, got {value!r}")


@attrs.frozen(kw_only=True)
class BackoffStrategy:
    """Exponential backoff, all times in milliseconds (as in Autumn's TypeScript SDK)."""

    initial_interval: float = attrs.field(default=500, validator=_non_negative)
    max_interval: float = attrs.field(default=60_000, validator=_non_negative)
    exponent: float = attrs.field(default=1.5, validator=_non_negative)
    max_elapsed_time: float = attrs.field(default=3_600_000, validator=_non_negative)


def _finite_non_negative(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not (is_number(value) and math.isfinite(value) and value >= 0):
        raise invalid(
            field_name(instance, attribute), f"expected a finite number >= 0, got {value!r}"
        )


def parse_retry_codes(value: object, field: str = "RetryConfig.retry_codes") -> frozenset[str]:
    """Statuses ("503", 503) and ranges ("5XX") as one set of upper-case strings."""
    if isinstance(value, (str, int)) or not isinstance(value, Collection):
        raise invalid(field, f"expected a list of statuses, got {value!r}")
    codes = frozenset(str(code).upper() for code in cast("Collection[object]", value))
    for code in sorted(codes):
        if len(code) != 3 or not (code.isdigit() or (code[0].isdigit() and code[1:] == "XX")):
            raise invalid(field, f"{code!r} is not a status like '503' or a range like '5XX'")
    return codes


def _max_retries(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (type(value) is not int or value < 0):
        raise invalid(
            field_name(instance, attribute), f"expected None or an integer >= 0, got {value!r}"
        )


def _strategy(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in ("backoff", "none"):
        raise invalid(
            field_name(instance, attribute), f"expected 'backoff' or 'none', got {value!r}"
        )


def _boolean(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not bool:
        raise invalid(field_name(instance, attribute), f"expected True or False, got {value!r}")


async def _asyncio_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


@attrs.frozen(kw_only=True)
class RetryConfig:
    """When and how a call is retried.

    The default (used by an `AutumnCore` built without `retry_config`) retries
    429 and 5xx answers, connection errors and timeouts, at most twice. That is
    safe for grants because every attempt of one call carries the same
    Idempotency-Key, so the server applies the call at most once. A 5xx whose
    Autumn code says the input is invalid (`invalid_inputs`) is not retried.

    >>> RetryConfig(strategy="none")                      # never retry
    >>> RetryConfig(max_retries=5, retry_codes=["5XX"])   # more patience, only server faults

    `confirm_duplicate_after_ms`: a retry refused with `409
    duplicate_idempotency_key` means an earlier attempt of the call was
    accepted, or is still running and may yet fail (the server then frees the
    key). The SDK trusts the 409 only when it comes twice: it waits this long
    and sends the attempt once more, which runs the call itself if the key was
    freed. This confirmation is not counted in `max_retries`.

    `sleep`, `clock` and `random` (the jitter's source of numbers in [0, 1))
    exist so tests can run a retry schedule in no time, and repeatably.
    """

    strategy: Literal["backoff", "none"] = attrs.field(default="backoff", validator=_strategy)
    backoff: BackoffStrategy = attrs.field(
        factory=BackoffStrategy, validator=instance_of(BackoffStrategy)
    )
    retry_connection_errors: bool = attrs.field(default=True, validator=_boolean)
    max_retries: int | None = attrs.field(default=2, validator=_max_retries)
    retry_codes: frozenset[str] = attrs.field(
        default=DEFAULT_RETRY_CODES, converter=parse_retry_codes
    )
    sleep: Callable[[float], Awaitable[None]] = attrs.field(
        default=_asyncio_sleep, validator=is_callable, repr=False
    )
    clock: Callable[[], float] = attrs.field(
        default=time.monotonic, validator=is_callable, repr=False
    )
    random: Callable[[], float] = attrs.field(
        default=random.random, validator=is_callable, repr=False
    )
    confirm_duplicate_after_ms: float = attrs.field(default=250, validator=_finite_non_negative)


def status_is_retried(status: int, codes: frozenset[str]) -> bool:
    """True when `status` is listed in `codes` exactly or by its range ("5XX")."""
    text = str(status)
    return text in codes or f"{text[0]}XX" in codes


def is_retried(outcome: Outcome[Any], config: RetryConfig) -> bool:
    """Whether an attempt that came to `outcome` is worth another one, budget aside."""
    if outcome.result.ok:
        return False
    if outcome.status is not None:
        return status_is_retried(outcome.status, config.retry_codes) and (
            outcome.code not in FINAL_CODES
        )
    # A certificate that failed verification fails again: no point waiting.
    return config.retry_connection_errors and outcome.failure in TRANSIENT_FAILURES


def backoff_delay(strategy: BackoffStrategy, retry: int) -> float:
    """The ceiling in seconds of the wait before retry number `retry` (1, 2, ...),
    before jitter: the `retry`-th value of `backoff.expo`. Only a retry pays for it."""
    delays = backoff.expo(
        base=strategy.exponent,
        factor=strategy.initial_interval / 1000,
        max_value=strategy.max_interval / 1000,
    )
    next(delays)  # backoff's generators yield None first, to be primed
    # expo stops growing at max_value, so a huge retry number cannot overflow.
    return float(next(itertools.islice(delays, retry - 1, None)))


def next_wait(
    outcome: Outcome[Any],
    attempt: int,
    elapsed: float,
    config: RetryConfig,
    remaining: float | None = None,
) -> float | None:
    """Seconds to wait before attempt `attempt + 1`, or None to stop and return `outcome`.

    `elapsed` is the time in seconds since the call's first attempt began; the
    wait must end within `max_elapsed_time` of it. `remaining` is what is left
    of the call's total timeout, if it has one: a wait that would use it all
    leaves no time for the attempt, so the call stops instead.
    """
    if config.strategy == "none" or not is_retried(outcome, config):
        return None
    if config.max_retries is not None and attempt > config.max_retries:
        return None
    backoff = config.backoff
    if outcome.retry_after is not None:
        wait = min(outcome.retry_after, backoff.max_interval / 1000)
    else:
        wait = backoff_delay(backoff, attempt) * config.random()
    if (elapsed + wait) * 1000 > backoff.max_elapsed_time:
        return None
    if remaining is not None and wait >= remaining:
        return None
    return wait


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """The wait a `Retry-After` header asks for, or None when absent or unreadable.

    `now` (a Unix time, default the current time) turns an HTTP date into seconds.
    """
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        return _seconds_until(value, time.time() if now is None else now)


def _seconds_until(http_date: str, now: float) -> float | None:
    try:
        when = parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP date is always GMT
        return None
    return max(0.0, when.timestamp() - now)
