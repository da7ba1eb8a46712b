"""The blocking client's edges: forked mid-call, left at exit mid-call (closed
mid-call: test_close_mid_call.py).

- A fork while another thread is inside a call: the child's first call raises
  the documented InvalidRequestError at once, and the child exits at once.
- A non-daemon thread blocked in a call against a server that never answers
  does not keep the process alive: at interpreter exit the call gets a short
  grace, then is cancelled.
"""

from __future__ import annotations

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

from autumn_core import InvalidRequestError
from autumn_funcs import AutumnSync
from tests.scripted_server import ScriptedServer

ROOT = Path(__file__).resolve().parents[2]
KEY = "am_sk_test_close_fork_exit"


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
