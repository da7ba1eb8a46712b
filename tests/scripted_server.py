"""A real HTTP server on 127.0.0.1 whose answers are scripted per request.

For the failures the local Autumn server does not produce on its own: HTML
error pages, invalid JSON, stalls mid-body, dropped connections. Every request
is recorded (method, path, headers, body) so tests can check the wire.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import attrs
from aiohttp import web

_Server = TypeVar("_Server", bound="ScriptedServer")  # start() returns a subclass as itself

Reply = Callable[[web.Request], Awaitable[web.StreamResponse]]


@attrs.frozen
class RecordedRequest:
    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def json_reply(
    status: int = 200, payload: Any = None, headers: Mapping[str, str] | None = None
) -> Reply:
    async def reply(_request: web.Request) -> web.StreamResponse:
        body = {"success": True} if payload is None else payload
        return web.json_response(body, status=status, headers=headers)

    return reply


def autumn_error(
    status: int, code: str, message: str = "refused", headers: Mapping[str, str] | None = None
) -> Reply:
    return json_reply(status, {"message": message, "code": code, "env": "sandbox"}, headers)


def raw_reply(
    status: int,
    body: bytes,
    content_type: str = "text/html",
    headers: Mapping[str, str] | None = None,
) -> Reply:
    async def reply(_request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, body=body, content_type=content_type, headers=headers)

    return reply


def drop_connection() -> Reply:
    """Close the socket without answering (a reset, or a response lost on the way)."""

    async def reply(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.close()
        raise asyncio.CancelledError  # nothing more to write on a closed socket

    return reply


def delayed(seconds: float, then: Reply | None = None) -> Reply:
    async def reply(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(seconds)
        return await (then or json_reply())(request)

    return reply


def stall_mid_body(seconds: float = 30.0) -> Reply:
    """Promise 1,000 bytes of JSON, send 10, then go quiet."""

    async def reply(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        response.content_length = 1000
        await response.prepare(request)
        await response.write(b'{"success"')
        await asyncio.sleep(seconds)
        return response

    return reply


def hold(
    release: asyncio.Event, arrived: asyncio.Event | None = None, then: Reply | None = None
) -> Reply:
    """Answer only once `release` is set (a server that stopped answering); `arrived`
    is set as soon as the request is in. Set `release` before the server stops, or
    its shutdown waits for this handler."""

    async def reply(request: web.Request) -> web.StreamResponse:
        if arrived is not None:
            arrived.set()
        await release.wait()
        return await (then or json_reply())(request)

    return reply


class ScriptedServer:
    """`await server.start()`, queue replies with `server.then(...)`; unscripted
    requests get `{"success": true}`."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._replies: deque[Reply] = deque()
        self.default: Reply = json_reply()
        self._runner: web.AppRunner | None = None
        self.url = ""

    def then(self, *replies: Reply) -> ScriptedServer:
        self._replies.extend(replies)
        return self

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(
            RecordedRequest(
                request.method, request.path, dict(request.headers), await request.read()
            )
        )
        reply = self._replies.popleft() if self._replies else self.default
        return await reply(request)

    async def start(self: _Server) -> _Server:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
