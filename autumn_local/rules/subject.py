"""The subject of a check or track (a customer, or one of its entities) and how it answers.

Autumn loads a "full subject" for these calls: the customer, or the entity
with the customer-level balances it shares, and shows balances exactly as
``customers.get`` / ``entities.get`` would (a customer's totals include its
entities' balances). Deductions come only from the subject's own level: a
customer-level call never touches an entity's balance.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from autumn_local.rules.operations import require_owner, settled_balances
from autumn_local.rules.usage_deduction import (
    Mutation,
    UnwindItem,
    deduct_usage,
    prepare_entries,
)
from autumn_local.rules.views import balance_reset, subject_balances
from autumn_local.schemas.errors import ApiError
from autumn_local.store.database import Balance, FeatureRow, Number, Store
from autumn_local.store.js_numbers import js_number

__all__ = ["Subject", "deductions_view", "load_subject"]


@dataclass
class Subject:
    """A customer or entity, with its balances of the features a call involves.

    ``balances`` holds, for a customer, its entities' balances too (they add
    to the totals it shows); for an entity, its own and the customer-level ones.
    """

    customer_id: str
    entity_id: str | None
    balances: list[Balance]

    def own(self) -> list[Balance]:
        """The balances a deduction may use: the subject's level (and the customer's)."""
        if self.entity_id is None:
            return [b for b in self.balances if b.entity_id == ""]
        return self.balances

    def view(
        self, features: Mapping[str, FeatureRow], now_ms: int, *, aggregate: bool = True
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """(balances, flags) as the customer or entity view shows them."""
        return subject_balances(
            features, self.balances, self.entity_id, now_ms, aggregate=aggregate
        )

    def draws_on(self, features: Mapping[str, FeatureRow], feature_id: str) -> bool:
        """Whether a deduction of ``feature_id`` has a balance to use.

        Without one Autumn's deduction script returns before it looks at a
        lock: no receipt is kept and a taken ``lock_id`` is not refused.
        """
        return bool(prepare_entries(self.own(), features, feature_id, self.entity_id, "cap"))

    def deduct(
        self,
        features: Mapping[str, FeatureRow],
        feature_id: str,
        amount: Number,
        overage: str,
        now_ms: int,
        *,
        unwind: tuple[Sequence[UnwindItem], Number] | None = None,
    ) -> tuple[bool, list[Mutation]]:
        """Deduct ``amount`` units of ``feature_id``; False (and nothing changed) if rejected."""
        entries = prepare_entries(self.own(), features, feature_id, self.entity_id, overage)
        saved = [
            (
                e.balance,
                e.balance.balance,
                e.balance.changed,
                [(r, r.balance, r.usage) for r in e.balance.rollovers],
            )
            for e in entries
        ]
        remaining, mutations = deduct_usage(entries, amount, overage, now_ms, unwind=unwind)
        if overage == "reject" and remaining > 0:
            for b, balance, changed, rollovers in saved:
                b.balance, b.changed = balance, changed
                for r, r_balance, r_usage in rollovers:
                    r.balance, r.usage = r_balance, r_usage
            return False, []
        return True, mutations


def load_subject(
    store: Store, customer_id: str, entity_id: str | None, feature_ids: Iterable[str], now_ms: int
) -> Subject:
    """The subject's balances of ``feature_ids``, resets and lock expiries applied.

    404 ``customer_not_found``, or ``entity_not_found`` whenever an entity is
    named and cannot be found, its customer missing included (Autumn looks
    the subject up in one go); nothing is created.
    """
    if entity_id is not None and store.entity(customer_id, entity_id) is None:
        raise ApiError(404, "entity_not_found", f"Entity {entity_id} not found")
    require_owner(store, customer_id, entity_id)
    ids = list(dict.fromkeys(feature_ids))
    balances = store.features_balances(customer_id, ids, entity_id, now_ms) if ids else []
    settled_balances(store, balances, now_ms)
    return Subject(customer_id, entity_id, balances)


def deductions_view(
    mutations: Iterable[Mutation], features: Mapping[str, FeatureRow]
) -> list[dict[str, Any]]:
    """The track answer's ``deductions``: one entry per balance or rollover touched, in order."""
    found: dict[tuple[bool, str], dict[str, Any]] = {}
    for m in mutations:
        if m.balance_delta == 0:
            continue
        key = (m.rollover is not None, m.target_id)
        entry = found.get(key)
        if entry is None:
            b = m.balance
            found[key] = {
                "balance_id": m.target_id,
                "feature_id": b.feature_id,
                "plan_id": None,
                "reset": balance_reset(b, features[b.feature_id]),
                "value": -m.balance_delta,
            }
        else:
            entry["value"] -= m.balance_delta
    for entry in found.values():
        entry["value"] = js_number(entry["value"])
    return list(found.values())


def insufficient_balance(value: Number, feature_id: str | None, event_name: str | None) -> ApiError:
    target = f"feature {feature_id}" if feature_id else f"event {event_name}"
    return ApiError(
        400,
        "insufficient_balance",
        f"Insufficient balance to deduct {js_number(value)} from {target}",
    )
