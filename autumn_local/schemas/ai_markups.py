"""The markup fields of an ``ai_credit_system`` feature, as Autumn's feature schemas read them.

``default_markup`` (a percentage, at least -100: -100 makes usage free),
``provider_markups`` (``{provider: {markup}}``) and ``model_markups``
(``{model_id: {markup?, input_cost?, output_cost?}}``, the costs in $ per
million tokens, for ``custom/...`` models); ``shared/models/featureModels/
featureConfig/creditConfig.ts``. How they price tokens: ``rules/ai_credits.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from autumn_local.schemas.errors import invalid_inputs
from autumn_local.store.database import Number

__all__ = ["AI_CREDIT_SYSTEM", "parse_ai_markups"]

AI_CREDIT_SYSTEM = "ai_credit_system"
_MARKUP_KEYS = ("default_markup", "provider_markups", "model_markups")


def _markup_number(value: Any, where: str) -> Number:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid_inputs(f"{where} must be a number")
    if value < -100:
        raise invalid_inputs(f"{where} must be at least -100")
    return value


def _cost_number(value: Any, where: str) -> Number:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise invalid_inputs(f"{where} must be a number of at least 0")
    return value


def _entries(value: Any, where: str) -> dict[str, Mapping[str, Any]]:
    if not isinstance(value, dict) or len(value) > 1000:
        raise invalid_inputs(f"{where} must be an object of at most 1000 entries")
    out: dict[str, Mapping[str, Any]] = {}
    for key, entry in value.items():
        if not isinstance(entry, dict):
            raise invalid_inputs(f"{where}.{key} must be an object")
        out[key] = entry
    return out


def parse_ai_markups(body: Mapping[str, Any], feature_type: str) -> dict[str, Any] | None:
    """``default_markup``, ``provider_markups``, ``model_markups`` of a features.create body."""
    sent = {k: body[k] for k in _MARKUP_KEYS if body.get(k) is not None}
    if feature_type != AI_CREDIT_SYSTEM:
        if sent:
            raise invalid_inputs(
                f"{next(iter(sent))} is only for features of type {AI_CREDIT_SYSTEM}"
            )
        return None
    markups: dict[str, Any] = {}
    if "default_markup" in sent:
        markups["default_markup"] = _markup_number(sent["default_markup"], "default_markup")
    if "provider_markups" in sent:
        markups["provider_markups"] = {
            provider: {"markup": _markup_number(e.get("markup"), f"provider_markups.{provider}")}
            for provider, e in _entries(sent["provider_markups"], "provider_markups").items()
        }
    if "model_markups" in sent:
        models: dict[str, Any] = {}
        for model, e in _entries(sent["model_markups"], "model_markups").items():
            where = f"model_markups.{model}"
            entry: dict[str, Any] = {}
            if e.get("markup") is not None:
                entry["markup"] = _markup_number(e["markup"], f"{where}.markup")
            for cost in ("input_cost", "output_cost"):
                if e.get(cost) is not None:
                    entry[cost] = _cost_number(e[cost], f"{where}.{cost}")
            models[model] = entry
        markups["model_markups"] = models
    return markups
