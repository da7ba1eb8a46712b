"""End to end against the project's local Autumn server (`autumn_local.LocalAutumn`).

The local server shares no code with the SDK, so these check the two against each
other: the seed's examples, Autumn's error codes, and idempotent retries.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from autumn_core import AutumnCore, AutumnDefaultError, RetryConfig
from autumn_funcs import (
    Autumn,
    CreateBalanceResponse,
    UpdateBalanceResponse,
    balances_create,
    balances_update,
)
from autumn_local import LocalAutumn
from tests.fake_time import FakeTime
from tests.sdk.conftest import CREATE_EXAMPLE, UPDATE_EXAMPLE


@pytest.fixture
async def local_core(
    local_autumn: LocalAutumn, retries: Callable[..., RetryConfig]
) -> AsyncIterator[AutumnCore]:
    async with AutumnCore(
        local_autumn.secret_key, server_url=local_autumn.url, retry_config=retries()
    ) as core:
        yield core


async def api_calls_balance(server: LocalAutumn) -> dict[str, Any]:
    """The customer's api_calls balance, read with a plain HTTP client."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{server.url}/v1/customers.get",
            json={"customer_id": "cus_123"},
            headers={"Authorization": f"Bearer {server.secret_key}", "x-api-version": "2.1"},
        ) as response,
    ):
        assert response.status == 200
        body = await response.json()
    balance: dict[str, Any] = body["balances"]["api_calls"]
    return balance


async def test_seed_examples_end_to_end(local_autumn: LocalAutumn) -> None:
    async with Autumn(local_autumn.secret_key, server_url=local_autumn.url) as autumn:
        created = await autumn.balances.create(
            customer_id="cus_123",
            feature_id="api_calls",
            included_grant=1000,
            reset={"interval": "month"},
        )
        assert created == CreateBalanceResponse(success=True)
        balance = await api_calls_balance(local_autumn)
        assert (balance["granted"], balance["remaining"]) == (1000, 1000)

        updated = await autumn.balances.update(
            customer_id="cus_123", feature_id="api_calls", remaining=5
        )
        assert updated == UpdateBalanceResponse(success=True)
        assert (await api_calls_balance(local_autumn))["remaining"] == 5


async def test_standalone_functions_end_to_end(
    local_core: AutumnCore, local_autumn: LocalAutumn
) -> None:
    assert (await balances_create(local_core, CREATE_EXAMPLE)).ok
    assert (await balances_update(local_core, UPDATE_EXAMPLE)).ok
    res = await balances_update(
        local_core, {"customer_id": "cus_123", "feature_id": "api_calls", "add_to_balance": 10}
    )
    assert res.ok
    assert (await api_calls_balance(local_autumn))["remaining"] == 15


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({**CREATE_EXAMPLE, "feature_id": "no_such_feature"}, 404, "feature_not_found"),
        ({**CREATE_EXAMPLE, "customer_id": "cus_nobody"}, 404, "customer_not_found"),
        ({**CREATE_EXAMPLE, "next_reset_at": 1}, 400, "invalid_request"),
    ],
)
async def test_autumn_errors_end_to_end(
    local_core: AutumnCore, params: dict[str, Any], status: int, code: str
) -> None:
    res = await balances_create(local_core, params)

    assert not res.ok
    assert isinstance(res.error, AutumnDefaultError)
    assert (res.error.status_code, res.error.code) == (status, code)
    assert res.error.env == "sandbox"
    assert res.error.message
    assert res.error.attempts == 1


async def test_unknown_feature_raises_from_the_facade(local_autumn: LocalAutumn) -> None:
    async with Autumn(local_autumn.secret_key, server_url=local_autumn.url) as autumn:
        with pytest.raises(AutumnDefaultError) as caught:
            await autumn.balances.update(
                customer_id="cus_123", feature_id="no_such_feature", remaining=1
            )
    assert caught.value.status_code == 404
    assert caught.value.code == "feature_not_found"


async def test_wrong_key_end_to_end(local_autumn: LocalAutumn) -> None:
    wrong = "am_sk_test_not_a_known_key"
    async with AutumnCore(wrong, server_url=local_autumn.url) as core:
        res = await balances_create(core, CREATE_EXAMPLE)
    assert not res.ok
    assert isinstance(res.error, AutumnDefaultError)
    assert (res.error.status_code, res.error.code) == (401, "invalid_secret_key")
    assert wrong not in str(res.error)


async def test_reused_idempotency_key_is_refused_and_applied_once(
    local_core: AutumnCore, local_autumn: LocalAutumn
) -> None:
    add = {"customer_id": "cus_123", "feature_id": "api_calls", "add_to_balance": 10}
    assert (await balances_create(local_core, CREATE_EXAMPLE)).ok
    first = await balances_update(local_core, add, {"idempotency_key": "topup-1"})
    second = await balances_update(local_core, add, {"idempotency_key": "topup-1"})

    assert first.ok
    assert not second.ok
    assert isinstance(second.error, AutumnDefaultError)
    assert (second.error.status_code, second.error.code) == (409, "duplicate_idempotency_key")
    assert second.error.earlier_attempt_accepted is False
    assert (await api_calls_balance(local_autumn))["remaining"] == 1010


async def test_lost_response_is_retried_and_applied_once(
    local_core: AutumnCore, local_autumn: LocalAutumn
) -> None:
    add = {"customer_id": "cus_123", "feature_id": "api_calls", "add_to_balance": 10}
    assert (await balances_create(local_core, CREATE_EXAMPLE)).ok
    local_autumn.faults.inject_next("lost-response")
    res = await balances_update(local_core, add)

    # The first attempt was applied but its answer lost; the retry, same key, is refused
    # as a duplicate twice: the call reports the success it was.
    assert res.ok and res.deduplicated
    assert res.value == UpdateBalanceResponse(success=True)
    assert (await api_calls_balance(local_autumn))["remaining"] == 1010


async def test_503_with_retry_after_is_retried(
    local_core: AutumnCore, local_autumn: LocalAutumn, fake_time: FakeTime
) -> None:
    local_autumn.faults.inject_next("503")
    res = await balances_create(local_core, CREATE_EXAMPLE)
    assert res.ok
    assert fake_time.sleeps == [1.0]  # the local server's Retry-After: 1
    assert (await api_calls_balance(local_autumn))["granted"] == 1000
