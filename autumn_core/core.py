"""`AutumnCore`: configuration and a pooled aiohttp session, shared by every call."""

from __future__ import annotations

import os
from collections.abc import Callable, Coroutine, Mapping
from types import TracebackType
from typing import Any, TypeVar

import aiohttp

from autumn_core.call import call_operation
from autumn_core.call_context import CallContext, URLCache
from autumn_core.config import DEFAULT_SERVER_URL, CoreConfig
from autumn_core.credentials import Credentials, SecretKey, credentials
from autumn_core.errors import AutumnSDKError, SDKValidationError
from autumn_core.hooks import Hooks, hook_runner
from autumn_core.operation import Operation
from autumn_core.options import RequestOptions
from autumn_core.result import Result
from autumn_core.retries import RetryConfig

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
    bounds each attempt (default 60 s). `session` lets you bring your own
    aiohttp.ClientSession (its connector, SSL context, limits); the core then
    never closes it. The settings are kept, checked, in `core.config`.
    """

    __slots__ = ("_closed", "_context", "_owns_session", "_session", "config")

    config: CoreConfig

    def __init__(
        self,
        secret_key: SecretKey | None = None,
        *,
        server_url: str | None = None,
        x_api_version: str = "2.1",
        timeout_ms: float | None = None,
        retry_config: RetryConfig | None = None,
        user_agent: str | None = None,
        session: aiohttp.ClientSession | None = None,
        hooks: Hooks | None = None,
    ) -> None:
        key = credentials(secret_key)
        settings: dict[str, Any] = {
            "server_url": server_url or os.environ.get("AUTUMN_SERVER_URL") or DEFAULT_SERVER_URL,
            "x_api_version": x_api_version,
            "timeout_ms": timeout_ms,
            "retry_config": retry_config,
            "user_agent": user_agent,
            "hooks": hooks,
        }
        # None means "the default" for every setting.
        self.config = CoreConfig(**{k: v for k, v in settings.items() if v is not None})
        self._session = _checked_session(session)
        self._owns_session = session is None
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
        params: P | Mapping[str, Any],
        options: RequestOptions | Mapping[str, Any] | None = None,
    ) -> Coroutine[Any, Any, Result[R, AutumnSDKError]]:
        """Run one operation: validate, send with retries, read the answer. Never raises
        for a failure; only task cancellation propagates. Await it:

        >>> res = await core.call(CREATE_BALANCE, params)

        (A plain method returning the pipeline's coroutine: one frame less on every
        suspension of every call.)"""
        return call_operation(self._context, operation, params, options)

    def _session_for_call(self) -> aiohttp.ClientSession | None:
        if self._closed:
            return None
        session = self._session
        if session is None:
            # Created here, inside the running loop, on first use; constructing it
            # is synchronous, so concurrent first calls cannot create two.
            session = self._session = aiohttp.ClientSession()
        return session


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
    session: Callable[[], aiohttp.ClientSession | None],
) -> CallContext:
    return CallContext(
        credentials=key,
        # Built once: per call only the Authorization and Idempotency-Key change.
        base_headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": config.user_agent,
            "x-api-version": config.x_api_version,
        },
        hooks=hook_runner(config.hooks),
        session=session,
        urls=URLCache(config.server_url),
        timeout=aiohttp.ClientTimeout(total=config.timeout_ms / 1000),
        retry=config.retry_config,
    )


_Core = TypeVar("_Core", bound=AutumnCore)
