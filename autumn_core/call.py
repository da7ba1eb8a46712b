"""One call, end to end: validate, send with retries, read the answer, return a Result.

    call_operation(context, operation, params, options)
      -> options and params checked, body encoded, headers built (no I/O)
      -> _run: attempt = send_attempt(call)          (autumn_core.attempt: the only I/O)
               wait  = next_wait(outcome, ...)       (autumn_core.retries: a pure decision)
               until wait is None; then the last outcome's result

Every failure becomes an `Err`; only `asyncio.CancelledError` propagates, as
asyncio code expects.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Mapping
from os import urandom
from typing import Any, TypeVar

import aiohttp
import attrs
import yarl

from autumn_core.attempt import PreparedCall, send_attempt
from autumn_core.call_context import CallContext
from autumn_core.errors import (
    AutumnSDKError,
    InvalidRequestError,
    RequestAbortedError,
    SDKValidationError,
)
from autumn_core.operation import Operation
from autumn_core.options import RequestOptions, request_options
from autumn_core.result import Err, Result
from autumn_core.retries import next_wait
from autumn_core.serde import encode_json, validation_error

P = TypeVar("P")
R = TypeVar("R")
T = TypeVar("T")

logger: logging.Logger = logging.getLogger("autumn")


async def call_operation(
    context: CallContext,
    operation: Operation[P, R],
    params: P | Mapping[str, Any],
    options: RequestOptions | Mapping[str, Any] | None,
) -> Result[R, AutumnSDKError]:
    checked = _checked(operation, params, options)
    if isinstance(checked, SDKValidationError):
        return Err(checked)
    opts, body = checked
    key = _idempotency_key(operation, opts)
    if isinstance(key, SDKValidationError):
        return Err(key)
    authorization = context.credentials.fixed_authorization
    if authorization is None:  # the key comes from a callable, asked on every call
        fetched = await _fetch_authorization(context, key)
        if isinstance(fetched, AutumnSDKError):
            return Err(fetched)
        authorization = fetched
    call = _prepared_call(context, operation, opts, body, key, authorization)
    if isinstance(call, AutumnSDKError):
        return Err(call)
    if opts is None or opts.abort_signal is None:
        return await _run(call)
    return await _run_unless_aborted(call, opts.abort_signal)


async def _run(call: PreparedCall[R]) -> Result[R, AutumnSDKError]:
    retry = call.retry
    started = retry.clock()
    while True:
        call.attempts += 1
        outcome = await send_attempt(call)
        if outcome.result.ok:  # a success ends the call; the policy judges failures
            return outcome.result
        wait = next_wait(outcome, call.attempts, retry.clock() - started, retry)
        if wait is None:
            return outcome.result
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s: retrying in %.3f s (attempt %d failed)",
                call.operation_id,
                wait,
                call.attempts,
            )
        await retry.sleep(wait)
        call.headers["X-Retry-Count"] = str(call.attempts)


def _prepared_call(
    context: CallContext,
    operation: Operation[Any, R],
    opts: RequestOptions | None,
    body: bytes,
    key: str | None,
    authorization: str,
) -> PreparedCall[R] | AutumnSDKError:
    """The call ready to send (no I/O), or why it cannot be."""
    headers = dict(context.base_headers)
    headers["Authorization"] = authorization
    if key is not None:
        headers["Idempotency-Key"] = key
    session = context.session()
    if session is None:
        return InvalidRequestError(
            "this AutumnCore is closed; create a new one to make calls", idempotency_key=key
        )
    if opts is None:  # the usual case: the core's settings
        url = context.urls.url(operation.path)
        return PreparedCall(
            context, operation, session, url, headers, body, key, context.timeout, context.retry
        )
    return _with_options(context, operation, session, opts, headers, body, key)


def _checked(
    operation: Operation[P, R],
    params: P | Mapping[str, Any],
    options: RequestOptions | Mapping[str, Any] | None,
) -> tuple[RequestOptions | None, bytes] | SDKValidationError:
    """The options and the encoded body, or the first thing wrong with them."""
    try:
        opts = None if options is None else request_options(options)
        model = operation.structure_params(params, operation.params_type)
    except SDKValidationError as exc:
        return exc
    except Exception as exc:  # cattrs' grouped errors, turned into field names
        return validation_error(exc, "params")
    return opts, encode_json(operation.unstructure_params(model)).encode()


def _idempotency_key(
    operation: Operation[Any, Any], opts: RequestOptions | None
) -> str | SDKValidationError | None:
    """The call's key: the caller's or a fresh one for a write, none for a read."""
    own = opts.idempotency_key if opts is not None else None
    if not operation.writes:
        if own is None:
            return None
        # Autumn checks the key on reads too: a retried read would be refused with 409.
        return SDKValidationError(
            f"invalid options.idempotency_key: {operation.operation_id} is a read, and "
            "reads send no Idempotency-Key",
            field="options.idempotency_key",
        )
    # 128 random bits: as unique as a UUID4, at a fifth of the cost.
    return own or urandom(16).hex()


async def _fetch_authorization(context: CallContext, key: str | None) -> str | AutumnSDKError:
    try:
        return await context.credentials.authorization()
    except asyncio.CancelledError:
        raise
    except SDKValidationError as exc:  # the callable returned something that is no key
        exc.idempotency_key = key
        return exc
    except Exception as exc:
        error = InvalidRequestError(
            f"the secret_key callable failed: {type(exc).__name__}", idempotency_key=key
        )
        error.__cause__ = exc
        return error


def _with_options(
    context: CallContext,
    operation: Operation[Any, R],
    session: aiohttp.ClientSession,
    opts: RequestOptions,
    headers: dict[str, str],
    body: bytes,
    key: str | None,
) -> PreparedCall[R]:
    if opts.headers:
        headers.update(opts.headers)
    url = (
        context.urls.url(operation.path)
        if opts.server_url is None
        else yarl.URL(opts.server_url + operation.path)  # not cached: the cache stays small
    )
    timeout = (
        context.timeout
        if opts.timeout_ms is None
        else aiohttp.ClientTimeout(total=opts.timeout_ms / 1000)
    )
    retry = opts.retries or context.retry
    if opts.retry_codes is not None:  # an empty set is a choice: retry no status
        retry = attrs.evolve(retry, retry_codes=opts.retry_codes)
    return PreparedCall(context, operation, session, url, headers, body, key, timeout, retry)


async def _run_unless_aborted(
    call: PreparedCall[R], signal: asyncio.Event
) -> Result[R, AutumnSDKError]:
    result = await _unless_aborted(_run(call), signal)
    if result is None:
        aborted = RequestAbortedError(
            "aborted by the caller's abort_signal",
            idempotency_key=call.idempotency_key,
            attempts=call.attempts,
        )
        return Err(aborted)
    return result


async def _unless_aborted(work: Awaitable[T], signal: asyncio.Event) -> T | None:
    """The result of `work`, or None if `signal` is set first (`work` is then cancelled)."""
    if signal.is_set():
        if inspect.iscoroutine(work):
            work.close()
        return None
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
    return None
