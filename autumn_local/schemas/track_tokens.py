"""The body of ``balances.track_tokens`` (and each item of ``batch_track_tokens``).

Autumn's ``TrackTokensParamsSchema`` (``shared/api/balances/track/
trackTokensParams.ts``): ``customer_id``, ``model_id``, ``input_tokens``
and ``output_tokens`` (whole numbers >= 0), the optional pools
``cache_read_tokens``, ``cache_write_tokens``, ``audio_input_tokens``,
``audio_output_tokens``, ``reasoning_tokens``, and what a track takes
besides (``entity_id``, ``feature_id``, ``properties``, ``idempotency_key``,
``timestamp``, ``overage_behavior``, ``async``). No ``value``,
``event_name`` or ``lock``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from autumn_local.schemas.balances import MAX_SAFE_NUMBER, Fields
from autumn_local.schemas.errors import invalid_inputs
from autumn_local.schemas.usage import OVERAGE_BEHAVIORS, parse_timestamp

__all__ = ["TokenTrackParams", "Tokens", "parse_track_tokens"]

_POOLS = ("cache_read", "cache_write", "audio_input", "audio_output", "reasoning")
_INTERNAL = ("customer_data", "entity_data", "skip_event")


@dataclass(frozen=True, slots=True)
class Tokens:
    input: int
    output: int
    cache_read: int = 0
    cache_write: int = 0
    audio_input: int = 0
    audio_output: int = 0
    reasoning: int = 0


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
    # zod's .int() takes safe integers only: 2^53 and beyond is too big.
    if (isinstance(value, float) and not value.is_integer()) or not 0 <= value <= MAX_SAFE_NUMBER:
        raise invalid_inputs(f"{key} must be a whole number from 0 to 2^53-1, got {value}")
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
