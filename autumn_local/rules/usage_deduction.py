"""Autumn's deduction script for usage: how ``track`` (and ``check`` with
``send_event`` or ``lock``, ``finalize``, ``delete`` with
``recalculate_balances``) take an amount from a customer's balances.

A port of ``runDeductionOnContextV2.lua`` / ``deductFromMainBalanceV2.lua`` /
``deductFromRolloversV2.lua`` (``server/src/_luaScriptsV2/fullSubjectDeduction``)
for standalone balances, with the inputs ``prepareFeatureDeductionV2.ts``
gives it. For one tracked feature:

- The balances are those of the feature and of every credit system drawing
  on it, in ``sortCusEntsForDeduction`` order: the caller's level first
  (the entity's when an entity is named), the feature's own before credit
  systems, unlimited first, resetting before not, shorter interval, earlier
  expiry, older. The first unlimited balance is moved to the very front: it
  absorbs the whole amount (its balance drifts negative as a usage counter).
- One unit costs ``credit_cost`` in a credit system's balance; amounts are
  multiplied into credits and back in floating point, as the script does.
- A deduction first drains unexpired rollovers (soonest to expire first),
  then pass 1 drains each balance down to 0 in order. What is left goes
  through pass 2 only to balances allowed to go negative: with
  ``overage_behavior: "overflow"`` every balance (the first takes it all);
  with ``"cap"`` (the default) only a free continuous-use balance (seats),
  which takes it all with no floor; the rest is dropped. ``"reject"`` (what
  check with ``send_event`` uses) fails instead when anything is left.
- A credit (negative amount) first refills negative balances up to 0 in
  order, then raises each balance up to its grant (no ceiling with
  ``overflow``); whatever does not fit is dropped.

Every change is logged as a ``Mutation``; the log becomes the ``deductions``
of the track answer and the items of a lock receipt.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from autumn_local.rules.credits import CREDIT_SYSTEM, credit_cost, relevant_features
from autumn_local.rules.update_spread import deduction_key, live_rollovers
from autumn_local.store.database import Balance, FeatureRow, Number, Rollover

__all__ = [
    "Entry",
    "Mutation",
    "UnwindItem",
    "deduct_usage",
    "prepare_entries",
    "usage_order",
]


@dataclass(slots=True)
class Entry:
    """One balance as the script sees it."""

    balance: Balance
    credit_cost: Number
    usage_allowed: bool


@dataclass(slots=True)
class Mutation:
    """One change to a balance or a rollover, in its own units (credits for a credit system)."""

    balance: Balance
    rollover: Rollover | None
    credit_cost: Number
    balance_delta: Number
    value_delta: Number  # in units of the tracked feature

    @property
    def target_id(self) -> str:
        return self.rollover.id if self.rollover is not None else self.balance.id


@dataclass(frozen=True, slots=True)
class UnwindItem:
    """A mutation of a lock receipt, to be undone by ``finalize``."""

    rollover_id: str | None
    balance_id: str
    credit_cost: Number
    balance_delta: Number
    value_delta: Number


def usage_order(
    balances: Iterable[Balance], features: Mapping[str, FeatureRow], entity_id: str | None
) -> list[Balance]:
    """``sortCusEntsForDeduction`` for standalone balances, credit systems last."""
    return sorted(
        balances,
        key=lambda b: deduction_key(b, entity_id, features[b.feature_id].type == CREDIT_SYSTEM),
    )


def prepare_entries(
    balances: Sequence[Balance],
    features: Mapping[str, FeatureRow],
    feature_id: str,
    entity_id: str | None,
    overage: str,
) -> list[Entry]:
    """The script's input for tracking ``feature_id`` from the subject's ``balances``.

    ``balances`` are the subject's: customer-level ones, plus the entity's
    when ``entity_id`` is given.
    """
    relevant = {f.id for f in relevant_features(features, feature_id)}
    entries = []
    for b in usage_order((b for b in balances if b.feature_id in relevant), features, entity_id):
        feature = features[b.feature_id]
        # A free continuous-use balance may go negative (Autumn's
        # isFreeAllocatedUsageAllowed), except when the caller rejects overage.
        continuous = feature.type == "metered" and not feature.consumable
        entries.append(
            Entry(
                balance=b,
                credit_cost=credit_cost(feature_id, feature),
                usage_allowed=b.unlimited or (continuous and overage != "reject"),
            )
        )
    first_unlimited = next((i for i, e in enumerate(entries) if e.balance.unlimited), 0)
    if first_unlimited:
        entries.insert(0, entries.pop(first_unlimited))
    return entries


def _round10(value: Number) -> Number:
    scaled = value * 1e10 + 0.5
    if not math.isfinite(scaled):
        # Beyond about 1.8e298: a whole number already. Autumn's Lua rounding
        # turns it into Infinity here, which its JSON encoder then refuses.
        return value
    rounded = math.floor(scaled) / 1e10
    return int(rounded) if rounded == int(rounded) else rounded


class _Run:
    def __init__(self, overage: str) -> None:
        self.allow = overage in ("allow", "overflow")
        self.log: list[Mutation] = []

    def change(self, entry: Entry, credits: Number, cost: Number) -> None:
        b = entry.balance
        b.balance -= credits
        b.changed = True
        self.log.append(Mutation(b, None, cost, -credits, credits / cost))

    def pass_change(self, entry: Entry, amount: Number, pass_number: int) -> Number:
        """``calculate_change``: credits to take (negative: to give) from one balance."""
        b = entry.balance
        if amount < 0:
            to_add = -amount
            if pass_number == 1:
                return -min(to_add, max(0, 0 - b.balance))
            if self.allow or b.unlimited:
                return amount
            ceiling = b.allowance + b.adjustment
            return -min(to_add, max(0, ceiling - b.balance))
        if pass_number == 2:
            return amount  # no floor: standalone balances have no usage limit
        return max(0, min(amount, b.balance))

    def deduction_pass(
        self, entries: Sequence[Entry], remaining: Number, pass_number: int, is_refund: bool
    ) -> Number:
        for entry in entries:
            if remaining == 0:
                break
            if pass_number == 2 and not is_refund and not (entry.usage_allowed or self.allow):
                continue
            cost = entry.credit_cost or 1
            credits = self.pass_change(entry, remaining * cost, pass_number)
            if credits != 0:
                self.change(entry, credits, cost)
            remaining -= credits / cost
        return remaining

    def drain_rollovers(
        self, rollovers: Sequence[tuple[Rollover, Entry]], remaining: Number
    ) -> Number:
        taken_units: Number = 0
        for rollover, entry in rollovers:
            if remaining <= 0:
                break
            cost = entry.credit_cost
            if cost == 0:
                break  # free usage leaves rollovers untouched
            credits = min(rollover.balance, remaining * cost)
            if credits > 0:
                rollover.balance -= credits
                rollover.usage += credits
                entry.balance.changed = True
                self.log.append(Mutation(entry.balance, rollover, cost, -credits, credits / cost))
                taken_units += credits / cost
                remaining -= credits / cost
        return taken_units


def _rollovers(entries: Sequence[Entry], now_ms: int) -> list[tuple[Rollover, Entry]]:
    if not any(e.balance.rollovers for e in entries):
        return []
    found = [(r, e) for e in entries for r in live_rollovers([e.balance], now_ms)]
    found.sort(key=lambda pair: math.inf if pair[0].expires_at is None else pair[0].expires_at)
    return found


def _unwind(
    run: _Run, entries: Sequence[Entry], items: Sequence[UnwindItem], value: Number, now_ms: int
) -> Number:
    """Undo up to ``value`` units of a lock receipt, newest item first.

    Returns the signed amount that could not be undone (its balance is
    gone), to be deducted from the current balances instead.
    """
    balances = {e.balance.id: e for e in entries}
    rollovers = {r.id: (r, e) for r, e in _rollovers(entries, now_ms)}
    lock_sign = 1 if sum(i.value_delta for i in items) >= 0 else -1
    left = value
    for item in reversed(items):
        if left <= 0:
            break
        undo = min(abs(item.value_delta), left)
        if undo <= 0:
            continue
        credits = undo * (item.credit_cost or 1)
        restore = credits if item.balance_delta < 0 else -credits
        if item.rollover_id is not None:
            found = rollovers.get(item.rollover_id)
            if found is None:
                continue
            rollover, entry = found
            rollover.balance += restore
            rollover.usage -= restore
            entry.balance.changed = True
        else:
            target = balances.get(item.balance_id)
            if target is None:
                continue
            target.balance.balance += restore
            target.balance.changed = True
        left -= undo
    return -lock_sign * left


def deduct_usage(
    entries: Sequence[Entry],
    amount: Number,
    overage: str,
    now_ms: int,
    *,
    unwind: tuple[Sequence[UnwindItem], Number] | None = None,
) -> tuple[Number, list[Mutation]]:
    """Take ``amount`` units (negative: give back) from ``entries``, in place.

    Returns what could not be taken (``reject`` treats a positive rest as a
    refusal; the caller restores the balances) and the mutations made.
    ``unwind`` first undoes part of a lock receipt (``finalize``).
    """
    run = _Run(overage)
    if not entries:
        return 0, run.log
    if unwind is not None and unwind[1] > 0:
        amount += _unwind(run, entries, unwind[0], unwind[1], now_ms)
    first = entries[0]
    remaining: Number
    if first.balance.unlimited:
        cost = first.credit_cost or 1
        credits = amount * cost
        if credits != 0:
            run.change(first, credits, cost)
        remaining = _round10(amount - credits / cost)
    else:
        remaining = amount
    is_refund = remaining < 0
    if remaining > 0:
        remaining -= run.drain_rollovers(_rollovers(entries, now_ms), remaining)
    remaining = run.deduction_pass(entries, remaining, 1, is_refund)
    if remaining != 0:
        remaining = run.deduction_pass(entries, remaining, 2, is_refund)
    return _round10(remaining), run.log
