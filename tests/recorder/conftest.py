from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from autumn_core import AutumnCore, BackoffStrategy, RetryConfig
from tests.recorder.batch_server import BatchServer

# Fast retries, so fault tests take milliseconds: the schedule is the core's policy.
FAST = RetryConfig(backoff=BackoffStrategy(initial_interval=1, max_interval=5))
QUICK = {"flush_interval": 0.02, "requests_per_second": None, "retry_initial_s": 0.01,
         "retry_max_s": 0.05}  # fmt: skip


@pytest.fixture
async def server() -> AsyncIterator[BatchServer]:
    batch_server = await BatchServer().start()
    try:
        yield batch_server
    finally:
        await batch_server.stop()


@pytest.fixture
async def core(server: BatchServer) -> AsyncIterator[AutumnCore]:
    async with AutumnCore("am_sk_test_recorder", server_url=server.url, retry_config=FAST) as c:
        yield c


@pytest.fixture
def quick() -> Callable[..., dict[str, Any]]:
    """The recorder's settings for tests: short waits, no pacing, plus what a test adds."""
    return lambda **more: {**QUICK, **more}


@pytest.fixture
def threaded_server() -> Iterator[BatchServer]:
    """A BatchServer on a loop of its own, in a thread, for blocking code to call."""
    loop = asyncio.new_event_loop()
    batch_server = BatchServer()
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(batch_server.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield batch_server
    finally:
        asyncio.run_coroutine_threadsafe(batch_server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
