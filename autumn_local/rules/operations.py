"""What each endpoint does to the state, with the rules that need stored data.

Each function runs inside one store transaction opened by the caller; raising
``ApiError`` rolls everything back. Statuses and codes are Autumn's, in
Autumn's order of checks: the feature first, then the customer and entity.

``balances.update`` works on every unexpired balance of the feature that the
optional selectors match (``interval``, ``balance_id``), at customer level
and, with ``entity_id``, the entity's; see ``update_spread.py`` for the order and
the spreading. Its steps run in Autumn's order:

1. ``remaining`` sets the total remaining (it wins over ``add_to_balance``);
   else ``add_to_balance`` adds to it (usage goes down, the grant stays).
2. ``usage`` sets the total usage: remaining becomes grant - usage.
3. ``included_grant`` sets the total grant by adjusting the first balance;
   remaining stays, so usage moves.
4. ``next_reset_at`` moves the soonest-resetting balance's next reset.
5. ``expires_at`` sets the soonest-expiring balance's expiry.

Matching nothing is a no-op for steps 1-2 and a 404 for 3-5. Nothing is
refused for going negative: Autumn applies updates with overage allowed.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from datetime import datetime, timezone

from autumn_local.rules import locks
from autumn_local.rules.resets import LIFETIME, add_interval, apply_due_reset
from autumn_local.rules.update_spread import deduct, deduction_order, set_remaining
from autumn_local.schemas.balances import (
    CreateBalanceParams,
    CreateFeatureParams,
    UpdateBalanceParams,
)
from autumn_local.schemas.errors import ApiError, StepsApplied, invalid_request
from autumn_local.store.database import Balance, CustomerRow, EntityRow, FeatureRow, Store
from autumn_local.store.ids import new_balance_id

__all__ = [
    "create_balance",
    "create_feature",
    "require_feature",
    "require_owner",
    "settled_balances",
    "update_balance",
]


def require_feature(store: Store, feature_id: str) -> FeatureRow:
    feature = store.feature(feature_id)
    if feature is None:
        raise ApiError(404, "feature_not_found", f"Feature {feature_id} not found")
    return feature


def require_owner(
    store: Store, customer_id: str, entity_id: str | None
) -> tuple[CustomerRow, EntityRow | None]:
    """The customer, and the entity when one is named; neither is ever created here."""
    customer = store.customer(customer_id)
    if customer is None:
        raise ApiError(404, "customer_not_found", f"Customer {customer_id} not found")
    if entity_id is None:
        return customer, None
    entity = store.entity(customer_id, entity_id)
    if entity is None:
        raise ApiError(404, "entity_not_found", f"Entity {entity_id} not found")
    return customer, entity


def settled_balances(store: Store, balances: list[Balance], now_ms: int) -> list[Balance]:
    """``balances`` with the lock expiries and resets that fell due applied, and saved."""
    for customer_id in {b.customer_id for b in balances}:
        locks.release_due(store, customer_id, now_ms, balances)
    for b in balances:
        apply_due_reset(b, now_ms)
    store.save_balances(balances)
    return balances


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds")


def _broken_boolean_rule(feature: FeatureRow, p: CreateBalanceParams) -> str | None:
    if p.included_grant is not None or p.unlimited or p.reset is not None:
        return f"boolean feature {feature.id!r} takes no included_grant, unlimited or reset"
    return None


def _broken_metered_rule(feature: FeatureRow, p: CreateBalanceParams) -> str | None:
    if p.included_grant is None and not p.unlimited:
        return (
            f"metered feature {feature.id!r} needs included_grant or unlimited: true"
            " (a field named 'included' is not read: send included_grant)"
        )
    if p.included_grant is not None and p.unlimited:
        return "included_grant and unlimited cannot be combined"
    if p.unlimited and p.reset is not None:
        return "an unlimited balance cannot have reset.interval"
    return None


def _broken_create_rule(feature: FeatureRow, p: CreateBalanceParams) -> str | None:
    """The grant rules Autumn checks after the request counted as valid (hence its 500)."""
    if feature.type == "boolean":
        return _broken_boolean_rule(feature, p)
    if feature.type == "metered":
        return _broken_metered_rule(feature, p)
    return None


def _check_rollover(feature: FeatureRow, p: CreateBalanceParams, now_ms: int) -> None:
    if p.rollover is None:
        return
    if feature.type == "metered" and not feature.consumable:
        raise invalid_request("Rollover is not supported for continuous use features")
    if p.reset is None:
        raise invalid_request("Rollover cannot be provided for one-time balances")
    if p.expires_at and p.reset.interval != LIFETIME:
        first_reset = add_interval(now_ms, p.reset.interval, p.reset.interval_count)
        if first_reset > p.expires_at:
            raise invalid_request(
                f"expires_at ({_iso(p.expires_at)}) occurs before the next rollover"
                f" event ({_iso(first_reset)})"
            )


def _check_next_reset_at(p: CreateBalanceParams, now_ms: int) -> None:
    if p.next_reset_at is None:
        return
    if p.reset is None:
        raise invalid_request("next_reset_at requires a reset interval to be provided")
    if p.next_reset_at <= now_ms:
        raise invalid_request("next_reset_at must be in the future")
    if p.expires_at and p.next_reset_at >= p.expires_at:
        raise invalid_request(
            f"next_reset_at ({_iso(p.next_reset_at)}) must occur before"
            f" expires_at ({_iso(p.expires_at)})"
        )


def _check_create_rules(
    store: Store, feature: FeatureRow, p: CreateBalanceParams, now_ms: int
) -> None:
    """Autumn's rules for a new balance, in its order."""
    broken = _broken_create_rule(feature, p)
    if broken is not None:
        raise ApiError(500, "invalid_inputs", f"input: Invalid input ({broken})")
    if feature.type == "boolean" and store.live_balances(
        p.customer_id, feature.id, p.entity_id or "", now_ms
    ):
        raise invalid_request(
            f"A boolean entitlement {feature.id} already exists for customer {p.customer_id}",
            409,
        )
    _check_rollover(feature, p, now_ms)
    _check_next_reset_at(p, now_ms)
    if p.balance_id is not None and store.balance_id_taken(p.customer_id, p.balance_id):
        raise invalid_request(
            f"balance_id '{p.balance_id}' is already in use for this customer", 409
        )


def _first_reset(
    p: CreateBalanceParams, interval: str, count: int, unlimited: bool, now_ms: int
) -> int | None:
    """When a new balance first resets: as asked, else one interval from now.

    Lifetime, unlimited and expiring balances do not reset by themselves.
    """
    if p.next_reset_at is not None:
        return p.next_reset_at
    if interval != LIFETIME and not unlimited and not p.expires_at:
        return add_interval(now_ms, interval, count)
    return None


def create_balance(store: Store, p: CreateBalanceParams, now_ms: int) -> Balance:
    """``balances.create``: a standalone balance (a "breakdown") for one feature."""
    feature = require_feature(store, p.feature_id)
    require_owner(store, p.customer_id, p.entity_id)
    _check_create_rules(store, feature, p, now_ms)

    interval = LIFETIME if p.reset is None else p.reset.interval
    count = 1 if p.reset is None else p.reset.interval_count
    unlimited = p.unlimited and feature.type != "boolean"
    allowance = 0 if unlimited or p.included_grant is None else p.included_grant
    balance = Balance(
        pk=0,
        id=new_balance_id(),
        balance_id=p.balance_id,
        customer_id=p.customer_id,
        entity_id=p.entity_id or "",
        feature_id=feature.id,
        allowance=allowance,
        adjustment=0,
        balance=allowance,
        unlimited=unlimited,
        interval=interval,
        interval_count=count,
        next_reset_at=_first_reset(p, interval, count, unlimited, now_ms),
        expires_at=p.expires_at,
        rollover=None if p.rollover is None else json.dumps(asdict(p.rollover)),
        created_at=now_ms,
    )
    store.insert_balance(balance)
    return balance


def _matching(p: UpdateBalanceParams, balances: list[Balance]) -> list[Balance]:
    """The balances an update selects, in deduction order."""
    matched = deduction_order(balances, p.entity_id)
    if p.customer_entitlement_id is not None:
        matched = [b for b in matched if b.id == p.customer_entitlement_id]
    if p.interval is not None:
        matched = [b for b in matched if b.interval == p.interval]
    if p.balance_id is not None:
        matched = [b for b in matched if b.api_id == p.balance_id]
    return matched


def _first_by(balances: list[Balance], field: str) -> Balance:
    return min(balances, key=lambda b: getattr(b, field) or math.inf)


def _update_remaining(p: UpdateBalanceParams, matched: list[Balance], now_ms: int) -> None:
    """Steps 1 and 2: ``remaining`` or ``add_to_balance``, then ``usage``."""
    if p.remaining is not None:
        set_remaining(matched, p.remaining, now_ms)
    elif p.add_to_balance is not None:
        deduct(matched, -p.add_to_balance, now_ms)
    if p.usage is not None:
        set_remaining(matched, sum(b.grant for b in matched) - p.usage, now_ms)


def _require_matched(p: UpdateBalanceParams, matched: list[Balance], found: str) -> None:
    if not matched:
        where = f"feature {p.feature_id}, customer {p.customer_id}"
        raise invalid_request(f"No balances {found} for {where}", 404)


def _update_grant(p: UpdateBalanceParams, matched: list[Balance]) -> None:
    """Step 3: ``included_grant``."""
    if p.included_grant is None:
        return
    _require_matched(p, matched, "to update")
    # The adjustment lands on the first balance and makes the matched
    # balances' original grants add up to included_grant.
    first = matched[0]
    allowances = sum(0 if b.unlimited else b.allowance for b in matched)
    first.adjustment, first.changed = p.included_grant - allowances, True


def _update_next_reset(p: UpdateBalanceParams, matched: list[Balance]) -> None:
    """Step 4: ``next_reset_at``."""
    if p.next_reset_at is None:
        return
    _require_matched(p, matched, "found")
    target = _first_by(matched, "next_reset_at")
    if target.interval == LIFETIME:
        where = f"feature {p.feature_id}, customer {p.customer_id}"
        raise invalid_request(f"Cannot update next reset at for lifetime balance ({where})")
    target.next_reset_at, target.changed = p.next_reset_at, True


def _update_expiry(p: UpdateBalanceParams, matched: list[Balance]) -> None:
    """Step 5: ``expires_at``."""
    if p.expires_at is None:
        return
    _require_matched(p, matched, "found")
    target = _first_by(matched, "expires_at")
    target.expires_at, target.changed = p.expires_at, True


def _apply_update(p: UpdateBalanceParams, matched: list[Balance], now_ms: int) -> None:
    _update_remaining(p, matched, now_ms)
    _update_grant(p, matched)
    _update_next_reset(p, matched)
    _update_expiry(p, matched)


def update_balance(store: Store, p: UpdateBalanceParams, now_ms: int) -> None:
    """``balances.update``: see the module docstring for what each field does."""
    require_feature(store, p.feature_id)
    if p.expires_at is not None and p.expires_at <= now_ms:
        raise invalid_request("expires_at must be in the future")
    require_owner(store, p.customer_id, p.entity_id)
    balances = settled_balances(
        store, store.live_balances(p.customer_id, p.feature_id, p.entity_id or "", now_ms), now_ms
    )
    try:
        _apply_update(p, _matching(p, balances), now_ms)
    except ApiError as exc:
        if any(b.changed for b in balances):
            store.save_balances(balances)
            raise StepsApplied(exc) from None
        raise
    store.save_balances(balances)


def _check_credit_schema(store: Store, p: CreateFeatureParams) -> None:
    """Autumn's ``validateCreditSystem`` and ``validateCreditSystemSchemaReferences``."""

    def invalid_feature(message: str) -> ApiError:
        return ApiError(400, "invalid_feature", message)

    if not p.credit_schema:
        raise invalid_feature(
            "At least one metered feature is required for credit system (send credit_schema)"
        )
    metered_ids = [item.metered_feature_id for item in p.credit_schema]
    if len(set(metered_ids)) != len(metered_ids):
        raise invalid_feature("Credit system contains multiple of the same metered_feature_id")
    for metered_id in metered_ids:
        referenced = store.feature(metered_id)
        if referenced is None or metered_id == p.id:
            continue  # Autumn lets a schema name a feature created later
        if referenced.type == "credit_system":
            raise invalid_feature(
                f"Credit system schema cannot reference another credit system ({metered_id})."
                " Only metered or AI credit features are allowed."
            )
        if referenced.type == "metered" and not referenced.consumable:
            raise invalid_feature(
                f"Credit system schema cannot reference continuous feature {metered_id}."
                " Only consumable (single-use) metered features are allowed."
            )


def create_feature(store: Store, p: CreateFeatureParams, now_ms: int) -> FeatureRow:
    if store.feature(p.id) is not None:
        raise invalid_request(f"feature {p.id!r} already exists", 409)
    if p.type == "credit_system":
        _check_credit_schema(store, p)
    feature = FeatureRow(
        id=p.id,
        name=p.name,
        type=p.type,
        consumable=p.consumable,
        event_names=tuple(p.event_names),
        archived=False,
        credit_schema=p.credit_schema,
        ai_markups=p.ai_markups,
    )
    store.insert_feature(feature, now_ms)
    return feature
