"""One HTTP attempt of a call: send it, read the answer within bounds, say what happened.

`send_attempt` never raises for a failure (only `asyncio.CancelledError`
propagates): whatever happens becomes an `Outcome` for the retry policy.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import Any, Generic, TypeVar, cast

import aiohttp
import yarl

from autumn_core.call_context import CallContext
from autumn_core.errors import (
    MAX_ERROR_BODY_BYTES,
    APIConnectionError,
    HTTPClientError,
    InvalidRequestError,
    RequestTimeoutError,
    UnexpectedClientError,
)
from autumn_core.operation import Operation
from autumn_core.outcome import Failure, Outcome
from autumn_core.responses import (
    MAX_SUCCESS_BODY_BYTES,
    error_from_response,
    invalid_success,
    read_bounded,
    scrub,
)
from autumn_core.result import Err, Ok
from autumn_core.retries import RetryConfig, retry_after_seconds
from autumn_core.serde import WrongShape, validation_error

R = TypeVar("R")

logger: logging.Logger = logging.getLogger("autumn")


class PreparedCall(Generic[R]):
    """A call ready to be attempted: its request, built once, and its count of attempts.

    `headers` is sent by every attempt; hooks may change it, and the pipeline
    adds `X-Retry-Count` to retries.
    """

    __slots__ = (
        "attempts",
        "body",
        "context",
        "headers",
        "idempotency_key",
        "operation",
        "retry",
        "session",
        "timeout",
        "url",
    )

    context: CallContext
    operation: Operation[Any, R]
    session: aiohttp.ClientSession
    url: yarl.URL
    headers: dict[str, str]
    body: bytes
    idempotency_key: str | None
    timeout: aiohttp.ClientTimeout
    retry: RetryConfig
    attempts: int

    def __init__(
        self,
        context: CallContext,
        operation: Operation[Any, R],
        session: aiohttp.ClientSession,
        url: yarl.URL,
        headers: dict[str, str],
        body: bytes,
        idempotency_key: str | None,
        timeout: aiohttp.ClientTimeout,
        retry: RetryConfig,
    ) -> None:
        self.context = context
        self.operation = operation
        self.session = session
        self.url = url
        self.headers = headers
        self.body = body
        self.idempotency_key = idempotency_key
        self.timeout = timeout
        self.retry = retry
        self.attempts = 0

    @property
    def operation_id(self) -> str:
        return self.operation.operation_id

    @property
    def method(self) -> str:
        return self.operation.method


def send_attempt(call: PreparedCall[R]) -> Awaitable[Outcome[R]]:
    """Attempt number `call.attempts`, with the core's hooks around it, as an awaitable
    of what it came to. (Without hooks and debug logging it is the exchange itself:
    no extra coroutine on the hot path.)"""
    attempt = call.attempts
    outcome = call.context.hooks.run(call, attempt, _exchange)
    if logger.isEnabledFor(logging.DEBUG):
        return _logged(call, attempt, outcome)
    return outcome


async def _exchange(call: PreparedCall[R], attempt: int) -> Outcome[R]:
    """Send the request, read the answer within bounds, say what happened."""
    try:
        async with call.session.request(
            call.operation.method,
            call.url,
            data=call.body,
            headers=call.headers,
            timeout=call.timeout,
            allow_redirects=False,
        ) as response:
            succeeded = 200 <= response.status < 300
            limit = MAX_SUCCESS_BODY_BYTES if succeeded else MAX_ERROR_BODY_BYTES
            length = response.content_length
            if length is not None and length <= limit:
                data, truncated = await response.read(), False  # the usual case
            else:
                data, truncated = await read_bounded(response, limit)
            if succeeded:
                return _success(call, response, data, truncated, attempt)
            return _error(call, response, data, truncated, attempt)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        return _failed(call, exc, attempt)


async def _logged(
    call: PreparedCall[R], attempt: int, attempted: Awaitable[Outcome[R]]
) -> Outcome[R]:
    started = time.perf_counter()
    outcome = await attempted
    _log_attempt(call, outcome, attempt, started)
    return outcome


def _success(
    call: PreparedCall[R],
    response: aiohttp.ClientResponse,
    data: bytes,
    truncated: bool,
    attempt: int,
) -> Outcome[R]:
    status = response.status
    operation = call.operation
    if status == 204 and operation.no_content:
        # Such an operation is typed `Operation[P, Model | None]`: None is one of its answers.
        return Outcome(Ok(cast("R", None)), status=status, response=response)
    if truncated:
        reason = f"body larger than {MAX_SUCCESS_BODY_BYTES} bytes (not read further)"
    else:
        try:
            return Outcome(Ok(operation.read_response(data)), status=status, response=response)
        except WrongShape as exc:
            reason = validation_error(exc.error, "response").message
        except ValueError as exc:  # includes JSONDecodeError and UnicodeDecodeError
            content_type = response.headers.get("Content-Type", "no content type")
            reason = f"not valid JSON ({content_type}): {exc}" if data else "empty body"
        except Exception as exc:
            reason = validation_error(exc, "response").message
    error = invalid_success(
        reason,
        status,
        data,
        secret=call.context.credentials.secret,
        idempotency_key=call.idempotency_key,
        attempts=attempt,
    )
    return Outcome(Err(error), status=status, response=response)


def _error(
    call: PreparedCall[R],
    response: aiohttp.ClientResponse,
    data: bytes,
    truncated: bool,
    attempt: int,
) -> Outcome[R]:
    error = error_from_response(
        response,
        data,
        truncated,
        secret=call.context.credentials.secret,
        idempotency_key=call.idempotency_key,
        attempts=attempt,
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


def _failed(call: PreparedCall[R], exc: Exception, attempt: int) -> Outcome[R]:
    failure, reached = _classify(exc)
    described = f"{type(exc).__name__}: {exc}"
    if failure == "timeout":
        text = f"no answer within {(call.timeout.total or 0) * 1000:g} ms"
    elif failure == "tls":
        text = f"TLS failure: {exc}"
    elif failure == "connection":
        text = f"connection failed: {described}"
    elif failure == "not_sent":
        text = f"request could not be sent: {described}"
    else:
        text = f"unexpected failure: {described}"
    error = _ERROR_OF[failure](
        scrub(text, call.context.credentials.secret),
        idempotency_key=call.idempotency_key,
        attempts=attempt,
    )
    error.__cause__ = exc
    return Outcome(Err(error), failure=failure, may_have_reached_server=reached)


def _log_attempt(
    call: PreparedCall[Any], outcome: Outcome[Any], attempt: int, started: float
) -> None:
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
