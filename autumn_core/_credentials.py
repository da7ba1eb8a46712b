"""The secret key: checked, turned into an Authorization header, and kept out of sight.

Only the call pipeline reads it, through the core's private call context; no
public attribute or method of the core returns it.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Awaitable, Callable
from typing import cast

from autumn_core._errors import SDKValidationError
from autumn_core._field_checks import is_header_token

SecretKey = str | Callable[[], Awaitable[str]]


class AuthorizationValue(str):
    """The Authorization header's value, a `str` whose repr hides it.

    It travels as the value itself into aiohttp (which writes `str(value)` on the
    wire, unchanged), through the request's headers and the locals of every frame
    between: a traceback rendered with its frames' locals
    (`traceback.TracebackException(..., capture_locals=True)`, as Sentry and
    structlog do) shows the repr, and so never the key.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "'Bearer [redacted]'"


def check_secret(key: object) -> str:
    # Never echo the key itself in the message: it may be a real one, mistyped.
    if not isinstance(key, str) or not key:
        raise SDKValidationError(
            "secret_key: expected a non-empty string or an async callable returning one",
            field="secret_key",
        )
    if not is_header_token(key):
        raise SDKValidationError(
            "secret_key: contains whitespace or characters not allowed in an HTTP header",
            field="secret_key",
        )
    return key


class Credentials:
    """A secret key given as a string: checked once, its header built once."""

    __slots__ = ("_header", "_secret", "fixed_authorization")

    _secret: str | None
    # Read directly by the call pipeline: a string key costs no await per call.
    fixed_authorization: str | None

    def __init__(self, key: str) -> None:
        self._secret = check_secret(key)
        self._header = AuthorizationValue("Bearer " + self._secret)
        self.fixed_authorization = self._header

    @property
    def secret(self) -> str | None:
        """The key as last known, for scrubbing it out of error text."""
        return self._secret

    async def authorization(self) -> str:
        """The Authorization header value."""
        return self._header

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<hidden>)"


class CredentialsFromCallable(Credentials):
    """A secret key fetched from an async callable on every call (a vault, a rotation)."""

    __slots__ = ("_source",)

    def __init__(self, source: Callable[[], Awaitable[str]]) -> None:
        self._source = source
        self._secret = None
        self.fixed_authorization: str | None = None

    async def authorization(self) -> str:
        pending = cast(object, self._source())
        if not inspect.isawaitable(pending):
            # What it returned is not shown: it may well be the key itself.
            raise SDKValidationError(
                f"secret_key: the callable returned a {type(pending).__name__}, not an "
                "awaitable; it must be async (`async def get_key() -> str`), or pass the "
                "key itself as a string",
                field="secret_key",
            )
        key = check_secret(await pending)
        self._secret = key
        return AuthorizationValue("Bearer " + key)


def credentials(key: SecretKey | None) -> Credentials:
    """Credentials for `key`, falling back to the AUTUMN_SECRET_KEY environment variable."""
    if key is None:
        key = os.environ.get("AUTUMN_SECRET_KEY")
        if not key:
            raise SDKValidationError(
                "secret_key: none given and AUTUMN_SECRET_KEY is not set", field="secret_key"
            )
    if callable(key):
        return CredentialsFromCallable(key)
    return Credentials(key)
