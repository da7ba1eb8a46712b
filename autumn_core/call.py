"""One call, end to end: validate, send with retries, read the answer, return a Result.

This is the only place the SDK does I/O. Every failure becomes an `Err`; only
`asyncio.CancelledError` propagates, as asyncio code expects.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Mapping
from os import urandom
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp

from autumn_core.errors import (
    MAX_ERROR_BODY_BYTES,
    AutumnSDKError,
    ConnectionError,
    HTTPClientError,
    InvalidRequestError,
    RequestAbortedError,
    RequestTimeoutError,
    SDKValidationError,
    UnexpectedClientError,
)
from autumn_core.hooks import HookContext, PreparedRequest
from autumn_core.operation import Operation
from autumn_core.options import RequestOptions, request_options
from autumn_core.responses import (
    MAX_SUCCESS_BODY_BYTES,
    error_from_response,
    invalid_success,
    read_bounded,
    scrub,
)
from autumn_core.result import Err, Ok, Result
from autumn_core.retries import computed_delays, retry_after_seconds, status_is_retried
from autumn_core.serde import encode_json, validation_error

if TYPE_CHECKING:
    from autumn_core.core import AutumnCore

P = TypeVar("P")
R = TypeVar("R")

logger = logging.getLogger("autumn")


class _Aborted(Exception):
    """The caller's abort_signal was set while an attempt or a retry wait was running."""


async def call_operation(
    core: AutumnCore,
    operation: Operation[P, R],
    params: P | Mapping[str, Any],
    options: RequestOptions | Mapping[str, Any] | None,
) -> Result[R, AutumnSDKError]:
    try:
        opts = request_options(options)
        model = operation.structure_params(params, operation.params_type)
    except SDKValidationError as exc:
        return Err(exc)
    except Exception as exc:  # cattrs' grouped errors, turned into field names
        return Err(validation_error(exc, "params"))
    body = encode_json(operation.unstructure_params(model)).encode()

    # 128 random bits: as unique as a UUID4, at a fifth of the cost.
    key = opts.idempotency_key if opts is not None and opts.idempotency_key else urandom(16).hex()
    authorization = core._authorization  # set when the key is a plain string
    if authorization is None:
        try:
            authorization = await core.authorization()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return Err(_key_failure(exc, key))
    headers = dict(core.base_headers())
    headers["Authorization"] = authorization
    headers["Idempotency-Key"] = key
    if opts is None:
        return await _attempts(core, operation, body, headers, key, None)
    if opts.headers:
        headers.update(opts.headers)
    if opts.abort_signal is None:
        return await _attempts(core, operation, body, headers, key, opts)
    started: list[int] = []  # one entry per attempt begun, read if the call is aborted
    try:
        return await _unless_aborted(
            _attempts(core, operation, body, headers, key, opts, started), opts.abort_signal
        )
    except _Aborted:
        return Err(
            RequestAbortedError(
                "aborted by the caller's abort_signal", idempotency_key=key, attempts=len(started)
            )
        )


def _key_failure(exc: Exception, key: str) -> AutumnSDKError:
    if isinstance(exc, SDKValidationError):
        exc.idempotency_key = key
        return exc
    error = InvalidRequestError(
        f"the secret_key callable failed: {type(exc).__name__}", idempotency_key=key
    )
    error.__cause__ = exc
    return error


async def _attempts(
    core: AutumnCore,
    operation: Operation[Any, R],
    body: bytes,
    headers: dict[str, str],
    key: str,
    opts: RequestOptions | None,
    started_attempts: list[int] | None = None,
) -> Result[R, AutumnSDKError]:
    retry = (opts.retries if opts is not None else None) or core.retry_config
    codes = opts.retry_codes if opts is not None else None
    if codes is None:  # an empty set is a choice: retry no status
        codes = retry.retry_codes
    timeout_ms = opts.timeout_ms if opts is not None else None
    server_url = opts.server_url if opts is not None else None
    try:
        url = core.url(server_url, operation.path)
        session = core.session()
    except AutumnSDKError as exc:
        exc.idempotency_key = key
        return Err(exc)
    timeout = core.timeout(timeout_ms)
    hooks = core._active_hooks
    started = retry.clock()
    delays = None
    attempt = 0
    while True:
        attempt += 1
        if started_attempts is not None:
            started_attempts.append(attempt)
        debug = logger.isEnabledFor(logging.DEBUG)
        attempt_started = time.perf_counter() if debug else 0.0
        context = None
        response: aiohttp.ClientResponse | None = None
        error: AutumnSDKError
        retryable = False
        retry_after = None
        if hooks is not None:
            context = HookContext(
                operation_id=operation.operation_id,
                base_url=str(url.origin()),
                idempotency_key=key,
                attempt=attempt,
            )
        try:
            if hooks is not None and hooks.before_request:
                assert context is not None
                await _before_request(hooks.before_request, context, operation, url, headers, body)
            async with session.request(
                operation.method,
                url,
                data=body,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
            ) as response:
                status = response.status
                succeeded = 200 <= status < 300
                limit = MAX_SUCCESS_BODY_BYTES if succeeded else MAX_ERROR_BODY_BYTES
                length = response.content_length
                if length is not None and length <= limit:
                    data, truncated = await response.read(), False  # the usual case
                else:
                    data, truncated = await read_bounded(response, limit)
                if succeeded:
                    result = _read_success(core, operation, response, data, truncated, key, attempt)
                else:
                    result = Err(
                        error_from_response(
                            response,
                            data,
                            truncated,
                            secret=core.secret(),
                            idempotency_key=key,
                            attempts=attempt,
                        )
                    )
                    retryable = status_is_retried(status, codes)
                    retry_after = response.headers.get("Retry-After")
        except asyncio.CancelledError:
            raise
        except _Refused as exc:
            result = Err(_refused(exc, key, attempt))
        except Exception as exc:
            error = _client_error(exc, core.secret(), timeout.total, key, attempt)
            result = Err(error)
            # A certificate that failed verification fails again: no point waiting.
            retryable = (
                retry.retry_connection_errors
                and isinstance(error, (ConnectionError, RequestTimeoutError))
                and not isinstance(exc, _TLS_ERRORS)
            )
        if debug:
            _log_attempt(operation, url, response, result, attempt, attempt_started)
        if result.ok:
            if hooks is not None and hooks.after_success:
                assert context is not None and response is not None
                for hook in hooks.after_success:
                    await _observe(hook, context, response)
            return result
        if hooks is not None and hooks.after_error:
            assert context is not None
            for error_hook in hooks.after_error:
                await _observe(error_hook, context, response, result.error)
        if not retryable or retry.strategy == "none":
            return result
        if retry.max_retries is not None and attempt > retry.max_retries:
            return result
        wait = retry_after_seconds(retry_after)
        if wait is None:
            if delays is None:
                delays = computed_delays(retry.backoff)
            wait = next(delays)
        else:
            wait = min(wait, retry.backoff.max_interval / 1000)
        if (retry.clock() - started + wait) * 1000 > retry.backoff.max_elapsed_time:
            return result
        if debug:
            logger.debug(
                "%s: retrying in %.3f s (attempt %d failed)", operation.operation_id, wait, attempt
            )
        await retry.sleep(wait)
        headers["X-Retry-Count"] = str(attempt)


def _read_success(
    core: AutumnCore,
    operation: Operation[Any, R],
    response: aiohttp.ClientResponse,
    data: bytes,
    too_large: bool,
    key: str,
    attempt: int,
) -> Result[R, AutumnSDKError]:
    if too_large:
        reason = f"body larger than {MAX_SUCCESS_BODY_BYTES} bytes (not read further)"
    else:
        try:
            return Ok(operation.read_response(data))
        except ValueError as exc:  # includes JSONDecodeError and UnicodeDecodeError
            content_type = response.headers.get("Content-Type", "no content type")
            reason = f"not valid JSON ({content_type}): {exc}" if data else "empty body"
        except Exception as exc:  # cattrs: wrong shape
            reason = validation_error(exc, "response").message
    return Err(
        invalid_success(
            reason,
            response.status,
            data,
            secret=core.secret(),
            idempotency_key=key,
            attempts=attempt,
        )
    )


_TLS_ERRORS = (aiohttp.ClientSSLError, aiohttp.ClientConnectorCertificateError)


def _client_error(
    exc: Exception, secret: str | None, timeout_s: float | None, key: str, attempt: int
) -> HTTPClientError:
    kind: type[HTTPClientError]
    if isinstance(exc, asyncio.TimeoutError):  # aiohttp's timeouts subclass it
        kind, text = RequestTimeoutError, f"no answer within {(timeout_s or 0) * 1000:g} ms"
    elif isinstance(exc, _TLS_ERRORS):
        kind, text = ConnectionError, f"TLS failure: {exc}"
    elif isinstance(exc, (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError)):
        kind, text = ConnectionError, f"connection failed: {type(exc).__name__}: {exc}"
    elif isinstance(exc, (aiohttp.InvalidURL, ValueError)):
        kind, text = InvalidRequestError, f"request could not be sent: {type(exc).__name__}: {exc}"
    else:
        kind, text = UnexpectedClientError, f"unexpected failure: {type(exc).__name__}: {exc}"
    error = kind(scrub(text, secret), idempotency_key=key, attempts=attempt)
    error.__cause__ = exc
    return error


class _Refused(Exception):
    pass


def _refused(exc: _Refused, key: str, attempt: int) -> InvalidRequestError:
    cause = exc.__cause__
    error = InvalidRequestError(
        f"refused by a before_request hook: {type(cause).__name__}: {cause}",
        idempotency_key=key,
        attempts=attempt,
    )
    error.__cause__ = cause
    return error


async def _before_request(
    hooks: tuple[Any, ...],
    context: HookContext,
    operation: Operation[Any, Any],
    url: Any,
    headers: dict[str, str],
    body: bytes,
) -> None:
    request = PreparedRequest(method=operation.method, url=str(url), headers=headers, body=body)
    try:
        for hook in hooks:
            outcome = hook(context, request)
            if inspect.isawaitable(outcome):
                await outcome
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        raise _Refused from exc


async def _observe(hook: Any, *args: Any) -> None:
    try:
        outcome = hook(*args)
        if inspect.isawaitable(outcome):
            await outcome
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.warning("an after-hook of the Autumn SDK failed; ignored", exc_info=True)


async def _unless_aborted(work: Awaitable[R], signal: asyncio.Event) -> R:
    if signal.is_set():
        if inspect.iscoroutine(work):
            work.close()
        raise _Aborted
    task = asyncio.ensure_future(work)
    waiter = asyncio.ensure_future(signal.wait())
    try:
        await asyncio.wait((task, waiter), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for pending in (task, waiter):
            if not pending.done():
                pending.cancel()
    if task.done() and not task.cancelled():
        return task.result()
    await asyncio.gather(task, return_exceptions=True)  # let the cancelled attempt unwind
    raise _Aborted


def _log_attempt(
    operation: Operation[Any, Any],
    url: Any,
    response: aiohttp.ClientResponse | None,
    result: Result[Any, AutumnSDKError],
    attempt: int,
    started: float,
) -> None:
    # Method, URL, outcome, attempt, elapsed: never headers, so never the key.
    outcome = (
        str(response.status)
        if response is not None
        else type(result.error).__name__
        if not result.ok
        else "ok"
    )
    logger.debug(
        "%s %s -> %s (%s, attempt %d, %.1f ms)",
        operation.method,
        url,
        outcome,
        operation.operation_id,
        attempt,
        (time.perf_counter() - started) * 1000,
    )
