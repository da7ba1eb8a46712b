"""What a call's Result says about its change: applied, not applied, or unknown.

Each scenario is scripted on a real server on 127.0.0.1; waits run on the fake
clock, so a confirmation's delay is read from `fake_time.sleeps`, not waited.
"""

from __future__ import annotations

import asyncio
import gc
import socket
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest

from autumn_core import (
    APIConnectionError,
    Applied,
    AutumnCore,
    AutumnDefaultError,
    AutumnSDKError,
    BackoffStrategy,
    Hooks,
    InvalidRequestError,
    RequestAbortedError,
    RequestTimeoutError,
    ResponseValidationError,
    RetryConfig,
    SDKValidationError,
)
from autumn_core.seam import Operation, tolerate_unknown_fields
from autumn_funcs import (
    CreateBalanceParams,
    CreateBalanceResponse,
    balances_create,
    balances_update,
)
from tests.fake_time import FakeTime
from tests.scripted_server import (
    Reply,
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


def duplicate() -> Reply:
    return autumn_error(
        409,
        "duplicate_idempotency_key",
        "Another request with idempotency key k has already been received",
    )


def unavailable() -> Reply:
    return autumn_error(503, "service_unavailable", "try later")


def keys(scripted: ScriptedServer) -> set[str | None]:
    return {header(r, "Idempotency-Key") for r in scripted.requests}


# -- a retry refused as a duplicate ------------------------------------------------


async def test_lost_answer_then_two_duplicates_is_a_deduplicated_success(
    core: AutumnCore, scripted: ScriptedServer, fake_time: FakeTime
) -> None:
    scripted.then(drop_connection(), duplicate(), duplicate())
    res = await balances_create(core, CREATE_EXAMPLE)

    assert res.ok
    assert res.deduplicated is True
    assert res.value == CreateBalanceResponse(success=True)
    assert len(scripted.requests) == 3 and len(keys(scripted)) == 1
    assert [header(r, "X-Retry-Count") for r in scripted.requests] == [None, "1", "2"]
    assert fake_time.sleeps[-1] == 0.25  # the default wait before the confirmation
    assert "deduplicated=True" in repr(res)


async def test_a_plain_success_is_not_deduplicated(core: AutumnCore) -> None:
    res = await balances_update(core, UPDATE_EXAMPLE)
    assert res.ok and res.deduplicated is False


@pytest.mark.parametrize("first", [unavailable, drop_connection], ids=["503", "lost"])
async def test_a_confirmation_that_runs_the_call_reports_its_own_answer(
    core: AutumnCore, scripted: ScriptedServer, first: Callable[[], Reply]
) -> None:
    # The 409 came while an earlier attempt still ran; it failed and freed the key,
    # so the confirmation ran the call itself: its success is the truth.
    scripted.then(first(), duplicate(), json_reply())
    res = await balances_create(core, CREATE_EXAMPLE)

    assert res.ok and res.deduplicated is False
    assert len(scripted.requests) == 3 and len(keys(scripted)) == 1


async def test_a_confirmation_refused_otherwise_leaves_the_outcome_unknown(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    # Only success or a duplicate says what the lost first attempt did.
    scripted.then(drop_connection(), duplicate(), autumn_error(404, "customer_not_found"))
    res = await balances_create(core, CREATE_EXAMPLE)

    assert not res.ok
    error = res.error
    assert isinstance(error, AutumnDefaultError) and error.status_code == 404
    assert error.applied is Applied.UNKNOWN


async def test_the_confirmation_waits_as_configured_outside_max_retries(
    make_core: MakeCore, scripted: ScriptedServer, retries: Retries, fake_time: FakeTime
) -> None:
    core = make_core(retry_config=retries(max_retries=1, confirm_duplicate_after_ms=40))
    scripted.then(drop_connection(), duplicate(), duplicate())
    res = await balances_create(core, CREATE_EXAMPLE)

    assert res.ok and res.deduplicated  # three attempts, although max_retries is 1
    assert fake_time.sleeps[-1] == pytest.approx(0.04)


async def test_a_duplicate_on_a_first_attempt_with_a_key_of_yours_stays_an_error(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    scripted.then(duplicate())
    res = await balances_create(core, CREATE_EXAMPLE, {"idempotency_key": "order-1"})

    assert not res.ok
    error = res.error
    assert isinstance(error, AutumnDefaultError)
    assert error.applied is Applied.ALREADY
    assert error.earlier_attempt_accepted is False
    # The key may have been used for another request: the server does not compare bodies.
    assert "does not compare bodies" in str(error)
    assert "key of its own" in str(error)
    assert len(scripted.requests) == 1


async def test_a_duplicate_on_a_retry_with_a_key_of_yours_is_already_applied(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    # Another request of yours may hold that key: never reported as this call's success.
    scripted.then(drop_connection(), duplicate(), duplicate())
    res = await balances_create(core, CREATE_EXAMPLE, {"idempotency_key": "order-2"})

    assert not res.ok
    error = res.error
    assert isinstance(error, AutumnDefaultError)
    assert error.applied is Applied.ALREADY
    assert error.earlier_attempt_accepted is False
    assert error.attempts == 3


@tolerate_unknown_fields
@attrs.frozen
class Tracked:
    id: str


# A write whose success answer carries data of its own: a duplicate cannot stand for it.
TRACK = Operation("track", "/v1/balances.create", CreateBalanceParams, Tracked)


async def test_an_operation_without_a_fixed_answer_keeps_the_confirmed_duplicate_as_an_error(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    scripted.then(drop_connection(), duplicate(), duplicate())
    res = await core.call(TRACK, CREATE_EXAMPLE)

    assert not res.ok
    error = res.error
    assert isinstance(error, AutumnDefaultError)
    assert error.applied is Applied.ALREADY
    assert error.earlier_attempt_accepted is True
    assert (
        ". An earlier attempt of this same call was accepted by the server, so the change was "
        "applied, once, but its answer was lost; do not repeat it"
    ) in str(error)


async def test_a_duplicate_with_no_time_left_to_confirm_is_unknown(
    make_core: MakeCore, scripted: ScriptedServer, retries: Retries
) -> None:
    fast = BackoffStrategy(initial_interval=1, max_interval=1)
    core = make_core(retry_config=retries(backoff=fast), total_timeout_ms=100)
    scripted.then(drop_connection(), duplicate())
    res = await balances_create(core, CREATE_EXAMPLE)

    assert not res.ok
    assert isinstance(res.error, AutumnDefaultError) and res.error.status_code == 409
    assert res.error.applied is Applied.UNKNOWN
    assert len(scripted.requests) == 2


# -- whether an error's change may have been applied --------------------------------


def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.mark.parametrize(
    ("replies", "kind", "applied"),
    [
        ([autumn_error(404, "customer_not_found")], AutumnDefaultError, Applied.NO),
        ([unavailable(), unavailable(), unavailable()], AutumnDefaultError, Applied.NO),
        ([drop_connection()] * 3, APIConnectionError, Applied.UNKNOWN),
        # A lost answer, then two 503s: the server holds the grant; trusting the
        # 503 and sending it again with a new key would grant twice.
        ([drop_connection(), unavailable(), unavailable()], AutumnDefaultError, Applied.UNKNOWN),
        ([raw_reply(200, b"<html>welcome</html>")], ResponseValidationError, Applied.UNKNOWN),
        ([raw_reply(502, b"<html>bad gateway</html>")] * 3, AutumnDefaultError, Applied.UNKNOWN),
        ([raw_reply(504, b"<html>timeout</html>")] * 3, AutumnDefaultError, Applied.UNKNOWN),
        ([autumn_error(502, "upstream_error")] * 3, AutumnDefaultError, Applied.NO),
    ],
    ids=["404", "503x3", "lostx3", "lost-503-503", "2xx-html", "502-html", "504-html", "502-json"],
)
async def test_every_error_says_whether_the_change_may_have_been_applied(
    core: AutumnCore,
    scripted: ScriptedServer,
    replies: list[Reply],
    kind: type[AutumnSDKError],
    applied: Applied,
) -> None:
    scripted.then(*replies)
    res = await balances_create(core, CREATE_EXAMPLE)

    assert not res.ok
    error = res.error
    assert type(error) is kind, error
    assert error.applied is applied
    key = error.idempotency_key
    settle = f'options={{"idempotency_key": "{key}"}}'
    assert (settle in str(error)) is (applied is Applied.UNKNOWN)


async def test_a_refused_connection_applied_nothing(make_core: MakeCore) -> None:
    res = await balances_create(make_core(server_url=closed_port()), CREATE_EXAMPLE)
    assert isinstance(res.error, APIConnectionError) and res.error.attempts == 3
    assert res.error.applied is Applied.NO


@pytest.fixture
def unaccepting_url() -> Iterator[str]:
    """A URL on 127.0.0.1 whose listener accepts no connection: its queue of pending
    connections is kept full, so a new connect hangs until the client gives up."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):  # more than the queue holds (Linux: backlog + 1)
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    yield f"http://127.0.0.1:{port}"
    for sock in [*fillers, listener]:
        sock.close()


async def test_a_connection_never_made_in_time_applied_nothing(
    make_core: MakeCore, unaccepting_url: str, retries: Retries
) -> None:
    core = make_core(
        server_url=unaccepting_url, timeout_ms=1000, retry_config=retries(strategy="none")
    )
    res = await balances_create(core, CREATE_EXAMPLE)
    assert isinstance(res.error, RequestTimeoutError), res
    assert res.error.applied is Applied.NO
    assert "no connection within 500 ms" in str(res.error)
    assert "resend the same call" not in str(res.error)


async def test_a_timed_out_attempt_may_have_applied_the_change(
    make_core: MakeCore, scripted: ScriptedServer, release: asyncio.Event, retries: Retries
) -> None:
    scripted.then(hold(release))
    core = make_core(timeout_ms=50, retry_config=retries(strategy="none"))
    res = await balances_create(core, CREATE_EXAMPLE)
    assert isinstance(res.error, RequestTimeoutError)
    assert res.error.applied is Applied.UNKNOWN
    assert "resend the same call" in str(res.error)


async def test_input_refused_before_any_io_applied_nothing(core: AutumnCore) -> None:
    res = await balances_create(core, {"customer_id": "cus_123"})
    assert isinstance(res.error, SDKValidationError)
    assert res.error.applied is Applied.NO


async def test_an_attempt_refused_by_a_hook_applied_nothing(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    def refuse(*_: object) -> None:
        raise RuntimeError("not now")

    res = await balances_create(make_core(hooks=Hooks(before_request=[refuse])), CREATE_EXAMPLE)
    assert isinstance(res.error, InvalidRequestError)
    assert res.error.applied is Applied.NO
    assert scripted.requests == []


@tolerate_unknown_fields
@attrs.frozen
class Seen:
    success: bool


READ = Operation("peek", "/v1/balances.create", CreateBalanceParams, Seen, writes=False)


async def test_a_read_never_claims_a_change(core: AutumnCore, scripted: ScriptedServer) -> None:
    scripted.then(drop_connection(), drop_connection(), drop_connection())
    res = await core.call(READ, CREATE_EXAMPLE)
    assert isinstance(res.error, APIConnectionError)
    assert res.error.applied is Applied.NO
    assert keys(scripted) == {None}


async def test_aborted_mid_attempt_the_change_is_unknown(
    core: AutumnCore, scripted: ScriptedServer, release: asyncio.Event
) -> None:
    arrived = asyncio.Event()
    scripted.then(hold(release, arrived))
    signal = asyncio.Event()
    call = asyncio.ensure_future(balances_create(core, CREATE_EXAMPLE, {"abort_signal": signal}))
    await arrived.wait()
    signal.set()
    res = await call
    assert isinstance(res.error, RequestAbortedError)
    assert res.error.applied is Applied.UNKNOWN


async def test_aborted_before_sending_applied_nothing(core: AutumnCore) -> None:
    signal = asyncio.Event()
    signal.set()
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        res = await balances_create(core, CREATE_EXAMPLE, {"abort_signal": signal})
        gc.collect()
    # The call's coroutine is closed, not dropped unawaited.
    assert [w for w in warned if issubclass(w.category, RuntimeWarning)] == []
    assert isinstance(res.error, RequestAbortedError)
    assert res.error.message == "aborted by the caller's abort_signal"
    assert res.error.applied is Applied.NO


async def test_applied_is_a_string_enum() -> None:
    assert Applied.UNKNOWN == "unknown" and str(Applied.UNKNOWN) == "unknown"
    assert f"{Applied.ALREADY}" == "already"


# -- the whole call's deadline -------------------------------------------------------


async def test_total_timeout_cuts_an_attempt_in_flight(
    make_core: MakeCore, scripted: ScriptedServer, release: asyncio.Event
) -> None:
    # Each attempt may take a minute; the call as a whole only 200 ms (real time).
    scripted.then(hold(release))
    core = make_core(timeout_ms=60_000, retry_config=RetryConfig())
    res = await balances_create(core, CREATE_EXAMPLE, {"total_timeout_ms": 200})

    assert isinstance(res.error, RequestTimeoutError)
    assert "total_timeout_ms of 200 ms ran out" in str(res.error)
    assert res.error.applied is Applied.UNKNOWN  # the request was in, unanswered
    assert res.error.attempts == 1


async def test_total_timeout_does_not_wait_for_a_retry_that_cannot_fit(
    make_core: MakeCore, scripted: ScriptedServer, fake_time: FakeTime
) -> None:
    scripted.then(
        autumn_error(503, "service_unavailable", headers={"Retry-After": "999999"}),
    )
    core = make_core(total_timeout_ms=5_000)
    res = await balances_create(core, CREATE_EXAMPLE)

    # Without it the call would wait max_interval (60 s) before the next attempt.
    assert isinstance(res.error, AutumnDefaultError) and res.error.status_code == 503
    assert res.error.attempts == 1 and fake_time.sleeps == []
    assert res.error.applied is Applied.NO


async def test_total_timeout_bounds_the_waits_of_a_call(
    make_core: MakeCore, scripted: ScriptedServer, retries: Retries, fake_time: FakeTime
) -> None:
    busy = autumn_error(503, "service_unavailable", headers={"Retry-After": "2"})
    scripted.then(busy, busy, busy, busy, busy)
    core = make_core(retry_config=retries(max_retries=10))
    res = await balances_create(core, CREATE_EXAMPLE, {"total_timeout_ms": 5_000})

    assert not res.ok and res.error.attempts == 3
    assert fake_time.sleeps == [2.0, 2.0]


async def test_total_timeout_per_call_overrides_the_core(
    make_core: MakeCore, scripted: ScriptedServer, release: asyncio.Event
) -> None:
    scripted.then(hold(release))
    core = make_core(total_timeout_ms=60_000, retry_config=RetryConfig())
    assert core.total_timeout_ms == 60_000 and core.config.total_timeout_ms == 60_000
    res = await balances_create(core, CREATE_EXAMPLE, {"total_timeout_ms": 100})
    assert isinstance(res.error, RequestTimeoutError)
    assert "total_timeout_ms of 100 ms" in str(res.error)


@pytest.mark.parametrize("value", [0, -1, "1000", float("nan"), True])
async def test_a_bad_total_timeout_is_refused_by_name(
    make_core: MakeCore, core: AutumnCore, value: Any
) -> None:
    with pytest.raises(SDKValidationError) as raised:
        make_core(total_timeout_ms=value)
    assert raised.value.field == "total_timeout_ms"
    res = await balances_create(core, CREATE_EXAMPLE, {"total_timeout_ms": value})
    assert isinstance(res.error, SDKValidationError)
    assert res.error.field == "options.total_timeout_ms"


@pytest.mark.parametrize(
    ("first", "applied"),
    [(autumn_error(503, "unavailable"), Applied.NO), (drop_connection(), Applied.UNKNOWN)],
    ids=["refused", "lost"],
)
async def test_a_total_timeout_run_out_during_a_wait_ends_the_call_before_the_next_attempt(
    make_core: MakeCore,
    scripted: ScriptedServer,
    fake_time: FakeTime,
    first: Reply,
    applied: Applied,
) -> None:
    # The wait fit in what was left, but took longer than asked (a busy loop): when it
    # ends, nothing is left for another attempt, and none is sent.
    async def oversleep(seconds: float) -> None:
        fake_time.now += seconds + 5.0
        await asyncio.sleep(0)

    scripted.then(first)
    retry = RetryConfig(sleep=oversleep, clock=fake_time.clock, random=lambda: 0.5)
    core = make_core(total_timeout_ms=2_000, retry_config=retry)
    res = await balances_create(core, CREATE_EXAMPLE, {"idempotency_key": "grant-50"})
    assert isinstance(res.error, RequestTimeoutError), res
    assert res.error.message == "the call's total_timeout_ms of 2000 ms ran out before attempt 2"
    assert (res.error.attempts, res.error.idempotency_key) == (1, "grant-50")
    assert res.error.applied is applied
    assert len(scripted.requests) == 1


async def test_aborted_while_waiting_to_retry_a_refused_write_applied_nothing(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    signal = asyncio.Event()

    async def sleep(_seconds: float) -> None:
        signal.set()  # the caller gives up while the call waits to retry
        await asyncio.sleep(3600)

    scripted.then(autumn_error(503, "unavailable"))
    core = make_core(retry_config=RetryConfig(sleep=sleep))
    res = await balances_create(core, CREATE_EXAMPLE, {"abort_signal": signal})
    assert isinstance(res.error, RequestAbortedError)
    assert res.error.applied is Applied.NO  # no attempt was in flight, none in doubt


@pytest.mark.parametrize(
    "reply",
    [autumn_error(409, "lock_conflict"), autumn_error(400, "duplicate_idempotency_key")],
    ids=["409-other-code", "code-without-409"],
)
async def test_only_a_409_with_the_duplicate_key_code_is_a_duplicate(
    core: AutumnCore, scripted: ScriptedServer, reply: Reply
) -> None:
    # Anything else is the server's refusal of this call: nothing applied, not "already".
    scripted.then(reply)
    res = await balances_create(core, CREATE_EXAMPLE)
    assert isinstance(res.error, AutumnDefaultError)
    assert res.error.applied is Applied.NO


async def test_the_timeout_ms_option_bounds_the_calls_attempts(
    make_core: MakeCore, scripted: ScriptedServer, release: asyncio.Event, retries: Retries
) -> None:
    scripted.then(hold(release))
    core = make_core(timeout_ms=60_000, retry_config=retries(strategy="none"))
    res = await balances_create(core, CREATE_EXAMPLE, {"timeout_ms": 50})
    assert isinstance(res.error, RequestTimeoutError)
    assert "no answer within 50 ms" in res.error.message
