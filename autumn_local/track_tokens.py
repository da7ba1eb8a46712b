"""``balances.track_tokens`` and ``batch_track_tokens``: a model's tokens, tracked as credits.

As Autumn's ``handleTrackTokens`` / ``handleBatchTrackTokens`` /
``getTokenTrackParams`` (``server/src/internal/balances/``):

1. The body (``TrackTokensParamsSchema``): ``customer_id``, ``model_id``,
   ``input_tokens`` and ``output_tokens`` (whole numbers >= 0), the optional
   pools ``cache_read_tokens``, ``cache_write_tokens``,
   ``audio_input_tokens``, ``audio_output_tokens``, ``reasoning_tokens``, and
   what a track takes besides (``entity_id``, ``properties``,
   ``idempotency_key``, ``timestamp``, ``overage_behavior``, ``async``).
   No ``value``, ``event_name`` or ``lock``.
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

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from autumn_local.ai_credits import (
    AI_CREDIT_SYSTEM,
    CostBreakdown,
    Tokens,
    cost_breakdown,
    require_ai_credit_system,
)
from autumn_local.batch_track import accept_batch, at_index, parse_batch
from autumn_local.errors import ApiError, invalid_inputs, invalid_request
from autumn_local.model_prices import ModelPrices
from autumn_local.operations import require_owner
from autumn_local.ratelimits import TRACK_ORG
from autumn_local.replies import Reply
from autumn_local.store import FeatureRow, Store
from autumn_local.track import track
from autumn_local.usage_deduction import OVERAGE_BEHAVIORS
from autumn_local.usage_params import TrackParams, parse_timestamp
from autumn_local.validation import Fields

if TYPE_CHECKING:
    from autumn_local.app import ServerState

__all__ = [
    "TokenTrackParams",
    "batch_track_tokens",
    "parse_track_tokens",
    "to_track_params",
    "track_tokens",
]

_POOLS = ("cache_read", "cache_write", "audio_input", "audio_output", "reasoning")
_INTERNAL = ("customer_data", "entity_data", "skip_event")


@dataclass(frozen=True, slots=True)
class TokenTrackParams:
    customer_id: str
    entity_id: str | None
    feature_id: str | None
    model_id: str
    tokens: Tokens
    sent_pools: tuple[str, ...]
    properties: dict[str, Any] | None
    idempotency_key: str | None
    timestamp: int | None
    overage_behavior: str
    run_async: bool


def _token_count(fields: Fields, key: str, *, required: bool = False) -> int | None:
    value = fields.number(key, required=required)
    if value is None:
        return None
    if (isinstance(value, float) and not value.is_integer()) or value < 0:
        raise invalid_inputs(f"{key} must be a whole number of at least 0, got {value}")
    return int(value)


def parse_track_tokens(
    body: dict[str, Any], now_ms: int, *, strict: bool = False
) -> TokenTrackParams:
    """``POST /v1/balances.track_tokens``: a model and its token counts."""
    fields = Fields(body, strict=strict)
    customer_id = fields.string("customer_id", required=True)
    model_id = fields.string("model_id", required=True, max_length=512)
    input_tokens = _token_count(fields, "input_tokens", required=True)
    output_tokens = _token_count(fields, "output_tokens", required=True)
    assert customer_id is not None and model_id is not None
    assert input_tokens is not None and output_tokens is not None
    pools = {pool: _token_count(fields, f"{pool}_tokens") for pool in _POOLS}
    properties = fields.object("properties")
    params = TokenTrackParams(
        customer_id=customer_id,
        entity_id=fields.string("entity_id"),
        feature_id=fields.string("feature_id"),
        model_id=model_id,
        tokens=Tokens(input_tokens, output_tokens, **{k: v or 0 for k, v in pools.items()}),
        sent_pools=tuple(k for k, v in pools.items() if v is not None),
        properties=None if properties is None else dict(body["properties"]),
        idempotency_key=fields.string("idempotency_key", empty_is_absent=True),
        timestamp=parse_timestamp(fields, now_ms),
        overage_behavior=fields.choice("overage_behavior", OVERAGE_BEHAVIORS) or "cap",
        run_async=bool(fields.boolean("async")),
    )
    for key in _INTERNAL:
        fields.skip(key)
    fields.finish()
    return params


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


def track_tokens(s: ServerState, body: dict[str, Any], env: str, now: int) -> Reply:
    """``POST /v1/balances.track_tokens``."""
    p = parse_track_tokens(body, now, strict=s.strict)
    queued = s.limiter.exceeded(TRACK_ORG, env, now)
    return track(s.store, to_track_params(s.store, s.models, p, now), env, now, queued=queued)


def batch_track_tokens(s: ServerState, body: Any, env: str, now: int) -> bytes:
    """``POST /v1/balances.batch_track_tokens``."""
    items = parse_batch(body, lambda raw: parse_track_tokens(raw, now, strict=s.strict))
    tracks: list[TrackParams] = []
    for index, p in enumerate(items):
        try:
            tracks.append(to_track_params(s.store, s.models, p, now))
        except ApiError as exc:
            raise at_index(index, exc) from None
    return accept_batch(s, tracks, env, now)
