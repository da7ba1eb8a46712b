"""``balances.delete``: remove balances, optionally keeping the usage they carried.

As Autumn's ``deleteBalance.ts`` / ``deleteBalanceUtils.ts`` do for
standalone balances:

- The candidates are the customer's unexpired balances of ``feature_id``
  (of every feature when it is left out), at every level without
  ``entity_id`` (entities' included), or the entity's and the
  customer-level ones with it; ``interval`` and ``balance_id`` narrow them.
  Every candidate is deleted; none: 404 ``invalid_request``. An
  ``entity_id`` the customer has no entity of is not refused: Autumn's
  query finds no entity and goes on as if none was given, so the feature's
  balances at every level are deleted.
- ``recalculate_balances`` needs ``feature_id`` (400 otherwise, checked
  before anything else). The deleted balances' usage (grant - remaining) is
  then deducted from the feature's surviving balances with overage allowed
  (so credit systems drawing on the feature are used too), at every level
  when no ``entity_id`` is given (an entity's balance takes the usage of a
  deleted customer-level one); when none survives, the first deleted
  balance stays as an overage carrier instead: grant 0, remaining
  ``-usage``, no more resets.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from autumn_local.rules.credits import relevant_features
from autumn_local.rules.operations import require_owner, settled_balances
from autumn_local.rules.usage_deduction import deduct_usage, prepare_entries, usage_order
from autumn_local.schemas.errors import ApiError, invalid_request
from autumn_local.schemas.usage import DeleteParams
from autumn_local.store.database import Balance, Number, Store

__all__ = ["delete_balances"]


def _candidates(store: Store, p: DeleteParams, now_ms: int) -> list[Balance]:
    balances = store.customer_balances(p.customer_id, now_ms)
    if p.feature_id is not None:
        balances = [b for b in balances if b.feature_id == p.feature_id]
    if p.entity_id is not None:
        balances = [b for b in balances if b.entity_id in ("", p.entity_id)]
    return usage_order(balances, store.feature_map(), p.entity_id)


def _selected(p: DeleteParams, b: Balance) -> bool:
    """Whether ``interval`` and ``balance_id``, when given, pick ``b``."""
    return (p.interval is None or b.interval == p.interval) and (
        p.balance_id is None or b.api_id == p.balance_id
    )


def _not_found(p: DeleteParams) -> ApiError:
    # Autumn writes the missing feature as JavaScript's "undefined".
    feature = p.feature_id if p.feature_id is not None else "undefined"
    return invalid_request(
        f"Balance not found for feature {feature} and customer {p.customer_id}", 404
    )


def _keep_as_carrier(store: Store, carrier: Balance, usage: Number) -> None:
    """An overage carrier: its own grant cancelled, the deleted usage kept."""
    carrier.adjustment = -carrier.allowance
    carrier.balance = -usage
    carrier.next_reset_at = None
    carrier.changed = True
    store.save_balances([carrier])


def _remove(
    store: Store, p: DeleteParams, doomed: list[Balance], survivors: bool, now_ms: int
) -> None:
    """Delete ``doomed``; with ``recalculate_balances`` their usage stays counted."""
    usage = sum(b.usage for b in doomed) if p.recalculate_balances else 0
    if usage > 0 and not survivors:
        _keep_as_carrier(store, doomed[0], usage)
        store.delete_balances(doomed[1:])
        return
    store.delete_balances(doomed)
    if usage != 0:
        _reapply(store, p, usage, now_ms)


def delete_balances(store: Store, p: DeleteParams, now_ms: int) -> dict[str, Any]:
    if p.recalculate_balances and p.feature_id is None:
        raise invalid_request("feature_id is required when recalculate_balances is true")
    require_owner(store, p.customer_id, None)
    if p.entity_id is not None and store.entity(p.customer_id, p.entity_id) is None:
        # Autumn's getFullCusQuery finds no entity row and goes on without one.
        p = dataclasses.replace(p, entity_id=None)
    every = _candidates(store, p, now_ms)
    settled_balances(store, every, now_ms)
    doomed = [b for b in every if _selected(p, b)]
    if not doomed:
        raise _not_found(p)
    _remove(store, p, doomed, len(doomed) < len(every), now_ms)
    return {"success": True}


def _reapply(store: Store, p: DeleteParams, usage: Number, now_ms: int) -> None:
    """``reapplyFeatureUsageDeduction``: the deleted usage, from what is left, overage allowed."""
    assert p.feature_id is not None
    features = store.feature_map()
    ids = [f.id for f in relevant_features(features, p.feature_id)]
    balances = store.features_balances(p.customer_id, ids, p.entity_id, now_ms)
    # Without entity_id every level takes part, entities' balances included: the
    # whole customer is loaded and no entity narrows its balances.
    entries = prepare_entries(balances, features, p.feature_id, p.entity_id, "allow")
    deduct_usage(entries, usage, "allow", now_ms)
    store.save_balances(balances)
