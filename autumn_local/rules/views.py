"""JSON shapes of what the API returns: customer, entity, feature.

The customer and entity views follow Autumn's API 2.1-2.4 customer schema
(``apiCustomerV5``), key for key and in its key order, so clients that
validate answers (Autumn's TypeScript and Python SDKs do) parse them:

- ``balances[feature_id]`` totals: granted = sum of grants (plus rollovers),
  remaining = sum of each balance floored at 0 (plus rollovers), usage =
  sum of (grant - balance), next_reset_at = the earliest.
- An unlimited balance collapses its feature to granted 0, remaining 0 and
  one breakdown entry carrying Autumn's own balance id.
- Boolean features appear under ``flags``, never under ``balances``.
- In the customer view, the entities' balances add to the totals but not to
  the breakdown, and entity balances standing at exactly 0 are left out (as
  Autumn's aggregate query does); the entity view lists the entity's and
  the customer-level balances together.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from autumn_local.rules.update_spread import deduction_order, live_rollovers
from autumn_local.schemas.ai_markups import AI_CREDIT_SYSTEM
from autumn_local.store.database import Balance, CustomerRow, EntityRow, FeatureRow, Number
from autumn_local.store.js_numbers import js_number

__all__ = ["balance_reset", "customer_view", "entity_view", "feature_view", "subject_balances"]


def feature_view(f: FeatureRow) -> dict[str, Any]:
    """Autumn's ``dbToApiFeatureV1``: ``credit_schema`` only for a credit system."""
    view: dict[str, Any] = {
        "id": f.id,
        "name": f.name,
        "type": f.type,
        "consumable": f.consumable,
    }
    if f.type == "credit_system":
        view["credit_schema"] = [
            {
                "metered_feature_id": item.metered_feature_id,
                "credit_cost": js_number(item.credit_cost),
            }
            for item in f.credit_schema
        ]
    elif f.type == AI_CREDIT_SYSTEM:
        # No schema: its markups (default, provider, model) price tokens instead.
        view["credit_schema"] = []
        view.update(f.ai_markups or {})
    view["event_names"] = list(f.event_names)
    view["archived"] = f.archived
    return view


def _num(value: Number) -> Number | None:
    """As Autumn writes a balance: 10 decimals at most, then as JavaScript writes it."""
    return js_number(round(value, 10) if isinstance(value, float) else value)


def _earliest_reset(balances: Iterable[Balance]) -> int | None:
    resets = [b.next_reset_at for b in balances if b.next_reset_at]
    return min(resets) if resets else None


def balance_reset(b: Balance, feature: FeatureRow) -> dict[str, Any] | None:
    """A balance's ``reset`` as Autumn shows it (``cusEntsToReset`` of one balance)."""
    if not feature.consumable:
        return None  # a continuous-use feature (seats) shows no reset
    reset: dict[str, Any] = {"interval": b.interval}
    if b.interval_count != 1:
        reset["interval_count"] = b.interval_count
    reset["resets_at"] = b.next_reset_at or None
    return reset


def _breakdown(b: Balance, feature: FeatureRow) -> dict[str, Any]:
    return {
        "id": b.api_id,
        "plan_id": None,
        "included_grant": _num(b.grant),
        "prepaid_grant": 0,
        "remaining": _num(max(0, b.balance)),
        "usage": _num(b.usage),
        "unlimited": False,
        "reset": balance_reset(b, feature),
        "price": None,
        "expires_at": b.expires_at,
    }


def _rollover_entries(balances: Sequence[Balance], now_ms: int) -> list[dict[str, Any]] | None:
    if all(b.rollover is None for b in balances):
        return None
    return [
        {
            "granted": _num(r.balance + r.usage),
            "balance": _num(r.balance),
            "expires_at": r.expires_at or 0,
        }
        for b in balances
        for r in live_rollovers([b], now_ms)
    ]


def _balance_entry(
    feature: FeatureRow, own: Sequence[Balance], entities: Sequence[Balance], now_ms: int
) -> dict[str, Any]:
    """One ``balances[feature_id]`` entry from ordered balances plus entity totals."""
    rollovers = live_rollovers(own, now_ms)
    entry: dict[str, Any] = {
        "feature_id": feature.id,
        "granted": sum(b.grant for b in own) + sum(r.balance + r.usage for r in rollovers),
        "remaining": sum(max(0, b.balance) for b in own) + sum(r.balance for r in rollovers),
        "usage": sum(b.usage for b in own) + sum(r.usage for r in rollovers),
        "unlimited": False,
        "overage_allowed": False,
        "max_purchase": None,
        "next_reset_at": _earliest_reset(own),
        "breakdown": [_breakdown(b, feature) for b in own],
        "rollovers": _rollover_entries(own, now_ms),
    }
    unlimited = [b for b in own if b.unlimited]
    if unlimited:
        usage = -sum(b.balance for b in unlimited)
        entry |= {
            "granted": 0,
            "remaining": 0,
            "usage": usage,
            "unlimited": True,
            "next_reset_at": None,
            "breakdown": [
                {
                    "id": own[0].id,
                    "plan_id": None,
                    "included_grant": 0,
                    "prepaid_grant": 0,
                    "remaining": 0,
                    "usage": usage,
                    "unlimited": True,
                    "reset": None,
                    "price": None,
                    "expires_at": None,
                }
            ],
        }
    if entities:
        _add_entity_totals(entry, entities, now_ms)
    for key in ("granted", "remaining", "usage"):
        entry[key] = _num(entry[key])
    if entry["rollovers"] is None:
        del entry["rollovers"]
    return entry


def _add_entity_totals(entry: dict[str, Any], entities: Sequence[Balance], now_ms: int) -> None:
    """Merge the entities' balances into a customer's totals (not its breakdown)."""
    total = sum(b.balance for b in entities)
    if entry["unlimited"] or any(b.unlimited for b in entities):
        usage = entry["usage"] - (total if any(b.unlimited for b in entities) else 0)
        entry |= {"granted": 0, "remaining": 0, "usage": usage, "unlimited": True}
        return
    rollovers = live_rollovers(entities, now_ms)
    rolled_over = sum(r.balance for r in rollovers)
    rolled_used = sum(r.usage for r in rollovers)
    granted = sum(b.grant for b in entities)
    entry["granted"] += granted + rolled_over + rolled_used
    # The floor applies to the entities' sum, not to each of them.
    entry["remaining"] += max(0, total) + rolled_over
    entry["usage"] += granted - total + rolled_used
    resets = [r for r in (entry["next_reset_at"], _earliest_reset(entities)) if r is not None]
    entry["next_reset_at"] = min(resets) if resets else None


def _flag(feature: FeatureRow, own: Sequence[Balance]) -> dict[str, Any]:
    first = own[0]
    return {
        "id": first.api_id,
        "plan_id": None,
        "expires_at": first.expires_at,
        "feature_id": feature.id,
    }


def _balances_and_flags(
    features: Mapping[str, FeatureRow],
    own: Sequence[Balance],
    entities: Sequence[Balance],
    entity_id: str | None,
    now_ms: int,
) -> tuple[dict[str, Any], dict[str, Any]]:
    own_by_feature: dict[str, list[Balance]] = {}
    for b in own:
        own_by_feature.setdefault(b.feature_id, []).append(b)
    entities_by_feature: dict[str, list[Balance]] = {}
    for b in entities:
        if b.balance != 0 or b.unlimited:
            entities_by_feature.setdefault(b.feature_id, []).append(b)
    balances: dict[str, Any] = {}
    flags: dict[str, Any] = {}
    for feature_id in [
        *own_by_feature,
        *(f for f in entities_by_feature if f not in own_by_feature),
    ]:
        feature = features[feature_id]
        ordered = deduction_order(own_by_feature.get(feature_id, []), entity_id)
        if feature.type == "boolean":
            if ordered:
                flags[feature_id] = _flag(feature, ordered)
            continue
        balances[feature_id] = _balance_entry(
            feature, ordered, entities_by_feature.get(feature_id, []), now_ms
        )
    return balances, flags


def subject_balances(
    features: Mapping[str, FeatureRow],
    balances: Sequence[Balance],
    entity_id: str | None,
    now_ms: int,
    *,
    aggregate: bool = True,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``balances`` and ``flags`` as ``customers.get`` (``entity_id`` None) or ``entities.get``
    show them, from some of the subject's balances.

    ``aggregate=False`` leaves the entities' balances out of a customer's
    totals: what Autumn's check evaluates ``allowed`` on.
    """
    if entity_id is None:
        own = [b for b in balances if b.entity_id == ""]
        entities = [b for b in balances if b.entity_id != ""] if aggregate else []
        return _balances_and_flags(features, own, entities, None, now_ms)
    own = [b for b in balances if b.entity_id in ("", entity_id)]
    return _balances_and_flags(features, own, [], entity_id, now_ms)


def _with_features(
    entries: Mapping[str, dict[str, Any]], features: Mapping[str, FeatureRow], last: bool
) -> dict[str, Any]:
    """Expanded ``balances.feature`` / ``flags.feature``: the feature object in each entry,
    after ``feature_id`` in a balance (Autumn's ``getApiBalanceV2``), last in a flag."""
    out: dict[str, Any] = {}
    for feature_id, entry in entries.items():
        shown = feature_view(features[feature_id])
        if last:
            out[feature_id] = {**entry, "feature": shown}
            continue
        head = {"feature_id": entry["feature_id"], "feature": shown}
        out[feature_id] = head | {k: v for k, v in entry.items() if k != "feature_id"}
    return out


def _entity_entry(e: EntityRow, env: str) -> dict[str, Any]:
    """One of expand ``entities`` (``ApiBaseEntitySchema``)."""
    return {
        "id": e.id,
        "name": e.name or None,
        "customer_id": e.customer_id,
        "feature_id": None,
        "created_at": e.created_at,
        "env": env,
    }


def _expanded(expand: Sequence[str], entities: Sequence[EntityRow], env: str) -> dict[str, Any]:
    """The fields ``expand`` adds (``getApiCustomerExpandV2``) for a customer without
    plans or a payment processor: ``rewards`` and ``invoice_previews`` stay absent."""
    extra: dict[str, Any] = {}
    if "invoices" in expand:
        extra["invoices"] = []
    if "entities" in expand:
        extra["entities"] = [_entity_entry(e, env) for e in entities]
    if "trials_used" in expand:
        extra["trials_used"] = []
    if "referrals" in expand:
        extra["referrals"] = []
    if "payment_method" in expand:
        extra["payment_method"] = None
    return extra


def customer_view(
    c: CustomerRow,
    balances: Sequence[Balance],
    features: Mapping[str, FeatureRow],
    env: str,
    now_ms: int,
    expand: Sequence[str] = (),
    entities: Sequence[EntityRow] = (),
) -> dict[str, Any]:
    """``customers.get``: ``balances`` are every unexpired balance of the customer;
    ``entities`` its entities, shown with expand ``entities``."""
    own = [b for b in balances if b.entity_id == ""]
    others = [b for b in balances if b.entity_id != ""]
    balance_map, flags = _balances_and_flags(features, own, others, None, now_ms)
    if "balances.feature" in expand:
        balance_map = _with_features(balance_map, features, last=False)
    if "flags.feature" in expand:
        flags = _with_features(flags, features, last=True)
    return {
        "id": c.id if c.has_id else None,
        "name": c.name or None,
        "email": c.email or None,
        "created_at": c.created_at,
        "fingerprint": c.fingerprint or None,
        "stripe_id": None,
        "env": env,
        "metadata": json.loads(c.metadata),
        "send_email_receipts": bool(c.send_email_receipts),
        "billing_controls": {},
        "subscriptions": [],
        "purchases": [],
        "licenses": [],
        "balances": balance_map,
        "flags": flags,
        **_expanded(expand, entities, env),
    }


def entity_view(
    e: EntityRow,
    balances: Sequence[Balance],
    features: Mapping[str, FeatureRow],
    env: str,
    now_ms: int,
) -> dict[str, Any]:
    """``entities.get``: the entity's balances and the customer-level ones, together."""
    own = [b for b in balances if b.entity_id in ("", e.id)]
    balance_map, flags = _balances_and_flags(features, own, [], e.id, now_ms)
    return {
        "id": e.id,
        "name": e.name or None,
        "customer_id": e.customer_id,
        "created_at": e.created_at,
        "env": env,
        "subscriptions": [],
        "purchases": [],
        "balances": balance_map,
        "flags": flags,
        "billing_controls": {},
    }
