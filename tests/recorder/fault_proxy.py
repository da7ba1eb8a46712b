"""A proxy on 127.0.0.1 in front of the local server that injects the faults of a bad
network and a busy server into batch_track requests, at random (seeded):

- "lost": forwarded and applied, then the answer is thrown away and the
  connection cut (the client cannot know the batch was applied);
- "reset": the connection is cut before anything is forwarded;
- "429" (with `Retry-After: 0`) and "503": answered by the proxy, nothing forwarded.

Everything else is forwarded as is. `counts` says how many of each it injected.
"""

from __future__ import annotations

import random
from collections import Counter

import aiohttp
from aiohttp import web

from tests.recorder.batch_server import serve

FAULTS = (("lost", 0.08), ("reset", 0.06), ("429", 0.05), ("503", 0.05))


class FaultProxy:
    def __init__(self, upstream: str, seed: int = 21) -> None:
        self.upstream = upstream
        self.counts: Counter[str] = Counter()
        self._random = random.Random(seed)
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self.url = ""

    async def start(self) -> FaultProxy:
        self._http = aiohttp.ClientSession()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._forward)
        self._runner, self.url = await serve(app)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()

    def _fault(self) -> str | None:
        draw = self._random.random()
        for name, share in FAULTS:
            if draw < share:
                return name
            draw -= share
        return None

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        fault = self._fault() if request.path.endswith("batch_track") else None
        if fault is not None:
            self.counts[fault] += 1
        if fault == "reset":
            return _cut(request)
        if fault in ("429", "503"):
            headers = {"Retry-After": "0"} if fault == "429" else None
            code = "rate_limit_exceeded" if fault == "429" else "internal_error"
            refusal = {"message": "injected", "code": code}
            return web.json_response(refusal, status=int(fault), headers=headers)
        assert self._http is not None
        forwarded = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        async with self._http.request(
            request.method, self.upstream + request.path_qs, data=await request.read(),
            headers=forwarded,
        ) as answer:  # fmt: skip
            body = await answer.read()
            if fault == "lost":
                return _cut(request)
            return web.Response(status=answer.status, body=body,
                                content_type=answer.content_type)  # fmt: skip


def _cut(request: web.Request) -> web.StreamResponse:
    if request.transport is not None:
        request.transport.abort()
    return web.Response()
