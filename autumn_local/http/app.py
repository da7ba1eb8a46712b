"""The aiohttp application: the request pipeline and error bodies.

The routes and their handlers are in ``routes.py``. One catch-all route and a
dict of endpoints rather than aiohttp's router and middlewares: it keeps
404 / 405 answers in Autumn's JSON error shape and keeps per-request overhead
to a dict lookup, which matters for the throughput goal.

Pipeline for every endpoint, in Autumn's order:
route (404/405) -> injected fault -> auth (401) -> x-api-version (400) ->
body read (413) -> rate limit (429) -> Idempotency-Key (409) -> body schema
(400) -> one transaction -> answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from autumn_local.http.auth import bearer_token, env_of
from autumn_local.http.body import MAX_BODY_BYTES
from autumn_local.http.faults import FaultInjector
from autumn_local.http.idempotency_key import idempotency_key
from autumn_local.http.ratelimits import TOO_MANY_REQUESTS, RateLimited
from autumn_local.http.routes import ENDPOINTS, Endpoint, ServerState
from autumn_local.http.versions import parse_api_version
from autumn_local.rules.replies import Reply
from autumn_local.schemas.errors import ApiError, StepsApplied
from autumn_local.store.database import AmountOutOfRange

__all__ = ["IDEMPOTENCY_WINDOW_MS", "answer_directly", "build_app"]

log = logging.getLogger("autumn_local")

IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000
_DUPLICATE_KEY = "duplicate_idempotency_key"


def _json(
    status: int, payload: bytes | dict[str, Any], headers: dict[str, str] | None = None
) -> web.Response:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return web.Response(status=status, body=body, content_type="application/json", headers=headers)


def _error(exc: ApiError, env: str, headers: dict[str, str] | None = None) -> web.Response:
    # A message may echo header bytes that were not UTF-8 (lone surrogates once
    # decoded): shown as \udcff text, so every client can print the message.
    message = exc.message.encode("utf-8", "backslashreplace").decode("utf-8")
    return _json(
        exc.status,
        {"message": message, "code": exc.code, "env": env},
        {**(headers or {}), **exc.headers} or None,
    )


def _too_many_requests(exc: RateLimited, env: str) -> web.Response:
    if exc.json_answer:
        return _error(
            ApiError(429, "rate_limit_exceeded", "Rate limit exceeded."), env, exc.headers
        )
    return web.Response(status=429, text=TOO_MANY_REQUESTS, headers=exc.headers)


def _drop_connection(request: web.Request) -> web.Response:
    """Close the socket without answering; the response returned is never written."""
    transport = request.transport
    if transport is not None:
        transport.abort()
    return web.Response(status=499)


def _fault_error(kind: str, endpoint: Endpoint, retry_after: int) -> ApiError | RateLimited:
    if kind == "429":
        headers = endpoint.limits[-1].headers(0, retry_after)
        headers["Retry-After"] = str(retry_after)
        return RateLimited(headers)
    if kind == "503":
        return ApiError(
            503,
            "service_unavailable",
            "service temporarily unavailable (injected fault)",
            {"Retry-After": str(retry_after)},
        )
    return ApiError(500, "internal_error", "internal error (injected fault)")


def _run(
    state: ServerState,
    endpoint: Endpoint,
    body: Any,
    env: str,
    idem_key: str | None,
) -> bytes | dict[str, Any] | Reply:
    """Claim the idempotency key and run the handler in one write transaction.

    The key is checked and claimed by one statement inside the transaction, so
    the database decides: a concurrent duplicate, on this event loop or in
    another server process sharing the file, waits for the write lock and then
    sees the claim. A failure rolls back the claim with the change, which is
    what "a failed request releases its key" means -- except a 409, which keeps
    the key claimed. Keys are scoped to the organisation and environment, as
    Autumn's are.
    """
    store, now = state.store, state.clock.now_ms()
    failure: ApiError
    try:
        with store.transaction():
            if idem_key is not None and not store.claim_idempotency_key(
                env, idem_key, now, IDEMPOTENCY_WINDOW_MS
            ):
                raise ApiError(
                    409,
                    _DUPLICATE_KEY,
                    f"Another request with idempotency key {idem_key} has already been received",
                )
            if isinstance(body, ApiError):
                raise body
            try:
                return endpoint.handler(state, body, env, now)
            except AmountOutOfRange as exc:
                raise ApiError(400, "invalid_request", str(exc)) from None
            except StepsApplied as applied:
                failure = applied.error
                if idem_key is not None and failure.status != 409:
                    store.release_idempotency_key(env, idem_key)
    except ApiError as exc:
        if exc.status == 409 and exc.code != _DUPLICATE_KEY and idem_key is not None:
            with store.transaction():
                store.claim_idempotency_key(env, idem_key, now, IDEMPOTENCY_WINDOW_MS)
        raise
    raise failure


async def _read_body(request: web.Request) -> bytes | None:
    """The request body, or None when the client left before sending all of it."""
    too_large = ApiError(413, "payload_too_large", f"body is larger than {MAX_BODY_BYTES} bytes")
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise too_large
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise too_large from None
    except web.RequestPayloadError as exc:
        # A body that cannot be decoded (e.g. Content-Encoding: gzip over bytes
        # that are not gzip): the client's fault, said so.
        encoding = request.headers.get("Content-Encoding")
        reason = f"not valid {encoding}" if encoding else str(exc).strip()
        raise ApiError(400, "invalid_inputs", f"body could not be read: {reason}") from None
    except ConnectionResetError:
        # Nothing was applied and nobody is left to answer. Not a server bug.
        return None


def _parsed(raw: bytes, read_body: Callable[[bytes], Any]) -> Any:
    """The body, or the error to answer once the idempotency key was checked."""
    try:
        return read_body(raw)
    except ApiError as exc:
        if exc.status == 413:
            raise
        return exc


def _route_refused(request: web.Request, env: str) -> web.Response:
    """404 for a path no endpoint serves, else 405 for a method other than POST."""
    if request.path not in ENDPOINTS:
        return _error(ApiError(404, "not_found", f"no such endpoint: {request.path[:200]}"), env)
    return _error(
        ApiError(
            405,
            "method_not_allowed",
            f"{request.method} is not allowed; use POST",
            {"Allow": "POST"},
        ),
        env,
    )


async def _inject(fault: str, endpoint: Endpoint, faults: FaultInjector) -> None:
    """A delay waits, then the request goes on; an error fault answers instead."""
    if fault == "delay":
        await asyncio.sleep(faults.spec.delay_ms / 1000)
    elif fault in ("429", "503", "500"):
        raise _fault_error(fault, endpoint, faults.spec.retry_after)


def _rate_limit(state: ServerState, endpoint: Endpoint, env: str, body: Any) -> dict[str, str]:
    """The rate-limit headers of the answer; ``RateLimited`` over a limit."""
    customer_id = body.get("customer_id") if isinstance(body, dict) else None
    return state.limiter.check(
        endpoint.limits,
        env,
        customer_id if isinstance(customer_id, str) else None,
        state.clock.now_ms(),
    )


async def _serve(
    request: web.Request,
    state: ServerState,
    endpoint: Endpoint,
    token: str | None,
    env: str,
    fault: str | None,
    limit_headers: dict[str, str],
) -> web.StreamResponse:
    """The pipeline after routing; fills ``limit_headers`` once the rate limit passed."""
    if fault == "reset":
        return _drop_connection(request)
    if fault is not None:
        await _inject(fault, endpoint, state.faults)
    state.keys.authenticate(token)
    parse_api_version(request.headers.get("x-api-version"))
    raw = await _read_body(request)
    if raw is None:
        return _drop_connection(request)
    body = _parsed(raw, endpoint.read_body)
    limit_headers.update(_rate_limit(state, endpoint, env, body))
    idem_key = idempotency_key(request.headers.get("Idempotency-Key"))
    result = _run(state, endpoint, body, env, idem_key)
    if fault == "lost-response":
        return _drop_connection(request)
    if isinstance(result, Reply):
        return _json(result.status, result.body, limit_headers or None)
    return _json(200, result, limit_headers or None)


async def _handle(request: web.Request) -> web.StreamResponse:
    state: ServerState = request.app[STATE_KEY]
    endpoint = ENDPOINTS.get(request.path)
    token = bearer_token(request.headers.get("Authorization"))
    env = env_of(token)
    if endpoint is None or request.method != "POST":
        return _route_refused(request, env)
    faults = state.faults
    fault = faults.draw() if faults.applies_to(endpoint.fault_group) else None
    limit_headers: dict[str, str] = {}
    try:
        return await _serve(request, state, endpoint, token, env, fault, limit_headers)
    except RateLimited as exc:
        return _too_many_requests(exc, env)
    except ApiError as exc:
        if fault == "lost-response":
            # The answer is lost whatever it was; a failure committed nothing.
            return _drop_connection(request)
        return _error(exc, env, limit_headers)
    except Exception:
        # A bug, not a client error: say so in Autumn's shape and log the cause.
        log.exception("unhandled error in %s", request.path)
        return _error(ApiError(500, "internal_error", "internal server error"), env)


STATE_KEY = web.AppKey("autumn_local_state", ServerState)


APIHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build_app(
    state: ServerState,
    extend: Callable[[web.Application, APIHandler], APIHandler] | None = None,
) -> web.Application:
    """The aiohttp application serving ``state``.

    ``extend(app, handler)`` (the page's, ``autumn_local.page``) may add routes, which
    come before the API's catch-all route, and returns the handler that route calls:
    ``handler`` itself, or a wrapper around it.
    """
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[STATE_KEY] = state
    handler: APIHandler = _handle if extend is None else extend(app, _handle)
    app.router.add_route("*", "/{tail:.*}", handler)
    return app


def answer_directly(
    state: ServerState, path: str, body: dict[str, Any], env: str
) -> bytes | dict[str, Any]:
    """What ``path`` answers to ``body``, without HTTP, auth, faults or rate limits.

    For reading state in tests (``LocalAutumn.customer``); raises ``ApiError``.
    """
    result = _run(state, ENDPOINTS[path], body, env, None)
    return result.body if isinstance(result, Reply) else result
