"""`AutumnCore`: configuration and a pooled aiohttp session, shared by every call."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine, Mapping
from types import TracebackType
from typing import Any, TypeVar

import aiohttp
import attrs

from autumn_core._body import ACCEPT_ENCODING
from autumn_core._call import call_operation
from autumn_core._call_context import CallContext, CallObserver, URLCache
from autumn_core._call_state import attempt_timeout
from autumn_core._config import CoreConfig, CoreSettings
from autumn_core._credentials import Credentials, SecretKey, credentials
from autumn_core._errors import AutumnSDKError, SDKValidationError
from autumn_core._field_checks import invalid
from autumn_core._hooks import Hooks
from autumn_core._operation import CheckedParams, Operation
from autumn_core._options import RequestOptions, RequestOptionsDict
from autumn_core._result import Err, Result
from autumn_core._retries import RetryConfig
from autumn_core._typing_backports import Unpack

_CLOSED = "this AutumnCore is closed; create a new one to make calls"
_OTHER_LOOP = (
    "this AutumnCore belongs to another event loop (the one it was first used in, or "
    "the one its session was created in): its connection pool cannot serve this one. "
    "Create the core inside the event loop that uses it: in FastAPI's lifespan, "
    "aiohttp's cleanup_ctx, or the coroutine given to asyncio.run(), not at module level"
)

P = TypeVar("P")
R = TypeVar("R")


class AutumnCore:
    """The transport every standalone function takes as its first argument.

    Create one per application and share it: it holds the connection pool.

    >>> async with AutumnCore(secret_key=os.environ["AUTUMN_SECRET_KEY"]) as core:
    ...     res = await balances_create(core, {"customer_id": "cus_123", ...})

    `secret_key` may be a string or an async callable returning one (for keys
    kept in a vault); it falls back to AUTUMN_SECRET_KEY. `server_url` falls
    back to AUTUMN_SERVER_URL, then https://api.useautumn.com. `timeout_ms`
    bounds each attempt (default 60 s); `total_timeout_ms` bounds a whole call,
    retries and waits included (default: no bound but the retry policy's).
    `max_retries` is a shortcut for `retry_config=RetryConfig(max_retries=...)`.
    `session` lets you bring your own aiohttp.ClientSession (its connector,
    SSL context, limits); the core then never closes it. The settings are
    kept, checked, in `core.config`.

    A core belongs to the event loop it is first used in: create it inside
    that loop (an app's lifespan), not at module level.
    """

    __slots__ = ("_closed", "_context", "_loop", "_owns_session", "_session", "config")

    config: CoreConfig

    def __init__(
        self,
        secret_key: SecretKey | None = None,
        *,
        session: aiohttp.ClientSession | None = None,
        **settings: Unpack[CoreSettings],
    ) -> None:
        key = credentials(secret_key)
        self.config = _checked_config(settings)
        self._session = _checked_session(session)
        self._owns_session = session is None
        # A session of the caller's belongs to the loop it was made in.
        self._loop: asyncio.AbstractEventLoop | None = getattr(session, "_loop", None)
        self._closed = False
        self._context = _call_context(self.config, key, self._session_for_call)

    @property
    def server_url(self) -> str:
        return self.config.server_url

    @property
    def x_api_version(self) -> str:
        return self.config.x_api_version

    @property
    def timeout_ms(self) -> float:
        return self.config.timeout_ms

    @property
    def total_timeout_ms(self) -> float | None:
        return self.config.total_timeout_ms

    @property
    def retry_config(self) -> RetryConfig:
        return self.config.retry_config

    @property
    def hooks(self) -> Hooks:
        return self.config.hooks

    def __repr__(self) -> str:
        fixed = self._context.credentials.fixed_authorization is not None
        key = "<hidden>" if fixed else "<callable>"
        return (
            f"{type(self).__name__}(server_url={self.server_url!r}, "
            f"x_api_version={self.x_api_version!r}, secret_key={key})"
        )

    async def __aenter__(self: _Core) -> _Core:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the session the core created (a session passed in is left open).

        A closed core refuses further calls with InvalidRequestError, rather than
        quietly opening a session that nothing would close."""
        self._closed = True
        if not self._owns_session:
            return
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    def call(
        self,
        operation: Operation[P, R],
        params: P | Mapping[str, Any] | CheckedParams,
        options: RequestOptions | RequestOptionsDict | None = None,
    ) -> Coroutine[Any, Any, Result[R, AutumnSDKError]]:
        """Run one operation: validate, send with retries, read the answer. Never raises
        for a failure; only task cancellation propagates. Await it:

        >>> res = await core.call(CREATE_BALANCE, params)

        The same as `run_operation(core, CREATE_BALANCE, params)`, which operation
        functions use."""
        # Not `async def`: returning the pipeline's coroutine saves a frame on every
        # suspension of the call.
        context = self._context
        if context.observer is None:
            return call_operation(context, operation, params, options)
        return context.observer(operation, call_operation(context, operation, params, options))

    def _session_for_call(self) -> aiohttp.ClientSession | str | None:
        """The pooled session, why no call can use it, or None outside a running loop."""
        if self._closed:
            return _CLOSED
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None
        if loop is not self._loop:
            if self._loop is not None:
                return _OTHER_LOOP
            self._loop = loop
        session = self._session
        if session is None:
            # Created here, inside the running loop, on first use; constructing it
            # is synchronous, so concurrent first calls cannot create two.
            session = self._session = aiohttp.ClientSession()
        return session


def run_operation(
    core: object,
    operation: Operation[P, R],
    params: P | Mapping[str, Any] | CheckedParams,
    options: RequestOptions | RequestOptionsDict | None = None,
) -> Coroutine[Any, Any, Result[R, AutumnSDKError]]:
    """The one entry path of every operation function: `core.call(operation, params,
    options)`, or, when `core` is no AutumnCore (None, a key, the blocking client), an
    `Err(SDKValidationError)` naming `core`, never an exception.

    >>> async def entities_get(core, params, options=None):
    ...     return await run_operation(core, GET_ENTITY, params, options)
    """
    if isinstance(core, AutumnCore):
        # What core.call does, without its frame: every call of every function runs this.
        context = core._context  # pyright: ignore[reportPrivateUsage]
        if context.observer is None:  # a None test: all an uninstrumented core pays
            return call_operation(context, operation, params, options)
        return context.observer(operation, call_operation(context, operation, params, options))
    return _not_a_core(core)


async def _not_a_core(core: object) -> Result[Any, AutumnSDKError]:
    given = "None" if core is None else type(core).__name__
    hint = (
        "; with AutumnSync, run a function through its client: autumn.call(balances_create, ...)"
        if hasattr(core, "balances") and hasattr(core, "close")
        else ": create one (`async with AutumnCore(...) as core:`) and pass it first"
    )
    return Err(
        SDKValidationError(f"invalid core: expected an AutumnCore, got {given}{hint}", field="core")
    )


def _checked_config(settings: CoreSettings) -> CoreConfig:
    unknown = sorted(set(settings) - CoreSettings.__optional_keys__)
    if unknown:  # what Python says of a keyword no signature names
        raise TypeError(f"AutumnCore() got an unexpected keyword argument {unknown[0]!r}")
    given: dict[str, Any] = dict(settings)
    given["retry_config"] = _retry_config(
        given.pop("retry_config", None), given.pop("max_retries", None)
    )
    given["server_url"] = given.get("server_url") or os.environ.get("AUTUMN_SERVER_URL") or None
    # None means "the default" for every setting.
    return CoreConfig(**{name: value for name, value in given.items() if value is not None})


def observe_calls(core: AutumnCore, hooks: Hooks, observer: CallObserver) -> None:
    """Install instrumentation on a core: `hooks` around each attempt, `observer`
    around each call.

    Private to autumn_core (its `otel` module calls it). The instrumentation's
    before_request hooks run after the caller's, so that a header set by the caller
    is sent as traced; its after hooks run first, so that an attempt's span ends
    when its answer was read.
    """
    context = core._context  # pyright: ignore[reportPrivateUsage]
    if context.observer is not None:
        raise SDKValidationError(
            "invalid core: this AutumnCore is already instrumented (instrument it once)",
            field="core",
        )
    own = core.config.hooks
    merged = Hooks(
        before_request=(*own.before_request, *hooks.before_request),
        after_success=(*hooks.after_success, *own.after_success),
        after_error=(*hooks.after_error, *own.after_error),
    )
    core._context = attrs.evolve(  # pyright: ignore[reportPrivateUsage]
        context, hooks=merged or None, observer=observer
    )


def _retry_config(retry_config: RetryConfig | None, max_retries: object) -> RetryConfig | None:
    if max_retries is None:
        return retry_config
    if retry_config is not None:
        raise SDKValidationError(
            "max_retries and retry_config: give one of them (max_retries is a shortcut for "
            "retry_config=RetryConfig(max_retries=...); put it in your RetryConfig instead)",
            field="max_retries",
        )
    if type(max_retries) is not int or max_retries < 0:
        raise invalid("max_retries", f"expected an integer >= 0, got {max_retries!r}")
    return RetryConfig(max_retries=max_retries)


def _checked_session(session: object) -> aiohttp.ClientSession | None:
    if session is None or isinstance(session, aiohttp.ClientSession):
        return session
    raise SDKValidationError(
        f"invalid session: expected an aiohttp.ClientSession, got {type(session).__name__}",
        field="session",
    )


def _call_context(
    config: CoreConfig,
    key: Credentials,
    session: Callable[[], aiohttp.ClientSession | str | None],
) -> CallContext:
    total = config.total_timeout_ms
    return CallContext(
        credentials=key,
        # Built once: per call only the Authorization and Idempotency-Key change.
        base_headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            # What aiohttp would send, but named: the SDK decodes these itself.
            "Accept-Encoding": ACCEPT_ENCODING,
            "User-Agent": config.user_agent,
            "x-api-version": config.x_api_version,
        },
        hooks=config.hooks or None,
        session=session,
        urls=URLCache(config.server_url),
        timeout=attempt_timeout(config.timeout_ms / 1000),
        retry=config.retry_config,
        total_timeout=None if total is None else total / 1000,
    )


_Core = TypeVar("_Core", bound=AutumnCore)
