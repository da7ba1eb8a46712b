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

from autumn_core._body import UndecodableBody, read_bounded
from autumn_core._call_context import CallContext
from autumn_core._errors import (
    MAX_ERROR_BODY_BYTES,
    APIConnectionError,
    HTTPClientError,
    InvalidRequestError,
    RequestTimeoutError,
    UnexpectedClientError,
)
from autumn_core._hooks import NO_HOOKS
from autumn_core._operation import Operation
from autumn_core._outcome import Failure, Outcome
from autumn_core._responses import MAX_SUCCESS_BODY_BYTES, error_from_response, invalid_success
from autumn_core._result import Err, Ok
from autumn_core._retries import RetryConfig, retry_after_seconds
from autumn_core._secrecy import scrub, scrub_exception_chain
from autumn_core._serde import WrongShape, validation_error

R = TypeVar("R")

logger: logging.Logger = logging.getLogger("autumn")


class PreparedCall(Generic[R]):
    """A call ready to be attempted: its request, built once, and what its attempts
    have shown so far.

    `headers` is sent by every attempt; hooks may change it, and the pipeline
    adds `X-Retry-Count` to retries. `own_key`: the idempotency key is the
    caller's, not one the SDK drew. `total_timeout` (seconds) bounds the whole
    call; `cut_short` is set while an attempt's timeout is shortened to fit it.
    What the attempts showed about the change (see autumn_core._applied):
    `in_doubt`, some attempt may have applied it without saying so;
    `duplicate_seen`, a retry was refused as a duplicate; `waiting`, the call is
    between attempts.
    """

    __slots__ = (
        "attempt_timeout",
        "attempts",
        "body",
        "context",
        "cut_short",
        "duplicate_seen",
        "headers",
        "idempotency_key",
        "in_doubt",
        "operation",
        "own_key",
        "retry",
        "session",
        "timeout",
        "total_timeout",
        "url",
        "waiting",
    )

    context: CallContext
    operation: Operation[Any, R]
    session: aiohttp.ClientSession
    url: yarl.URL
    headers: dict[str, str]
    body: bytes
    idempotency_key: str | None
    timeout: aiohttp.ClientTimeout
    attempt_timeout: aiohttp.ClientTimeout
    retry: RetryConfig
    own_key: bool
    total_timeout: float | None
    attempts: int
    cut_short: bool
    in_doubt: bool
    duplicate_seen: bool
    waiting: bool

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
        own_key: bool = False,
        total_timeout: float | None = None,
    ) -> None:
        self.context = context
        self.operation = operation
        self.session = session
        self.url = url
        self.headers = headers
        self.body = body
        self.idempotency_key = idempotency_key
        self.timeout = self.attempt_timeout = timeout
        self.retry = retry
        self.own_key = own_key
        self.total_timeout = total_timeout
        self.attempts = 0
        self.cut_short = self.in_doubt = self.duplicate_seen = self.waiting = False

    @property
    def operation_id(self) -> str:
        return self.operation.operation_id

    @property
    def method(self) -> str:
        return self.operation.method


def attempt_timeout(seconds: float) -> aiohttp.ClientTimeout:
    """aiohttp's bounds for one attempt of `seconds`."""
    # A new connection gets all but the last tenth of the attempt. aiohttp reports a
    # connect that outlasts that bound as ConnectionTimeoutError: nothing was sent, so
    # a write can say `applied=no`. Cut by the attempt's total bound instead, the same
    # hang would be a plain timeout, which cannot say whether the request went out.
    # (sock_connect, not connect: a pooled connection's attempt starts no timer for it.)
    return aiohttp.ClientTimeout(total=seconds, sock_connect=seconds * 0.9)


def send_attempt(call: PreparedCall[R]) -> Awaitable[Outcome[R]]:
    """Attempt number `call.attempts`, with the core's hooks around it, as an awaitable
    of what it came to. (Without hooks and debug logging it is the exchange itself:
    no extra coroutine on the hot path.)"""
    attempt = call.attempts
    hooks = call.context.hooks
    outcome = _exchange(call, attempt) if hooks is NO_HOOKS else hooks.run(call, attempt, _exchange)
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
    call: PreparedCall[R], response: aiohttp.ClientResponse, exc: UndecodableBody, attempt: int
) -> Outcome[R]:
    if 200 <= response.status < 300:
        return _invalid_success(call, response, str(exc), b"", attempt)
    return _error(call, response, b"", False, attempt, problem=str(exc))


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
        reason = f"body larger than {MAX_SUCCESS_BODY_BYTES} bytes once decoded (not read further)"
    else:
        try:
            return Outcome(Ok(operation.read_response(data)), status=status, response=response)
        except WrongShape as exc:
            reason = validation_error(exc.error, "response").message
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
            content_type = response.headers.get("Content-Type", "no content type")
            reason = f"not valid JSON ({content_type}): {exc}" if data else "empty body"
        except Exception as exc:
            reason = validation_error(exc, "response").message
    return _invalid_success(call, response, reason, data, attempt)


def _invalid_success(
    call: PreparedCall[R], response: aiohttp.ClientResponse, reason: str, data: bytes, attempt: int
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
    call: PreparedCall[R],
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


def _failed(call: PreparedCall[R], exc: Exception, attempt: int) -> Outcome[R]:
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
