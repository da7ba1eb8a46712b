"""The SDK's one tree of errors.

    AutumnSDKError
    ├── AutumnError                 the server answered with an error status
    │   └── AutumnDefaultError      ... for any status an operation does not model itself
    ├── HTTPClientError             no usable HTTP answer
    │   ├── APIConnectionError      refused, reset, TLS failure, truncated body
    │   ├── RequestTimeoutError     `timeout_ms` expired
    │   ├── RequestAbortedError     the caller's `abort_signal` was set
    │   ├── InvalidRequestError     the request could not be built or was refused by a hook
    │   └── UnexpectedClientError   anything else the HTTP stack raised
    ├── SDKValidationError          bad input, found before any I/O
    └── ResponseValidationError     a 2xx answer that does not fit the response model

Every error carries the `idempotency_key` of its call (None when the call never
got that far, or for a read, which sends no key) and `attempts`, the number of
HTTP attempts made.

`ConnectionError` is an alias of `APIConnectionError`, the name it had first
(and the TypeScript SDK's); the new name does not shadow Python's builtin
`ConnectionError` in code that imports it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# Error bodies are kept for diagnosis but bounded, so a hostile or broken server
# cannot make a failed call hold megabytes in memory (or in a log line).
MAX_ERROR_BODY_BYTES = 64 * 1024


class AutumnSDKError(Exception):
    """Base of every error the SDK returns (in `Err`) or raises (from the facade)."""

    idempotency_key: str | None
    attempts: int

    def __init__(self, message: str, *, idempotency_key: str | None = None, attempts: int = 0):
        super().__init__(message)
        self.message = message
        self.idempotency_key = idempotency_key
        self.attempts = attempts

    def __str__(self) -> str:
        details: list[str] = []
        if self.attempts:
            details.append(f"attempts={self.attempts}")
        if self.idempotency_key is not None:
            details.append(f"idempotency_key={self.idempotency_key}")
        text = str(self.args[0]) if self.args else ""
        return f"{text} ({', '.join(details)})" if details else text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class AutumnError(AutumnSDKError):
    """The server answered with a status the operation treats as an error.

    `code`, `message` and `env` come from Autumn's JSON error body
    `{"message": ..., "code": ..., "env": ...}` when there is one (`str(error)`
    adds the status and the code); for a non-JSON body (a proxy's HTML page,
    say) `code` is None and `body` holds the text, at most
    `MAX_ERROR_BODY_BYTES` of it (`body_truncated` tells).
    """

    def __init__(
        self,
        summary: str,
        *,
        status_code: int,
        body: str,
        headers: Mapping[str, str],
        content_type: str,
        code: str | None = None,
        message: str | None = None,
        env: str | None = None,
        raw_response: Any = None,
        body_truncated: bool = False,
        earlier_attempt_accepted: bool = False,
        idempotency_key: str | None = None,
        attempts: int = 0,
    ) -> None:
        super().__init__(summary, idempotency_key=idempotency_key, attempts=attempts)
        if message is not None:
            self.message = message
        self.status_code = status_code
        self.body = body
        self.headers = headers
        self.content_type = content_type
        self.code = code
        self.env = env
        self.raw_response = raw_response
        self.body_truncated = body_truncated
        # True for a 409 duplicate_idempotency_key answered to a retry: an
        # earlier attempt of this very call was accepted, so the change is applied once.
        self.earlier_attempt_accepted = earlier_attempt_accepted


class AutumnDefaultError(AutumnError):
    """An error response (4XX, 5XX or an unexpected status) of any Autumn operation."""


class HTTPClientError(AutumnSDKError):
    """The call got no usable HTTP response."""


class APIConnectionError(HTTPClientError):
    """The connection failed: refused, reset, closed early, TLS verification failed."""


# The first name, kept so that existing imports keep working.
ConnectionError = APIConnectionError


class RequestTimeoutError(HTTPClientError):
    """An attempt took longer than its `timeout_ms`."""


class RequestAbortedError(HTTPClientError):
    """The caller asked for the call to stop, through `RequestOptions.abort_signal`."""


class InvalidRequestError(HTTPClientError):
    """The request could not be built or sent as given (bad URL or header, refused by a hook)."""


class UnexpectedClientError(HTTPClientError):
    """The HTTP stack failed in a way the SDK has no better name for; `__cause__` has it."""


class SDKValidationError(AutumnSDKError, ValueError):
    """Input refused before any I/O. `field` names the first offending field;
    `problems` lists every (field, reason) found."""

    def __init__(
        self,
        message: str,
        *,
        field: str,
        problems: Sequence[tuple[str, str]] = (),
        idempotency_key: str | None = None,
    ) -> None:
        super().__init__(message, idempotency_key=idempotency_key)
        self.field = field
        self.problems: tuple[tuple[str, str], ...] = tuple(problems) or ((field, message),)


class ResponseValidationError(AutumnSDKError):
    """A 2xx answer whose body is not the JSON the operation's response model needs."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: str,
        idempotency_key: str | None = None,
        attempts: int = 0,
    ) -> None:
        super().__init__(message, idempotency_key=idempotency_key, attempts=attempts)
        self.status_code = status_code
        self.body = body
