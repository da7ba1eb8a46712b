"""AI credit systems: what a model's tokens cost in credits, as Autumn computes it.

An ``ai_credit_system`` feature is a pool of credits worth one US dollar of
model usage each, before markup. ``balances.track_tokens`` prices the
tokens and tracks the cost against it. As Autumn's ``getModelCreditCostBreakdown``
(``server/src/internal/features/aiCreditSystemUtils.ts``):

- ``model_id`` is split on its first "/" into provider and model key; a
  ``custom/...`` model takes ``input_cost`` / ``output_cost`` from the
  feature's ``model_markups`` and bills input and output tokens only (400
  ``invalid_request`` when either cost is missing); any other model is
  looked up in the price table (``model_prices.py``; 400 when missing).
- The prompt's size is input + cache read + cache write tokens. Over the
  largest ``tiers[].tier.size`` it exceeds, that tier's rates replace input
  and output (and the cache rates it gives); without tiers,
  ``context_over_200k`` applies over 200,000 tokens.
- A pool without its own rate is billed at the input rate (cache read,
  cache write, audio input) or the output rate (audio output, reasoning).
- ``base_cost`` = sum of rate x tokens / 1,000,000; ``cost`` = base_cost x
  (1 + markup / 100), in decimal arithmetic (decimal.js: 20 significant
  digits, half-up), read back as a binary float.
- The markup is the model's (``model_markups[model_id].markup``), else the
  provider's (``provider_markups[provider].markup``), else
  ``default_markup``, else 0; ``markup_source`` says which.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from autumn_local.rules.model_prices import ModelCost, ModelPrices, Tier
from autumn_local.schemas.ai_markups import AI_CREDIT_SYSTEM
from autumn_local.schemas.errors import ApiError, invalid_request
from autumn_local.schemas.track_tokens import Tokens
from autumn_local.store.database import FeatureRow, Number

__all__ = [
    "AI_CREDIT_SYSTEM",
    "CostBreakdown",
    "cost_breakdown",
    "require_ai_credit_system",
]

_LARGE_CONTEXT = 200_000
# decimal.js's defaults: precision 20, ROUND_HALF_UP.
_DECIMAL = decimal.Context(prec=20, rounding=decimal.ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class CostBreakdown:
    """``ModelCostBreakdown``: the charge and how it was reached."""

    cost: float
    base_cost: float
    markup: Number
    markup_source: str  # "model" | "provider" | "default" | "none"
    tier_applied: bool
    # $ per million tokens, by pool: input, output, cache_read, cache_write,
    # audio_input, audio_output, reasoning.
    rates: Mapping[str, float]


def _split(model_id: str) -> tuple[str | None, str]:
    provider, sep, key = model_id.partition("/")
    return (provider, key) if sep else (None, model_id)


def _effective(cost: ModelCost, prompt: int) -> tuple[ModelCost, bool]:
    """``getEffectiveCost``: the tier (or long-context rates) the prompt's size reaches."""
    chosen: Tier | None = None
    if cost.tiers:
        for tier in cost.tiers:
            if prompt > tier.size and (chosen is None or tier.size > chosen.size):
                chosen = tier
    elif cost.context_over_200k is not None and prompt > _LARGE_CONTEXT:
        chosen = cost.context_over_200k
    if chosen is None:
        return cost, False
    return (
        ModelCost(
            input=chosen.input,
            output=chosen.output,
            cache_read=cost.cache_read if chosen.cache_read is None else chosen.cache_read,
            cache_write=cost.cache_write if chosen.cache_write is None else chosen.cache_write,
            input_audio=cost.input_audio,
            output_audio=cost.output_audio,
            reasoning=cost.reasoning,
        ),
        True,
    )


def _d(value: Number) -> decimal.Decimal:
    # decimal.js reads a JavaScript number through its shortest decimal form.
    return decimal.Decimal(repr(value)) if isinstance(value, float) else decimal.Decimal(value)


def _compute(
    cost: ModelCost, tokens: Tokens, markup: Number
) -> tuple[float, float, bool, dict[str, float]]:
    prompt = tokens.input + tokens.cache_read + tokens.cache_write
    e, tier_applied = _effective(cost, prompt)
    rates = {
        "input": e.input,
        "output": e.output,
        "cache_read": e.input if e.cache_read is None else e.cache_read,
        "cache_write": e.input if e.cache_write is None else e.cache_write,
        "audio_input": e.input if e.input_audio is None else e.input_audio,
        "audio_output": e.output if e.output_audio is None else e.output_audio,
        "reasoning": e.output if e.reasoning is None else e.reasoning,
    }
    counts = (
        tokens.input,
        tokens.output,
        tokens.cache_read,
        tokens.cache_write,
        tokens.audio_input,
        tokens.audio_output,
        tokens.reasoning,
    )
    c = _DECIMAL
    total = decimal.Decimal(0)
    for rate, count in zip(rates.values(), counts, strict=True):
        total = c.add(total, c.multiply(_d(rate), decimal.Decimal(count)))
    base = c.divide(total, decimal.Decimal(1_000_000))
    factor = c.add(decimal.Decimal(1), c.divide(_d(markup), decimal.Decimal(100)))
    return float(c.multiply(base, factor)), float(base), tier_applied, rates


def _markup(
    model_id: str, feature: FeatureRow, model_entry: Mapping[str, Any] | None
) -> tuple[Number, str]:
    """``resolveAiMarkup``: model, then provider, then the feature's default, then 0."""
    if model_entry is not None and model_entry.get("markup") is not None:
        return model_entry["markup"], "model"
    markups = feature.ai_markups or {}
    provider, _ = _split(model_id)
    by_provider = (markups.get("provider_markups") or {}).get(provider or "")
    if by_provider is not None and by_provider.get("markup") is not None:
        return by_provider["markup"], "provider"
    if markups.get("default_markup") is not None:
        return markups["default_markup"], "default"
    return 0, "none"


def cost_breakdown(
    prices: ModelPrices, feature: FeatureRow, model_id: str, tokens: Tokens
) -> CostBreakdown:
    """What ``tokens`` of ``model_id`` cost in credits of the AI credit system ``feature``."""
    model_entry = ((feature.ai_markups or {}).get("model_markups") or {}).get(model_id)
    markup, source = _markup(model_id, feature, model_entry)
    if model_id.startswith("custom/"):
        entry = model_entry or {}
        if entry.get("input_cost") is None or entry.get("output_cost") is None:
            raise invalid_request(
                f"Custom model {model_id} is missing input_cost or output_cost in model_markups"
            )
        cost = ModelCost(input=entry["input_cost"], output=entry["output_cost"])
        tokens = Tokens(input=tokens.input, output=tokens.output)
    else:
        provider, key = _split(model_id)
        found = prices.lookup(provider, key)
        if found is None:
            raise invalid_request(
                f"Model {model_id} not found in models.dev pricing data"
                " (this local server prices models from its own table: add it under"
                " [[models]] in the config)"
            )
        cost = found
    value, base, tier_applied, rates = _compute(cost, tokens, markup)
    return CostBreakdown(value, base, markup, source, tier_applied, rates)


def require_ai_credit_system(feature: FeatureRow | None, feature_id: str) -> FeatureRow:
    """``resolveAiCreditFeatureById``: 404 when missing, 400 when not an AI credit system."""
    if feature is None:
        raise ApiError(404, "feature_not_found", f"Feature {feature_id} not found")
    if feature.type != AI_CREDIT_SYSTEM:
        raise invalid_request(f"Feature {feature_id} is not an AI credit system feature")
    return feature
