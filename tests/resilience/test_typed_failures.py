"""Promise 1: a standalone function never raises for a failure.

Every fault ends in an Err of the documented class, with status and Autumn code
where the server gave one, the number of attempts and the call's idempotency
key. Only asyncio.CancelledError propagates, and the core stays usable after it.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from typing import Any

import aiohttp
import pytest

from autumn_core import (
    APIConnectionError,
    AutumnCore,
    AutumnDefaultError,
    RequestAbortedError,
    RequestTimeoutError,
    RetryConfig,
)
from autumn_funcs import Autumn, balances_create, balances_update
from autumn_local import LocalAutumn
from tests.resilience.conftest import (
    NO_RETRIES,
    SECRET,
    FakeTime,
    assert_typed,
    fast_retries,
    wait_until,
)
from tests.resilience.hostile import HostileServer

pytestmark = pytest.mark.resilience

GRANT = {"customer_id": "cus_123", "feature_id": "api_calls", "included_grant": 100}
TOP_UP = {"customer_id": "cus_123", "feature_id": "api_calls", "add_to_balance": 5}


def core_for(server: LocalAutumn, retry: RetryConfig = NO_RETRIES, **kwargs: Any) -> AutumnCore:
    return AutumnCore(SECRET, server_url=server.url, retry_config=retry, **kwargs)


async def granted(server: LocalAutumn) -> float:
    """The api_calls granted amount of cus_123, read over HTTP on a session of its own."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            server.url + "/v1/customers.get",
            json={"customer_id": "cus_123"},
            headers={"Authorization": f"Bearer {SECRET}"},
        ) as response,
    ):
        assert response.status == 200
        body = await response.json()
    balance = body["balances"].get("api_calls")
    return 0 if balance is None else balance["granted"]


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ("429", 429, None),  # Autumn's 429 is plain text: no code
        ("503", 503, "service_unavailable"),
        ("500", 500, "internal_error"),
    ],
)
@pytest.mark.parametrize("operation", [balances_create, balances_update])
async def test_injected_error_status_is_a_typed_err(
    server: LocalAutumn, operation: Any, fault: str, status: int, code: str | None
) -> None:
    key = f"grant-{uuid.uuid4()}"
    server.faults.inject_next(fault)
    async with core_for(server) as core:
        res = await operation(
            core, GRANT if operation is balances_create else TOP_UP, {"idempotency_key": key}
        )
    assert not res.ok
    error = assert_typed(
        res.error, AutumnDefaultError, status=status, code=code, attempts=1, key=key
    )
    assert not error.earlier_attempt_accepted
    if fault != "429":  # Autumn's 429 body is plain text: no env either
        assert error.env == "sandbox"
    if fault in ("429", "503"):
        assert error.headers["Retry-After"] == "1"


@pytest.mark.parametrize("fault", ["reset", "lost-response"])
async def test_dropped_connection_is_a_connection_error(server: LocalAutumn, fault: str) -> None:
    server.faults.inject_next(fault)
    async with core_for(server) as core:
        res = await balances_create(core, GRANT)
        assert not res.ok
        assert_typed(res.error, APIConnectionError, attempts=1)
        # reset: nothing applied; lost-response: applied, only the answer was lost.
        assert await granted(server) == (100 if fault == "lost-response" else 0)


async def test_slow_answer_beyond_timeout_is_a_timeout_error(server: LocalAutumn) -> None:
    server.set_faults("delay-ms=300")
    server.faults.inject_next("delay")
    async with core_for(server, timeout_ms=50) as core:
        res = await balances_create(core, GRANT)
    assert_typed(res.error, RequestTimeoutError, attempts=1)
    assert "50 ms" in res.error.message


async def test_exhausted_retries_report_every_attempt(server: LocalAutumn) -> None:
    fake = FakeTime()
    server.faults.inject_next("503", "429", "500")
    async with core_for(server, fast_retries(fake, max_retries=2)) as core:
        res = await balances_create(core, GRANT)
        assert_typed(res.error, AutumnDefaultError, status=500, code="internal_error", attempts=3)
        assert len(fake.sleeps) == 2
        assert await granted(server) == 0


async def test_connection_refused_is_a_connection_error() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    fake = FakeTime()
    async with AutumnCore(
        SECRET,
        server_url=f"http://127.0.0.1:{port}",
        retry_config=fast_retries(fake, max_retries=3),
    ) as core:
        res = await balances_create(core, GRANT)
    assert_typed(res.error, APIConnectionError, attempts=4)
    assert len(fake.sleeps) == 3


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({**GRANT, "customer_id": "cus_nobody"}, 404, "customer_not_found"),
        ({**GRANT, "feature_id": "no_such_feature"}, 404, "feature_not_found"),
        ({**GRANT, "rollover": {"length": 1}}, 400, "invalid_request"),
        ({**GRANT, "entity_id": "ent_nobody"}, 404, "entity_not_found"),
    ],
)
async def test_server_refusals_are_typed_and_not_retried(
    server: LocalAutumn, params: dict[str, Any], status: int, code: str
) -> None:
    fake = FakeTime()
    async with core_for(server, fast_retries(fake)) as core:
        res = await balances_create(core, params)
    assert_typed(res.error, AutumnDefaultError, status=status, code=code, attempts=1)
    assert res.error.message and fake.sleeps == []


async def test_wrong_key_and_bad_api_version_are_typed(server: LocalAutumn) -> None:
    async with AutumnCore("am_sk_test_not_this_one", server_url=server.url) as core:
        res = await balances_create(core, GRANT)
    assert_typed(res.error, AutumnDefaultError, status=401, code="invalid_secret_key", attempts=1)
    async with core_for(server, x_api_version="yesterday") as core:
        res = await balances_create(core, GRANT)
    assert_typed(res.error, AutumnDefaultError, status=400, code="invalid_api_version", attempts=1)


async def test_reused_key_on_a_first_attempt_is_a_plain_409(server: LocalAutumn) -> None:
    async with core_for(server) as core:
        assert (await balances_create(core, GRANT, {"idempotency_key": "order-1"})).ok
        res = await balances_create(core, GRANT, {"idempotency_key": "order-1"})
        error = assert_typed(
            res.error,
            AutumnDefaultError,
            status=409,
            code="duplicate_idempotency_key",
            attempts=1,
            key="order-1",
        )
        # Only a retry of this very call proves an earlier attempt of it was accepted.
        assert not error.earlier_attempt_accepted
        assert await granted(server) == 100


async def test_abort_signal_ends_in_request_aborted(hostile: HostileServer) -> None:
    hostile.then(hostile.stall_before_headers())
    signal = asyncio.Event()
    async with AutumnCore(SECRET, server_url=hostile.url) as core:
        call = asyncio.ensure_future(balances_create(core, GRANT, {"abort_signal": signal}))
        await wait_until(lambda: bool(hostile.requests))
        signal.set()
        res = await call
        assert_typed(res.error, RequestAbortedError)
        assert (await balances_create(core, GRANT)).ok


async def test_cancellation_propagates_and_the_core_stays_usable(server: LocalAutumn) -> None:
    server.set_faults("delay-ms=300")
    async with core_for(server, fast_retries()) as core:
        for round_ in range(1, 4):
            server.faults.inject_next("delay")
            call = asyncio.ensure_future(balances_create(core, GRANT))
            await wait_until(lambda n=round_: server.fault_counts["delay"] == n)
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
        res = await balances_create(core, GRANT)
        assert res.ok, res


async def test_cancellation_during_a_retry_wait_propagates(server: LocalAutumn) -> None:
    waiting = asyncio.Event()

    async def slow_sleep(_seconds: float) -> None:
        waiting.set()
        await asyncio.sleep(3600)

    server.faults.inject_next("503")
    retry = RetryConfig(max_retries=3, sleep=slow_sleep)
    async with core_for(server, retry) as core:
        call = asyncio.ensure_future(balances_create(core, GRANT))
        await waiting.wait()
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert (await balances_create(core, GRANT)).ok


async def test_facade_raises_the_same_typed_error(server: LocalAutumn) -> None:
    server.faults.inject_next("503")
    async with Autumn(SECRET, server_url=server.url, retry_config=NO_RETRIES) as autumn:
        with pytest.raises(AutumnDefaultError) as caught:
            await autumn.balances.create(**GRANT)
        assert_typed(caught.value, AutumnDefaultError, status=503, attempts=1)
        assert (await autumn.balances.create(**GRANT)).success
        assert (await autumn.balances.update(**TOP_UP)).success
