"""The blocking client's loop thread: started by the first call, a daemon (it never holds
up the exit of a program), stopped cleanly by `close()` (no exception left in the
thread), within the time `close(timeout)` gives it; a call with wrong arguments
raises the TypeError the async call would."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
import weakref
from collections.abc import Iterator

import pytest

from autumn_core import AutumnCore
from autumn_core._loop_thread import LoopThread
from autumn_funcs import AutumnSync
from autumn_funcs import _autumn_sync as autumn_sync


async def echo(_core: AutumnCore, value: int) -> int:
    return value


@pytest.fixture
def thread_errors(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[BaseException]]:
    """Exceptions that ended a thread during the test (instead of printing them)."""
    errors: list[BaseException] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: errors.append(args.exc_value))
    yield errors


def test_the_loop_thread_is_a_daemon_and_ends_cleanly_at_close(
    thread_errors: list[BaseException],
) -> None:
    autumn = AutumnSync("am_sk_test_loop", server_url="http://127.0.0.1:9")
    assert autumn.closed is False
    assert autumn.call(echo, 7) == 7
    (loop_thread,) = [t for t in threading.enumerate() if t.name == "AutumnSync-loop"]
    assert loop_thread.daemon
    autumn.close()
    assert autumn.closed is True
    assert not loop_thread.is_alive()
    assert thread_errors == []


def test_a_call_with_wrong_arguments_raises_type_error() -> None:
    with (
        AutumnSync("am_sk_test_loop", server_url="http://127.0.0.1:9") as autumn,
        pytest.raises(TypeError, match="missing 1 required positional argument"),
    ):
        autumn.call(echo)  # type: ignore[call-arg]


def test_close_waits_for_the_thread_no_longer_than_its_timeout() -> None:
    finished = threading.Event()

    async def slow_cleanup() -> None:
        await asyncio.sleep(0.5)
        finished.set()

    async def nothing() -> None:
        return None

    runner = LoopThread("Slow", slow_cleanup)
    runner.run(nothing)
    (loop_thread,) = [t for t in threading.enumerate() if t.name == "Slow-loop"]
    runner.close(0.05)
    assert loop_thread.is_alive() and not finished.is_set()  # left to finish on its own
    loop_thread.join(5)
    assert finished.is_set()


def test_the_clients_repr_is_the_async_clients_under_its_own_name() -> None:
    with AutumnSync("am_sk_test_loop", server_url="http://127.0.0.1:9/v(1)") as autumn:
        assert repr(autumn) == (
            "AutumnSync(server_url='http://127.0.0.1:9/v(1)', x_api_version='2.1', "
            "secret_key=<hidden>)"
        )


class Answer:
    """A result that can be watched for collection."""


async def answer(_core: AutumnCore) -> Answer:
    return Answer()


def test_a_calls_result_is_not_kept_by_the_client() -> None:
    with AutumnSync("am_sk_test_loop", server_url="http://127.0.0.1:9") as autumn:
        result = weakref.ref(autumn.call(answer))
        gc.collect()
        assert result() is None


def test_a_client_nobody_closed_is_closed_when_collected_within_a_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The bound is 5 s; shortened here so that a loop busy for half a second outlasts it.
    monkeypatch.setattr(autumn_sync, "UNATTENDED_CLOSE_S", 0.05)

    async def keep_the_loop_busy(_core: AutumnCore) -> None:
        # Once this call has returned to its caller: a hook that blocks the loop, say.
        loop = asyncio.get_running_loop()
        loop.call_soon(loop.call_soon, time.sleep, 0.5)

    autumn = AutumnSync("am_sk_test_loop", server_url="http://127.0.0.1:9")
    autumn.call(keep_the_loop_busy)
    (loop_thread,) = [t for t in threading.enumerate() if t.name == "AutumnSync-loop"]
    del autumn
    gc.collect()  # closes it: waits for the busy thread no longer than the bound
    assert loop_thread.is_alive()
    loop_thread.join(5)
    assert not loop_thread.is_alive()
