"""A small batch_track server on 127.0.0.1 for the usage recorder's tests, with faults.

It does what the recorder relies on Autumn for, and no more: the body is an array
of 1 to 1,000 events, all checked before any is applied (an event for the
feature `bad` refuses the whole batch with 404 `feature_not_found`, as Autumn
does for an unknown feature); each event is applied once per body
`idempotency_key`. `faults` is a script of what the next requests meet:

- "lost": the batch is applied, then the connection is cut before the answer;
- "reset": the connection is cut before anything is applied;
- "429" / "503": refused with that status (429 with `Retry-After: 0`);
- "429-hour": 429 with `Retry-After: 3600`;
- "no_route": a plain-text 404, as a server without the route answers;
- "slow": answered as usual, half a second late;
- "500-long": Autumn's own 500, with a message of over 400 characters.

`on_request`, when set, is called as each request arrives, before it is answered:
a test sees there what the client holds at that moment.

`limit` counts requests as Autumn's rate limiter does, in fixed one-second
windows opened by a first request, and answers 429 beyond it.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from aiohttp import web


class BatchServer:
    def __init__(self) -> None:
        self.applied: Counter[str] = Counter()  # events applied per customer
        self.keys: set[str] = set()
        self.faults: deque[str] = deque()
        self.requests = 0
        self.started: list[float] = []  # when each request arrived (monotonic)
        self.down = False
        self.limit: int | None = None  # requests per fixed one-second window, as Autumn counts
        self.limited = 0  # requests refused with 429 by that limit
        self._window = (0.0, 0)  # (when it opened, requests in it)
        self.on_request: Callable[[], None] | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> BatchServer:
        app = web.Application()
        app.router.add_post("/v1/balances.batch_track", self._batch_track)
        self._runner, self.url = await serve(app)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def total(self) -> int:
        return sum(self.applied.values())

    async def _batch_track(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        self.started.append(time.monotonic())
        if self.on_request is not None:
            self.on_request()
        fault = self.faults.popleft() if self.faults else None
        if self.limit is not None and self._over_limit():
            self.limited += 1
            fault = "429"
        if fault == "slow":
            await asyncio.sleep(0.5)
        if self.down or fault == "reset":
            return await _cut(request)
        if fault == "no_route":  # a server without the route, or a proxy's page
            return web.Response(status=404, text="404: Not Found")
        if fault == "429-hour":
            body = {"message": "come back in an hour", "code": "rate_limit_exceeded"}
            return web.json_response(body, status=429, headers={"Retry-After": "3600"})
        if fault == "429-soon":  # a pause shorter than the recorder's longest wait
            body = {"message": "slow down", "code": "rate_limit_exceeded"}
            return web.json_response(body, status=429, headers={"Retry-After": "0.3"})
        if fault == "500-long":
            body = {"message": "not now " + "x" * 400, "code": "internal_error"}
            return web.json_response(body, status=500)
        if fault in ("500", "404-not_found"):  # Autumn's own body, nothing about the events
            status, code = fault.partition("-")[::2]
            body = {"message": "not now", "code": code or "internal_error"}
            return web.json_response(body, status=int(status))
        if fault in ("429", "503"):
            headers = {"Retry-After": "0"} if fault == "429" else None
            body = {"message": "try later", "code": "rate_limit_exceeded"}
            return web.json_response(body, status=int(fault), headers=headers)
        events: list[dict[str, Any]] = await request.json()
        if not 1 <= len(events) <= 1000:
            return web.json_response({"message": "bad batch", "code": "invalid_inputs"}, status=400)
        if any(event.get("feature_id") == "invalid" for event in events):
            body = {"message": "feature_id: invalid " + "x" * 400, "code": "invalid_inputs"}
            return web.json_response(body, status=400)
        if any(event.get("feature_id") == "bad" for event in events):
            body = {"message": "Feature bad not found", "code": "feature_not_found"}
            return web.json_response(body, status=404)
        for event in events:
            key = event["idempotency_key"]
            if key not in self.keys:
                self.keys.add(key)
                self.applied[event["customer_id"]] += event.get("value", 1)
        if fault == "lost":
            return await _cut(request)
        return web.json_response({"success": True})

    def _over_limit(self) -> bool:
        opened, count = self._window
        now = self.started[-1]
        if now - opened >= 1.0:
            opened, count = now, 0
        self._window = (opened, count + 1)
        return count + 1 > (self.limit or 0)


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    """`app` served on a free port of 127.0.0.1: its runner (to clean up) and its URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


async def _cut(request: web.Request) -> web.StreamResponse:
    transport = request.transport
    if transport is not None:
        transport.abort()
    await asyncio.sleep(0)
    return web.Response()
