"""Hostile servers on 127.0.0.1 for what neither LocalAutumn nor a polite server does.

`HostileServer` is the shared scripted server (tests/scripted_server.py) plus an
event that stalling replies wait on; `stop()` sets it first, so a stalled
handler ends at once instead of holding the test's teardown. `RawServer` speaks
bytes, not HTTP, for answers aiohttp would refuse to produce.
"""

from __future__ import annotations

import asyncio
import functools
import json
import ssl
import zlib
from collections.abc import Mapping

from aiohttp import web

from tests.scripted_server import Reply, ScriptedServer


class HostileServer(ScriptedServer):
    def __init__(self) -> None:
        super().__init__()
        self.released = asyncio.Event()

    async def stop(self) -> None:
        self.released.set()
        await super().stop()

    def stall_mid_body(self) -> Reply:
        """200, promise 1,000 bytes of JSON, send 10, then wait until released."""

        async def reply(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
            response.content_length = 1000
            await response.prepare(request)
            await response.write(b'{"success"')
            await self.released.wait()
            return response

        return reply

    def stall_before_headers(self) -> Reply:
        async def reply(_request: web.Request) -> web.StreamResponse:
            await self.released.wait()
            return web.json_response({"success": True})

        return reply


def truncated_body() -> Reply:
    """Promise 1,000 bytes, send 10, close the connection."""

    async def reply(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        response.content_length = 1000
        await response.prepare(request)
        await response.write(b'{"success"')
        assert request.transport is not None
        request.transport.close()
        raise asyncio.CancelledError  # nothing more can be written

    return reply


def big_body(status: int, size: int, *, chunked: bool, content_type: str = "text/plain") -> Reply:
    """`size` bytes of 'x' (inside a JSON string for a 2xx), with or without Content-Length."""

    async def reply(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=status, headers={"Content-Type": content_type})
        if chunked:
            response.enable_chunked_encoding()
        else:
            response.content_length = size
        await response.prepare(request)
        block = b"x" * 65536
        sent = 0
        while sent < size:  # bounded: size / 64 KiB writes
            piece = block[: size - sent]
            try:
                await response.write(piece)
            except (ConnectionResetError, RuntimeError):
                break  # the client stopped reading, as it should
            sent += len(piece)
        return response

    return reply


def redirect_loop(status: int = 302) -> Reply:
    async def reply(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, headers={"Location": request.path})

    return reply


def echo_secret(where: str) -> Reply:
    """Echo the caller's Authorization value back in the named place of an answer."""

    async def reply(request: web.Request) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        token = auth.partition(" ")[2]
        if where == "json":  # Autumn's error shape: message, code, and an extra field
            payload = {
                "message": f"bad key {auth}",
                "code": "invalid_secret_key",
                "env": "sandbox",
                "echo": token,
            }
            return web.Response(
                status=401, text=json.dumps(payload), content_type="application/json"
            )
        if where == "code":
            payload = {"message": f"refused {token}", "code": token, "env": token}
            return web.Response(
                status=400, text=json.dumps(payload), content_type="application/json"
            )
        if where == "html":
            return web.Response(
                status=502,
                text=f"<html><h1>Bad gateway for {auth}</h1></html>",
                content_type="text/html",
            )
        if where == "reason":
            return web.Response(status=418, reason=f"Teapot {auth}")
        if where == "location":
            return web.Response(status=302, headers={"Location": f"/again?key={token}"})
        if where == "content-type":
            return web.Response(
                status=200,
                body=b"<html>not json</html>",
                headers={"Content-Type": f"text/html; key={token}"},
            )
        if where == "success-body":
            return web.Response(
                status=200, text=json.dumps({"success": token}), content_type="application/json"
            )
        if where == "header":
            return web.json_response(
                {"message": "nope", "code": "x", "env": "sandbox"},
                status=500,
                headers={"X-Echo": auth},
            )
        raise AssertionError(where)

    return reply


ECHO_PLACES = (
    "json",
    "code",
    "html",
    "reason",
    "location",
    "content-type",
    "success-body",
    "header",
)


class RawServer:
    """Answers every connection with fixed bytes (not necessarily HTTP), then closes it."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.connections = 0
        self._server: asyncio.Server | None = None
        self.url = ""

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(self.answer)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


class TLSServer:
    """aiohttp over HTTPS on 127.0.0.1 with the given server SSL context; answers success."""

    def __init__(self, context: ssl.SSLContext, headers: Mapping[str, str] | None = None) -> None:
        self.context = context
        self.requests = 0
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _handle(self, _request: web.Request) -> web.StreamResponse:
        self.requests += 1
        return web.json_response({"success": True})

    async def __aenter__(self) -> TLSServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self.context).start()
        self.url = f"https://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


def compressed(data: bytes, encoding: str) -> bytes:
    """`data` as a body in `encoding`: gzip, deflate (zlib-wrapped) or raw-deflate."""
    wbits = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS, "raw-deflate": -15}
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits[encoding])
    return packer.compress(data) + packer.flush()


@functools.cache
def bomb(encoding: str, decoded_size: int) -> bytes:
    """A body of `decoded_size` zero bytes once decoded, a thousandth of that on the wire.
    Built a megabyte at a time, so the test process never holds it decoded."""
    wbits = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS, "raw-deflate": -15}
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits[encoding])
    block = bytes(1024 * 1024)
    parts = [packer.compress(block) for _ in range(decoded_size // len(block))]
    return b"".join([*parts, packer.flush()])


def encoded_reply(
    status: int,
    body: bytes,
    encoding: str,
    content_type: str = "application/json",
    headers: Mapping[str, str] | None = None,
) -> Reply:
    """Answer `body`, already encoded, with `Content-Encoding: encoding` ("raw-deflate"
    is sent as "deflate", as some servers do)."""

    async def reply(_request: web.Request) -> web.StreamResponse:
        named = "deflate" if encoding == "raw-deflate" else encoding
        return web.Response(
            status=status,
            body=body,
            headers={"Content-Type": content_type, "Content-Encoding": named, **(headers or {})},
        )

    return reply
