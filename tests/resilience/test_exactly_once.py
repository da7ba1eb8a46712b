"""Promise 2: nothing is applied twice.

With retries on and LocalAutumn's `lost-response` fault (the change is committed,
then the connection is closed without an answer), N grants change the balance
exactly N times, checked through POST /v1/customers.get. A retry after a lost
response gets 409 duplicate_idempotency_key; the SDK sends it once more to
confirm, and reports the call as the success it was: `Ok(..., deduplicated=True)`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from autumn_core import APIConnectionError, Applied, AutumnCore, AutumnDefaultError
from autumn_funcs import balances_create, balances_update
from autumn_local import LocalAutumn
from tests.resilience.conftest import SECRET, assert_typed, fast_retries

pytestmark = pytest.mark.resilience

N = 50


async def customer(server: LocalAutumn, customer_id: str = "cus_123") -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            server.url + "/v1/customers.get",
            json={"customer_id": customer_id},
            headers={"Authorization": f"Bearer {SECRET}"},
        ) as response,
    ):
        assert response.status == 200
        body: dict[str, Any] = await response.json()
        return body


def applied_once(res: Any) -> bool:
    """Ok: the call was applied (by this attempt, or an earlier one whose answer was lost)."""
    assert res.ok, res
    return True


async def test_lost_responses_on_creates_are_reported_applied_and_applied_once(
    server: LocalAutumn,
) -> None:
    async with AutumnCore(SECRET, server_url=server.url, retry_config=fast_retries()) as core:
        results = []
        for i in range(N):
            server.faults.inject_next("lost-response")
            res = await balances_create(
                core,
                {"customer_id": "cus_123", "feature_id": "api_calls", "included_grant": 1000 + i},
            )
            results.append(res)
    grants = sorted(
        b["included_grant"] for b in (await customer(server))["balances"]["api_calls"]["breakdown"]
    )
    deduplicated = sum(r.ok and r.deduplicated for r in results)
    print(
        f"\nlost-response scenario: {N} creates, each answer lost once; applied on the server: "
        f"{len(grants)}; reported Ok: {sum(r.ok for r in results)} of {N} "
        f"(deduplicated=True: {deduplicated})"
    )
    # Every applied call is reported applied, as the success it was; none applied twice.
    assert all(r.ok and r.deduplicated for r in results)
    assert grants == [1000 + i for i in range(N)]
    assert server.fault_counts["lost-response"] == N


async def test_lost_responses_on_top_ups_add_each_amount_once(server: LocalAutumn) -> None:
    async with AutumnCore(SECRET, server_url=server.url, retry_config=fast_retries()) as core:
        base = {"customer_id": "cus_123", "feature_id": "api_calls"}
        assert (await balances_create(core, {**base, "included_grant": 0})).ok
        for _ in range(N):
            server.faults.inject_next("lost-response")
            res = await balances_update(core, {**base, "add_to_balance": 3})
            assert applied_once(res)
    balance = (await customer(server))["balances"]["api_calls"]
    assert balance["remaining"] == 3 * N


async def test_lost_response_then_more_faults_still_applies_once(server: LocalAutumn) -> None:
    async with AutumnCore(SECRET, server_url=server.url, retry_config=fast_retries()) as core:
        base = {"customer_id": "cus_123", "feature_id": "api_calls"}
        assert (await balances_create(core, {**base, "included_grant": 0})).ok
        # Applied on attempt 1; attempt 4's 409 is lost as well, the confirmation's is not.
        server.faults.inject_next("lost-response", "503", "reset", "lost-response", "429")
        res = await balances_update(core, {**base, "add_to_balance": 7})
        assert applied_once(res) and res.deduplicated
    assert (await customer(server))["balances"]["api_calls"]["remaining"] == 7


async def test_timed_out_attempts_apply_once_on_disk(tmp_path: Any) -> None:
    """The first attempt outlives the client's timeout, and still commits later."""
    db = tmp_path / "db.sqlite3"
    async with (
        LocalAutumn(secret_key=SECRET, db_path=db, faults="delay-ms=200") as server,
        AutumnCore(
            SECRET, server_url=server.url, retry_config=fast_retries(), timeout_ms=50
        ) as core,
    ):
        base = {"customer_id": "cus_123", "feature_id": "api_calls"}
        assert (await balances_create(core, {**base, "included_grant": 0})).ok
        for _ in range(5):
            server.faults.inject_next("delay")
            assert applied_once(await balances_update(core, {**base, "add_to_balance": 1}))
    # Stopping waited for every delayed attempt to finish; read what they left.
    async with LocalAutumn(secret_key=SECRET, db_path=db) as server:
        assert (await customer(server))["balances"]["api_calls"]["remaining"] == 5


async def test_concurrent_grants_with_lost_responses_apply_once(server: LocalAutumn) -> None:
    # Half of all answers lost, the 409s of retries included: a call needs enough
    # retries to hear back once (0.5**40: never runs out).
    server.set_faults("lost-response=0.5,retry-after=0,seed=11")
    retry = fast_retries(max_retries=40)
    async with AutumnCore(SECRET, server_url=server.url, retry_config=retry) as core:
        base = {"customer_id": "cus_123", "feature_id": "api_calls"}
        creates = [balances_create(core, {**base, "included_grant": 5000 + i}) for i in range(N)]
        results = await asyncio.gather(*creates)
        assert all(applied_once(r) for r in results)
        server.set_faults(None)
        assert (
            await balances_create(core, {**base, "feature_id": "seats", "included_grant": 0})
        ).ok
        server.set_faults("lost-response=0.5,retry-after=0,seed=12")
        top_ups = [
            balances_update(core, {**base, "feature_id": "seats", "add_to_balance": 2})
            for _ in range(N)
        ]
        assert all(applied_once(r) for r in await asyncio.gather(*top_ups))
    balances = (await customer(server))["balances"]
    grants = sorted(b["included_grant"] for b in balances["api_calls"]["breakdown"])
    assert grants == [5000 + i for i in range(N)]
    assert balances["seats"]["remaining"] == 2 * N
    assert server.fault_counts["lost-response"] > 0


async def test_a_call_out_of_retries_can_be_settled_by_its_key(server: LocalAutumn) -> None:
    """Every answer lost: the SDK cannot know the outcome, says so, and which key to reuse.

    Re-sending with that key is refused with 409 instead of applying the change again:
    the error says the change was already applied.
    """
    base = {"customer_id": "cus_123", "feature_id": "api_calls"}
    retry = fast_retries(max_retries=2)
    async with AutumnCore(SECRET, server_url=server.url, retry_config=retry) as core:
        assert (await balances_create(core, {**base, "included_grant": 0})).ok
        server.faults.inject_next("lost-response", "lost-response", "lost-response")
        res = await balances_update(core, {**base, "add_to_balance": 7})
        error = assert_typed(res.error, APIConnectionError, attempts=3)
        assert error.applied is Applied.UNKNOWN
        assert f'options={{"idempotency_key": "{error.idempotency_key}"}}' in str(error)
        again = await balances_update(
            core, {**base, "add_to_balance": 7}, {"idempotency_key": error.idempotency_key}
        )
        settled = assert_typed(
            again.error,
            AutumnDefaultError,
            status=409,
            code="duplicate_idempotency_key",
            attempts=1,
            key=error.idempotency_key,
        )
        assert settled.applied is Applied.ALREADY
    assert (await customer(server))["balances"]["api_calls"]["remaining"] == 7


async def test_a_lost_answer_then_503s_is_unknown_and_settles_as_applied(
    server: LocalAutumn,
) -> None:
    """The 503s came before the key was even checked: they say nothing of attempt 1,
    which the server applied. The error says the change may have been applied."""
    base = {"customer_id": "cus_123", "feature_id": "api_calls"}
    retry = fast_retries(max_retries=2)
    async with AutumnCore(SECRET, server_url=server.url, retry_config=retry) as core:
        assert (await balances_create(core, {**base, "included_grant": 0})).ok
        server.faults.inject_next("lost-response", "503", "503")
        res = await balances_update(core, {**base, "add_to_balance": 5})
        error = assert_typed(res.error, AutumnDefaultError, status=503, attempts=3)
        assert error.applied is Applied.UNKNOWN and not error.earlier_attempt_accepted
        again = await balances_update(
            core, {**base, "add_to_balance": 5}, {"idempotency_key": error.idempotency_key}
        )
        assert again.error.applied is Applied.ALREADY
    assert (await customer(server))["balances"]["api_calls"]["remaining"] == 5


async def test_an_unknown_outcome_that_was_not_applied_settles_by_applying_once(
    server: LocalAutumn,
) -> None:
    """The request was reset after it left, before the server handled it: unknown to the
    client; resending with the key applies it, once."""
    base = {"customer_id": "cus_123", "feature_id": "api_calls"}
    retry = fast_retries(max_retries=0)
    async with AutumnCore(SECRET, server_url=server.url, retry_config=retry) as core:
        assert (await balances_create(core, {**base, "included_grant": 0})).ok
        server.faults.inject_next("reset")
        res = await balances_update(core, {**base, "add_to_balance": 4})
        error = assert_typed(res.error, APIConnectionError, attempts=1)
        assert error.applied is Applied.UNKNOWN
        again = await balances_update(
            core, {**base, "add_to_balance": 4}, {"idempotency_key": error.idempotency_key}
        )
        assert again.ok
    assert (await customer(server))["balances"]["api_calls"]["remaining"] == 4
