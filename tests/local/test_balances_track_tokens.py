"""balances.track_tokens / batch_track_tokens: a model's tokens priced and tracked as credits.

Facts from Autumn's getTokenTrackParams.ts, aiCreditSystemUtils.ts,
runBatchTrackTokens.ts and their tests (track-tokens.test.ts,
get-token-track-params.test.ts, runBatchTrackTokens.test.ts).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autumn_local import LocalAutumn
from autumn_local.run.config import ConfigError
from tests.local.conftest import NOW, Api
from tests.local.test_fuzz import usage_bodies, values

TOKENS = "/v1/balances.track_tokens"
BATCH = "/v1/balances.batch_track_tokens"
AI = {
    "features": [
        {
            "id": "ai_credits",
            "type": "ai_credit_system",
            "model_markups": {
                "custom/internal-model": {"input_cost": 5, "output_cost": 15},
                "custom/marked-up-model": {"input_cost": 10, "output_cost": 30, "markup": 50},
                "custom/unpriced": {"markup": 10},
            },
        },
        {
            "id": "ai_marked_up",
            "type": "ai_credit_system",
            "default_markup": 20,
            "provider_markups": {"anthropic": {"markup": 10}},
            "model_markups": {"openai/gpt-4o-mini": {"markup": -100}},
        },
        {
            "id": "credits",
            "type": "credit_system",
            "credit_schema": [{"metered_feature_id": "api_calls", "credit_cost": 1}],
        },
    ],
    "entities": [{"id": "seat_1", "customer_id": "cus_123"}],
    "models": [
        {
            "id": "acme/tiered",
            "input": 1,
            "output": 2,
            "tiers": [
                {"input": 3, "output": 4, "tier": {"type": "context", "size": 1000}},
                {
                    "input": 5,
                    "output": 6,
                    "cache_read": 0.5,
                    "tier": {"type": "context", "size": 2000},
                },
            ],
        },
        {"id": "openai/gpt-4o", "input": 3, "output": 12},  # overrides the built-in price
    ],
}
CUS = {"customer_id": "cus_123"}


@pytest.fixture
async def ai(http: aiohttp.ClientSession) -> AsyncIterator[Api]:
    async with LocalAutumn(rate_limits=False, config=AI) as server:
        server.clock.set_ms(NOW)
        yield Api(http, server)


async def grant(
    api: Api, feature_id: str = "ai_credits", amount: float = 1000, **extra: Any
) -> None:
    (await api.create(**CUS, feature_id=feature_id, included_grant=amount, **extra)).ok()


async def tokens(api: Api, **body: Any) -> Any:
    return await api.post(TOKENS, {**CUS, **body})


def cost(*pairs: tuple[float, int], markup: float = 0) -> float:
    """Autumn's arithmetic: sum of rate x tokens / 1e6, times 1 + markup/100, in decimals."""
    base = sum((Decimal(str(rate)) * tokens for rate, tokens in pairs), Decimal(0)) / 1_000_000
    return float(base * (1 + Decimal(str(markup)) / 100))


async def test_tokens_are_priced_and_tracked_as_credits(ai: Api) -> None:
    await grant(ai)
    reply = await tokens(
        ai, feature_id="ai_credits", model_id="openai/gpt-4o", input_tokens=1000, output_tokens=500
    )
    answer = reply.ok()
    expected = cost((3, 1000), (12, 500))  # the config's price, not the built-in one
    assert answer["value"] == expected == 0.009
    assert answer["balance"]["feature_id"] == "ai_credits"
    assert answer["balance"]["usage"] == expected
    assert (await ai.totals("ai_credits"))[2] == expected


async def test_the_built_in_table_prices_common_models(ai: Api) -> None:
    await grant(ai)
    reply = await tokens(
        ai, model_id="anthropic/claude-haiku-4-5", input_tokens=10_000, output_tokens=1000
    )
    assert reply.ok()["value"] == cost((1, 10_000), (5, 1000))


async def test_the_reference_example_model_is_priced_by_its_dated_id(ai: Api) -> None:
    # The OpenAPI document's example: anthropic/claude-sonnet-4-20250514.
    await grant(ai)
    model = "anthropic/claude-sonnet-4-20250514"
    reply = await tokens(ai, model_id=model, input_tokens=1000, output_tokens=1000)
    assert reply.ok()["value"] == cost((3, 1000), (15, 1000))


async def test_every_pool_is_billed_and_missing_rates_fall_back(ai: Api) -> None:
    await grant(ai)
    # gpt-4o-mini lists input, output and cache_read: cache writes and audio in
    # are billed at the input rate, audio out and reasoning at the output rate.
    body = {
        "model_id": "openai/gpt-4o-mini",
        "feature_id": "ai_credits",
        "input_tokens": 10_000,
        "output_tokens": 5000,
        "cache_read_tokens": 20_000,
        "cache_write_tokens": 8000,
        "audio_input_tokens": 1000,
        "audio_output_tokens": 1000,
        "reasoning_tokens": 4000,
    }
    expected = cost(
        (0.15, 10_000),
        (0.6, 5000),
        (0.075, 20_000),
        (0.15, 8000),
        (0.15, 1000),
        (0.6, 1000),
        (0.6, 4000),
    )
    assert (await tokens(ai, **body)).ok()["value"] == expected


async def test_the_largest_tier_the_prompt_exceeds_applies(ai: Api) -> None:
    await grant(ai)
    # The prompt is input + cache read + cache write tokens.
    small = await tokens(ai, model_id="acme/tiered", input_tokens=1000, output_tokens=10)
    assert small.ok()["value"] == cost((1, 1000), (2, 10))
    middle = await tokens(
        ai, model_id="acme/tiered", input_tokens=900, cache_read_tokens=200, output_tokens=10
    )
    assert middle.ok()["value"] == cost((3, 900), (4, 10), (3, 200))
    large = await tokens(
        ai, model_id="acme/tiered", input_tokens=2500, cache_read_tokens=100, output_tokens=10
    )
    assert large.ok()["value"] == cost((5, 2500), (6, 10), (0.5, 100))


async def test_long_context_rates_over_200k(ai: Api) -> None:
    await grant(ai)
    model = "google/gemini-2.5-pro"  # one tier: over 200,000 tokens 2.5 / 15 / 0.25
    at = await tokens(ai, model_id=model, input_tokens=200_000, output_tokens=100)
    assert at.ok()["value"] == cost((1.25, 200_000), (10, 100))
    over = await tokens(
        ai, model_id=model, input_tokens=200_000, cache_write_tokens=1, output_tokens=100
    )
    # No cache write rate: billed at the tier's input rate.
    assert over.ok()["value"] == cost((2.5, 200_000), (15, 100), (2.5, 1))


async def test_markup_comes_from_the_model_then_provider_then_default(ai: Api) -> None:
    await grant(ai, "ai_marked_up")
    body = {"feature_id": "ai_marked_up", "input_tokens": 1000, "output_tokens": 1000}
    free = await tokens(ai, **body, model_id="openai/gpt-4o-mini")
    assert free.ok()["value"] == 0  # model markup -100: free
    provider = await tokens(ai, **body, model_id="anthropic/claude-haiku-4-5")
    assert provider.ok()["value"] == cost((1, 1000), (5, 1000), markup=10)
    default = await tokens(ai, **body, model_id="openai/gpt-4o")
    assert default.ok()["value"] == cost((3, 1000), (12, 1000), markup=20)


async def test_custom_models_bill_input_and_output_at_their_own_costs(ai: Api) -> None:
    await grant(ai)
    pools = {"cache_read_tokens": 20_000, "reasoning_tokens": 4000, "audio_input_tokens": 10}
    plain = await tokens(
        ai, model_id="custom/internal-model", input_tokens=10_000, output_tokens=5000, **pools
    )
    assert plain.ok()["value"] == 0.125  # Autumn's track-tokens-8
    marked = await tokens(
        ai, model_id="custom/marked-up-model", input_tokens=3000, output_tokens=1000
    )
    assert marked.ok()["value"] == cost((10, 3000), (30, 1000), markup=50)


async def test_a_custom_model_without_costs_is_refused(ai: Api) -> None:
    await grant(ai)
    for model in ("custom/unpriced", "custom/unconfigured-model"):
        reply = await tokens(ai, model_id=model, input_tokens=100, output_tokens=50)
        reply.error(400, "invalid_request", mentions="missing input_cost or output_cost")
    assert (await ai.totals("ai_credits"))[2] == 0


async def test_an_unknown_model_is_refused(ai: Api) -> None:
    await grant(ai)
    for model in ("openai/gpt-unknown", "gpt-4o", "nobody/gpt-4o"):
        reply = await tokens(ai, model_id=model, input_tokens=1, output_tokens=1)
        reply.error(400, "invalid_request", mentions=f"Model {model} not found")


async def test_feature_id_must_name_an_ai_credit_system(ai: Api) -> None:
    body = {"model_id": "openai/gpt-4o", "input_tokens": 1, "output_tokens": 1}
    (await tokens(ai, feature_id="nope", **body)).error(
        404, "feature_not_found", mentions="Feature nope not found"
    )
    for feature in ("credits", "api_calls"):
        reply = await tokens(ai, feature_id=feature, **body)
        reply.error(400, "invalid_request", mentions="is not an AI credit system feature")


async def test_without_feature_id_the_customers_one_ai_credit_system_is_used(ai: Api) -> None:
    body = {"model_id": "openai/gpt-4o", "input_tokens": 1000, "output_tokens": 0}
    (await tokens(ai, **body)).error(
        404, "feature_not_found", mentions="No AI credit system feature found for this customer"
    )
    await grant(ai, "api_calls", 5)  # not an AI credit system: does not count
    await grant(ai, "ai_marked_up")
    assert (await tokens(ai, **body)).ok()["balance"]["feature_id"] == "ai_marked_up"
    await grant(ai, "ai_credits", entity_id="seat_1")
    # The customer now holds two (one through its entity); the entity holds
    # its own and the customer's.
    (await tokens(ai, **body)).error(400, "invalid_request", mentions="Please specify a feature_id")
    (await tokens(ai, **body, entity_id="seat_1")).error(
        400, "invalid_request", mentions="feature_id"
    )
    (await tokens(ai, **body, feature_id="ai_credits", entity_id="seat_1")).ok()


async def test_an_unknown_customer_is_404(ai: Api) -> None:
    body = {"model_id": "openai/gpt-4o", "input_tokens": 1, "output_tokens": 1}
    reply = await ai.post(TOKENS, {"customer_id": "cus_nobody", **body})
    reply.error(404, "customer_not_found")
    reply = await ai.post(TOKENS, {"customer_id": "cus_nobody", "feature_id": "ai_credits", **body})
    reply.error(404, "customer_not_found")


@pytest.mark.parametrize(
    ("change", "mentions"),
    [
        ({"model_id": None}, "model_id"),
        ({"input_tokens": None}, "input_tokens"),
        ({"output_tokens": -1}, "output_tokens"),
        ({"input_tokens": 1.5}, "input_tokens"),
        ({"reasoning_tokens": "3"}, "reasoning_tokens"),
        ({"cache_read_tokens": -5}, "cache_read_tokens"),
        ({"customer_id": None}, "customer_id"),
        ({"overage_behavior": "never"}, "overage_behavior"),
    ],
)
async def test_the_schema_names_the_bad_field(
    ai: Api, change: dict[str, Any], mentions: str
) -> None:
    await grant(ai)
    body: dict[str, Any] = {
        **CUS,
        "model_id": "openai/gpt-4o",
        "input_tokens": 10,
        "output_tokens": 10,
    }
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    (await ai.post(TOKENS, body)).error(400, "invalid_inputs", mentions=mentions)


async def test_the_body_idempotency_key_is_a_track_key(ai: Api) -> None:
    await grant(ai)
    body = {
        "model_id": "openai/gpt-4o",
        "input_tokens": 1000,
        "output_tokens": 0,
        "idempotency_key": "t1",
    }
    (await tokens(ai, **body)).ok()
    (await tokens(ai, **body)).error(409, "duplicate_idempotency_key")
    track = {**CUS, "feature_id": "ai_credits", "idempotency_key": "t1"}
    (await ai.track(**track)).error(409, "duplicate_idempotency_key")
    assert (await ai.totals("ai_credits"))[2] == cost((3, 1000))


async def test_async_answers_202_without_a_balance(ai: Api) -> None:
    await grant(ai)
    reply = await tokens(
        ai, model_id="openai/gpt-4o", input_tokens=1000, output_tokens=0, **{"async": True}
    )
    assert reply.status == 202
    assert reply.body == {"customer_id": "cus_123", "value": cost((3, 1000)), "balance": None}
    assert (await ai.totals("ai_credits"))[2] == cost((3, 1000))


async def test_reject_refuses_a_cost_over_the_balance(ai: Api) -> None:
    await grant(ai, amount=0.001)
    reply = await tokens(
        ai, model_id="openai/gpt-4o", input_tokens=1000, output_tokens=0, overage_behavior="reject"
    )
    reply.error(400, "insufficient_balance")


async def test_batch_prices_every_item_and_applies_them_in_order(ai: Api) -> None:
    await grant(ai)
    item = {**CUS, "model_id": "openai/gpt-4o", "input_tokens": 1000, "output_tokens": 500}
    batch = [
        {**item, "idempotency_key": "i1"},
        {**item, "feature_id": "ai_credits", "idempotency_key": "i2"},
        {**item, "model_id": "custom/internal-model"},
    ]
    assert (await ai.post(BATCH, batch)).ok() == {"success": True}
    once = float(Decimal(str(cost((3, 1000), (12, 500)))) * 2 + Decimal("0.0125"))
    assert (await ai.totals("ai_credits"))[2] == pytest.approx(once, abs=1e-12)
    (await ai.post(BATCH, batch)).ok()  # keyed items once, the unkeyed one again
    assert (await ai.totals("ai_credits"))[2] == pytest.approx(once + 0.0125, abs=1e-12)


@pytest.mark.parametrize(
    ("bad", "status", "code", "mentions"),
    [
        ({"model_id": "openai/none"}, 400, "invalid_request", "1: Model openai/none not found"),
        ({"feature_id": "credits"}, 400, "invalid_request", "1: Feature credits is not an AI"),
        ({"customer_id": "cus_nobody"}, 404, "customer_not_found", "1: "),
        ({"input_tokens": -1}, 400, "invalid_inputs", "1: input_tokens"),
    ],
)
async def test_one_bad_token_item_refuses_the_batch(
    ai: Api, bad: dict[str, Any], status: int, code: str, mentions: str
) -> None:
    await grant(ai)
    item = {**CUS, "model_id": "openai/gpt-4o", "input_tokens": 1000, "output_tokens": 500}
    (await ai.post(BATCH, [item, {**item, **bad}, item])).error(status, code, mentions=mentions)
    assert (await ai.totals("ai_credits"))[2] == 0


async def test_batch_track_tokens_shares_batch_tracks_rate_limit(
    http: aiohttp.ClientSession,
) -> None:
    async with LocalAutumn(config=AI) as server:
        server.clock.set_ms(NOW)
        api = Api(http, server)
        await grant(api)
        item = {**CUS, "model_id": "openai/gpt-4o", "input_tokens": 1, "output_tokens": 1}
        for _ in range(5):
            (await api.post("/v1/balances.batch_track", [{**CUS, "feature_id": "ai_credits"}])).ok()
            (await api.post(BATCH, [item])).ok()
        assert (await api.post(BATCH, [item])).status == 429
        assert (
            await api.post("/v1/balances.batch_track", [{**CUS, "feature_id": "ai_credits"}])
        ).status == 429


async def test_the_feature_view_shows_the_markups(ai: Api) -> None:
    listed = (await ai.post("/v1/features.list", {})).ok()["list"]
    view = next(f for f in listed if f["id"] == "ai_marked_up")
    assert view["type"] == "ai_credit_system"
    assert view["consumable"] is True
    assert view["credit_schema"] == []
    assert view["default_markup"] == 20
    assert view["provider_markups"] == {"anthropic": {"markup": 10}}
    assert view["model_markups"] == {"openai/gpt-4o-mini": {"markup": -100}}


async def test_markups_are_refused_on_other_features(ai: Api) -> None:
    reply = await ai.post(
        "/v1/features.create", {"id": "m", "type": "metered", "default_markup": 5}
    )
    reply.error(400, "invalid_inputs", mentions="default_markup")
    reply = await ai.post(
        "/v1/features.create", {"id": "a", "type": "ai_credit_system", "default_markup": -101}
    )
    reply.error(400, "invalid_inputs", mentions="default_markup")


@pytest.mark.parametrize(
    ("entry", "mentions"),
    [
        ({"id": "gpt-4o", "input": 1, "output": 1}, "<provider>/<model>"),
        ({"id": "a/b", "output": 1}, "models[0].input is required"),
        ({"id": "a/b", "input": -1, "output": 1}, "models[0].input"),
        ({"id": "a/b", "input": 1, "output": 1, "price": 3}, "unknown key(s) price"),
    ],
)
def test_a_bad_model_price_in_the_config_is_refused(entry: dict[str, Any], mentions: str) -> None:
    with pytest.raises(
        ConfigError,
        match=mentions.replace("(", r"\(")
        .replace(")", r"\)")
        .replace("[", r"\[")
        .replace("]", r"\]"),
    ):
        LocalAutumn(config={"models": [entry]})


TOKEN_FIELDS = [
    "customer_id",
    "entity_id",
    "feature_id",
    "model_id",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "reasoning_tokens",
    "idempotency_key",
    "overage_behavior",
    "async",
    "properties",
]
token_values = st.one_of(
    values,
    st.sampled_from(["openai/gpt-4o", "custom/internal-model", "ai_credits", "cus_123", "cap"]),
    st.integers(0, 10**7),
)
token_bodies = st.dictionaries(
    st.sampled_from(TOKEN_FIELDS) | st.text(max_size=5), token_values, max_size=8
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    body=st.one_of(
        st.tuples(st.just(TOKENS), token_bodies),
        st.tuples(st.just(BATCH), st.lists(token_bodies, max_size=4) | values),
        st.tuples(st.just("/v1/balances.batch_track"), st.lists(usage_bodies, max_size=4) | values),
    )
)
async def test_random_bodies_get_a_clear_answer(ai: Api, body: tuple[str, Any]) -> None:
    path, payload = body
    await grant(ai)
    reply = await ai.post(path, payload)
    assert reply.status in (200, 202, 400, 404, 409), (reply.status, reply.body, payload)
    if reply.status >= 400:
        assert set(reply.body) == {"message", "code", "env"}
