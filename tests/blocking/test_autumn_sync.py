"""`AutumnSync` against the local Autumn server: results, typed errors, timeouts,
cancellation, refusal inside an event loop, and its lifecycle."""

from __future__ import annotations

import asyncio
import gc
import inspect
import os
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import pytest

from autumn_core import (
    Applied,
    AutumnCore,
    AutumnDefaultError,
    Err,
    InvalidRequestError,
    Ok,
    RequestAbortedError,
    RequestTimeoutError,
    RetryConfig,
    SDKValidationError,
)
from autumn_funcs import (
    AutumnSync,
    CreateBalanceParams,
    CreateBalanceResponse,
    Reset,
    ResetInterval,
    UpdateBalanceResponse,
    balances_create,
    balances_update,
)
from autumn_local import LocalAutumn
from tests.blocking.server_thread import PortRecorder, balance

CREATE = {
    "customer_id": "cus_123",
    "feature_id": "api_calls",
    "included_grant": 1000,
    "reset": {"interval": "month"},
}


def loop_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "AutumnSync-loop"]


def test_seed_examples_return_responses(client: AutumnSync, local_server: LocalAutumn) -> None:
    created = client.balances.create(
        customer_id="cus_123",
        feature_id="api_calls",
        included_grant=1000,
        reset={"interval": "month"},
    )
    assert created == CreateBalanceResponse(success=True)
    assert (balance(local_server, "cus_123")["remaining"]) == 1000

    updated = client.balances.update(
        {"customer_id": "cus_123", "feature_id": "api_calls", "remaining": 5}
    )
    assert updated == UpdateBalanceResponse(success=True)
    assert balance(local_server, "cus_123")["remaining"] == 5


def test_models_and_options_pass_through(client: AutumnSync, local_server: LocalAutumn) -> None:
    params = CreateBalanceParams(
        customer_id="cus_123",
        feature_id="api_calls",
        included_grant=7,
        reset=Reset(interval=ResetInterval.MONTH),
    )
    assert client.balances.create(params, options={"idempotency_key": "grant-7"}).success
    with pytest.raises(AutumnDefaultError) as again:
        client.balances.create(params, options={"idempotency_key": "grant-7"})
    assert again.value.code == "duplicate_idempotency_key"
    assert balance(local_server, "cus_123")["granted"] == 7  # applied once


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({**CREATE, "feature_id": "no_such_feature"}, 404, "feature_not_found"),
        ({**CREATE, "customer_id": "cus_nobody"}, 404, "customer_not_found"),
        ({**CREATE, "unlimited": True}, 500, "invalid_inputs"),  # as Autumn answers it
    ],
)
def test_server_errors_raise_the_async_facades_errors(
    client: AutumnSync, params: dict[str, Any], status: int, code: str
) -> None:
    with pytest.raises(AutumnDefaultError) as caught:
        client.balances.create(params)
    assert (caught.value.status_code, caught.value.code) == (status, code)
    assert caught.value.attempts == 1


def test_wrong_key_raises(make_client: Callable[..., AutumnSync]) -> None:
    client = make_client(secret_key="am_sk_test_not_a_known_key")
    with pytest.raises(AutumnDefaultError) as caught:
        client.balances.update(customer_id="cus_123", feature_id="api_calls", remaining=1)
    assert caught.value.status_code == 401
    assert "am_sk_test_not_a_known_key" not in str(caught.value) + repr(caught.value)


def test_bad_input_names_the_field_before_any_thread_or_io(client: AutumnSync) -> None:
    with pytest.raises(SDKValidationError) as caught:
        client.balances.create(customer_id="cus_123", feature_id="api_calls", included_grant="lots")
    assert caught.value.field == "included_grant"
    with pytest.raises(SDKValidationError) as caught:
        client.balances.update({"customer_id": "cus_123"}, feature_id="api_calls")
    assert caught.value.field == "params"


def test_standalone_functions_return_results(client: AutumnSync, local_server: LocalAutumn) -> None:
    created = client.call(balances_create, CREATE)
    assert created == Ok(CreateBalanceResponse(success=True))
    res = client.call(
        balances_update,
        {"customer_id": "cus_123", "feature_id": "api_calls", "add_to_balance": 10},
        {"idempotency_key": "top-up-1"},
    )
    assert res.ok
    assert balance(local_server, "cus_123")["remaining"] == 1010

    failed = client.call(
        balances_update, {"customer_id": "cus_123", "feature_id": "nope", "remaining": 1}
    )
    assert isinstance(failed, Err)
    assert isinstance(failed.error, AutumnDefaultError)
    assert failed.error.code == "feature_not_found"


def test_per_call_timeout_ends_in_request_timeout_error(
    client: AutumnSync, local_server: LocalAutumn
) -> None:
    local_server.set_faults("delay=1,delay-ms=400")
    with pytest.raises(RequestTimeoutError) as caught:
        client.balances.create(CREATE, options={"timeout_ms": 50})
    assert caught.value.attempts == 1

    local_server.set_faults(None)  # the client is still usable
    assert client.balances.create({**CREATE, "feature_id": "seats", "included_grant": 3}).success


def test_one_connection_serves_calls_from_every_thread(port_recorder: PortRecorder) -> None:
    with AutumnSync("am_sk_test_x", server_url=port_recorder.url) as client:
        for _ in range(4):  # one after the other, each from a new thread
            caller = threading.Thread(target=client.balances.create, args=(CREATE,))
            caller.start()
            caller.join()
        client.balances.create(CREATE)
        assert len(loop_threads()) == 1
    assert len(port_recorder.peer_ports) == 5
    assert len(set(port_recorder.peer_ports)) == 1  # one pooled keep-alive connection


async def test_refuses_inside_a_running_event_loop(client: AutumnSync) -> None:
    with pytest.raises(RuntimeError, match=r"await autumn\.balances\.create") as caught:
        client.balances.create(CREATE)
    assert "running an event loop" in str(caught.value)
    with pytest.raises(RuntimeError, match="event loop"):
        client.call(balances_create, CREATE)
    assert loop_threads() == []  # refused before starting anything


def test_refuses_a_call_from_its_own_loop(client: AutumnSync) -> None:
    # A hook or coroutine that calls back into the client would wait for itself forever.
    async def call_back_in(core: AutumnCore) -> None:
        client.balances.create(CREATE)

    with pytest.raises(RuntimeError, match="event loop"):
        client.call(call_back_in)


def test_session_is_refused_with_the_reason() -> None:
    async def make_session() -> aiohttp.ClientSession:
        return aiohttp.ClientSession()

    session = asyncio.run(make_session())
    try:
        with pytest.raises(SDKValidationError) as caught:
            AutumnSync("am_sk_test_x", session=session)  # type: ignore[arg-type]
        assert caught.value.field == "session"
        assert caught.value.message == (
            "session: AutumnSync cannot use a session of yours: its calls run on an event "
            "loop of its own, in its own thread, and an aiohttp session only works on the "
            "loop it was created in. Leave it out (the client makes and closes its own), "
            "or use Autumn / AutumnCore from async code to bring your session"
        )
    finally:
        asyncio.run(session.close())


def test_constructor_is_autumn_cores() -> None:
    # Every AutumnCore parameter, with the same kind and default (a new one must be added here).
    core = inspect.signature(AutumnCore).parameters
    sync = inspect.signature(AutumnSync).parameters
    assert [(p.name, p.kind, p.default) for p in sync.values()] == [
        (p.name, p.kind, p.default) for p in core.values()
    ]


def test_constructor_validates_like_the_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTUMN_SECRET_KEY", raising=False)
    with pytest.raises(SDKValidationError) as caught:
        AutumnSync()
    assert caught.value.field == "secret_key"
    with pytest.raises(SDKValidationError) as caught:
        AutumnSync("am_sk_test_x", server_url="ftp://example.com")
    assert caught.value.field == "server_url"
    with pytest.raises(SDKValidationError) as caught:
        AutumnSync("am_sk_test_x", timeout_ms=-1)
    assert caught.value.field == "timeout_ms"


def test_repr_hides_the_key() -> None:
    with AutumnSync("am_sk_test_very_secret", server_url="http://127.0.0.1:9") as client:
        text = repr(client)
    assert text.startswith("AutumnSync(server_url='http://127.0.0.1:9'")
    assert "very_secret" not in text


def test_async_key_and_hooks_run_on_the_clients_loop(
    make_client: Callable[..., AutumnSync], local_server: LocalAutumn
) -> None:
    from autumn_core import Hooks

    seen: list[str] = []

    async def key() -> str:
        seen.append(threading.current_thread().name)
        return local_server.secret_key

    def after_success(*_: object) -> None:
        seen.append(threading.current_thread().name)

    client = make_client(secret_key=key, hooks=Hooks(after_success=[after_success]))
    assert client.balances.create(CREATE).success
    assert seen == ["AutumnSync-loop", "AutumnSync-loop"]


def test_close_stops_the_thread_and_is_idempotent(client: AutumnSync) -> None:
    assert loop_threads() == []  # the thread starts with the first call
    client.balances.create(CREATE)
    (thread,) = loop_threads()
    assert not client.closed

    client.close()
    assert client.closed
    assert not thread.is_alive()
    client.close()  # again: nothing to do, no error
    with client:
        pass  # leaving `with` closes again, still no error

    with pytest.raises(InvalidRequestError, match="closed"):
        client.balances.update(customer_id="cus_123", feature_id="api_calls", remaining=1)
    with pytest.raises(InvalidRequestError, match="closed"):
        client.call(balances_create, CREATE)
    assert loop_threads() == []


def test_with_block_closes(local_server: LocalAutumn) -> None:
    with AutumnSync(local_server.secret_key, server_url=local_server.url) as client:
        client.balances.create(CREATE)
        (thread,) = loop_threads()
    assert not thread.is_alive()
    assert client.closed


def test_a_client_never_used_closes_without_a_thread(local_server: LocalAutumn) -> None:
    client = AutumnSync(local_server.secret_key, server_url=local_server.url)
    client.close()
    assert loop_threads() == []


def test_close_cancels_a_call_in_flight(client: AutumnSync) -> None:
    started, cancelled = threading.Event(), threading.Event()
    outcome: list[BaseException] = []

    async def wait_forever(core: AutumnCore) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    def caller() -> None:
        try:
            client.call(wait_forever)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=caller)
    thread.start()
    assert started.wait(10)
    client.close()
    thread.join(10)
    assert cancelled.is_set()
    assert len(outcome) == 1 and isinstance(outcome[0], RequestAbortedError)
    assert "closed while the call was in flight" in str(outcome[0])
    # It sent nothing: applied "no" (tests/blocking/test_close_fork_exit.py has the
    # reads and writes that did send).
    assert outcome[0].applied is Applied.NO


def test_a_client_nobody_closes_is_closed_when_collected(local_server: LocalAutumn) -> None:
    client = AutumnSync(local_server.secret_key, server_url=local_server.url)
    namespace = client.balances
    del client
    # The namespace keeps its client alive: the call must not find it closed.
    assert namespace.create(CREATE).success
    (thread,) = loop_threads()
    del namespace
    gc.collect()
    assert not thread.is_alive()  # and the session is closed: the autouse check would see it


@pytest.fixture
def python_sigint_handler() -> Iterator[None]:
    """Python's own SIGINT handler (KeyboardInterrupt) for the test, whatever the runner
    set (a mutation runner's workers ignore SIGINT)."""
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers are set in the main thread only")
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("python_sigint_handler")
def test_ctrl_c_while_waiting_cancels_the_call(client: AutumnSync) -> None:
    started, cancelled = threading.Event(), threading.Event()

    async def wait_forever(core: AutumnCore) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    def press_ctrl_c() -> None:
        if started.wait(10):  # only once the main thread is waiting for the call
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

    presser = threading.Thread(target=press_ctrl_c)
    presser.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            client.call(wait_forever)
    finally:
        presser.join()
    assert cancelled.wait(10)  # the coroutine on the loop was cancelled, not left running
    assert client.balances.create(CREATE).success  # and the client still works


def test_retries_run_on_the_clients_loop(
    make_client: Callable[..., AutumnSync], local_server: LocalAutumn
) -> None:
    local_server.faults.inject_next("503")
    client = make_client(retry_config=RetryConfig(max_retries=1, sleep=_no_wait))
    assert client.balances.create(CREATE).success
    assert balance(local_server, "cus_123")["granted"] == 1000


async def _no_wait(_seconds: float) -> None:
    return None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_client_used_before_fork_refuses_in_the_child(client: AutumnSync) -> None:
    client.balances.create(CREATE)  # the loop thread runs, in this process only
    pid = os.fork()
    if pid == 0:  # the child: report through the exit status, never return into pytest
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        signal.alarm(10)  # a child waiting for a thread that is not there dies, not hangs
        status = 1
        try:
            client.balances.update(customer_id="cus_123", feature_id="api_calls", remaining=1)
        except InvalidRequestError as exc:
            status = 0 if "os.fork()" in str(exc) else 2
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert client.balances.update(customer_id="cus_123", feature_id="api_calls", remaining=1)


def test_call_passes_keyword_arguments_to_the_function(client: AutumnSync) -> None:
    res = client.call(balances_create, CREATE, options={"timeout_ms": -1})
    assert isinstance(res, Err) and isinstance(res.error, SDKValidationError)
    assert res.error.field == "options.timeout_ms"
