"""Locks: a check or track with ``lock`` deducts now and keeps a receipt;
``balances.finalize`` confirms or releases it later.

As Autumn's ``lockReceiptV2.lua`` / ``unwindLockV2.lua`` and
``finalizeLock/`` have it:

- The receipt is the list of changes the deduction made (balance or
  rollover, credits moved, units of the tracked feature), keyed by
  ``lock_id`` per environment. A second lock with a live receipt's id is
  ``409 lock_already_exists`` and changes nothing. A lock whose customer
  has no balance to draw on keeps no receipt (the deduction script returns
  first), so finalizing it is ``400`` and its ``lock_id`` stays free.
- ``finalize`` with ``release`` gives everything back; ``confirm`` keeps it,
  or with ``override_value`` moves to that value: less undoes the newest
  changes first, more deducts the difference (capped at what remains). A
  change whose balance is gone is taken from the current balances instead.
  The receipt is then gone: finalizing it again is ``400 invalid_request``
  (``Lock not found for ID: ...``).
- A check's lock with ``expires_at`` is released automatically then. A
  receipt is forgotten (its deduction kept) one hour after its
  ``expires_at``, or a day after it was made when it has none.

Expiry is applied lazily, like resets: before anything reads or changes the
customer's balances, their due receipts are released or forgotten.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from autumn_local.rules.credits import relevant_features
from autumn_local.rules.resets import apply_due_reset
from autumn_local.rules.usage_deduction import Mutation, UnwindItem, deduct_usage, prepare_entries
from autumn_local.schemas.errors import ApiError, invalid_request
from autumn_local.schemas.usage import FinalizeParams, LockParams
from autumn_local.store.database import Balance, LockRow, Number, Store

__all__ = ["finalize", "live_receipt", "release_due", "save_receipt"]

_HOUR_MS = 3_600_000
_DAY_MS = 24 * _HOUR_MS


def _items(receipt: dict[str, Any]) -> list[UnwindItem]:
    return [UnwindItem(**item) for item in receipt["items"]]


def _unwind_and_additional(lock_value: Number, final_value: Number) -> tuple[Number, Number]:
    """Autumn's ``calculateUnwindValue``: how much to undo and how much more to deduct."""
    if lock_value == 0:
        return 0, final_value
    if final_value == 0:
        return abs(lock_value), 0
    if (lock_value > 0) != (final_value > 0):
        return abs(lock_value), final_value
    if abs(final_value) >= abs(lock_value):
        return 0, final_value - lock_value
    return abs(lock_value) - abs(final_value), 0


def _settle(
    store: Store,
    receipt: dict[str, Any],
    final_value: Number,
    now_ms: int,
    loaded: Sequence[Balance],
    at_ms: int | None = None,
) -> None:
    """Bring the receipt's deduction to ``final_value`` units, as at ``at_ms`` (default now).

    An expiry settled late happens as at its time: resets due after it come
    afterwards, so the release does not land in the next period.
    """
    at_ms = now_ms if at_ms is None else at_ms
    items = _items(receipt)
    lock_value = sum(item.value_delta for item in items)
    if Decimal(repr(final_value)) == Decimal(repr(lock_value)):
        return
    unwind, additional = _unwind_and_additional(lock_value, final_value)
    features = store.feature_map()
    feature_id: str = receipt["feature_id"]
    entity_id: str | None = receipt["entity_id"]
    ids = [f.id for f in relevant_features(features, feature_id)]
    in_memory = {b.pk: b for b in loaded}
    balances = [
        in_memory.get(b.pk, b)
        for b in store.features_balances(receipt["customer_id"], ids, entity_id, now_ms)
    ]
    if entity_id is None:
        balances = [b for b in balances if b.entity_id == ""]
    for b in balances:
        apply_due_reset(b, at_ms)
    entries = prepare_entries(balances, features, feature_id, entity_id, "cap")
    deduct_usage(entries, additional, "cap", at_ms, unwind=(items, unwind))
    store.save_balances(balances)


def release_due(
    store: Store, customer_id: str, now_ms: int, loaded: Sequence[Balance] = ()
) -> None:
    """Release or forget the customer's receipts whose time has come.

    ``loaded``: balances the caller already holds, changed in place.
    """
    for row in store.locks_due(customer_id, now_ms):
        if row.release_at is not None and row.release_at <= now_ms:
            _settle(store, json.loads(row.receipt), 0, now_ms, loaded, row.release_at)
        store.delete_lock(row.env, row.lock_id)


def live_receipt(store: Store, env: str, lock_id: str, now_ms: int) -> LockRow | None:
    """The receipt of ``lock_id``, unless it is gone (expiring it first if due)."""
    row = store.lock(env, lock_id)
    if row is None:
        return None
    if row.gone_at <= now_ms or (row.release_at is not None and row.release_at <= now_ms):
        release_due(store, row.customer_id, now_ms)
        return None
    return row


def save_receipt(
    store: Store,
    env: str,
    lock: LockParams,
    *,
    customer_id: str,
    feature_id: str,
    entity_id: str | None,
    mutations: Sequence[Mutation],
    properties: Mapping[str, Any] | None,
    release_on_expiry: bool,
    now_ms: int,
) -> None:
    """Keep what a locked deduction did; ``409 lock_already_exists`` if the id is taken."""
    if live_receipt(store, env, lock.lock_id, now_ms) is not None:
        raise ApiError(409, "lock_already_exists", "A lock with this ID already exists")
    expires_at = None if lock.expires_at is None else math.ceil(lock.expires_at)
    items = [
        asdict(
            UnwindItem(
                rollover_id=m.rollover.id if m.rollover is not None else None,
                balance_id=m.balance.id,
                credit_cost=m.credit_cost,
                balance_delta=m.balance_delta,
                value_delta=m.value_delta,
            )
        )
        for m in mutations
    ]
    receipt = {
        "customer_id": customer_id,
        "feature_id": feature_id,
        "entity_id": entity_id,
        "expires_at": expires_at,
        "properties": dict(properties) if properties is not None else None,
        "items": items,
    }
    gone_at = (
        (math.ceil(expires_at / 1000) * 1000 + _HOUR_MS)
        if expires_at is not None
        else now_ms + _DAY_MS
    )
    store.insert_lock(
        LockRow(
            env=env,
            lock_id=lock.lock_id,
            customer_id=customer_id,
            receipt=json.dumps(receipt),
            release_at=expires_at if release_on_expiry else None,
            gone_at=gone_at,
        )
    )


def finalize(store: Store, p: FinalizeParams, env: str, now_ms: int) -> dict[str, Any]:
    """``balances.finalize``: confirm (optionally at ``override_value``) or release a lock."""
    row = live_receipt(store, env, p.lock_id, now_ms)
    if row is None:
        raise invalid_request(f"Lock not found for ID: {p.lock_id}")
    receipt = json.loads(row.receipt)
    if p.action == "release":
        final_value: Number = 0
    elif p.override_value is not None:
        final_value = p.override_value
    else:
        final_value = sum(item.value_delta for item in _items(receipt))
    _settle(store, receipt, final_value, now_ms, ())
    store.delete_lock(env, p.lock_id)
    return {"success": True}
