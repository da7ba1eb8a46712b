"""Servers on their own event loop in a background thread, for tests of blocking code.

A test of the blocking client runs no event loop of its own (the client refuses
to be called from one), so the servers it talks to cannot live on the test's
loop: `ServerThread` gives them a loop and a daemon thread, and `run()` runs a
coroutine there from the test's thread.

    with ServerThread() as servers:
        server = servers.run(LocalAutumn().start())
        ...
        servers.run(server.stop())
"""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

from autumn_local import LocalAutumn

T = TypeVar("T")


class ServerThread:
    """An event loop running in a daemon thread; `run()` blocks until a coroutine ends there."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="test-servers", daemon=True
        )

    def __enter__(self) -> ServerThread:
        self.thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


def post(server: LocalAutumn, path: str, body: dict[str, Any]) -> Any:
    """POST JSON to the local server with the standard library (not the SDK); returns the JSON."""
    request = urllib.request.Request(
        server.url + path,
        data=json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {server.secret_key}",
            "Content-Type": "application/json",
            "x-api-version": "2.1",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def balance(server: LocalAutumn, customer_id: str, feature_id: str = "api_calls") -> Any:
    """The customer's balance of one feature as the server reports it (None if it has none)."""
    customer = post(server, "/v1/customers.get", {"customer_id": customer_id})
    return customer["balances"].get(feature_id)


class PortRecorder:
    """Answers every POST with `{"success": true}` and records the client port of each
    request, so a test can tell which connection every call used."""

    def __init__(self) -> None:
        self.peer_ports: list[int] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        self.peer_ports.append(request.transport.get_extra_info("peername")[1])
        await request.read()
        return web.json_response({"success": True})

    async def start(self) -> PortRecorder:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._answer)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
