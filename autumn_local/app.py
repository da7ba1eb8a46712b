"""The aiohttp application: routing, the request pipeline, and error bodies.

One catch-all route and a dict of endpoints rather than aiohttp's router and
middlewares: it keeps 404 / 405 answers in Autumn's JSON error shape and keeps
per-request overhead to a dict lookup, which matters for the throughput goal.

Pipeline for every endpoint, in order:
route (404/405) -> fault draw -> auth (401) -> x-api-version (400) -> body
(413/400) -> idempotency check (409) -> one transaction -> answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from autumn_local import operations, views
from autumn_local.auth import KeyRing, bearer_token, check_api_version, env_of
from autumn_local.body import MAX_BODY_BYTES, parse_json_object
from autumn_local.clock import Clock
from autumn_local.errors import ApiError, invalid_inputs
from autumn_local.faults import FaultInjector
from autumn_local.store import Store
from autumn_local.validation import (
    parse_create_balance,
    parse_create_feature,
    parse_customer,
    parse_entity,
    parse_update_balance,
)

__all__ = ["IDEMPOTENCY_WINDOW_MS", "ServerState", "build_app"]

log = logging.getLogger("autumn_local")

IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000
MAX_IDEMPOTENCY_KEY_LENGTH = 255
_SUCCESS = b'{"success":true}'


@dataclass
class ServerState:
    """Everything a request handler needs; one per running server."""

    store: Store
    clock: Clock
    keys: KeyRing
    faults: FaultInjector
    strict: bool = False


# A handler runs synchronously inside one transaction and returns the JSON
# body (bytes for the fixed success answer, else a dict to encode).
Handler = Callable[[ServerState, dict[str, Any], str, int], "bytes | dict[str, Any]"]


def _create_balance(s: ServerState, body: dict[str, Any], env: str, now: int) -> bytes:
    operations.create_balance(s.store, parse_create_balance(body, strict=s.strict), now)
    return _SUCCESS


def _update_balance(s: ServerState, body: dict[str, Any], env: str, now: int) -> bytes:
    operations.update_balance(s.store, parse_update_balance(body, strict=s.strict), now)
    return _SUCCESS


def _get_customer(s: ServerState, body: dict[str, Any], env: str, now: int) -> dict[str, Any]:
    p = parse_customer(body, strict=s.strict)
    customer = operations.require_customer(s.store, p.customer_id)
    return views.customer_view(customer, s.store.balances_of(customer.id, ""), env, now)


def _get_or_create_customer(
    s: ServerState, body: dict[str, Any], env: str, now: int
) -> dict[str, Any]:
    customer = operations.get_or_create_customer(
        s.store, parse_customer(body, strict=s.strict), now
    )
    return views.customer_view(customer, s.store.balances_of(customer.id, ""), env, now)


def _get_entity(s: ServerState, body: dict[str, Any], env: str, now: int) -> dict[str, Any]:
    p = parse_entity(body, strict=s.strict)
    operations.require_customer(s.store, p.customer_id)
    entity = operations.require_entity(s.store, p.customer_id, p.entity_id)
    return views.entity_view(entity, s.store.balances_of(p.customer_id, entity.id), env, now)


def _create_feature(s: ServerState, body: dict[str, Any], env: str, now: int) -> dict[str, Any]:
    feature = operations.create_feature(s.store, parse_create_feature(body, strict=s.strict), now)
    return views.feature_view(feature)


def _list_features(s: ServerState, body: dict[str, Any], env: str, now: int) -> dict[str, Any]:
    return {"list": [views.feature_view(f) for f in s.store.features()]}


@dataclass(frozen=True)
class Endpoint:
    handler: Handler
    # "balances": faulted by default; "mutating": faulted with scope=all;
    # "read": never faulted and takes no idempotency key.
    group: str


ENDPOINTS: dict[str, Endpoint] = {
    "/v1/balances.create": Endpoint(_create_balance, "balances"),
    "/v1/balances.update": Endpoint(_update_balance, "balances"),
    "/v1/customers.get_or_create": Endpoint(_get_or_create_customer, "mutating"),
    "/v1/customers.get": Endpoint(_get_customer, "read"),
    "/v1/entities.get": Endpoint(_get_entity, "read"),
    "/v1/features.create": Endpoint(_create_feature, "mutating"),
    "/v1/features.list": Endpoint(_list_features, "read"),
}


def _json(
    status: int, payload: bytes | dict[str, Any], headers: dict[str, str] | None = None
) -> web.Response:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return web.Response(status=status, body=body, content_type="application/json", headers=headers)


def _error(exc: ApiError, env: str) -> web.Response:
    return _json(
        exc.status, {"message": exc.message, "code": exc.code, "env": env}, exc.headers or None
    )


def _drop_connection(request: web.Request) -> web.Response:
    """Close the socket without answering; the response returned is never written."""
    transport = request.transport
    if transport is not None:
        transport.abort()
    return web.Response(status=499)


def _fault_error(kind: str, retry_after: int) -> ApiError:
    if kind == "429":
        return ApiError(
            429,
            "rate_limit_exceeded",
            "rate limit exceeded (injected fault)",
            {
                "Retry-After": str(retry_after),
                "RateLimit-Limit": "100",
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": str(retry_after),
            },
        )
    if kind == "503":
        return ApiError(
            503,
            "service_unavailable",
            "service temporarily unavailable (injected fault)",
            {"Retry-After": str(retry_after)},
        )
    return ApiError(500, "internal_error", "internal error (injected fault)")


def _idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not key.strip():
        raise invalid_inputs("Idempotency-Key header must not be empty")
    if len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise invalid_inputs(
            f"Idempotency-Key header must be at most {MAX_IDEMPOTENCY_KEY_LENGTH} characters"
        )
    return key


def _run(
    state: ServerState,
    endpoint: Endpoint,
    body: dict[str, Any],
    env: str,
    scope: str,
    idem_key: str | None,
) -> bytes | dict[str, Any]:
    """Check the idempotency key, then claim it and run the handler in one transaction.

    No ``await`` happens between the check and the commit, so on this single
    event loop the claim is atomic: a concurrent duplicate sees it. A failure
    rolls back the claim with the change, which is what "a failed request
    releases its key" means -- except a 409, which keeps the key claimed.
    """
    store, now = state.store, state.clock.now_ms()
    if idem_key is not None and store.idempotency_claimed_since(
        scope, idem_key, now - IDEMPOTENCY_WINDOW_MS + 1
    ):
        raise ApiError(
            409,
            "duplicate_idempotency_key",
            "a request with this Idempotency-Key was already accepted in the last 24 hours",
        )
    try:
        with store.transaction():
            if idem_key is not None:
                store.claim_idempotency_key(scope, idem_key, now, IDEMPOTENCY_WINDOW_MS)
            return endpoint.handler(state, body, env, now)
    except ApiError as exc:
        if exc.status == 409 and idem_key is not None:
            with store.transaction():
                store.claim_idempotency_key(scope, idem_key, now, IDEMPOTENCY_WINDOW_MS)
        raise


async def _handle(request: web.Request) -> web.StreamResponse:
    state: ServerState = request.app[STATE_KEY]
    endpoint = ENDPOINTS.get(request.path)
    token = bearer_token(request.headers.get("Authorization"))
    env = env_of(token)
    if endpoint is None:
        return _error(ApiError(404, "not_found", f"no such endpoint: {request.path[:200]}"), env)
    if request.method != "POST":
        return _error(
            ApiError(
                405,
                "method_not_allowed",
                f"{request.method} is not allowed; use POST",
                {"Allow": "POST"},
            ),
            env,
        )
    fault = state.faults.draw() if state.faults.applies_to(endpoint.group) else None
    try:
        if fault == "reset":
            return _drop_connection(request)
        if fault == "delay":
            await asyncio.sleep(state.faults.spec.delay_ms / 1000)
        elif fault in ("429", "503", "500"):
            raise _fault_error(fault, state.faults.spec.retry_after)

        scope = state.keys.authenticate(token)
        check_api_version(request.headers.get("x-api-version"))
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            raise ApiError(413, "payload_too_large", f"body is larger than {MAX_BODY_BYTES} bytes")
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise ApiError(
                413, "payload_too_large", f"body is larger than {MAX_BODY_BYTES} bytes"
            ) from None
        except ConnectionResetError:
            # The client left before sending its whole body (gave up waiting, say):
            # nothing was applied and nobody is left to answer. Not a server bug.
            return _drop_connection(request)
        body = parse_json_object(raw)
        idem_key = _idempotency_key(request) if endpoint.group != "read" else None
        result = _run(state, endpoint, body, env, scope, idem_key)
        if fault == "lost-response":
            return _drop_connection(request)
        return _json(200, result)
    except ApiError as exc:
        if fault == "lost-response":
            # The answer is lost whatever it was; a failure committed nothing.
            return _drop_connection(request)
        return _error(exc, env)
    except Exception:
        # A bug, not a client error: say so in Autumn's shape and log the cause.
        log.exception("unhandled error in %s", request.path)
        return _error(ApiError(500, "internal_error", "internal server error"), env)


STATE_KEY = web.AppKey("autumn_local_state", ServerState)


def build_app(state: ServerState) -> web.Application:
    """The aiohttp application serving ``state``."""
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[STATE_KEY] = state
    app.router.add_route("*", "/{tail:.*}", _handle)
    return app
