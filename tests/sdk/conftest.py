"""Fixtures of the SDK's own tests: cores pointed at real servers on 127.0.0.1.

Retries run on a recording fake sleep and a fake clock, so a test of a retry
schedule reads the waits the SDK asked for instead of waiting them.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web
from multidict import CIMultiDict

from autumn_core import AutumnCore, AutumnDefaultError, RetryConfig

# Also provided by the pytest11 entry point once the package is installed;
# importing it here keeps the suite runnable from a plain checkout.
from autumn_local.pytest_plugin import local_autumn  # noqa: F401
from tests.fake_time import FakeTime
from tests.scripted_server import RecordedRequest, Reply, ScriptedServer

SECRET = "am_sk_test_sdk_suite_7f3a9c"

CREATE_EXAMPLE: dict[str, Any] = {
    "customer_id": "cus_123",
    "feature_id": "api_calls",
    "included_grant": 1000,
    "reset": {"interval": "month"},
}
UPDATE_EXAMPLE: dict[str, Any] = {
    "customer_id": "cus_123",
    "feature_id": "api_calls",
    "remaining": 5,
}


async def error_of(
    make_core: Callable[..., AutumnCore], scripted: ScriptedServer, reply: Reply
) -> AutumnDefaultError:
    """The error of a create answered by `reply`, with no retry."""
    from autumn_funcs import balances_create  # the suite's fixtures import no operation

    scripted.then(reply)
    res = await balances_create(make_core(retry_config=RetryConfig(max_retries=0)), CREATE_EXAMPLE)
    assert isinstance(res.error, AutumnDefaultError), res
    return res.error


def header(request: RecordedRequest, name: str) -> str | None:
    """A header of a recorded request, looked up case-insensitively."""
    return CIMultiDict(request.headers).get(name)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def retries(fake_time: FakeTime) -> Callable[..., RetryConfig]:
    """`retries(max_retries=3, ...)`: a RetryConfig on the fake clock and sleep."""

    def make(**fields: Any) -> RetryConfig:
        return RetryConfig(sleep=fake_time.sleep, clock=fake_time.clock, **fields)

    return make


@pytest.fixture
async def make_core(
    scripted: ScriptedServer, retries: Callable[..., RetryConfig]
) -> AsyncIterator[Callable[..., AutumnCore]]:
    """`make_core(**kwargs)`: an AutumnCore for the scripted server, closed after the test.

    By default it has the default retry policy, run on the fake sleep.
    """
    cores: list[AutumnCore] = []

    def make(**kwargs: Any) -> AutumnCore:
        kwargs.setdefault("server_url", scripted.url)
        kwargs.setdefault("retry_config", retries())
        core = AutumnCore(kwargs.pop("secret_key", SECRET), **kwargs)
        cores.append(core)
        return core

    yield make
    for core in cores:
        await core.aclose()


@pytest.fixture
async def core(make_core: Callable[..., AutumnCore]) -> AutumnCore:
    return make_core()


@pytest.fixture
async def release(scripted: ScriptedServer) -> AsyncIterator[asyncio.Event]:
    """An event for `hold(...)` replies, set before the scripted server stops."""
    event = asyncio.Event()
    yield event
    event.set()


@pytest.fixture
def refused_url() -> str:
    """A URL on 127.0.0.1 whose port nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class PeerRecorder:
    """A small aiohttp app answering `{"success": true}` and recording each request's
    client port, so a test can tell how many connections a client opened."""

    def __init__(self) -> None:
        self.peer_ports: list[int] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        self.peer_ports.append(request.transport.get_extra_info("peername")[1])
        await request.read()
        return web.json_response({"success": True})

    async def start(self) -> PeerRecorder:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def peer_recorder() -> AsyncIterator[PeerRecorder]:
    server = await PeerRecorder().start()
    yield server
    await server.stop()


def autumn_lines(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    """What the SDK's "autumn" logger wrote at `level`."""
    return [r.getMessage() for r in caplog.records if r.name == "autumn" and r.levelno == level]
