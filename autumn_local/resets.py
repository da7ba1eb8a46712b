"""Reset intervals and the calendar arithmetic behind them.

A resetting balance has an *anchor* (its first reset boundary); boundary ``n``
is ``anchor + n * interval_count`` intervals. Boundaries are always computed
from the anchor rather than from the previous boundary so that a monthly
balance anchored on the 31st resets on Jan 31, Feb 28, Mar 31 -- it does not
drift to the 28th forever after February.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timezone

__all__ = [
    "INTERVALS",
    "RESETTING_INTERVALS",
    "boundary",
    "first_boundary_after",
    "interval_length_ms",
]

INTERVALS = (
    "one_off",
    "minute",
    "hour",
    "day",
    "week",
    "month",
    "quarter",
    "semi_annual",
    "year",
)

# ``one_off`` is a reset configuration that never resets (a lifetime grant).
RESETTING_INTERVALS = frozenset(INTERVALS) - {"one_off"}

_FIXED_MS = {
    "minute": 60_000,
    "hour": 3_600_000,
    "day": 86_400_000,
    "week": 7 * 86_400_000,
}
_MONTHS = {"month": 1, "quarter": 3, "semi_annual": 6, "year": 12}


def _add_months(anchor_ms: int, months: int) -> int:
    """``anchor_ms`` plus calendar months in UTC, clamping the day to the month's length."""
    dt = datetime.fromtimestamp(anchor_ms / 1000, tz=timezone.utc)
    total = dt.year * 12 + (dt.month - 1) + months
    year, month0 = divmod(total, 12)
    day = min(dt.day, calendar.monthrange(year, month0 + 1)[1])
    moved = dt.replace(year=year, month=month0 + 1, day=day)
    # Keep the sub-second part exact: datetime round-trips through float seconds.
    return int(moved.replace(microsecond=0).timestamp()) * 1000 + anchor_ms % 1000


def boundary(anchor_ms: int, interval: str, interval_count: int, n: int) -> int:
    """The ``n``-th reset boundary (``n == 0`` is the anchor itself)."""
    if interval in _FIXED_MS:
        return anchor_ms + n * interval_count * _FIXED_MS[interval]
    if interval in _MONTHS:
        return _add_months(anchor_ms, n * interval_count * _MONTHS[interval])
    raise ValueError(f"interval {interval!r} does not reset")


def first_boundary_after(anchor_ms: int, interval: str, interval_count: int, now_ms: int) -> int:
    """The earliest boundary strictly later than ``now_ms``.

    Computed directly rather than by stepping, so a clock moved a year ahead
    on a per-minute balance costs the same as one moved a minute.
    """
    if now_ms < anchor_ms:
        return anchor_ms
    if interval in _FIXED_MS:
        step = interval_count * _FIXED_MS[interval]
        n = (now_ms - anchor_ms) // step + 1
        return anchor_ms + n * step
    step_months = interval_count * _MONTHS[interval]
    # Estimate from average month length, then correct by at most a few steps.
    n = max(1, int((now_ms - anchor_ms) / (step_months * 2_629_746_000)))
    while n > 1 and boundary(anchor_ms, interval, interval_count, n - 1) > now_ms:
        n -= 1
    while boundary(anchor_ms, interval, interval_count, n) <= now_ms:
        n += 1
    return boundary(anchor_ms, interval, interval_count, n)


def interval_length_ms(interval: str, interval_count: int, from_ms: int) -> int:
    """Length of one period starting at ``from_ms`` (used for a first boundary)."""
    return boundary(from_ms, interval, interval_count, 1) - from_ms
