"""How Autumn spreads one change over several balances of a feature.

A customer may hold several balances of one feature. ``balances.update``
never refuses that: it works on every matched balance in a fixed order
(``deduction_order``) and spreads the change the way Autumn's deduction
script does:

- A deduction drains each balance down to 0 in order, then puts whatever is
  left on the first one (which may go negative). Rollovers are drained
  before any balance.
- An addition (a negative deduction) first refills negative balances up to
  0 in order, then gives the rest to the first one.
- Setting the total remaining to R is a deduction of (total - R).
- An unlimited balance among them absorbs the whole change alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from autumn_local.rules.resets import interval_rank
from autumn_local.store.database import Balance, Number, Rollover

__all__ = ["deduct", "deduction_key", "deduction_order", "live_rollovers", "set_remaining"]


def deduction_order(balances: Sequence[Balance], entity_id: str | None) -> list[Balance]:
    """Autumn's order (``sortCusEntsForDeduction``) for standalone balances.

    The caller's own level first (the entity's balances when an entity is
    named, else the customer's), then unlimited ones, resetting before
    non-resetting, shorter intervals first, earlier expiry first, older first.
    """
    return sorted(balances, key=lambda b: deduction_key(b, entity_id))


def deduction_key(
    b: Balance, entity_id: str | None, later_in_level: bool = False
) -> tuple[bool, bool, bool, bool, int, float, int, int]:
    """``b``'s place in ``deduction_order``; ``later_in_level`` puts it after the others
    of its level (a track's credit systems)."""
    own_level = (b.entity_id != "") == (entity_id is not None)
    return (
        not own_level,
        later_in_level,
        not b.unlimited,
        not b.next_reset_at,
        interval_rank(b.interval, b.interval_count),
        math.inf if b.expires_at is None else b.expires_at,
        b.created_at,
        b.pk,
    )


def live_rollovers(balances: Sequence[Balance], now_ms: int) -> list[Rollover]:
    """Unexpired rollovers of ``balances``, the soonest to expire first."""
    found = [
        r for b in balances for r in b.rollovers if r.expires_at is None or r.expires_at > now_ms
    ]
    return sorted(found, key=lambda r: math.inf if r.expires_at is None else r.expires_at)


def _sink(balances: Sequence[Balance]) -> Balance | None:
    return next((b for b in balances if b.unlimited), None)


def set_remaining(balances: Sequence[Balance], target: Number, now_ms: int) -> None:
    """Make the balances' total remaining ``target`` (rollovers not counted)."""
    sink = _sink(balances)
    if sink is not None:
        if sink.balance != target:
            sink.balance, sink.changed = target, True
        return
    if balances:
        deduct(balances, sum(b.balance for b in balances) - target, now_ms)


def _from_rollovers(balances: Sequence[Balance], amount: Number, now_ms: int) -> Number:
    """Drain live rollovers first, the soonest to expire first; returns what is left."""
    left = amount
    for rollover in live_rollovers(balances, now_ms):
        if left <= 0:
            break
        taken = min(rollover.balance, left)
        if taken > 0:
            rollover.balance -= taken
            rollover.usage += taken
            left -= taken
    for b in balances:
        if b.rollovers:
            b.changed = True
    return left


def _down_to_zero(balances: Sequence[Balance], amount: Number) -> Number:
    """Pass 1: deductions stop at 0, additions only fill up to 0; returns what is left."""
    left = amount
    for b in balances:
        if left == 0:
            break
        change = max(0, min(left, b.balance)) if left > 0 else -min(-left, max(0, -b.balance))
        if change:
            b.balance -= change
            b.changed = True
            left -= change
    return left


def deduct(balances: Sequence[Balance], amount: Number, now_ms: int) -> None:
    """Take ``amount`` from the balances in order (a negative amount adds)."""
    if not balances or amount == 0:
        return
    sink = _sink(balances)
    if sink is not None:
        sink.balance, sink.changed = sink.balance - amount, True
        return
    left = _from_rollovers(balances, amount, now_ms) if amount > 0 else amount
    left = _down_to_zero(balances, left)
    if left != 0:
        # Pass 2: overage is allowed, so the first balance takes the rest.
        first = balances[0]
        first.balance -= left
        first.changed = True
