"""JSON shapes of what the API returns (customer, entity, feature, balances map)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from autumn_local.store import BalanceRow, CustomerRow, EntityRow, FeatureRow

__all__ = ["balances_map", "customer_view", "entity_view", "feature_view"]


def feature_view(f: FeatureRow) -> dict[str, Any]:
    return {
        "id": f.id,
        "name": f.name,
        "type": f.type,
        "consumable": f.consumable,
        "event_names": list(f.event_names),
        "credit_schema": [],
        "display": {"singular": None, "plural": None},
        "archived": f.archived,
    }


def _breakdown(b: BalanceRow) -> dict[str, Any]:
    reset = None
    if b.interval is not None:
        reset = {
            "interval": b.interval,
            "interval_count": b.interval_count,
            "resets_at": b.next_reset_at,
        }
    return {
        "id": b.id,
        "plan_id": None,
        "included_grant": b.granted,
        "prepaid_grant": 0,
        "remaining": b.remaining,
        "usage": b.usage,
        "unlimited": b.unlimited,
        "reset": reset,
        "price": None,
        "expires_at": b.expires_at,
    }


def balances_map(balances: Iterable[BalanceRow], now_ms: int) -> dict[str, Any]:
    """``CustomerBalances``: feature id -> aggregate over that feature's live balances.

    Expired balances are left out; due resets are applied (see ``BalanceRow.at``).
    """
    grouped: dict[str, list[BalanceRow]] = {}
    for b in balances:
        if not b.expired(now_ms):
            grouped.setdefault(b.feature_id, []).append(b.at(now_ms))
    out: dict[str, Any] = {}
    for feature_id, rows in grouped.items():
        resets = [b.next_reset_at for b in rows if b.next_reset_at is not None]
        out[feature_id] = {
            "feature_id": feature_id,
            "granted": sum(b.granted for b in rows),
            "remaining": sum(b.remaining for b in rows),
            "usage": sum(b.usage for b in rows),
            "unlimited": any(b.unlimited for b in rows),
            "overage_allowed": False,
            "max_purchase": None,
            "next_reset_at": min(resets) if resets else None,
            "breakdown": [_breakdown(b) for b in rows],
            "rollovers": [],
        }
    return out


def customer_view(
    c: CustomerRow, balances: Iterable[BalanceRow], env: str, now_ms: int
) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "email": c.email,
        "created_at": c.created_at,
        "env": env,
        "fingerprint": None,
        "stripe_id": None,
        "metadata": {},
        "balances": balances_map(balances, now_ms),
    }


def entity_view(
    e: EntityRow, balances: Iterable[BalanceRow], env: str, now_ms: int
) -> dict[str, Any]:
    return {
        "id": e.id,
        "customer_id": e.customer_id,
        "name": e.name,
        "created_at": e.created_at,
        "env": env,
        "balances": balances_map(balances, now_ms),
    }
