"""``balances.track_tokens`` and ``batch_track_tokens``: a model's tokens, tracked as credits.

As Autumn's ``handleTrackTokens`` / ``handleBatchTrackTokens`` /
``getTokenTrackParams`` (``server/src/internal/balances/``):

1. The body: ``schemas/track_tokens.py``.
2. The AI credit system: ``feature_id`` when given (404
   ``feature_not_found`` if unknown, 400 ``invalid_request`` "... is not an
   AI credit system feature"); else the one the customer (or entity) holds
   a balance of: none is 404 ``feature_not_found``, several 400
   ``invalid_request`` asking for ``feature_id``; an unknown customer 404.
3. The cost (``ai_credits.cost_breakdown``) becomes a track of
   ``value = cost`` on that feature, answered as ``balances.track`` answers
   (``value`` is the cost). The breakdown (model, token counts, cost,
   base_cost, markup, markup_source, tier_applied, rates) goes into the
   event's ``properties``, which this server does not store.
4. ``batch_track_tokens`` prices every item first (one bad item refuses the
   batch), then goes on as ``balances.batch_track``.
"""

from __future__ import annotations

from typing import Any

from autumn_local.rules.ai_credits import (
    AI_CREDIT_SYSTEM,
    CostBreakdown,
    cost_breakdown,
    require_ai_credit_system,
)
from autumn_local.rules.model_prices import ModelPrices
from autumn_local.rules.operations import require_owner
from autumn_local.schemas.errors import ApiError, invalid_request
from autumn_local.schemas.track_tokens import TokenTrackParams
from autumn_local.schemas.usage import TrackParams
from autumn_local.store.database import FeatureRow, Store

__all__ = ["to_track_params"]


def _held_ai_credit_system(store: Store, p: TokenTrackParams, now_ms: int) -> FeatureRow:
    """``resolveAiCreditFeatureFromEntitlements``: the one AI credit system the subject holds."""
    require_owner(store, p.customer_id, p.entity_id)
    features = store.feature_map()
    levels = ("", p.entity_id) if p.entity_id is not None else None
    held = {
        b.feature_id: features[b.feature_id]
        for b in store.customer_balances(p.customer_id, now_ms)
        if (levels is None or b.entity_id in levels)
        and features[b.feature_id].type == AI_CREDIT_SYSTEM
    }
    if not held:
        raise ApiError(
            404, "feature_not_found", "No AI credit system feature found for this customer"
        )
    if len(held) > 1:
        raise invalid_request(
            "Multiple AI credit system features found for this customer."
            " Please specify a feature_id to disambiguate."
        )
    return next(iter(held.values()))


def _properties(p: TokenTrackParams, b: CostBreakdown) -> dict[str, Any]:
    """The event's properties (the caller's, then the pricing), as ``getTokenTrackParams``."""
    tokens = {
        "input_tokens": p.tokens.input,
        "output_tokens": p.tokens.output,
        **{f"{pool}_tokens": getattr(p.tokens, pool) for pool in p.sent_pools},
    }
    return {
        **(p.properties or {}),
        "model": p.model_id,
        **tokens,
        "cost": b.cost,
        "base_cost": b.base_cost,
        "markup": b.markup,
        "markup_source": b.markup_source,
        "tier_applied": b.tier_applied,
        "rates": dict(b.rates),
    }


def to_track_params(
    store: Store, prices: ModelPrices, p: TokenTrackParams, now_ms: int
) -> TrackParams:
    """The track a token event becomes: ``value`` is its cost in the AI credit system."""
    if p.feature_id is not None:
        feature = require_ai_credit_system(store.feature(p.feature_id), p.feature_id)
    else:
        feature = _held_ai_credit_system(store, p, now_ms)
    breakdown = cost_breakdown(prices, feature, p.model_id, p.tokens)
    return TrackParams(
        customer_id=p.customer_id,
        feature_id=feature.id,
        event_name=None,
        entity_id=p.entity_id,
        value=breakdown.cost,
        properties=_properties(p, breakdown),
        idempotency_key=p.idempotency_key,
        timestamp=p.timestamp,
        overage_behavior=p.overage_behavior,
        run_async=p.run_async,
        lock=None,
    )
