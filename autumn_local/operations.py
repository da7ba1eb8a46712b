"""What each endpoint does to the state, with the rules that need stored data.

Each function runs inside one store transaction opened by the caller; raising
``ApiError`` rolls everything back.

Update semantics (one balance, picked by ``balance_id`` / ``interval``):

- ``remaining`` sets remaining exactly; usage becomes ``granted - remaining``.
- ``add_to_balance`` is a grant adjustment: granted and remaining both move by
  the amount and usage is untouched, so a top-up survives the next reset.
- ``usage`` sets usage; remaining becomes ``granted - usage``.
- ``included_grant`` sets the granted amount (applied before the three above).
- ``next_reset_at`` / ``expires_at`` move those dates (future only).

Remaining may not go below zero: standalone balances allow no overage.
"""

from __future__ import annotations

import json
import secrets
import string
from dataclasses import replace

from autumn_local.errors import ApiError, invalid_inputs
from autumn_local.resets import RESETTING_INTERVALS, boundary
from autumn_local.store import BalanceRow, CustomerRow, EntityRow, FeatureRow, Store
from autumn_local.validation import (
    CreateBalanceParams,
    CreateFeatureParams,
    CustomerParams,
    UpdateBalanceParams,
)

__all__ = [
    "create_balance",
    "create_feature",
    "get_or_create_customer",
    "new_balance_id",
    "require_customer",
    "require_entity",
    "update_balance",
]

_ID_ALPHABET = string.ascii_letters + string.digits
_ID_LENGTH = 27
# One random byte per character, by rejection sampling: bytes below 248
# (= 4 * 62) map to ``_ID_ALPHABET[b % 62]``, which is uniform; the 8 higher
# values are deleted. ``bytes.translate`` does both in C, so an id costs one
# os.urandom call instead of 27. 36 bytes leave fewer than 27 usable ones
# about once in ten million ids; then we simply draw again.
_ID_DRAW = 36
_ID_TABLE = bytes(ord(_ID_ALPHABET[b % 62]) if b < 248 else 0 for b in range(256))
_ID_REJECT = bytes(range(248, 256))


def new_balance_id() -> str:
    """An id shaped like Autumn's own (``cus_ent_`` + 27 base62 characters)."""
    while True:
        chars = secrets.token_bytes(_ID_DRAW).translate(_ID_TABLE, _ID_REJECT)
        if len(chars) >= _ID_LENGTH:
            return "cus_ent_" + chars[:_ID_LENGTH].decode("ascii")


def require_customer(store: Store, customer_id: str) -> CustomerRow:
    customer = store.customer(customer_id)
    if customer is None:
        raise ApiError(404, "customer_not_found", f"customer {customer_id!r} not found")
    return customer


def require_entity(store: Store, customer_id: str, entity_id: str) -> EntityRow:
    entity = store.entity(customer_id, entity_id)
    if entity is None:
        raise ApiError(
            404,
            "entity_not_found",
            f"entity {entity_id!r} not found for customer {customer_id!r}",
        )
    return entity


def _require_feature(store: Store, feature_id: str) -> FeatureRow:
    feature = store.feature(feature_id)
    if feature is None:
        raise ApiError(404, "feature_not_found", f"feature {feature_id!r} not found")
    return feature


def _require_future(field: str, value: int, now_ms: int) -> None:
    if value <= now_ms:
        raise invalid_inputs(f"{field} must be in the future (now is {now_ms}, got {value})")


def create_balance(store: Store, p: CreateBalanceParams, now_ms: int) -> BalanceRow:
    """``balances.create``: a standalone balance (a "breakdown") for one feature."""
    if not store.customer_exists(p.customer_id):
        raise ApiError(404, "customer_not_found", f"customer {p.customer_id!r} not found")
    feature = _require_feature(store, p.feature_id)
    if p.entity_id is not None:
        require_entity(store, p.customer_id, p.entity_id)
    entity_key = p.entity_id or ""

    if feature.type == "boolean":
        for field, given in (
            ("included", p.included is not None),
            ("unlimited", p.unlimited),
            ("reset", p.reset is not None),
            ("rollover", p.rollover is not None),
        ):
            if given:
                raise invalid_inputs(f"{field} cannot be set for boolean feature {feature.id!r}")
        if store.live_balances(p.customer_id, feature.id, entity_key, now_ms, limit=1):
            raise ApiError(
                409,
                "invalid_request",
                f"customer {p.customer_id!r} already has boolean feature {feature.id!r}",
            )
    else:
        if p.included is None and not p.unlimited:
            raise invalid_inputs(
                f"included is required for metered feature {feature.id!r} (or set unlimited: true)"
            )
        if p.rollover is not None and not feature.consumable:
            raise invalid_inputs(
                f"rollover requires a consumable feature; {feature.id!r} is not consumable"
            )

    if p.expires_at is not None:
        _require_future("expires_at", p.expires_at, now_ms)
    if p.next_reset_at is not None:
        _require_future("next_reset_at", p.next_reset_at, now_ms)
    if p.balance_id is not None and store.balance_id_taken(p.customer_id, p.balance_id):
        raise ApiError(
            409,
            "invalid_request",
            f"balance_id {p.balance_id!r} is already used for customer {p.customer_id!r}",
        )

    interval = p.reset.interval if p.reset else None
    count = p.reset.interval_count if p.reset else 1
    # Boundaries are anchor + n intervals. The anchor is the creation time, or
    # the custom first boundary; computing every boundary from it keeps a
    # balance created on the 31st resetting on month ends, not drifting.
    next_reset_at: int | None = None
    anchor: int | None = None
    if interval in RESETTING_INTERVALS:
        assert interval is not None
        if p.next_reset_at is not None:
            anchor = next_reset_at = p.next_reset_at
        else:
            anchor, next_reset_at = now_ms, boundary(now_ms, interval, count, 1)
    rollover = None
    if p.rollover is not None:
        r = p.rollover
        rollover = json.dumps(
            {
                "max": r.max,
                "max_percentage": r.max_percentage,
                "duration": r.duration,
                "length": r.length,
            }
        )
    balance = BalanceRow(
        pk=0,
        id=p.balance_id or new_balance_id(),
        customer_id=p.customer_id,
        entity_id=entity_key,
        feature_id=feature.id,
        granted=0 if p.unlimited or p.included is None else p.included,
        usage=0,
        unlimited=p.unlimited,
        interval=interval,
        interval_count=count,
        anchor_ms=anchor,
        next_reset_at=next_reset_at,
        expires_at=p.expires_at,
        rollover=rollover,
        created_at=now_ms,
    )
    store.insert_balance(balance)
    return balance


def _pick_balance(store: Store, p: UpdateBalanceParams, now_ms: int) -> BalanceRow:
    """The one unexpired balance the update names, rolled forward to ``now_ms``.

    Reads only what it needs: the row for ``balance_id``, or at most two rows
    of the wanted interval; counting and existence checks run only to word an
    error. Only the picked balance is rolled forward (``at`` changes neither
    its id nor its interval, so filtering first picks the same one).
    """
    where = f"customer {p.customer_id!r}" + (
        f" entity {p.entity_id!r}" if p.entity_id is not None else ""
    )
    entity_key = p.entity_id or ""

    def has_any() -> bool:
        return bool(store.live_balances(p.customer_id, p.feature_id, entity_key, now_ms, limit=1))

    def none_for_feature() -> ApiError:
        return ApiError(
            404, "balance_not_found", f"{where} has no balance for feature {p.feature_id!r}"
        )

    def none_with_interval() -> ApiError:
        return ApiError(
            404,
            "balance_not_found",
            f"{where} has no {p.feature_id!r} balance with interval {p.interval!r}",
        )

    if p.balance_id is not None:
        b = store.balance_by_id(p.customer_id, p.balance_id)
        if (
            b is None
            or b.feature_id != p.feature_id
            or b.entity_id != entity_key
            or b.expired(now_ms)
        ):
            if not has_any():
                raise none_for_feature()
            raise ApiError(
                404,
                "balance_not_found",
                f"balance_id {p.balance_id!r} not found for {where} and feature {p.feature_id!r}",
            )
        if p.interval is not None and (b.interval or "one_off") != p.interval:
            raise none_with_interval()
        return b.at(now_ms)

    candidates = store.live_balances(
        p.customer_id, p.feature_id, entity_key, now_ms, p.interval, limit=2
    )
    if not candidates:
        if p.interval is not None and has_any():
            raise none_with_interval()
        raise none_for_feature()
    if len(candidates) > 1:
        count = store.count_live_balances(
            p.customer_id, p.feature_id, entity_key, now_ms, p.interval
        )
        hint = "balance_id" if p.interval is not None else "balance_id or interval"
        raise invalid_inputs(
            f"{where} has {count} balances for feature {p.feature_id!r}; pick one with {hint}"
        )
    return candidates[0].at(now_ms)


def update_balance(store: Store, p: UpdateBalanceParams, now_ms: int) -> BalanceRow:
    """``balances.update``: change one balance; see the module docstring for semantics."""
    if not store.customer_exists(p.customer_id):
        raise ApiError(404, "customer_not_found", f"customer {p.customer_id!r} not found")
    feature = _require_feature(store, p.feature_id)
    if p.entity_id is not None:
        require_entity(store, p.customer_id, p.entity_id)
    if feature.type == "boolean":
        raise invalid_inputs(
            f"feature_id {feature.id!r} is a boolean feature; it has no balance to update"
        )
    b = _pick_balance(store, p, now_ms)

    if b.unlimited:
        for field, value in (
            ("remaining", p.remaining),
            ("add_to_balance", p.add_to_balance),
            ("included_grant", p.included_grant),
        ):
            if value is not None:
                raise invalid_inputs(f"{field} cannot be set on an unlimited balance")

    granted, usage = b.granted, b.usage
    if p.included_grant is not None:
        granted = p.included_grant
    if p.remaining is not None:
        usage = granted - p.remaining
    elif p.add_to_balance is not None:
        granted = granted + p.add_to_balance
        if granted < 0:
            raise invalid_inputs(
                f"add_to_balance {p.add_to_balance} would make the granted amount negative"
            )
    elif p.usage is not None:
        usage = p.usage
    if not b.unlimited and granted - usage < 0:
        cause = next(
            name
            for name, v in (
                ("add_to_balance", p.add_to_balance),
                ("usage", p.usage),
                ("included_grant", p.included_grant),
            )
            if v is not None
        )
        raise invalid_inputs(
            f"{cause} would make remaining negative ({granted - usage}); "
            "this balance allows no overage"
        )

    anchor, next_reset_at, expires_at = b.anchor_ms, b.next_reset_at, b.expires_at
    if p.expires_at is not None:
        _require_future("expires_at", p.expires_at, now_ms)
        expires_at = p.expires_at
    if p.next_reset_at is not None:
        _require_future("next_reset_at", p.next_reset_at, now_ms)
        if b.interval not in RESETTING_INTERVALS:
            raise invalid_inputs("next_reset_at can only be set on a balance that resets")
        if expires_at is not None and p.next_reset_at >= expires_at:
            raise invalid_inputs("next_reset_at must be before expires_at")
        anchor = next_reset_at = p.next_reset_at

    updated = replace(
        b,
        granted=granted,
        usage=usage,
        anchor_ms=anchor,
        next_reset_at=next_reset_at,
        expires_at=expires_at,
    )
    store.save_balance(updated)
    return updated


def get_or_create_customer(store: Store, p: CustomerParams, now_ms: int) -> CustomerRow:
    """Return the customer, creating it (with ``name`` / ``email``) if it does not exist."""
    customer = store.customer(p.customer_id)
    if customer is None:
        customer = CustomerRow(id=p.customer_id, name=p.name, email=p.email, created_at=now_ms)
        store.insert_customer(customer)
    return customer


def create_feature(store: Store, p: CreateFeatureParams, now_ms: int) -> FeatureRow:
    if store.feature(p.id) is not None:
        raise ApiError(409, "invalid_request", f"feature {p.id!r} already exists")
    feature = FeatureRow(
        id=p.id,
        name=p.name,
        type=p.type,
        consumable=p.consumable,
        event_names=tuple(p.event_names),
        archived=False,
    )
    store.insert_feature(feature, now_ms)
    return feature
