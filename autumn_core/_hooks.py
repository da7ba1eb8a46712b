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

A core without hooks runs none of this: its attempts build no context.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

import aiohttp
import attrs

from autumn_core._errors import AutumnSDKError
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


async def run_before_request(
    hooks: Hooks, context: HookContext, request: PreparedRequest
) -> Exception | None:
    """Run the before_request hooks; the exception of the one that refused the attempt,
    if one did (the others after it do not run)."""
    for hook in hooks.before_request:
        try:
            await _maybe_await(hook(context, request))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return exc
    return None


async def run_after(hooks: Hooks, context: HookContext, outcome: Outcome[Any]) -> None:
    """Run the after_error or after_success hooks of an attempt's outcome. Their
    failures are logged and ignored."""
    result = outcome.result
    if isinstance(result, Err):
        for error_hook in hooks.after_error:
            await _observe(error_hook, context, outcome.response, result.error)
    elif outcome.response is not None:
        for hook in hooks.after_success:
            await _observe(hook, context, outcome.response)


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
