"""Fixtures for the blocking client: servers in a background thread, clients closed after
each test, and a check that no test leaves a thread, a session or a loop behind."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from autumn_core import RetryConfig
from autumn_funcs import AutumnSync
from autumn_local import LocalAutumn
from tests.blocking.server_thread import PortRecorder, ServerThread
from tests.scripted_server import ScriptedServer, hold


@pytest.fixture(autouse=True)
def nothing_left_behind(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fails a test that leaves a thread running, or lets an unclosed session, event loop
    or transport be collected (a ResourceWarning, or asyncio's "Unclosed" error log)."""
    caplog.set_level(logging.ERROR, logger="asyncio")
    before = set(threading.enumerate())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
        gc.collect()
    left = [thread.name for thread in set(threading.enumerate()) - before]
    assert left == [], f"threads left running: {left}"
    resource_warnings = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert resource_warnings == []
    unclosed = [r.getMessage() for r in caplog.records if "Unclosed" in r.getMessage()]
    assert unclosed == []


@pytest.fixture
def servers() -> Iterator[ServerThread]:
    with ServerThread() as servers:
        yield servers


@pytest.fixture
def local_server(servers: ServerThread) -> Iterator[LocalAutumn]:
    """A LocalAutumn (fresh in-memory database, seeded `cus_123` and `api_calls`).

    Rate limits off: 32 threads creating balances at once would meet the real
    server's 25 creates a second, which is not what these tests are about."""
    server = servers.run(LocalAutumn(rate_limits=False).start())
    yield server
    servers.run(server.stop())


@pytest.fixture
def port_recorder(servers: ServerThread) -> Iterator[PortRecorder]:
    recorder = servers.run(PortRecorder().start())
    yield recorder
    servers.run(recorder.stop())


@pytest.fixture
def make_client(local_server: LocalAutumn) -> Iterator[Callable[..., AutumnSync]]:
    """`make_client(**kwargs)`: an AutumnSync for the local server (no retries unless
    asked), closed after the test."""
    clients: list[AutumnSync] = []

    def make(**kwargs: Any) -> AutumnSync:
        kwargs.setdefault("server_url", local_server.url)
        kwargs.setdefault("retry_config", RetryConfig(strategy="none"))
        client = AutumnSync(kwargs.pop("secret_key", local_server.secret_key), **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., AutumnSync]) -> AutumnSync:
    return make_client()


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
