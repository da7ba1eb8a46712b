"""The local server's page: customers, balances, recent requests, faults and the clock,
served by the server itself on its own port (``GET /``), updated by polling.

Everything the page needs ships in the package (``files/``: one HTML file,
one script, one style sheet; no build step, nothing from a CDN), and it never
needs the secret key: its JSON routes under ``/_local/`` read and change only this
server's own state (the request log, faults, clock), not through the API.

Those routes answer only a browser on this machine: the ``Host`` must be a
loopback name or the host the server is bound to (so a DNS-rebinding page
cannot read them), an ``Origin``, when sent, must be the server's own, and a
change needs the ``X-Autumn-Local: page`` header, which another site's page
cannot send without a CORS preflight this server never grants.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from aiohttp import web

from autumn_local.http.faults import FaultSpec
from autumn_local.http.routes import ServerState
from autumn_local.page.snapshot import RequestLog, snapshot

__all__ = ["PAGE_PREFIX", "add_page"]

PAGE_PREFIX = "/_local"
_CHANGE_HEADER = "X-Autumn-Local"
_FILES = {
    "/": ("index.html", "text/html"),
    f"{PAGE_PREFIX}/page.js": ("page.js", "text/javascript"),
    f"{PAGE_PREFIX}/page.css": ("page.css", "text/css"),
    f"{PAGE_PREFIX}/favicon.svg": ("favicon.svg", "image/svg+xml"),
}
_SECURITY_HEADERS = {
    # Nothing from elsewhere: the page runs offline, and nothing injected can load.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_LOG_KEY = web.AppKey("autumn_local_page_log", RequestLog)
_STATE_KEY = web.AppKey("autumn_local_page_state", ServerState)
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def add_page(app: web.Application, state: ServerState, bound_host: str, api: _Handler) -> _Handler:
    """Serve the page from ``app`` (before its catch-all API route is added); returns
    ``api``, the API's handler, wrapped to record every request for the page."""
    log = RequestLog()
    app[_LOG_KEY] = log
    app[_STATE_KEY] = state
    folder = resources.files("autumn_local.page") / "files"
    for path, (name, content_type) in _FILES.items():
        content = (folder / name).read_bytes()
        app.router.add_get(path, _static(content, content_type, bound_host))
    app.router.add_get(f"{PAGE_PREFIX}/state", _guarded(_state, bound_host))
    app.router.add_post(f"{PAGE_PREFIX}/faults", _guarded(_faults, bound_host))
    app.router.add_post(f"{PAGE_PREFIX}/clock", _guarded(_clock, bound_host))
    return _recorded(api, log)


def _recorded(api: _Handler, log: RequestLog) -> _Handler:
    # A wrapper of the API's one handler rather than an aiohttp middleware: a request
    # pays one call more, and the page's own routes pay nothing.
    async def record(request: web.Request) -> web.StreamResponse:
        response = await api(request)
        transport = request.transport
        closed = transport is None or transport.is_closing()
        body = await _arrived_body(request, closed)
        answer = response.body if isinstance(response, web.Response) else b""
        log.add(
            request.method,
            request.path,
            None if closed and response.status == 499 else response.status,
            request.headers.get("Idempotency-Key"),
            request.headers.get("traceparent"),
            body,
            answer if isinstance(answer, bytes) else b"",
        )
        return response

    return record


async def _arrived_body(request: web.Request, closed: bool) -> bytes:
    """The body as the handler read it (aiohttp keeps it), or, when the handler answered
    before reading it (an injected fault), the body if all of it has arrived: recording
    never waits on a client."""
    content = request.content
    whole = request.content_length is not None and content.total_bytes >= request.content_length
    if content.at_eof() or (whole and not closed):
        return await request.read()
    return b""


def _is_local(host: str, bound_host: str) -> bool:
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.strip("[]").lower()
    if name in ("localhost", bound_host.lower()):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _refusal(request: web.Request, bound_host: str) -> str | None:
    """Why this request may not use the page, if it may not."""
    if not _is_local(request.host, bound_host):
        return "the page answers on a loopback address only (open it at http://127.0.0.1:PORT/)"
    origin = request.headers.get("Origin")
    if origin is not None and origin != f"{request.scheme}://{request.host}":
        return "requests from another site's page are refused"
    if request.method == "POST" and request.headers.get(_CHANGE_HEADER) != "page":
        return f"a change needs the header {_CHANGE_HEADER}: page"
    return None


def _refused(reason: str) -> web.Response:
    return web.json_response({"message": reason, "code": "forbidden"}, status=403)


def _static(content: bytes, content_type: str, bound_host: str) -> _Handler:
    async def serve(request: web.Request) -> web.StreamResponse:
        reason = _refusal(request, bound_host)
        if reason is not None:
            return _refused(reason)
        return web.Response(
            body=content, content_type=content_type, charset="utf-8", headers=_SECURITY_HEADERS
        )

    return serve


def _guarded(handler: _Handler, bound_host: str) -> _Handler:
    async def guarded(request: web.Request) -> web.StreamResponse:
        reason = _refusal(request, bound_host)
        if reason is not None:
            return _refused(reason)
        try:
            return await handler(request)
        except (ValueError, TypeError) as exc:
            return web.json_response({"message": str(exc), "code": "invalid_inputs"}, status=400)

    return guarded


async def _state(request: web.Request) -> web.StreamResponse:
    app = request.app
    return web.json_response(
        snapshot(app[_STATE_KEY], app[_LOG_KEY]), headers={"Cache-Control": "no-store"}
    )


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read())
    except ValueError:
        raise ValueError("expected a JSON object") from None
    if not isinstance(body, dict):
        raise ValueError("expected a JSON object")
    return body


async def _faults(request: web.Request) -> web.StreamResponse:
    """``{"spec": "503=0.5,seed=1"}`` sets the rates (``"off"``: none);
    ``{"inject_next": ["503", "reset"]}`` queues faults for the next requests;
    ``{"clear": true}`` sets no rates and drops the queued ones."""
    body = await _body(request)
    faults = request.app[_STATE_KEY].faults
    if body.get("clear") is True:
        faults.configure(FaultSpec())
        faults.cancel_queued()
    if "spec" in body:
        spec = body["spec"]
        if not isinstance(spec, str):
            raise ValueError("spec: expected a string such as '503=0.5,seed=1'")
        faults.configure(FaultSpec.parse(spec))
    if "inject_next" in body:
        kinds = body["inject_next"]
        if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
            raise ValueError("inject_next: expected a list of fault kinds")
        faults.inject_next(*kinds)
    return await _state(request)


async def _clock(request: web.Request) -> web.StreamResponse:
    """``{"advance_ms": N}`` moves the clock (negative: back); ``{"freeze": true}``
    stops it where it stands; ``{"resume": true}`` lets it run again."""
    body = await _body(request)
    clock = request.app[_STATE_KEY].clock
    if "advance_ms" in body:
        step = body["advance_ms"]
        if isinstance(step, bool) or not isinstance(step, int):
            raise ValueError("advance_ms: expected an integer of milliseconds")
        clock.advance(step)
    if body.get("freeze") is True:
        clock.set_ms(clock.now_ms())
    if body.get("resume") is True:
        clock.resume()
    return await _state(request)
