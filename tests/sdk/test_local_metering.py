"""The three metering operations through the SDK against the local server: a batch is
applied, a batch sent again with the same event keys is applied once, one bad event
refuses the whole batch with Autumn's status and code, and track_tokens prices a
model's tokens against an AI credit system. Every answer is read by the SDK's models."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from autumn_core import AutumnCore, AutumnError
from autumn_funcs import (
    Autumn,
    BatchTrackResponse,
    balances_batch_track,
    balances_batch_track_tokens,
    balances_track_tokens,
)
from autumn_local import LocalAutumn

CONFIG = {
    "features": [
        {
            "id": "ai_credits",
            "type": "ai_credit_system",
            "model_markups": {"custom/model": {"input_cost": 5, "output_cost": 15}},
        }
    ]
}


@pytest.fixture
async def autumn() -> AsyncIterator[tuple[LocalAutumn, Autumn]]:
    server = LocalAutumn(config=CONFIG, rate_limits=False)
    async with server:
        client = Autumn(server.secret_key, server_url=server.url)
        async with client:
            await client.customers.get_or_create(customer_id="cus_m")
            await client.balances.create(customer_id="cus_m", feature_id="api_calls",
                                         included_grant=1000)  # fmt: skip
            await client.balances.create(customer_id="cus_m", feature_id="ai_credits",
                                         included_grant=1000)  # fmt: skip
            yield server, client


def usage(server: LocalAutumn, feature: str) -> float:
    return float(server.customer("cus_m")["balances"][feature]["usage"])


async def test_a_batch_is_applied_and_sent_again_applied_once(
    autumn: tuple[LocalAutumn, Autumn],
) -> None:
    server, client = autumn
    events = [{"customer_id": "cus_m", "feature_id": "api_calls", "value": 2,
               "idempotency_key": f"ev_{n}"} for n in range(5)]  # fmt: skip
    first = await balances_batch_track(client, {"events": events})
    again = await balances_batch_track(client, {"events": events})  # a lost answer's resend

    assert first.ok and first.value == BatchTrackResponse(success=True)
    assert again.ok
    assert usage(server, "api_calls") == 10


async def test_one_bad_event_refuses_the_batch_and_nothing_is_applied(
    autumn: tuple[LocalAutumn, Autumn],
) -> None:
    server, client = autumn
    res = await balances_batch_track(client, {"events": [
        {"customer_id": "cus_m", "feature_id": "api_calls"},
        {"customer_id": "cus_m", "feature_id": "no_such_feature"},
    ]})  # fmt: skip

    assert not res.ok and isinstance(res.error, AutumnError)
    assert (res.error.status_code, res.error.code) == (404, "feature_not_found")
    assert usage(server, "api_calls") == 0


async def test_track_tokens_prices_the_tokens_as_credits(
    autumn: tuple[LocalAutumn, Autumn],
) -> None:
    server, client = autumn
    tokens = {"customer_id": "cus_m", "model_id": "custom/model", "input_tokens": 1_000_000,
              "output_tokens": 1_000_000}  # fmt: skip
    res = await balances_track_tokens(client, tokens)
    batch = await balances_batch_track_tokens(client, {"events": [tokens, tokens]})
    facade = await client.balances.track_tokens(**tokens, feature_id="ai_credits")

    assert res.ok, res
    assert res.value.value == 20  # $5 + $15 per million, no markup
    assert res.value.balance is not None and res.value.balance.feature_id == "ai_credits"
    assert batch.ok and facade.value == 20
    assert usage(server, "ai_credits") == 80


async def test_the_recorder_delivers_into_the_local_server(
    autumn: tuple[LocalAutumn, Autumn],
) -> None:
    from autumn_funcs import UsageRecorder

    server, client = autumn
    core: AutumnCore = client
    async with UsageRecorder(core, flush_interval=0.01) as recorder:
        for _ in range(2500):
            recorder.track({"customer_id": "cus_m", "feature_id": "api_calls", "value": 0.25})
    assert usage(server, "api_calls") == 625
    assert recorder.stats().delivered == 2500
