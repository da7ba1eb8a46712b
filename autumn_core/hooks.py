"""Hooks: code of the caller's that runs around every HTTP attempt.

- `before_request(context, request)`: may change `request.headers` in place
  (sign, tag, trace); raising refuses the attempt, which ends the call in
  `InvalidRequestError` with the hook's exception as `__cause__`.
- `after_success(context, response)`: a 2xx answer arrived (body already read).
- `after_error(context, response, error)`: the attempt failed; `response` is
  None when no HTTP answer came. Called for every failed attempt, retried or not.

Each may be a plain function or a coroutine function. An exception from an
after-hook is logged and otherwise ignored: a metrics hook must never turn an
applied grant into a reported failure.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

import aiohttp
import attrs

from autumn_core.errors import AutumnSDKError


@attrs.frozen(kw_only=True)
class HookContext:
    """What a hook may know about the attempt."""

    operation_id: str
    base_url: str
    idempotency_key: str
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
