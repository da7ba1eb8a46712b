"""The built-in model prices are models.dev's, as Autumn would fetch them.

Autumn prices ``track_tokens`` from models.dev's ``api.json``
(``getModelPricing.ts``). The figures below are copied from the source of that
catalogue, the models.dev repository at commit
``f3fc692299671838c7c65fd8126bf84d81a2e817`` (2026-07-02), one file each as
named; each is tracked through the local server, so the price a client is
charged is the one checked, and each figure was once wrong in the table.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from autumn_local import LocalAutumn
from tests.local.conftest import Api

AI = {"features": [{"id": "ai_credits", "type": "ai_credit_system"}]}
CUS = {"customer_id": "cus_123", "feature_id": "ai_credits"}
M = 1_000_000  # one million of each pool: the charge is the rate itself


@pytest.fixture
async def ai(http: aiohttp.ClientSession) -> AsyncIterator[Api]:
    async with LocalAutumn(rate_limits=False, config=AI) as server:
        api = Api(http, server)
        (await api.create(**CUS, included_grant=1_000_000)).ok()
        yield api


async def charged(api: Api, model_id: str, **pools: int) -> Decimal:
    body = {**CUS, "model_id": model_id, "input_tokens": 0, "output_tokens": 0, **pools}
    value: Any = (await api.post("/v1/balances.track_tokens", body)).ok()["value"]
    return Decimal(str(value))


@pytest.mark.parametrize(
    ("model_id", "pools", "dollars"),
    [
        # providers/google/models/gemini-2.5-flash.toml: cache_read = 0.03
        ("google/gemini-2.5-flash", {"cache_read_tokens": M}, "0.03"),
        # providers/google/models/gemini-2.5-flash-lite.toml: cache_read = 0.01
        ("google/gemini-2.5-flash-lite", {"cache_read_tokens": M}, "0.01"),
        # providers/google/models/gemini-2.5-pro.toml: cache_read = 0.125 ...
        ("google/gemini-2.5-pro", {"cache_read_tokens": M // 10}, "0.0125"),
        # ... and [[cost.tiers]] size 200_000: input 2.50, output 15.00, cache_read 0.25
        (
            "google/gemini-2.5-pro",
            {"input_tokens": M, "output_tokens": M, "cache_read_tokens": M},
            "17.75",
        ),
        # providers/google/models/gemini-2.0-flash.toml: no input_audio, so the input rate
        ("google/gemini-2.0-flash", {"audio_input_tokens": M}, "0.1"),
        # providers/anthropic/models/claude-sonnet-4-5.toml: no long-context rates
        ("anthropic/claude-sonnet-4-5", {"input_tokens": M, "output_tokens": M}, "18"),
        # providers/openai/models/gpt-5-nano.toml: cache_read = 0.005
        ("openai/gpt-5-nano", {"cache_read_tokens": M}, "0.005"),
    ],
)
async def test_a_model_costs_what_models_dev_lists(
    ai: Api, model_id: str, pools: dict[str, int], dollars: str
) -> None:
    assert await charged(ai, model_id, **pools) == Decimal(dollars)


@pytest.mark.parametrize(
    "model_id", ["anthropic/claude-3-5-haiku-20241022", "anthropic/claude-3-5-haiku-latest"]
)
async def test_a_model_models_dev_no_longer_lists_is_not_priced(ai: Api, model_id: str) -> None:
    # Removed from providers/anthropic/models/ ("remove retired Claude 3.5 Haiku models").
    body = {**CUS, "model_id": model_id, "input_tokens": 1, "output_tokens": 1}
    reply = await ai.post("/v1/balances.track_tokens", body)
    reply.error(400, "invalid_request", mentions=model_id)
