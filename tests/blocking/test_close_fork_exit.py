"""The blocking client's edges: closed mid-call, forked mid-call, left at exit mid-call.

- `close()` while a call waits: a read reports `applied` "no" (it changes
  nothing), a write that was sent "unknown".
- A fork while another thread is inside a call: the child's first call raises
  the documented InvalidRequestError at once, and the child exits at once.
- A non-daemon thread blocked in a call against a server that never answers
  does not keep the process alive: at interpreter exit the call gets a short
  grace, then is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from autumn_core import Applied, InvalidRequestError, RequestAbortedError
from autumn_funcs import AutumnSync
from tests.blocking.server_thread import ServerThread
from tests.scripted_server import ScriptedServer, hold

ROOT = Path(__file__).resolve().parents[2]
KEY = "am_sk_test_close_fork_exit"


@pytest.fixture
def stalled(servers: ServerThread) -> Iterator[tuple[ScriptedServer, threading.Event]]:
    """A server whose every answer waits until the test ends; the event tells a request
    arrived."""
    release = asyncio.Event()
    arrived = threading.Event()

    async def start() -> ScriptedServer:
        server = await ScriptedServer().start()
        waiting = asyncio.Event()

        async def tell() -> None:
            while True:
                await waiting.wait()
                arrived.set()
                waiting.clear()

        server.default = hold(release, waiting)
        server.teller = asyncio.ensure_future(tell())  # type: ignore[attr-defined]
        return server

    server = servers.run(start())
    yield server, arrived

    async def stop() -> None:
        release.set()
        server.teller.cancel()  # type: ignore[attr-defined]
        await server.stop()

    servers.run(stop())


def closed_mid_call(url: str, arrived: threading.Event, call: str) -> BaseException:
    client = AutumnSync(KEY, server_url=url, timeout_ms=60_000)
    outcome: list[BaseException] = []

    def caller() -> None:
        try:
            eval(call, {"autumn": client})
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=caller)
    thread.start()
    assert arrived.wait(10)
    client.close()
    thread.join(10)
    (error,) = outcome
    assert isinstance(error, RequestAbortedError)
    return error


def test_close_during_a_read_says_not_applied(
    stalled: tuple[ScriptedServer, threading.Event],
) -> None:
    server, arrived = stalled
    error = closed_mid_call(server.url, arrived, 'autumn.customers.get(customer_id="cus_1")')
    assert error.applied is Applied.NO
    assert "idempotency_key" not in str(error)


@pytest.mark.parametrize(
    ("steps", "partial"),
    [({"add_to_balance": 1}, False), ({"add_to_balance": 1, "usage": 2}, True)],
)
def test_close_during_a_write_says_maybe_applied(
    stalled: tuple[ScriptedServer, threading.Event], steps: dict[str, int], partial: bool
) -> None:
    """Partly, for an update of several steps: its advice is then not to resend."""
    server, arrived = stalled
    call = f'autumn.balances.update(customer_id="c", feature_id="f", **{steps!r})'
    error = closed_mid_call(server.url, arrived, call)
    assert error.applied is Applied.UNKNOWN and error.may_be_partial is partial


FORKS = 5


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
# Python 3.12+ warns on any fork of a process with threads: forking one is the test.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_fork_during_a_call_leaves_a_child_that_refuses_and_exits_at_once(
    stalled: tuple[ScriptedServer, threading.Event],
) -> None:
    server, arrived = stalled
    client = AutumnSync(KEY, server_url=server.url, timeout_ms=60_000)
    busy = threading.Thread(
        target=lambda: _ignore(lambda: client.customers.get(customer_id="cus_1")), daemon=True
    )
    busy.start()
    assert arrived.wait(10)
    try:
        statuses = []
        for _ in range(FORKS):
            # The child inherits the client mid-call, with its lock held by another
            # thread (one submitting a call), which the child does not have.
            with _held_by_another_thread(client._runner._lock):  # pyright: ignore[reportPrivateUsage]
                pid = os.fork()
                if pid == 0:
                    forked_child(client)
            statuses.append(exit_status(pid, 5))
        assert statuses == [0] * FORKS
    finally:
        client.close()
        busy.join(10)


@contextlib.contextmanager
def _held_by_another_thread(lock: threading.Lock) -> Iterator[None]:
    taken, done = threading.Event(), threading.Event()

    def holder() -> None:
        with lock:
            taken.set()
            done.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    assert taken.wait(10)
    try:
        yield
    finally:
        done.set()
        thread.join(10)


def _ignore(call: Callable[[], object]) -> None:
    with contextlib.suppress(Exception):
        call()


def forked_child(client: AutumnSync) -> None:
    """In the child: 0 if the first call refuses as documented; the finalizer at exit
    must not hang (a hung child is killed by the parent's deadline)."""
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.alarm(20)
    status = 1
    try:
        client.customers.get(customer_id="cus_1")
    except InvalidRequestError as exc:
        status = 0 if "os.fork()" in str(exc) else 2
    except BaseException:
        status = 3
    # Run the exit path a real process would (the client's finalizer included), but
    # never return into pytest.
    try:
        client.close()
    finally:
        os._exit(status)


def exit_status(pid: int, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return -1  # hung


EXIT_SCRIPT = """
import threading

from autumn_funcs import AutumnSync

autumn = AutumnSync("{key}", server_url="{url}", timeout_ms=600_000)
worker = threading.Thread(
    target=lambda: print(repr(autumn.balances.update(
        customer_id="c", feature_id="f", add_to_balance=1)), flush=True),
)
worker.start()
"""


def test_a_thread_blocked_in_a_call_does_not_keep_the_process_alive(
    stalled: tuple[ScriptedServer, threading.Event],
) -> None:
    server, arrived = stalled
    script = textwrap.dedent(EXIT_SCRIPT).format(key=KEY, url=server.url)
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
        pytest.fail(f"the process was kept alive by a thread blocked in a call: {err[-2000:]}")
    assert arrived.is_set()
    assert time.monotonic() - started < 30
    assert "RequestAbortedError" in err, err  # the worker's call ended, and said how
