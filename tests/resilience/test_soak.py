"""Soaks of the blocking client and the local server under what breaks them.

- Forks while eight threads keep an `AutumnSync` busy: every child's first
  call raises the documented InvalidRequestError and the child exits at once
  (none hangs on a lock a parent thread held at the fork), and the parent's
  calls all go through.
- 1,100 slow request bodies at the default connection cap of a `serve`
  process: a well-behaved client keeps being served.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import Counter

import pytest

from autumn_funcs import AutumnSync
from autumn_local import LocalAutumn
from tests.blocking.server_thread import ServerThread
from tests.blocking.test_close_fork_exit import exit_status, forked_child
from tests.local.processes import serve
from tests.local.test_connection_limits import HEAD, good_client_answers, open_files

pytestmark = pytest.mark.resilience

FORKS = 30
THREADS = 8


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
# Python 3.12+ warns on any fork of a process with threads: forking one is the test.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_forks_during_busy_calls_leave_children_that_refuse_and_exit() -> None:
    with ServerThread() as servers:
        server = servers.run(LocalAutumn(rate_limits=False).start())
        client = AutumnSync(server.secret_key, server_url=server.url)
        stop = threading.Event()
        outcomes: Counter[str] = Counter()

        def busy() -> None:
            while not stop.is_set():
                try:
                    client.customers.get(customer_id="cus_123")
                    outcomes["ok"] += 1
                except Exception as exc:
                    outcomes[type(exc).__name__] += 1

        threads = [threading.Thread(target=busy) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        try:
            statuses = []
            for _ in range(FORKS):
                time.sleep(0.01)  # calls in flight at every fork
                pid = os.fork()
                if pid == 0:
                    forked_child(client)
                statuses.append(exit_status(pid, 10))
        finally:
            stop.set()
            for thread in threads:
                thread.join(10)
            client.close()
            servers.run(server.stop())
    print(f"\nfork soak: {FORKS} forks; children {Counter(statuses)}; parent calls {outcomes}")
    assert statuses == [0] * FORKS
    assert set(outcomes) == {"ok"} and outcomes["ok"] > FORKS


SLOW_BODIES = 1_100
# A request head that promises 1,000 bytes of body, and one byte of it.
SLOW_BODY = HEAD + b"Content-Length: 1000\r\n\r\n{"


async def test_a_slow_body_flood_at_the_default_cap_leaves_a_good_client_served() -> None:
    with open_files(4096):
        async with serve("--port", "0", "--body-timeout", "60") as server:
            port = int(server.url.rsplit(":", 1)[1])
            writers = []
            try:
                for _ in range(SLOW_BODIES // 100):  # in bursts, as a flood arrives
                    opened = await asyncio.gather(
                        *(asyncio.open_connection("127.0.0.1", port) for _ in range(100))
                    )
                    for _, writer in opened:
                        writer.write(SLOW_BODY)
                        writers.append(writer)
                await asyncio.sleep(0.5)
                answers = await good_client_answers(server.url, 20)
            finally:
                for writer in writers:
                    writer.transport.abort()
    print(f"\nslow-body flood: {SLOW_BODIES} slow bodies; good client {Counter(answers)}")
    assert answers == [200] * 20
