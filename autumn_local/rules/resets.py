"""Reset intervals, the calendar arithmetic behind them, and applying a due reset.

Autumn adds intervals with date-fns in UTC: months are clamped to the end of a
shorter month (Jan 31 + 1 month = Feb 28), and each reset steps from the
*previous* boundary, so a balance created on Jan 31 resets on Feb 28, then
Mar 28, Apr 28, ... (the day never grows back). The first boundary is one
interval after creation.

Resets are lazy, as on Autumn: nothing runs at the boundary; the next request
that loads the balance finds it due (boundary strictly in the past) and
resets it before doing anything else.
"""

from __future__ import annotations

import calendar
import math
from datetime import datetime, timezone

from autumn_local.store.database import Balance, Rollover, RolloverConfig

__all__ = [
    "LIFETIME",
    "add_interval",
    "apply_due_reset",
    "interval_rank",
    "next_boundary_after",
]

# A balance without a reset, and one with reset.interval "one_off", never resets.
LIFETIME = "one_off"

_FIXED_MS = {
    "minute": 60_000,
    "hour": 3_600_000,
    "day": 86_400_000,
    "week": 7 * 86_400_000,
}
_MONTHS = {"month": 1, "quarter": 3, "semi_annual": 6, "year": 12}

# Autumn orders balances by these (minutes per interval); a lifetime balance
# counts as the longest of all.
_RANK = {
    "minute": 1,
    "hour": 60,
    "day": 1440,
    "week": 10_080,
    "month": 43_200,
    "quarter": 129_600,
    "semi_annual": 259_200,
    "year": 525_600,
    LIFETIME: 1_000_000_000,
}


def interval_rank(interval: str, interval_count: int) -> int:
    """The length Autumn sorts balances by: shorter intervals are used first."""
    return _RANK[interval] * interval_count


def _add_months(at_ms: int, months: int) -> int:
    dt = datetime.fromtimestamp(at_ms // 1000, tz=timezone.utc)
    total = dt.year * 12 + (dt.month - 1) + months
    year, month0 = divmod(total, 12)
    day = min(dt.day, calendar.monthrange(year, month0 + 1)[1])
    moved = dt.replace(year=year, month=month0 + 1, day=day)
    return int(moved.timestamp()) * 1000 + at_ms % 1000


def add_interval(at_ms: int, interval: str, interval_count: int) -> int:
    """``at_ms`` plus ``interval_count`` intervals (raises ValueError for ``one_off``).

    Raises ValueError or OverflowError beyond the calendar (year 9999).
    """
    if interval in _FIXED_MS:
        return at_ms + interval_count * _FIXED_MS[interval]
    if interval in _MONTHS:
        return _add_months(at_ms, interval_count * _MONTHS[interval])
    raise ValueError(f"interval {interval!r} does not reset")


def next_boundary_after(previous_ms: int, interval: str, interval_count: int, now_ms: int) -> int:
    """The first boundary after ``now_ms``, stepping from the boundary that just passed."""
    if interval in _FIXED_MS:
        step = interval_count * _FIXED_MS[interval]
        return previous_ms + ((now_ms - previous_ms) // step + 1) * step
    boundary = add_interval(previous_ms, interval, interval_count)
    while boundary <= now_ms:
        boundary = add_interval(boundary, interval, interval_count)
    return boundary


def apply_due_reset(b: Balance, now_ms: int) -> None:
    """Reset ``b`` if its boundary has passed: back to its original grant, adjustments dropped.

    What remained rolls over when the balance has a rollover configuration
    (capped by its ``max`` / ``max_percentage``). One reset covers every
    boundary that passed; the next one is stepped forward past ``now_ms``.
    """
    boundary = b.next_reset_at
    if b.unlimited or b.interval == LIFETIME or not boundary or boundary >= now_ms:
        return
    config = b.rollover_config()
    if config is not None:
        kept = [r for r in b.rollovers if r.expires_at is None or r.expires_at > now_ms]
        if b.balance > 0:
            expires_at = _rollover_expiry(boundary, config)
            kept.append(Rollover(balance=b.balance, usage=0, expires_at=expires_at))
        b.rollovers = _within_rollover_max(kept, config, b.allowance)
    b.balance = b.allowance
    b.adjustment = 0
    try:
        b.next_reset_at = next_boundary_after(boundary, b.interval, b.interval_count, now_ms)
    except (ValueError, OverflowError):
        b.next_reset_at = None  # beyond the calendar; no more resets
    b.changed = True


def _rollover_expiry(boundary: int, config: RolloverConfig) -> int | None:
    """When a rollover made at ``boundary`` expires: ``length`` months later (Autumn's
    date-fns addMonths, which truncates a fractional length), never for "forever".

    Autumn accepts any number as the length (z.number()); an expiry beyond the
    calendar (year 9999 here) is one no client will see come: it never expires,
    rather than failing every later request of the customer.
    """
    if config.duration == "forever":
        return None
    try:
        return _add_months(boundary, int(config.length))
    except (ValueError, OverflowError):
        return None


def _within_rollover_max(
    rollovers: list[Rollover], config: RolloverConfig, allowance: float
) -> list[Rollover]:
    """Trim rollovers to the configured maximum, taking from the soonest to expire."""
    if config.max_percentage is not None:
        share = allowance * config.max_percentage / 100
        # Past the double range the share is Infinity, as in JavaScript, whose
        # Math.floor keeps it (Python's floor cannot): no cap, or every rollover gone.
        cap: float | None = math.floor(share) if math.isfinite(share) else share
    else:
        cap = config.max
    ordered = sorted(rollovers, key=lambda r: math.inf if r.expires_at is None else r.expires_at)
    excess = sum(r.balance for r in ordered) - cap if cap is not None else 0
    kept = []
    for r in ordered:
        if excess > 0:
            taken = min(r.balance, excess)
            r.balance -= taken
            excess -= taken
            if r.balance == 0:
                continue
        kept.append(r)
    return kept
