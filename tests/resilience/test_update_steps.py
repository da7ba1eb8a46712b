"""An update of several steps is never applied twice, and never reported `no` when a
step may have been applied.

Autumn runs balances.update's steps one by one (add_to_balance/remaining, usage,
included_grant, next_reset_at, expires_at), not as one transaction: when a later
step fails, the earlier ones stay applied, the server answers the error and frees
the Idempotency-Key, so a resend with that key would run the kept steps again.
LocalAutumn does the same. The SDK therefore never resends such an update once an
attempt may have reached the handler, and its error says the change may be
partly applied, with advice that does not repeat it.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from autumn_core import Applied, AutumnCore, AutumnDefaultError
from autumn_funcs import UpdateBalanceParams, balances_create, balances_update
from autumn_local import LocalAutumn
from tests.resilience.conftest import SECRET, fast_retries

pytestmark = pytest.mark.resilience

LIFETIME = {"customer_id": "cus_123", "feature_id": "api_calls"}
# The add_to_balance step is applied; next_reset_at on a lifetime balance is refused.
TWO_STEPS = {**LIFETIME, "add_to_balance": 5, "next_reset_at": 4_102_444_800_000}


async def remaining(server: LocalAutumn) -> float:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            server.url + "/v1/customers.get",
            json={"customer_id": LIFETIME["customer_id"]},
            headers={"Authorization": f"Bearer {SECRET}"},
        ) as response,
    ):
        body: dict[str, Any] = await response.json()
    value: float = body["balances"]["api_calls"]["remaining"]
    return value


async def lifetime_hundred(core: AutumnCore) -> None:
    assert (await balances_create(core, {**LIFETIME, "included_grant": 100})).ok


async def test_a_refused_later_step_is_reported_as_maybe_partly_applied(
    server: LocalAutumn,
) -> None:
    async with AutumnCore(SECRET, server_url=server.url, retry_config=fast_retries()) as core:
        await lifetime_hundred(core)
        res = await balances_update(core, TWO_STEPS)
    assert not res.ok
    error = res.error
    assert isinstance(error, AutumnDefaultError) and error.status_code == 400
    assert await remaining(server) == 105  # the first step stayed, as on Autumn
    assert error.applied is Applied.UNKNOWN
    assert error.may_be_partial
    text = str(error)
    assert 'idempotency_key": ' not in text  # no advice to resend with the key
    assert "customers.get" in text


async def test_a_lost_answer_is_not_retried_into_a_second_application(
    server: LocalAutumn,
) -> None:
    async with AutumnCore(SECRET, server_url=server.url, retry_config=fast_retries()) as core:
        await lifetime_hundred(core)
        server.faults.inject_next("lost-response")
        res = await balances_update(core, TWO_STEPS)
        assert not res.ok
        assert res.error.applied is Applied.UNKNOWN and res.error.may_be_partial
        assert res.error.attempts == 1
        assert await remaining(server) == 105
        # What str(error) advises (read, then send what is missing with a new key)
        # applies nothing twice: resending the same call with the key is not advised.
        assert "resend the same call" not in str(res.error)


async def test_a_refusal_before_the_handler_is_still_retried(server: LocalAutumn) -> None:
    """A 429 is answered before the key is claimed: nothing ran, retrying is safe."""
    async with AutumnCore(SECRET, server_url=server.url, retry_config=fast_retries()) as core:
        await lifetime_hundred(core)
        server.faults.inject_next("429", "429")
        res = await balances_update(core, {**LIFETIME, "add_to_balance": 5, "usage": 10})
    assert res.ok, res
    assert await remaining(server) == 90


async def test_one_step_updates_keep_their_retries(server: LocalAutumn) -> None:
    async with AutumnCore(SECRET, server_url=server.url, retry_config=fast_retries()) as core:
        await lifetime_hundred(core)
        server.faults.inject_next("lost-response")
        res = await balances_update(core, {**LIFETIME, "add_to_balance": 5})
    assert res.ok and res.deduplicated
    assert await remaining(server) == 105


async def test_a_body_the_schema_refuses_is_reported_not_applied(server: LocalAutumn) -> None:
    """400 invalid_inputs comes from the route's schema, before any step ran."""
    async with AutumnCore(SECRET, server_url=server.url, retry_config=fast_retries()) as core:
        await lifetime_hundred(core)
        res = await balances_update(core, TWO_STEPS, {"extra_body": {"current_balance": "many"}})
    assert not res.ok
    error = res.error
    assert isinstance(error, AutumnDefaultError) and error.code == "invalid_inputs", error
    assert error.applied is Applied.NO, error
    assert await remaining(server) == 100


async def test_a_params_model_counts_its_steps_as_a_dict_does(server: LocalAutumn) -> None:
    # One field set on a model is one step: a lost answer is retried (the key makes it
    # safe); the fields left unset are no steps.
    async with AutumnCore(SECRET, server_url=server.url, retry_config=fast_retries()) as core:
        await lifetime_hundred(core)
        server.faults.inject_next("lost-response")
        res = await balances_update(core, UpdateBalanceParams(**LIFETIME, add_to_balance=5))
    assert res.ok and res.deduplicated
    assert await remaining(server) == 105
