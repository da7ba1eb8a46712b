"""One call, end to end: validate, send with retries, read the answer, return a Result.

    call_operation(context, operation, params, options)
      -> options and params checked, body encoded, headers built (no I/O)
      -> _run: attempt = send_attempt(call)          (autumn_core._attempt: the only I/O)
               wait  = next_wait(outcome, ...)       (autumn_core._retries: a pure decision)
               until wait is None; then the last outcome's result

Along the way the call keeps what its attempts showed about its change
(autumn_core._applied): an error says whether the change may have been applied,
and a retry refused as a duplicate of an accepted attempt is confirmed once,
then reported as the success it was.

Every failure becomes an `Err`; only `asyncio.CancelledError` propagates, as
asyncio code expects.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Coroutine, Mapping
from os import urandom
from typing import Any, TypeVar

import aiohttp
import attrs
import yarl

from autumn_core._applied import is_duplicate, leaves_doubt, may_have_run
from autumn_core._attempt import send_attempt
from autumn_core._call_context import CallContext
from autumn_core._call_mark import note_write_sent
from autumn_core._call_state import CallState, attempt_timeout
from autumn_core._errors import (
    Applied,
    AutumnError,
    AutumnSDKError,
    InvalidRequestError,
    RequestAbortedError,
    RequestTimeoutError,
    SDKValidationError,
)
from autumn_core._operation import CheckedParams, Operation
from autumn_core._options import RequestOptions, RequestOptionsDict, request_options
from autumn_core._outcome import Outcome
from autumn_core._result import Err, Ok, Result
from autumn_core._retries import next_wait
from autumn_core._serde import encode_json

P = TypeVar("P")
R = TypeVar("R")
T = TypeVar("T")

logger: logging.Logger = logging.getLogger("autumn")


def fresh_key() -> str:
    """A new Idempotency-Key."""
    # 128 random bits in hex: as unique as a UUID4, at about a quarter of the cost of
    # str(uuid.uuid4()) (timeit, CPython 3.11), paid by every write.
    return urandom(16).hex()


def call_operation(
    context: CallContext,
    operation: Operation[P, R],
    params: P | Mapping[str, Any] | CheckedParams,
    options: RequestOptions | RequestOptionsDict | None,
) -> Coroutine[Any, Any, Result[R, AutumnSDKError]]:
    """The call, checked and prepared here, as the coroutine that sends it. Called from
    the coroutine of an operation function, in its event loop."""
    # Not `async def`: the usual call returns _run's coroutine itself, so no frame of
    # this function sits above the attempts, to be passed through on every suspension.
    checked = _checked(operation, params, options)
    if isinstance(checked, SDKValidationError):
        return _returned(Err(checked))
    opts, body = checked
    if opts is None:  # the usual case: a fresh key for a write, none for a read
        key: str | None = fresh_key() if operation.writes else None
    else:
        chosen = _idempotency_key(operation, opts)
        if isinstance(chosen, SDKValidationError):
            return _returned(Err(chosen))
        key = chosen
    authorization = context.credentials.fixed_authorization
    if authorization is None:  # the key comes from a callable, asked on every call
        return _authorized(context, operation, opts, body, key)
    return _attempted(context, operation, opts, body, key, authorization)


async def _authorized(
    context: CallContext,
    operation: Operation[Any, R],
    opts: RequestOptions | None,
    body: bytes,
    key: str | None,
    authorization: str | None = None,
) -> Result[R, AutumnSDKError]:
    """The call, once its Authorization is known (fetched here when not given)."""
    if authorization is None:
        fetched = await _fetch_authorization(context, key)
        if isinstance(fetched, AutumnSDKError):
            return Err(fetched)
        authorization = fetched
    return await _attempted(context, operation, opts, body, key, authorization)


def _attempted(
    context: CallContext,
    operation: Operation[Any, R],
    opts: RequestOptions | None,
    body: bytes,
    key: str | None,
    authorization: str,
) -> Coroutine[Any, Any, Result[R, AutumnSDKError]]:
    call = _prepared_call(context, operation, opts, body, key, authorization)
    if call is None:  # built outside the loop that will await it: prepared in it
        return _authorized(context, operation, opts, body, key, authorization)
    if isinstance(call, AutumnSDKError):
        return _returned(Err(call))
    if opts is None or opts.abort_signal is None:
        return _run(call)
    return _run_unless_aborted(call, opts.abort_signal)


async def _returned(result: Result[R, AutumnSDKError]) -> Result[R, AutumnSDKError]:
    return result


async def _run(call: CallState[R]) -> Result[R, AutumnSDKError]:
    retry = call.retry
    started = retry.clock()
    if call.operation.writes:
        note_write_sent(call.operation.atomic)
    while True:
        if call.total_timeout is not None and not call.fit_to_total_timeout(started):
            return _ended(call, _out_of_time(call))
        outcome = await send_attempt(call, call.begin_attempt())
        if outcome.result.ok:  # a success ends the call; the policy judges failures
            return _ended(call, outcome.result)
        step = _after_failure(call, outcome, started)
        if isinstance(step, (Ok, Err)):
            return _ended(call, step)
        if logger.isEnabledFor(logging.INFO):
            _log_retry(call, outcome, step)
        await call.pause(step)


def _ended(call: CallState[R], result: Result[R, AutumnSDKError]) -> Result[R, AutumnSDKError]:
    """The call's result, once the core keeps what it showed of its key across the
    calls that share it (autumn_core._keys_in_doubt)."""
    key = call.idempotency_key
    if key is not None:
        doubts = call.context.keys_in_doubt
        if isinstance(result, Err):
            doubts.after_error(key, result.error)
        elif doubts:
            doubts.settled(key)
    return result


def _after_failure(
    call: CallState[R], outcome: Outcome[R], started: float
) -> float | Result[R, AutumnSDKError]:
    """Seconds to wait before the next attempt, or what the call comes to."""
    if call.operation.writes:
        if is_duplicate(outcome) and call.attempts > 1:
            return _on_duplicate(call, outcome, started)
        if leaves_doubt(outcome):
            call.note_doubt()
        if not call.operation.atomic and may_have_run(outcome):
            # A step may be applied and the key freed: a resend could apply it again.
            call.note_doubt()
            return _concluded(call, outcome)
    retry = call.retry
    now = retry.clock()
    wait = next_wait(outcome, call.attempts, now - started, retry, call.remaining(started, now))
    return _concluded(call, outcome) if wait is None else wait


def _on_duplicate(
    call: CallState[R], outcome: Outcome[R], started: float
) -> float | Result[R, AutumnSDKError]:
    """A retry refused as a duplicate: trusted the second time, confirmed the first."""
    if call.duplicate_seen:
        return _deduplicated(call, outcome)
    call.note_duplicate()
    wait = call.retry.confirm_duplicate_after_ms / 1000
    remaining = call.remaining(started, call.retry.clock())
    if remaining is not None and wait >= remaining:
        return _concluded(call, outcome)
    return wait


def _deduplicated(call: CallState[R], outcome: Outcome[R]) -> Result[R, AutumnSDKError]:
    result = outcome.result
    if isinstance(result, Ok):
        return result
    fixed = call.operation.fixed_response
    if not call.own_key and fixed is not None:
        # The SDK's key is this call's alone: the attempt the server holds is ours.
        return Ok(fixed, deduplicated=True)
    error = result.error
    error.applied = Applied.ALREADY
    if not call.own_key and isinstance(error, AutumnError):
        error.earlier_attempt_accepted = True
    return result


def _concluded(call: CallState[R], outcome: Outcome[R]) -> Result[R, AutumnSDKError]:
    """The call's result once no attempt follows, its error saying whether the change
    may have been applied. A read applies nothing."""
    result = outcome.result
    if isinstance(result, Err) and call.operation.writes:
        if is_duplicate(outcome) and call.attempts == 1:
            result.error.applied = Applied.ALREADY  # a key used before this call
        elif call.in_doubt:
            _maybe_applied(call, result.error)
    return result


def _maybe_applied(call: CallState[Any], error: AutumnSDKError) -> None:
    """Mark `error`: the call's change may have been applied (partly, for an
    operation the server runs in steps, whose key then no longer guards a resend)."""
    error.applied = Applied.UNKNOWN
    error.may_be_partial = not call.operation.atomic


def _out_of_time(call: CallState[R]) -> Result[R, AutumnSDKError]:
    error = RequestTimeoutError(
        f"the call's total_timeout_ms of {(call.total_timeout or 0) * 1000:g} ms ran out "
        f"before attempt {call.attempts + 1}",
        idempotency_key=call.idempotency_key,
        attempts=call.attempts,
    )
    if call.operation.writes and call.in_doubt:
        _maybe_applied(call, error)
    return Err(error)


def _log_retry(call: CallState[Any], outcome: Outcome[Any], wait: float) -> None:
    # One line per retry, for production logs: why, how long, and the key to trace
    # the call by on the server. Never a header, so never the secret.
    result = outcome.result
    if outcome.status is not None:
        reason = f"{outcome.status} {outcome.code or ''}".rstrip()
    elif isinstance(result, Err):
        reason = f"{type(result.error).__name__}: {result.error.args[0]}"[:200]
    else:
        reason = "no answer"
    plan = "confirming the duplicate" if is_duplicate(outcome) else "retrying"
    logger.info(
        "%s: attempt %d failed (%s); %s in %.3f s%s; idempotency key %s",
        call.operation_id,
        call.attempts,
        reason,
        plan,
        wait,
        " (from Retry-After)" if outcome.retry_after is not None else "",
        call.idempotency_key or "none (a read)",
    )


def _prepared_call(
    context: CallContext,
    operation: Operation[Any, R],
    opts: RequestOptions | None,
    body: bytes,
    key: str | None,
    authorization: str,
) -> CallState[R] | AutumnSDKError | None:
    """The call ready to send (no I/O), why it cannot be, or None outside a running
    event loop."""
    session = context.session()
    if session is None or isinstance(session, str):  # str: closed, or bound to another loop
        return None if session is None else InvalidRequestError(session, idempotency_key=key)
    headers = dict(context.base_headers)
    headers["Authorization"] = authorization
    if key is not None:
        headers["Idempotency-Key"] = key
    if opts is None:  # the usual case: the core's settings
        return CallState.new(
            context=context,
            operation=operation,
            session=session,
            url=context.urls.url(operation.path),
            headers=headers,
            body=body,
            idempotency_key=key,
        )
    return _with_options(context, operation, session, opts, headers, body, key)


def _checked(
    operation: Operation[P, R],
    params: P | Mapping[str, Any] | CheckedParams,
    options: RequestOptions | RequestOptionsDict | None,
) -> tuple[RequestOptions | None, bytes] | SDKValidationError:
    """The options and the encoded body, or the first thing wrong with them."""
    try:
        opts = None if options is None else request_options(options)
        if isinstance(params, CheckedParams):
            fields = _checked_fields(operation, params)
        else:
            fields = operation.params_fields(params)
    except SDKValidationError as exc:
        return exc
    if operation.body_field is not None:
        return _array_body(operation, operation.body_field, fields, opts)
    if opts is not None and opts.extra_body:
        clash = _modelled(operation, opts.extra_body)
        if clash is not None:
            return clash
        fields.update(opts.extra_body)
    return opts, encode_json(fields).encode()


def _checked_fields(operation: Operation[Any, Any], params: CheckedParams) -> dict[str, Any]:
    """The fields of params checked before (`operation.check`): sent as they are."""
    if params.operation_id != operation.operation_id:
        raise SDKValidationError(
            f"invalid params: checked for {params.operation_id}, not {operation.operation_id}",
            field="params",
        )
    if operation.body_field is not None:
        return {operation.body_field: params.fields}
    return dict(params.fields)  # extra_body may be merged in: the caller's stays as it was


def _array_body(
    operation: Operation[Any, Any],
    body_field: str,
    fields: dict[str, Any],
    opts: RequestOptions | None,
) -> tuple[RequestOptions | None, bytes] | SDKValidationError:
    """The body of an operation that sends one field of its params as the whole body."""
    if opts is not None and opts.extra_body:
        return SDKValidationError(
            f"invalid options.extra_body: {operation.operation_id} sends a JSON array as its "
            "body, which has no room for extra fields",
            field="options.extra_body",
        )
    return opts, encode_json(fields[body_field]).encode()


def _modelled(
    operation: Operation[Any, Any], extra: Mapping[str, object]
) -> SDKValidationError | None:
    """Why `extra` may not be merged into the body: it names a field the params model."""
    kind = operation.params_type
    modelled = {a.name for a in attrs.fields(kind)} if attrs.has(kind) else set[str]()
    for name in sorted(set(extra) & modelled):
        field = f"options.extra_body.{name}"
        return SDKValidationError(
            f"invalid {field}: {name} is a field of {kind.__name__}; set it in params "
            "(extra_body is for fields this SDK does not know)",
            field=field,
        )
    return None


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
    return own or fresh_key()


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
) -> CallState[R]:
    if opts.headers:
        for name, value in opts.headers.items():  # replaces a header of the SDK's in any case
            for same in [n for n in headers if n.lower() == name.lower()]:
                del headers[same]
            headers[name] = value
    url = (
        context.urls.url(operation.path)
        if opts.server_url is None
        else yarl.URL(opts.server_url + operation.path)  # not cached: the cache stays small
    )
    timeout = (
        context.timeout if opts.timeout_ms is None else attempt_timeout(opts.timeout_ms / 1000)
    )
    retry = opts.retries or context.retry
    if opts.retry_codes is not None:  # an empty set is a choice: retry no status
        retry = attrs.evolve(retry, retry_codes=opts.retry_codes)
    total = context.total_timeout if opts.total_timeout_ms is None else opts.total_timeout_ms / 1000
    return CallState.new(
        context=context,
        operation=operation,
        session=session,
        url=url,
        headers=headers,
        body=body,
        idempotency_key=key,
        own_key=opts.idempotency_key is not None,
        retry=retry,
        attempt_timeout=timeout,
        total_timeout=total,
    )


async def _run_unless_aborted(
    call: CallState[R], signal: asyncio.Event
) -> Result[R, AutumnSDKError]:
    result = await _unless_aborted(_run(call), signal)
    if result is None:
        aborted = RequestAbortedError(
            "aborted by the caller's abort_signal",
            idempotency_key=call.idempotency_key,
            attempts=call.attempts,
        )
        # Stopped mid-attempt, the request may have reached the server.
        in_flight = call.attempts > 0 and not call.waiting
        if call.operation.writes and (call.in_doubt or in_flight):
            _maybe_applied(call, aborted)
        return _ended(call, Err(aborted))
    return result  # _run kept what it showed of the key


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
