"""`AutumnCore`: configuration and a pooled aiohttp session, shared by every call."""

from __future__ import annotations

import os
import platform
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, TypeVar

import aiohttp
import yarl

from autumn_core.call import call_operation
from autumn_core.errors import AutumnSDKError, InvalidRequestError, SDKValidationError
from autumn_core.hooks import Hooks
from autumn_core.operation import Operation
from autumn_core.options import RequestOptions, is_header_text, is_positive_ms
from autumn_core.result import Result
from autumn_core.retries import RetryConfig
from autumn_core.version import __version__

P = TypeVar("P")
R = TypeVar("R")

DEFAULT_SERVER_URL = "https://api.useautumn.com"
DEFAULT_TIMEOUT_MS = 60_000

SecretKey = str | Callable[[], Awaitable[str]]


def _header_token(text: object) -> bool:
    """Header text without spaces, as a key or a version must be."""
    return is_header_text(text) and " " not in text


def _check_secret(key: object) -> str:
    # Never echo the key itself in the message: it may be a real one, mistyped.
    if not isinstance(key, str) or not key:
        raise SDKValidationError(
            "secret_key: expected a non-empty string or an async callable returning one",
            field="secret_key",
        )
    if not _header_token(key):
        raise SDKValidationError(
            "secret_key: contains whitespace or characters not allowed in an HTTP header",
            field="secret_key",
        )
    return key


def _check_server_url(url: object) -> str:
    try:
        parsed = yarl.URL(url) if isinstance(url, str) else None
    except ValueError:  # yarl refuses some URLs outright, e.g. "http://[oops"
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise SDKValidationError(
            f"server_url: expected an http:// or https:// URL with a host, got {url!r}",
            field="server_url",
        )
    return str(url).rstrip("/")


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
    never closes it.
    """

    __slots__ = (
        "_active_hooks",
        "_authorization",
        "_closed",
        "_headers",
        "_key_source",
        "_last_key",
        "_owns_session",
        "_session",
        "_timeout",
        "_urls",
        "hooks",
        "retry_config",
        "server_url",
        "timeout_ms",
        "x_api_version",
    )

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
        if secret_key is None:
            secret_key = os.environ.get("AUTUMN_SECRET_KEY")
            if not secret_key:
                raise SDKValidationError(
                    "secret_key: none given and AUTUMN_SECRET_KEY is not set", field="secret_key"
                )
        if callable(secret_key):
            self._key_source: Callable[[], Awaitable[str]] | None = secret_key
            self._authorization: str | None = None
            self._last_key: str | None = None
        else:
            self._key_source = None
            self._last_key = _check_secret(secret_key)
            self._authorization = "Bearer " + self._last_key
        self.server_url = _check_server_url(
            server_url or os.environ.get("AUTUMN_SERVER_URL") or DEFAULT_SERVER_URL
        )
        if not (x_api_version and _header_token(x_api_version)):
            raise SDKValidationError(
                f"x_api_version: expected a version such as '2.1', got {x_api_version!r}",
                field="x_api_version",
            )
        self.x_api_version = x_api_version
        if timeout_ms is not None and not is_positive_ms(timeout_ms):
            raise SDKValidationError(
                f"timeout_ms: expected milliseconds > 0, got {timeout_ms!r}", field="timeout_ms"
            )
        self.timeout_ms: float = timeout_ms or DEFAULT_TIMEOUT_MS
        self._timeout = aiohttp.ClientTimeout(total=self.timeout_ms / 1000)
        if retry_config is not None and not isinstance(retry_config, RetryConfig):
            raise SDKValidationError("retry_config: expected a RetryConfig", field="retry_config")
        self.retry_config = retry_config or RetryConfig()
        if hooks is not None and not isinstance(hooks, Hooks):
            raise SDKValidationError("hooks: expected a Hooks instance", field="hooks")
        self.hooks = hooks or Hooks()
        self._active_hooks = self.hooks if self.hooks else None  # None: the fast path
        if user_agent is None:
            user_agent = (
                f"autumn-balances-python/{__version__} aiohttp/{aiohttp.__version__} "
                f"python/{platform.python_version()}"
            )
        elif not is_header_text(user_agent):
            raise SDKValidationError(
                "user_agent: expected printable ASCII text (it is sent as a header)",
                field="user_agent",
            )
        # Built once: per call only the Authorization and Idempotency-Key change.
        self._headers: Mapping[str, str] = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": user_agent,
            "x-api-version": x_api_version,
        }
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise SDKValidationError("session: expected an aiohttp.ClientSession", field="session")
        self._session = session
        self._owns_session = session is None
        self._closed = False
        self._urls: dict[str, yarl.URL] = {}

    def __repr__(self) -> str:
        key = "<callable>" if self._key_source else "<hidden>"
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

    async def call(
        self,
        operation: Operation[P, R],
        params: P | Mapping[str, Any],
        options: RequestOptions | Mapping[str, Any] | None = None,
    ) -> Result[R, AutumnSDKError]:
        """Run one operation: validate, send with retries, read the answer. Never raises
        for a failure; only task cancellation propagates."""
        return await call_operation(self, operation, params, options)

    # What the call machinery needs from the core; not part of the public API.

    def session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise InvalidRequestError("this AutumnCore is closed; create a new one to make calls")
        session = self._session
        if session is None:
            # Created here, inside the running loop, on first use; constructing it
            # is synchronous, so concurrent first calls cannot create two.
            session = self._session = aiohttp.ClientSession()
        return session

    def url(self, server_url: str | None, path: str) -> yarl.URL:
        if server_url is not None:  # a per-call URL: not cached, so the cache stays small
            return yarl.URL(_check_server_url(server_url) + path)
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = yarl.URL(self.server_url + path)
        return url

    def timeout(self, timeout_ms: float | None) -> aiohttp.ClientTimeout:
        if timeout_ms is None:
            return self._timeout
        return aiohttp.ClientTimeout(total=timeout_ms / 1000)

    async def authorization(self) -> str:
        if self._authorization is not None:
            return self._authorization
        assert self._key_source is not None
        self._last_key = _check_secret(await self._key_source())
        return "Bearer " + self._last_key

    def base_headers(self) -> Mapping[str, str]:
        return self._headers

    def secret(self) -> str | None:
        """The key as last known, for scrubbing it out of error text."""
        return self._last_key


_Core = TypeVar("_Core", bound=AutumnCore)
