"""Credit systems: which features draw from which credit pool, and at what cost.

A ``credit_system`` feature has a schema mapping metered features to a cost
in credits per unit (``[{"metered_feature_id": "words", "credit_cost": 0.5}]``).
Tracking or checking a metered feature then involves every credit system
whose schema names it, besides the feature itself (Autumn's
``getRelevantFeatures`` / ``getCreditSystemsFromFeature``, in catalog order),
and one unit of the feature costs ``credit_cost`` credits of a pool.

Two kinds of arithmetic, as Autumn has them: the deduction itself multiplies
in binary floating point (its Lua script), while ``check`` converts a
required amount to credits with decimal arithmetic (decimal.js).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from autumn_local.store.database import FeatureRow, Number

__all__ = [
    "CREDIT_SYSTEM",
    "credit_cost",
    "credit_systems_of",
    "relevant_features",
    "to_credits",
]

CREDIT_SYSTEM = "credit_system"


def _draws_on(credit_system: FeatureRow, feature_id: str) -> bool:
    return credit_system.type == CREDIT_SYSTEM and any(
        item.metered_feature_id == feature_id for item in credit_system.credit_schema
    )


def relevant_features(features: Mapping[str, FeatureRow], feature_id: str) -> list[FeatureRow]:
    """The feature and every credit system drawing on it, in catalog order."""
    return [f for f in features.values() if f.id == feature_id or _draws_on(f, feature_id)]


def credit_systems_of(features: Mapping[str, FeatureRow], feature_id: str) -> list[FeatureRow]:
    """The credit systems (other than the feature itself) whose schema names the feature."""
    return [f for f in features.values() if f.id != feature_id and _draws_on(f, feature_id)]


def credit_cost(feature_id: str, balance_feature: FeatureRow) -> Number:
    """What one unit of ``feature_id`` costs in a balance of ``balance_feature``.

    1 for the feature's own balance; the schema's cost for a credit system
    naming it; 1 otherwise (Autumn falls back to 1 rather than fail a track).
    """
    if balance_feature.type != CREDIT_SYSTEM or balance_feature.id == feature_id:
        return 1
    for item in balance_feature.credit_schema:
        if item.metered_feature_id == feature_id:
            return item.credit_cost
    return 1


def _decimal(value: Number) -> Decimal:
    # decimal.js reads a JavaScript number through its shortest decimal form.
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def to_credits(feature_id: str, credit_system: FeatureRow, amount: Number) -> Number:
    """``amount`` units of ``feature_id`` in credits of ``credit_system`` (decimal arithmetic)."""
    for item in credit_system.credit_schema:
        if item.metered_feature_id == feature_id:
            exact = _decimal(item.credit_cost) * _decimal(amount)
            return int(exact) if exact == exact.to_integral_value() else float(exact)
    return amount
