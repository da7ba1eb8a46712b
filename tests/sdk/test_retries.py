"""Retries: which outcomes are retried, how long the SDK waits, and what the server sees.

Waits go through a recording fake sleep (`fake_time`), so the schedule is read, not waited.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from autumn_core import (
    APIConnectionError,
    AutumnCore,
    AutumnDefaultError,
    AutumnError,
    BackoffStrategy,
    RequestOptions,
    RequestTimeoutError,
    RetryConfig,
)
from autumn_funcs import CreateBalanceResponse, balances_create, balances_update
from tests.fake_time import FakeTime
from tests.scripted_server import (
    ScriptedServer,
    autumn_error,
    drop_connection,
    hold,
    json_reply,
    raw_reply,
)
from tests.sdk.conftest import CREATE_EXAMPLE, UPDATE_EXAMPLE, header

Retries = Callable[..., RetryConfig]
MakeCore = Callable[..., AutumnCore]


def unavailable(retry_after: str | None = None) -> object:
    headers = {"Retry-After": retry_after} if retry_after is not None else None
    return autumn_error(503, "service_unavailable", "try later", headers=headers)


async def test_503_then_200_succeeds_on_the_second_attempt(
    core: AutumnCore, scripted: ScriptedServer, fake_time: FakeTime
) -> None:
    scripted.then(unavailable())
    res = await balances_create(core, CREATE_EXAMPLE)

    assert res.ok
    assert res.value == CreateBalanceResponse(success=True)
    first, second = scripted.requests
    assert first.body == second.body
    assert header(first, "Idempotency-Key") == header(second, "Idempotency-Key")
    assert header(first, "X-Retry-Count") is None
    assert header(second, "X-Retry-Count") == "1"
    (wait,) = fake_time.sleeps
    assert 0 <= wait <= 0.5  # default initial interval 500 ms, full jitter


async def test_retries_give_up_after_max_retries(
    core: AutumnCore, scripted: ScriptedServer, fake_time: FakeTime
) -> None:
    scripted.default = unavailable()  # type: ignore[assignment]
    res = await balances_update(core, UPDATE_EXAMPLE)

    assert not res.ok
    assert isinstance(res.error, AutumnDefaultError)
    assert res.error.status_code == 503
    assert res.error.attempts == 3  # the default: at most 2 retries
    assert len(scripted.requests) == 3
    keys = {header(r, "Idempotency-Key") for r in scripted.requests}
    assert keys == {res.error.idempotency_key}
    assert [header(r, "X-Retry-Count") for r in scripted.requests] == [None, "1", "2"]
    assert len(fake_time.sleeps) == 2


@pytest.mark.parametrize("max_retries", [0, 1, 4])
async def test_max_retries(
    make_core: MakeCore, scripted: ScriptedServer, retries: Retries, max_retries: int
) -> None:
    scripted.default = unavailable()  # type: ignore[assignment]
    core = make_core(retry_config=retries(max_retries=max_retries))
    res = await balances_create(core, CREATE_EXAMPLE)

    assert not res.ok
    assert res.error.attempts == max_retries + 1
    assert len(scripted.requests) == max_retries + 1


async def test_retry_after_seconds_is_honoured(
    core: AutumnCore, scripted: ScriptedServer, fake_time: FakeTime
) -> None:
    scripted.then(
        unavailable("7"), autumn_error(429, "rate_limit_exceeded", headers={"Retry-After": "0"})
    )
    res = await balances_create(core, CREATE_EXAMPLE)

    assert res.ok
    assert fake_time.sleeps == [7.0, 0.0]
    assert len(scripted.requests) == 3


async def test_retry_after_http_date_is_honoured(
    core: AutumnCore, scripted: ScriptedServer, fake_time: FakeTime
) -> None:
    when = datetime.now(timezone.utc) + timedelta(seconds=30)
    scripted.then(unavailable(format_datetime(when, usegmt=True)))
    res = await balances_create(core, CREATE_EXAMPLE)

    assert res.ok
    (wait,) = fake_time.sleeps
    # HTTP dates have whole seconds; the margin is for the clock ticking meanwhile.
    assert 15 <= wait <= 30


async def test_retry_after_in_the_past_means_now(
    core: AutumnCore, scripted: ScriptedServer, fake_time: FakeTime
) -> None:
    scripted.then(unavailable("Wed, 21 Oct 2015 07:28:00 GMT"))
    assert (await balances_create(core, CREATE_EXAMPLE)).ok
    assert fake_time.sleeps == [0.0]


@pytest.mark.parametrize(
    "retry_after",
    ["120", format_datetime(datetime.now(timezone.utc) + timedelta(hours=2), usegmt=True)],
    ids=["seconds", "http-date"],
)
async def test_retry_after_is_capped_by_max_interval(
    make_core: MakeCore,
    scripted: ScriptedServer,
    retries: Retries,
    fake_time: FakeTime,
    retry_after: str,
) -> None:
    core = make_core(retry_config=retries(backoff=BackoffStrategy(max_interval=2_000)))
    scripted.then(unavailable(retry_after))
    assert (await balances_create(core, CREATE_EXAMPLE)).ok
    assert fake_time.sleeps == [2.0]


async def test_unreadable_retry_after_falls_back_to_backoff(
    core: AutumnCore, scripted: ScriptedServer, fake_time: FakeTime
) -> None:
    scripted.then(unavailable("soon"))
    assert (await balances_create(core, CREATE_EXAMPLE)).ok
    (wait,) = fake_time.sleeps
    assert 0 <= wait <= 0.5


async def test_computed_backoff_grows_and_is_capped(
    make_core: MakeCore, scripted: ScriptedServer, retries: Retries, fake_time: FakeTime
) -> None:
    backoff = BackoffStrategy(initial_interval=100, exponent=2, max_interval=300)
    # Every jitter draw 0.5: each wait is exactly half its ceiling, 100 ms * 2**n
    # capped at 300 ms, so the growth itself is visible.
    core = make_core(retry_config=retries(backoff=backoff, max_retries=5, random=lambda: 0.5))
    scripted.default = unavailable()  # type: ignore[assignment]
    await balances_create(core, CREATE_EXAMPLE)

    assert fake_time.sleeps == pytest.approx([0.05, 0.1, 0.15, 0.15, 0.15])


async def test_computed_backoff_is_jittered_below_each_ceiling(
    make_core: MakeCore, scripted: ScriptedServer, retries: Retries, fake_time: FakeTime
) -> None:
    backoff = BackoffStrategy(initial_interval=100, exponent=2, max_interval=300)
    draws = random.Random(2024)
    core = make_core(retry_config=retries(backoff=backoff, max_retries=5, random=draws.random))
    scripted.default = unavailable()  # type: ignore[assignment]
    await balances_create(core, CREATE_EXAMPLE)

    again = random.Random(2024)
    ceilings = [0.1, 0.2, 0.3, 0.3, 0.3]
    assert fake_time.sleeps == pytest.approx([c * again.random() for c in ceilings])


async def test_max_elapsed_time_stops_retrying(
    make_core: MakeCore, scripted: ScriptedServer, retries: Retries, fake_time: FakeTime
) -> None:
    backoff = BackoffStrategy(max_elapsed_time=1_000)
    core = make_core(retry_config=retries(backoff=backoff, max_retries=10))
    scripted.default = unavailable("0.6")  # type: ignore[assignment]
    res = await balances_create(core, CREATE_EXAMPLE)

    # A second 0.6 s wait would end past the 1 s budget, so it is not taken.
    assert not res.ok
    assert res.error.attempts == 2
    assert fake_time.sleeps == [0.6]


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "invalid_inputs"),
        (401, "invalid_secret_key"),
        (404, "feature_not_found"),
        (409, "invalid_request"),
        (422, "unprocessable"),
    ],
)
async def test_client_errors_are_not_retried(
    core: AutumnCore, scripted: ScriptedServer, fake_time: FakeTime, status: int, code: str
) -> None:
    scripted.then(autumn_error(status, code))
    res = await balances_create(core, CREATE_EXAMPLE)

    assert not res.ok
    assert isinstance(res.error, AutumnDefaultError)
    assert (res.error.status_code, res.error.code, res.error.attempts) == (status, code, 1)
    assert len(scripted.requests) == 1
    assert fake_time.sleeps == []


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
async def test_default_retried_statuses(
    core: AutumnCore, scripted: ScriptedServer, status: int
) -> None:
    scripted.then(autumn_error(status, "transient"))
    assert (await balances_create(core, CREATE_EXAMPLE)).ok
    assert len(scripted.requests) == 2


async def test_a_5xx_saying_the_input_is_invalid_is_final(
    core: AutumnCore, scripted: ScriptedServer, fake_time: FakeTime
) -> None:
    # What the real server answers to a create that breaks its rules: retrying
    # sends the same invalid input again.
    scripted.default = autumn_error(500, "invalid_inputs", "input: Invalid input")  # type: ignore[assignment]
    res = await balances_create(core, CREATE_EXAMPLE)

    assert not res.ok
    assert isinstance(res.error, AutumnDefaultError)
    assert (res.error.status_code, res.error.code, res.error.attempts) == (500, "invalid_inputs", 1)
    assert len(scripted.requests) == 1
    assert fake_time.sleeps == []


RATE_LIMITED = b"Too many requests, please try again later."


async def test_a_plain_text_429_is_retried_after_its_retry_after(
    core: AutumnCore, scripted: ScriptedServer, fake_time: FakeTime
) -> None:
    # Autumn's rate limiter answers in plain text, not its JSON error shape.
    scripted.then(raw_reply(429, RATE_LIMITED, "text/plain", headers={"Retry-After": "3"}))
    res = await balances_create(core, CREATE_EXAMPLE)

    assert res.ok
    assert fake_time.sleeps == [3.0]
    assert len(scripted.requests) == 2


async def test_a_plain_text_429_is_an_autumn_error_with_its_text(
    make_core: MakeCore, scripted: ScriptedServer, retries: Retries
) -> None:
    core = make_core(retry_config=retries(max_retries=0))
    scripted.then(raw_reply(429, RATE_LIMITED, "text/plain", headers={"Retry-After": "3"}))
    res = await balances_create(core, CREATE_EXAMPLE)

    assert not res.ok
    error = res.error
    assert isinstance(error, AutumnError)
    assert (error.status_code, error.code) == (429, None)
    assert error.message == RATE_LIMITED.decode()
    assert error.headers["Retry-After"] == "3"
    assert str(error).startswith("429 Too Many Requests: Too many requests")


async def test_strategy_none_never_retries(
    make_core: MakeCore, scripted: ScriptedServer, retries: Retries
) -> None:
    core = make_core(retry_config=retries(strategy="none"))
    scripted.then(unavailable())
    res = await balances_create(core, CREATE_EXAMPLE)
    assert not res.ok
    assert len(scripted.requests) == 1


async def test_a_501_is_retried_only_when_listed(
    make_core: MakeCore, scripted: ScriptedServer, retries: Retries
) -> None:
    default_core = make_core()
    range_core = make_core(retry_config=retries(retry_codes=["5XX"]))

    scripted.then(autumn_error(501, "not_implemented"))
    assert not (await balances_create(default_core, CREATE_EXAMPLE)).ok
    assert len(scripted.requests) == 1

    scripted.then(autumn_error(501, "not_implemented"))
    assert (await balances_create(range_core, CREATE_EXAMPLE)).ok
    assert len(scripted.requests) == 3

    scripted.then(autumn_error(501, "not_implemented"))
    assert (await balances_create(default_core, CREATE_EXAMPLE, {"retry_codes": ["501"]})).ok
    assert len(scripted.requests) == 5


async def test_retry_codes_range_excludes_other_classes(
    make_core: MakeCore, scripted: ScriptedServer, retries: Retries
) -> None:
    core = make_core(retry_config=retries(retry_codes=["5XX"]))
    scripted.then(autumn_error(429, "rate_limit_exceeded"))
    res = await balances_create(core, CREATE_EXAMPLE)
    assert not res.ok
    assert len(scripted.requests) == 1


async def test_per_call_retry_codes_replace_the_core_ones(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    scripted.then(unavailable())
    res = await balances_create(core, CREATE_EXAMPLE, RequestOptions(retry_codes=["429"]))
    assert not res.ok
    assert len(scripted.requests) == 1


async def test_empty_per_call_retry_codes_retry_no_status(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    scripted.then(unavailable())
    res = await balances_create(core, CREATE_EXAMPLE, {"retry_codes": []})
    assert not res.ok
    assert len(scripted.requests) == 1


async def test_per_call_retries_replace_the_core_policy(
    make_core: MakeCore, scripted: ScriptedServer, retries: Retries
) -> None:
    patient = make_core(retry_config=retries(max_retries=5))
    scripted.default = unavailable()  # type: ignore[assignment]

    res = await balances_create(patient, CREATE_EXAMPLE, {"retries": retries(strategy="none")})
    assert res.error.attempts == 1  # type: ignore[union-attr]
    res = await balances_create(patient, CREATE_EXAMPLE, {"retries": retries(max_retries=1)})
    assert res.error.attempts == 2  # type: ignore[union-attr]
    assert len(scripted.requests) == 3


async def test_connection_errors_are_retried_by_default(
    core: AutumnCore, refused_url: str, fake_time: FakeTime
) -> None:
    res = await balances_create(core, CREATE_EXAMPLE, {"server_url": refused_url})
    assert not res.ok
    assert isinstance(res.error, APIConnectionError)
    assert res.error.attempts == 3
    assert len(fake_time.sleeps) == 2


async def test_connection_errors_not_retried_when_disabled(
    make_core: MakeCore, retries: Retries, refused_url: str, fake_time: FakeTime
) -> None:
    core = make_core(server_url=refused_url, retry_config=retries(retry_connection_errors=False))
    res = await balances_create(core, CREATE_EXAMPLE)
    assert not res.ok
    assert isinstance(res.error, APIConnectionError)
    assert res.error.attempts == 1
    assert fake_time.sleeps == []


async def test_timeouts_are_retried_with_the_same_key(
    make_core: MakeCore, scripted: ScriptedServer, release: asyncio.Event
) -> None:
    scripted.default = hold(release)
    core = make_core(timeout_ms=50)
    res = await balances_update(core, UPDATE_EXAMPLE)

    assert not res.ok
    assert isinstance(res.error, RequestTimeoutError)
    assert res.error.attempts == 3
    assert {header(r, "Idempotency-Key") for r in scripted.requests} == {res.error.idempotency_key}


async def test_lost_response_then_success(core: AutumnCore, scripted: ScriptedServer) -> None:
    scripted.then(drop_connection(), json_reply())
    res = await balances_create(core, CREATE_EXAMPLE, {"idempotency_key": "order-7"})
    assert res.ok
    assert [header(r, "Idempotency-Key") for r in scripted.requests] == ["order-7", "order-7"]
