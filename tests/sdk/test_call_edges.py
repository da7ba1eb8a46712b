"""The call's edges: a deadline met exactly, which timeout ran out, a header of yours
in another letter case, an abort while the second attempt is out, what an aborted
call leaves running, and extra fields for a body that is a JSON array."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp import web

from autumn_core import (
    Applied,
    AutumnCore,
    AutumnDefaultError,
    BackoffStrategy,
    RequestAbortedError,
    RequestTimeoutError,
    RetryConfig,
    SDKValidationError,
)
from autumn_funcs import balances_batch_track, balances_create
from tests.fake_time import FakeTime
from tests.scripted_server import ScriptedServer, autumn_error, drop_connection, hold
from tests.sdk.conftest import CREATE_EXAMPLE

MakeCore = Callable[..., AutumnCore]
DUPLICATE = autumn_error(409, "duplicate_idempotency_key")


def half(retries: Callable[..., RetryConfig], **fields: object) -> RetryConfig:
    """A policy whose first backoff wait is exactly 0.25 s (500 ms, jitter drawn at 0.5)."""
    backoff = BackoffStrategy(initial_interval=500, max_interval=500)
    return retries(backoff=backoff, random=lambda: 0.5, **fields)


async def test_a_confirmation_that_would_end_exactly_at_the_deadline_is_not_waited_for(
    make_core: MakeCore,
    scripted: ScriptedServer,
    retries: Callable[..., RetryConfig],
    fake_time: FakeTime,
) -> None:
    # 0.25 s of backoff leaves 0.25 s of the 0.5 s total: a 250 ms confirmation
    # would end at the deadline, with no time for its attempt.
    policy = half(retries, confirm_duplicate_after_ms=250)
    core = make_core(retry_config=policy, total_timeout_ms=500)
    scripted.then(drop_connection(), DUPLICATE)
    res = await balances_create(core, CREATE_EXAMPLE)

    assert isinstance(res.error, AutumnDefaultError) and res.error.status_code == 409
    assert res.error.applied is Applied.UNKNOWN
    assert fake_time.sleeps == [0.25]
    assert len(scripted.requests) == 2


async def test_an_attempt_timeout_within_the_calls_says_no_answer_within_it(
    make_core: MakeCore, scripted: ScriptedServer, release: asyncio.Event
) -> None:
    scripted.then(hold(release))
    core = make_core(
        timeout_ms=100, total_timeout_ms=1_000, retry_config=RetryConfig(max_retries=0)
    )
    res = await balances_create(core, CREATE_EXAMPLE)

    assert isinstance(res.error, RequestTimeoutError)
    assert res.error.message == "no answer within 100 ms"


async def test_an_attempt_timeout_equal_to_what_is_left_is_the_attempts_own(
    make_core: MakeCore,
    scripted: ScriptedServer,
    retries: Callable[..., RetryConfig],
    release: asyncio.Event,
) -> None:
    # 0.25 s of backoff leaves exactly 125 ms of the 375 ms total for the second
    # attempt, as long as its own timeout (the fake clock stands still during it).
    scripted.then(autumn_error(503, "unavailable"), hold(release))
    core = make_core(timeout_ms=125, total_timeout_ms=375, retry_config=half(retries))
    res = await balances_create(core, CREATE_EXAMPLE)

    assert isinstance(res.error, RequestTimeoutError)
    assert res.error.message == "no answer within 125 ms"
    assert res.error.attempts == 2


async def test_a_header_of_yours_replaces_the_sdks_in_any_letter_case(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    res = await balances_create(make_core(), CREATE_EXAMPLE, {"headers": {"user-agent": "mine/1"}})

    assert res.ok
    sent = scripted.requests[0].headers.items()
    assert [value for name, value in sent if name.lower() == "user-agent"] == ["mine/1"]


async def test_an_abort_during_the_second_attempt_leaves_the_change_in_doubt(
    make_core: MakeCore,
    scripted: ScriptedServer,
    release: asyncio.Event,
) -> None:
    # The first attempt got a definite refusal; the second was out when aborted.
    arrived = asyncio.Event()
    scripted.then(autumn_error(503, "unavailable"), hold(release, arrived))
    abort = asyncio.Event()
    call = asyncio.create_task(
        balances_create(make_core(), CREATE_EXAMPLE, {"abort_signal": abort})
    )
    await arrived.wait()
    abort.set()
    res = await call

    assert isinstance(res.error, RequestAbortedError)
    assert res.error.attempts == 2
    assert res.error.applied is Applied.UNKNOWN


def sdk_tasks() -> list[asyncio.Task[object]]:
    """Tasks running the SDK's code (not the test's, nor the scripted server's)."""
    current = asyncio.current_task()
    return [
        task
        for task in asyncio.all_tasks()
        if task is not current
        and "autumn_core" in getattr(task.get_coro(), "cr_code", current).co_filename  # type: ignore[union-attr]
    ]


async def test_an_aborted_call_returns_with_its_attempt_unwound(
    make_core: MakeCore, scripted: ScriptedServer, release: asyncio.Event
) -> None:
    abort = asyncio.Event()

    async def abort_then_hold(request: web.Request) -> web.StreamResponse:
        abort.set()  # the caller gives up while the attempt is out
        return await hold(release)(request)

    scripted.then(abort_then_hold)
    res = await balances_create(make_core(), CREATE_EXAMPLE, {"abort_signal": abort})

    assert isinstance(res.error, RequestAbortedError)
    assert sdk_tasks() == []  # nothing of the call runs on after it returned


async def test_extra_body_fields_are_refused_for_a_body_that_is_an_array(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    events = [{"customer_id": "cus_1", "feature_id": "api_calls"}]
    res = await balances_batch_track(make_core(), {"events": events}, {"extra_body": {"note": "x"}})

    assert isinstance(res.error, SDKValidationError)
    assert res.error.field == "options.extra_body"
    assert res.error.message == (
        "invalid options.extra_body: batchTrack sends a JSON array as its body, "
        "which has no room for extra fields"
    )
    assert scripted.requests == []
