"""One HTTP attempt of a call: send it, read the answer within bounds, say what happened.

`send_attempt` never raises for a failure (only `asyncio.CancelledError`
propagates): whatever happens becomes an `Outcome` for the retry policy.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import Any, TypeVar, cast

import aiohttp

from autumn_core._body import UndecodableBody, read_bounded
from autumn_core._call_state import CallState
from autumn_core._errors import (
    MAX_ERROR_BODY_BYTES,
    APIConnectionError,
    HTTPClientError,
    InvalidRequestError,
    RequestTimeoutError,
    UnexpectedClientError,
)
from autumn_core._hooks import HookContext, Hooks, PreparedRequest, run_after, run_before_request
from autumn_core._outcome import Failure, Outcome
from autumn_core._responses import MAX_SUCCESS_BODY_BYTES, error_from_response, invalid_success
from autumn_core._result import Err, Ok
from autumn_core._retries import retry_after_seconds
from autumn_core._secrecy import scrub, scrub_exception_chain
from autumn_core._serde import WrongShape, validation_error

R = TypeVar("R")

logger: logging.Logger = logging.getLogger("autumn")


def send_attempt(call: CallState[R], attempt: int) -> Awaitable[Outcome[R]]:
    """Attempt number `attempt` of the call, with the core's hooks around it, as an
    awaitable of what it came to."""
    hooks = call.context.hooks
    # Without hooks or debug logging, the exchange itself: no coroutine around it.
    outcome = _exchange(call, attempt) if hooks is None else _with_hooks(call, attempt, hooks)
    if logger.isEnabledFor(logging.DEBUG):
        return _logged(call, attempt, outcome)
    return outcome


async def _with_hooks(call: CallState[R], attempt: int, hooks: Hooks) -> Outcome[R]:
    context = HookContext(
        operation_id=call.operation_id,
        base_url=str(call.url.origin()),
        idempotency_key=call.idempotency_key,
        attempt=attempt,
    )
    request = PreparedRequest(
        method=call.method, url=str(call.url), headers=call.headers, body=call.body
    )
    refusal = await run_before_request(hooks, context, request)
    if refusal is None:
        outcome = await _exchange(call, attempt)
    else:
        outcome = _refused(call, refusal, attempt)
    await run_after(hooks, context, outcome)
    return outcome


def _refused(call: CallState[R], cause: Exception, attempt: int) -> Outcome[R]:
    error = InvalidRequestError(
        f"refused by a before_request hook: {type(cause).__name__}: {cause}",
        idempotency_key=call.idempotency_key,
        attempts=attempt,
    )
    error.__cause__ = cause
    return Outcome(Err(error), failure="refused_by_hook", may_have_reached_server=False)


async def _exchange(call: CallState[R], attempt: int) -> Outcome[R]:
    """Send the request, read the answer within bounds, say what happened."""
    try:
        async with call.session.request(
            call.operation.method,
            call.url,
            data=call.body,
            headers=call.headers,
            timeout=call.timeout,
            allow_redirects=False,
            auto_decompress=False,  # the SDK decodes, within bounds (autumn_core._body)
        ) as response:
            succeeded = 200 <= response.status < 300
            limit = MAX_SUCCESS_BODY_BYTES if succeeded else MAX_ERROR_BODY_BYTES
            length = response.content_length
            if length is not None and length <= limit and _ENCODING not in response.headers:
                data, truncated = await response.read(), False  # the usual case
            else:
                try:
                    data, truncated = await read_bounded(response, limit)
                except UndecodableBody as exc:
                    return _undecodable(call, response, exc, attempt)
            if succeeded:
                return _success(call, response, data, truncated, attempt)
            return _error(call, response, data, truncated, attempt)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        return _failed(call, exc, attempt)


_ENCODING = "Content-Encoding"


def _undecodable(
    call: CallState[R], response: aiohttp.ClientResponse, exc: UndecodableBody, attempt: int
) -> Outcome[R]:
    if 200 <= response.status < 300:
        return _invalid_success(call, response, str(exc), b"", attempt)
    return _error(call, response, b"", False, attempt, problem=str(exc))


async def _logged(call: CallState[R], attempt: int, attempted: Awaitable[Outcome[R]]) -> Outcome[R]:
    started = time.perf_counter()
    outcome = await attempted
    _log_attempt(call, outcome, attempt, started)
    return outcome


def _success(
    call: CallState[R],
    response: aiohttp.ClientResponse,
    data: bytes,
    truncated: bool,
    attempt: int,
) -> Outcome[R]:
    status = response.status
    operation = call.operation
    if status == 204 and operation.no_content:
        # Such an operation is typed `Operation[P, Model | None]`: None is one of its answers.
        return Outcome(Ok(cast("R", None)), status, response)
    if truncated:
        reason = f"body larger than {MAX_SUCCESS_BODY_BYTES} bytes once decoded (not read further)"
    else:
        try:
            return Outcome(Ok(operation.read_response(data)), status, response)
        except WrongShape as exc:
            reason = validation_error(exc.error, "response").message
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
            content_type = response.headers.get("Content-Type", "no content type")
            reason = f"not valid JSON ({content_type}): {exc}" if data else "empty body"
        except Exception as exc:
            reason = validation_error(exc, "response").message
    return _invalid_success(call, response, reason, data, attempt)


def _invalid_success(
    call: CallState[R], response: aiohttp.ClientResponse, reason: str, data: bytes, attempt: int
) -> Outcome[R]:
    error = invalid_success(
        reason,
        response.status,
        data,
        secret=call.context.credentials.secret,
        idempotency_key=call.idempotency_key,
        attempts=attempt,
    )
    return Outcome(Err(error), status=response.status, response=response)


def _error(
    call: CallState[R],
    response: aiohttp.ClientResponse,
    data: bytes,
    truncated: bool,
    attempt: int,
    problem: str | None = None,
) -> Outcome[R]:
    error = error_from_response(
        response,
        data,
        truncated,
        secret=call.context.credentials.secret,
        idempotency_key=call.idempotency_key,
        attempts=attempt,
        problem=problem,
    )
    return Outcome(
        Err(error),
        status=error.status_code,
        code=error.code,
        retry_after=retry_after_seconds(response.headers.get("Retry-After")),
        response=response,
    )


_TLS_ERRORS = (aiohttp.ClientSSLError, aiohttp.ClientConnectorCertificateError)
# aiohttp >= 3.10 tells a connect timeout apart; before, it is a plain timeout.
_CONNECT_TIMEOUT: tuple[type[Exception], ...] = tuple(
    getattr(aiohttp, name) for name in ("ConnectionTimeoutError",) if hasattr(aiohttp, name)
)


def _classify(exc: Exception) -> tuple[Failure, bool]:
    """What kind of failure `exc` is, and whether the request may have reached the server."""
    if isinstance(exc, _CONNECT_TIMEOUT):
        return "timeout", False
    if isinstance(exc, asyncio.TimeoutError):  # aiohttp's timeouts subclass it
        return "timeout", True
    if isinstance(exc, _TLS_ERRORS):  # the handshake comes before the request
        return "tls", False
    if isinstance(exc, aiohttp.ClientConnectorError):  # no connection was made
        return "connection", False
    if isinstance(exc, (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError)):
        return "connection", True
    if isinstance(exc, aiohttp.InvalidURL):
        return "not_sent", False
    if isinstance(exc, ValueError):
        return "not_sent", True
    return "unexpected", True


_ERROR_OF: dict[Failure, type[HTTPClientError]] = {
    "timeout": RequestTimeoutError,
    "tls": APIConnectionError,
    "connection": APIConnectionError,
    "not_sent": InvalidRequestError,
    "unexpected": UnexpectedClientError,
}


def _failed(call: CallState[R], exc: Exception, attempt: int) -> Outcome[R]:
    failure, reached = _classify(exc)
    described = f"{type(exc).__name__}: {exc}"
    if failure == "timeout" and call.cut_short:
        text = f"the call's total_timeout_ms of {(call.total_timeout or 0) * 1000:g} ms ran out"
    elif failure == "timeout" and not reached:
        text = f"no connection within {(call.timeout.sock_connect or 0) * 1000:g} ms"
    elif failure == "timeout":
        text = f"no answer within {(call.timeout.total or 0) * 1000:g} ms"
    elif failure == "tls":
        text = f"TLS failure: {exc}"
    elif failure == "connection":
        text = f"connection failed: {described}"
    elif failure == "not_sent":
        text = f"request could not be sent: {described}"
    else:
        text = f"unexpected failure: {described}"
    secret = call.context.credentials.secret
    error = _ERROR_OF[failure](
        scrub(text, secret), idempotency_key=call.idempotency_key, attempts=attempt
    )
    scrub_exception_chain(exc, secret)
    error.__cause__ = exc
    return Outcome(Err(error), failure=failure, may_have_reached_server=reached)


def _log_attempt(call: CallState[Any], outcome: Outcome[Any], attempt: int, started: float) -> None:
    # Method, URL, outcome, attempt, elapsed: never headers, so never the key.
    result = outcome.result
    if outcome.status is not None:
        shown = str(outcome.status)
    else:
        shown = type(result.error).__name__ if isinstance(result, Err) else "ok"
    logger.debug(
        "%s %s -> %s (%s, attempt %d, %.1f ms)",
        call.method,
        call.url,
        shown,
        call.operation_id,
        attempt,
        (time.perf_counter() - started) * 1000,
    )
