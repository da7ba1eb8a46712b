"""An HTTP server on 127.0.0.1 that records each request exactly as it arrived.

Headers are kept as sent (names in the client's case, in order, repeats
included) and bodies as raw bytes, so two clients' requests can be compared
byte for byte. Every request is answered ``{"success":true}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType

from aiohttp import web

__all__ = ["CaptureServer", "CapturedRequest"]


@dataclass(frozen=True)
class CapturedRequest:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return values[0] if values else None


class CaptureServer:
    def __init__(self) -> None:
        self.requests: list[CapturedRequest] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _record(self, request: web.Request) -> web.Response:
        self.requests.append(
            CapturedRequest(
                request.method,
                request.path,
                tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers),
                await request.read(),
            )
        )
        return web.Response(body=b'{"success":true}', content_type="application/json")

    async def __aenter__(self) -> CaptureServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._record)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def take(self) -> CapturedRequest:
        """The only request received since the last ``take`` (and forget it)."""
        assert len(self.requests) == 1, self.requests
        return self.requests.pop()
