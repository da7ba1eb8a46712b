"""Session lifecycle and cancellation: one pooled session, closed exactly when the core owns it."""

from __future__ import annotations

import asyncio
import gc
import logging
import warnings
from collections.abc import Callable

import aiohttp
import pytest

from autumn_core import (
    APIConnectionError,
    AutumnCore,
    InvalidRequestError,
    RequestTimeoutError,
    RetryConfig,
)
from autumn_funcs import balances_create, balances_update
from tests.scripted_server import ScriptedServer, autumn_error, hold
from tests.sdk.conftest import CREATE_EXAMPLE, SECRET, UPDATE_EXAMPLE, PeerRecorder


class LeakWatch:
    """Collects what aiohttp reports for a session garbage-collected while open: a
    ResourceWarning and an "Unclosed client session" error on the asyncio logger.

    Used as `with leaks:` around the test body, so warnings raised from `__del__` are
    recorded rather than turned into errors nobody sees."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self.caplog = caplog
        self._catcher = warnings.catch_warnings(record=True)
        self._caught: list[warnings.WarningMessage] = []

    def __enter__(self) -> LeakWatch:
        self._caught = self._catcher.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._catcher.__exit__(*exc_info)

    def collect(self) -> list[str]:
        gc.collect()
        found = [str(w.message) for w in self._caught if issubclass(w.category, ResourceWarning)]
        found += [r.getMessage() for r in self.caplog.records if "Unclosed" in r.getMessage()]
        return found


@pytest.fixture
def leaks(caplog: pytest.LogCaptureFixture) -> LeakWatch:
    caplog.set_level(logging.ERROR, logger="asyncio")
    gc.collect()
    caplog.clear()
    return LeakWatch(caplog)


async def test_leak_watch_sees_an_unclosed_session(leaks: LeakWatch) -> None:
    # The control for the tests below: a session left open is reported.
    with leaks:
        session = aiohttp.ClientSession()
        del session
        assert any("Unclosed client session" in text for text in leaks.collect())


async def test_async_with_closes_its_own_session(
    scripted: ScriptedServer, leaks: LeakWatch
) -> None:
    with leaks:
        async with AutumnCore(SECRET, server_url=scripted.url) as core:
            assert (await balances_create(core, CREATE_EXAMPLE)).ok
        del core
        assert leaks.collect() == []


async def test_aclose_closes_and_may_be_called_twice(
    scripted: ScriptedServer, leaks: LeakWatch
) -> None:
    with leaks:
        core = AutumnCore(SECRET, server_url=scripted.url)
        assert (await balances_update(core, UPDATE_EXAMPLE)).ok
        await core.aclose()
        await core.aclose()
        del core
        assert leaks.collect() == []


async def test_a_closed_core_refuses_calls_instead_of_leaking_a_session(
    scripted: ScriptedServer, leaks: LeakWatch
) -> None:
    with leaks:
        async with AutumnCore(SECRET, server_url=scripted.url) as core:
            assert (await balances_create(core, CREATE_EXAMPLE)).ok
        res = await balances_update(core, UPDATE_EXAMPLE, {"idempotency_key": "adjust-7"})
        assert isinstance(res.error, InvalidRequestError)  # type: ignore[union-attr]
        assert "closed" in str(res.error)  # type: ignore[union-attr]
        # Nothing was sent under the key: the refusal names it, to resend under it.
        assert res.error.idempotency_key == "adjust-7"  # type: ignore[union-attr]
        del core, res
        assert leaks.collect() == []
    assert len(scripted.requests) == 1


async def test_a_core_never_used_opens_no_session(leaks: LeakWatch) -> None:
    # Lazy: building a core (even outside `async with`) creates no session to leak.
    with leaks:
        core = AutumnCore(SECRET, server_url="http://127.0.0.1:9")
        del core
        assert leaks.collect() == []


async def test_error_paths_leave_nothing_open(
    scripted: ScriptedServer, leaks: LeakWatch, refused_url: str, release: asyncio.Event
) -> None:
    scripted.then(hold(release))  # does not answer in time
    once = {"retries": RetryConfig(strategy="none")}
    with leaks:
        with pytest.raises(RuntimeError, match="caller bug"):
            async with AutumnCore(SECRET, server_url=scripted.url, timeout_ms=50) as core:
                res = await balances_create(core, CREATE_EXAMPLE, once)
                assert isinstance(res.error, RequestTimeoutError)  # type: ignore[union-attr]
                raise RuntimeError("caller bug")
        async with AutumnCore(SECRET, server_url=refused_url) as core:
            res = await balances_create(core, CREATE_EXAMPLE, once)
            assert isinstance(res.error, APIConnectionError)  # type: ignore[union-attr]
        del core, res
        assert leaks.collect() == []


async def test_caller_session_is_used_and_left_open(
    scripted: ScriptedServer, leaks: LeakWatch
) -> None:
    with leaks:
        async with aiohttp.ClientSession(headers={"X-From-Session": "mine"}) as session:
            async with AutumnCore(SECRET, server_url=scripted.url, session=session) as core:
                assert (await balances_create(core, CREATE_EXAMPLE)).ok
            await core.aclose()
            assert not session.closed
            # Still usable by its owner.
            async with session.post(scripted.url + "/after") as response:
                assert response.status == 200
        del core, session
        assert leaks.collect() == []
    assert scripted.requests[0].headers.get("X-From-Session") == "mine"
    assert [r.path for r in scripted.requests] == ["/v1/balances.create", "/after"]


async def test_sequential_calls_reuse_one_connection(peer_recorder: PeerRecorder) -> None:
    async with AutumnCore(SECRET, server_url=peer_recorder.url) as core:
        for _ in range(3):
            assert (await balances_create(core, CREATE_EXAMPLE)).ok
            assert (await balances_update(core, UPDATE_EXAMPLE)).ok
    assert len(peer_recorder.peer_ports) == 6
    assert len(set(peer_recorder.peer_ports)) == 1


async def test_separate_cores_use_separate_connections(peer_recorder: PeerRecorder) -> None:
    # The control for the test above: the recorder does tell connections apart.
    for _ in range(2):
        async with AutumnCore(SECRET, server_url=peer_recorder.url) as core:
            assert (await balances_create(core, CREATE_EXAMPLE)).ok
    assert len(set(peer_recorder.peer_ports)) == 2


async def test_a_core_left_open_is_reported_as_a_leak(
    scripted: ScriptedServer, leaks: LeakWatch
) -> None:
    # The control for the lifecycle tests: the leak watch sees a core's own session
    # that nothing closed.
    with leaks:
        core = AutumnCore(SECRET, server_url=scripted.url)
        assert (await balances_create(core, CREATE_EXAMPLE)).ok
        del core
        assert any("Unclosed client session" in text for text in leaks.collect())


async def test_concurrent_first_calls_share_one_session(
    scripted: ScriptedServer, leaks: LeakWatch
) -> None:
    # A second session made by a racing first call would be dropped unclosed,
    # which the leak watch reports.
    with leaks:
        async with AutumnCore(SECRET, server_url=scripted.url) as core:
            results = await asyncio.gather(
                *(balances_create(core, CREATE_EXAMPLE) for _ in range(8))
            )
            assert all(res.ok for res in results)
        del core, results
        assert leaks.collect() == []
    assert len(scripted.requests) == 8


async def test_cancelling_a_call_raises_cancelled_error_and_keeps_the_core(
    make_core: Callable[..., AutumnCore], scripted: ScriptedServer, release: asyncio.Event
) -> None:
    arrived = asyncio.Event()
    scripted.then(hold(release, arrived))
    core = make_core()

    task = asyncio.create_task(balances_create(core, CREATE_EXAMPLE))
    await arrived.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()

    res = await balances_update(core, UPDATE_EXAMPLE)
    assert res.ok
    assert len(scripted.requests) == 2


async def test_cancelling_during_a_retry_wait(
    make_core: Callable[..., AutumnCore], scripted: ScriptedServer
) -> None:
    waiting = asyncio.Event()

    async def long_sleep(_seconds: float) -> None:
        waiting.set()
        await asyncio.Event().wait()

    scripted.then(autumn_error(503, "unavailable"))
    core = make_core(retry_config=RetryConfig(sleep=long_sleep))
    task = asyncio.create_task(balances_create(core, CREATE_EXAMPLE))
    await waiting.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await balances_create(core, CREATE_EXAMPLE)).ok


async def test_timeout_of_the_callers_wait_for_cancels_cleanly(
    make_core: Callable[..., AutumnCore], scripted: ScriptedServer, release: asyncio.Event
) -> None:
    scripted.then(hold(release))
    core = make_core()
    # asyncio.TimeoutError: the builtin TimeoutError only from Python 3.11 on.
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(balances_create(core, CREATE_EXAMPLE), timeout=0.05)
    assert (await balances_create(core, CREATE_EXAMPLE)).ok
