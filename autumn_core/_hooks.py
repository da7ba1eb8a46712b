"""Hooks: code of the caller's that runs around every HTTP attempt.

- `before_request(context, request)`: may change `request.headers` in place
  (sign, tag, trace); raising refuses the attempt, which ends the call in
  `InvalidRequestError` with the hook's exception as `__cause__`.
- `after_success(context, response)`: a 2xx answer arrived (body already read,
  as it came: the SDK decodes gzip and deflate bodies itself, within bounds, so
  `response.read()` gives the compressed bytes of a compressed answer).
- `after_error(context, response, error)`: the attempt failed; `response` is
  None when no HTTP answer came. Called for every failed attempt, retried or not.

Each may be a plain function or a coroutine function. An exception from an
after-hook is logged and otherwise ignored: a metrics hook must never turn an
applied grant into a reported failure.

The call pipeline runs them through a `HookRunner`; a core without hooks gets
`NO_HOOKS`, which does nothing and builds no context.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any, Protocol, TypeVar

import aiohttp
import attrs
import yarl

from autumn_core._errors import AutumnSDKError, InvalidRequestError
from autumn_core._outcome import Outcome
from autumn_core._result import Err

logger: logging.Logger = logging.getLogger("autumn")


@attrs.frozen(kw_only=True)
class HookContext:
    """What a hook may know about the attempt."""

    operation_id: str
    base_url: str
    idempotency_key: str | None  # None for a read, which sends no key
    attempt: int


def _headers_repr(headers: MutableMapping[str, str]) -> str:
    # A hook that logs its request must not log the secret key with it.
    shown = {
        name: "<hidden>" if name.lower() == "authorization" else value
        for name, value in headers.items()
    }
    return repr(shown)


@attrs.define(kw_only=True)
class PreparedRequest:
    """The attempt about to be sent. Only `headers` is meant to be changed.

    Its repr hides the Authorization header, so logging a request is safe.
    """

    method: str
    url: str
    headers: MutableMapping[str, str] = attrs.field(repr=_headers_repr)
    body: bytes


_Maybe = None | Awaitable[None]
BeforeRequestHook = Callable[[HookContext, PreparedRequest], _Maybe]
AfterSuccessHook = Callable[[HookContext, aiohttp.ClientResponse], _Maybe]
AfterErrorHook = Callable[[HookContext, aiohttp.ClientResponse | None, AutumnSDKError], _Maybe]


def _as_tuple(value: Sequence[Any] | None) -> tuple[Any, ...]:
    return tuple(value or ())


@attrs.frozen(kw_only=True)
class Hooks:
    """Lists of hooks, run in order.

    >>> def tag(ctx, request): request.headers["X-Request-Source"] = "checkout"
    >>> AutumnCore(hooks=Hooks(before_request=[tag]))
    """

    before_request: tuple[BeforeRequestHook, ...] = attrs.field(default=(), converter=_as_tuple)
    after_success: tuple[AfterSuccessHook, ...] = attrs.field(default=(), converter=_as_tuple)
    after_error: tuple[AfterErrorHook, ...] = attrs.field(default=(), converter=_as_tuple)

    def __bool__(self) -> bool:
        return bool(self.before_request or self.after_success or self.after_error)


class AttemptTarget(Protocol):
    """What a hook runner reads of the call being attempted."""

    @property
    def operation_id(self) -> str: ...
    @property
    def method(self) -> str: ...
    @property
    def url(self) -> yarl.URL: ...
    @property
    def idempotency_key(self) -> str | None: ...
    @property
    def headers(self) -> MutableMapping[str, str]: ...
    @property
    def body(self) -> bytes: ...


C = TypeVar("C", bound=AttemptTarget)
R = TypeVar("R")
Send = Callable[[C, int], Awaitable[Outcome[R]]]


class HookRunner:
    """Runs a core's `Hooks` around each attempt of a call.

    `run(call, attempt, send)` is the attempt as the pipeline awaits it:
    before_request hooks, then `send(call, attempt)` unless one refused, then
    after_success or after_error.
    """

    __slots__ = ("_hooks",)

    def __init__(self, hooks: Hooks) -> None:
        self._hooks = hooks

    def run(self, call: C, attempt: int, send: Send[C, R]) -> Awaitable[Outcome[R]]:
        return self._around(call, attempt, send)

    async def _around(self, call: C, attempt: int, send: Send[C, R]) -> Outcome[R]:
        context = _context(call, attempt)
        refusal = await self._before_request(call, context)
        if refusal is None:
            outcome = await send(call, attempt)
        else:
            outcome = _refused(call, refusal, attempt)
        await self._after(context, outcome)
        return outcome

    async def _before_request(self, call: AttemptTarget, context: HookContext) -> Exception | None:
        """The exception of the before_request hook that refused the attempt, if one did."""
        request = PreparedRequest(
            method=call.method, url=str(call.url), headers=call.headers, body=call.body
        )
        for hook in self._hooks.before_request:
            try:
                await _maybe_await(hook(context, request))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                return exc
        return None

    async def _after(self, context: HookContext, outcome: Outcome[Any]) -> None:
        # Failures of after-hooks are logged and ignored.
        result = outcome.result
        if isinstance(result, Err):
            for error_hook in self._hooks.after_error:
                await _observe(error_hook, context, outcome.response, result.error)
        elif outcome.response is not None:
            for hook in self._hooks.after_success:
                await _observe(hook, context, outcome.response)


class _NoHooks(HookRunner):
    """The runner of a core without hooks: the attempt itself, with nothing around it."""

    __slots__ = ()

    def run(self, call: C, attempt: int, send: Send[C, R]) -> Awaitable[Outcome[R]]:
        return send(call, attempt)


NO_HOOKS: HookRunner = _NoHooks(Hooks())


def hook_runner(hooks: Hooks) -> HookRunner:
    return HookRunner(hooks) if hooks else NO_HOOKS


def _refused(call: AttemptTarget, cause: Exception, attempt: int) -> Outcome[Any]:
    error = InvalidRequestError(
        f"refused by a before_request hook: {type(cause).__name__}: {cause}",
        idempotency_key=call.idempotency_key,
        attempts=attempt,
    )
    error.__cause__ = cause
    return Outcome(Err(error), failure="refused_by_hook", may_have_reached_server=False)


def _context(call: AttemptTarget, attempt: int) -> HookContext:
    return HookContext(
        operation_id=call.operation_id,
        base_url=str(call.url.origin()),
        idempotency_key=call.idempotency_key,
        attempt=attempt,
    )


async def _maybe_await(value: object) -> None:
    if inspect.isawaitable(value):
        await value


async def _observe(hook: Callable[..., object], *args: object) -> None:
    try:
        await _maybe_await(hook(*args))
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.warning("an after-hook of the Autumn SDK failed; ignored", exc_info=True)
