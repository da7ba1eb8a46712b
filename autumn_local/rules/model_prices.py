"""Per-model token prices for ``balances.track_tokens``: a small dated table, and overrides.

Autumn prices a ``model_id`` ("<provider>/<model>") from models.dev's
catalogue, fetched at run time from ``https://models.dev/api.json`` and
cached (``server/src/internal/features/utils/getModelPricing.ts``); its
repository holds no copy. This server cannot fetch it (no traffic leaves the
machine), so it ships the entries below, in models.dev's units (US dollars
per million tokens) and field names (``cost.input``, ``output``,
``cache_read``, ``cache_write``, ``input_audio``, ``tiers``,
``context_over_200k``), copied from the catalogue's source: the repository
behind models.dev (``anomalyco/models.dev``, formerly ``sst/models.dev``) at
commit ``f3fc692299671838c7c65fd8126bf84d81a2e817`` (2026-07-02), files
``providers/<provider>/models/<model>.toml`` (merged over
``models/<base_model>.toml`` where they name one), as its build
(``packages/core/src/generate.ts``) turns them into ``api.json``: a single
context tier of 200,000 tokens or more is also given as
``context_over_200k``. ``PRICES_AS_OF`` is that commit's date. Prices change:
a config's ``[[models]]`` entries add models or replace a model's prices
whole::

    [[models]]
    id = "openai/gpt-4o"        # "<provider>/<model>", split on the first "/"
    input = 2.5                 # $ per million input tokens (required)
    output = 10                 # $ per million output tokens (required)
    cache_read = 1.25           # optional; each missing pool is billed at
    cache_write = 3.125         # the input rate (cache, input_audio) or the
    input_audio = 40            # output rate (output_audio, reasoning),
    output_audio = 80           # as Autumn does
    reasoning = 10
    context_over_200k = { input = 5, output = 15 }  # optional long-context rates
    tiers = [{ input = 5, output = 15, tier = { type = "context", size = 128000 } }]

A model missing from both is refused as Autumn refuses one missing from
models.dev (400 ``invalid_request``). ``custom/<name>`` models are priced by
the feature's ``model_markups`` instead, never from here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "BUILT_IN_PRICES",
    "PRICES_AS_OF",
    "ModelCost",
    "ModelPriceError",
    "ModelPrices",
    "Tier",
    "parse_model",
]

PRICES_AS_OF = "2026-07-02"

_POOLS = ("cache_read", "cache_write", "input_audio", "output_audio", "reasoning")


@dataclass(frozen=True, slots=True)
class Tier:
    """Rates that replace the base ones once the prompt is over ``size`` tokens."""

    size: float
    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None


@dataclass(frozen=True, slots=True)
class ModelCost:
    """models.dev's ``cost`` of one model, $ per million tokens."""

    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None
    input_audio: float | None = None
    output_audio: float | None = None
    reasoning: float | None = None
    tiers: tuple[Tier, ...] = ()
    context_over_200k: Tier | None = None


def _aliased(keys: tuple[str, ...], cost: ModelCost) -> dict[str, ModelCost]:
    return dict.fromkeys(keys, cost)


# gemini-2.5-pro's one context tier, in api.json under both names.
_GEMINI_25_PRO_LONG = Tier(200_000, 2.5, 15, cache_read=0.25)

# models.dev's providers and model keys, at the commit named above.
BUILT_IN_PRICES: Mapping[str, Mapping[str, ModelCost]] = {
    "openai": {
        "gpt-4o": ModelCost(2.5, 10, cache_read=1.25),
        "gpt-4o-mini": ModelCost(0.15, 0.6, cache_read=0.075),
        "gpt-4.1": ModelCost(2, 8, cache_read=0.5),
        "gpt-4.1-mini": ModelCost(0.4, 1.6, cache_read=0.1),
        "gpt-4.1-nano": ModelCost(0.1, 0.4, cache_read=0.025),
        "gpt-5": ModelCost(1.25, 10, cache_read=0.125),
        "gpt-5-mini": ModelCost(0.25, 2, cache_read=0.025),
        "gpt-5-nano": ModelCost(0.05, 0.4, cache_read=0.005),
        "o3": ModelCost(2, 8, cache_read=0.5),
        "o4-mini": ModelCost(1.1, 4.4, cache_read=0.275),
    },
    "anthropic": {
        # models.dev lists each model under its alias and its dated id; it
        # lists no long-context rates for Claude models, and no Claude 3.5
        # Haiku (retired, removed from the catalogue).
        **_aliased(
            ("claude-opus-4-1", "claude-opus-4-1-20250805"),
            ModelCost(15, 75, cache_read=1.5, cache_write=18.75),
        ),
        **_aliased(
            ("claude-opus-4-0", "claude-opus-4-20250514"),
            ModelCost(15, 75, cache_read=1.5, cache_write=18.75),
        ),
        **_aliased(
            ("claude-sonnet-4-5", "claude-sonnet-4-5-20250929"),
            ModelCost(3, 15, cache_read=0.3, cache_write=3.75),
        ),
        **_aliased(
            ("claude-sonnet-4-0", "claude-sonnet-4-20250514"),
            ModelCost(3, 15, cache_read=0.3, cache_write=3.75),
        ),
        **_aliased(
            ("claude-haiku-4-5", "claude-haiku-4-5-20251001"),
            ModelCost(1, 5, cache_read=0.1, cache_write=1.25),
        ),
    },
    "google": {
        "gemini-2.5-pro": ModelCost(
            1.25,
            10,
            cache_read=0.125,
            tiers=(_GEMINI_25_PRO_LONG,),
            context_over_200k=_GEMINI_25_PRO_LONG,
        ),
        "gemini-2.5-flash": ModelCost(0.3, 2.5, cache_read=0.03, input_audio=1),
        "gemini-2.5-flash-lite": ModelCost(0.1, 0.4, cache_read=0.01, input_audio=0.3),
        "gemini-2.0-flash": ModelCost(0.1, 0.4, cache_read=0.025),
    },
}


class ModelPriceError(ValueError):
    """A ``[[models]]`` entry is wrong; the message names the field."""


def _rate(
    entry: Mapping[str, Any], key: str, where: str, *, required: bool = False
) -> float | None:
    value = entry.get(key)
    if value is None:
        if required:
            raise ModelPriceError(f"{where}.{key} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ModelPriceError(f"{where}.{key} must be a number")
    if value < 0:
        raise ModelPriceError(f"{where}.{key} must be at least 0")
    return float(value)


def _tier(entry: Any, where: str, size: float | None = None) -> Tier:
    if not isinstance(entry, Mapping):
        raise ModelPriceError(f"{where} must be a table/object")
    if size is None:
        tier = entry.get("tier")
        if not isinstance(tier, Mapping):
            raise ModelPriceError(f"{where}.tier must be a table like {{type, size}}")
        size = _rate(tier, "size", f"{where}.tier", required=True)
    assert size is not None
    return Tier(
        size=size,
        input=_rate(entry, "input", where, required=True) or 0.0,
        output=_rate(entry, "output", where, required=True) or 0.0,
        cache_read=_rate(entry, "cache_read", where),
        cache_write=_rate(entry, "cache_write", where),
    )


def parse_model(entry: Mapping[str, Any], where: str) -> tuple[str, str, ModelCost]:
    """(provider, model key, cost) of one ``[[models]]`` entry."""
    known = {"id", "input", "output", *_POOLS, "tiers", "context_over_200k"}
    unknown = sorted(set(entry) - known)
    if unknown:
        raise ModelPriceError(f"{where}: unknown key(s) {', '.join(unknown)}")
    model_id = entry.get("id")
    if not isinstance(model_id, str) or "/" not in model_id.strip("/"):
        raise ModelPriceError(f'{where}.id must be "<provider>/<model>", e.g. "openai/gpt-4o"')
    provider, key = model_id.split("/", 1)
    tiers = entry.get("tiers", [])
    if not isinstance(tiers, list):
        raise ModelPriceError(f"{where}.tiers must be a list")
    long = entry.get("context_over_200k")
    cost = ModelCost(
        input=_rate(entry, "input", where, required=True) or 0.0,
        output=_rate(entry, "output", where, required=True) or 0.0,
        cache_read=_rate(entry, "cache_read", where),
        cache_write=_rate(entry, "cache_write", where),
        input_audio=_rate(entry, "input_audio", where),
        output_audio=_rate(entry, "output_audio", where),
        reasoning=_rate(entry, "reasoning", where),
        tiers=tuple(_tier(t, f"{where}.tiers[{i}]") for i, t in enumerate(tiers)),
        context_over_200k=None
        if long is None
        else _tier(long, f"{where}.context_over_200k", 200_000),
    )
    return provider, key, cost


class ModelPrices:
    """The built-in table with a config's models laid over it."""

    def __init__(self, extra: Iterable[Mapping[str, Any]] = ()) -> None:
        self._prices: dict[str, dict[str, ModelCost]] = {
            provider: dict(models) for provider, models in BUILT_IN_PRICES.items()
        }
        for i, entry in enumerate(extra):
            provider, key, cost = parse_model(entry, f"models[{i}]")
            self._prices.setdefault(provider, {})[key] = cost

    def lookup(self, provider: str | None, model_key: str) -> ModelCost | None:
        """The cost of ``<provider>/<model_key>`` (exact keys, as Autumn looks them up)."""
        if provider is None:
            return None
        return self._prices.get(provider, {}).get(model_key)
