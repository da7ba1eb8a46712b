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
got that far, or for a read, which sends no key), `attempts`, the number of
HTTP attempts made, and `applied`, whether the change the call asked for may
have been applied (an `Applied`):

- `Applied.NO`: certainly not, by this call. Fix the input if it was refused,
  and send it again (with a new key or the same one).
- `Applied.UNKNOWN`: an attempt ended without a definite answer (a timeout, a
  connection lost after the request was sent, a lost response) and no later
  attempt settled it. Resend the call with
  `options={"idempotency_key": error.idempotency_key}`: the server can never
  apply one key twice, so the answer tells you which it was.
  An update the server runs as several steps (`balances.update` with more
  than one of add_to_balance/remaining, usage, included_grant, next_reset_at,
  expires_at) is the exception: Autumn keeps the steps it applied when a
  later one fails and frees the key, so a resend with it could apply them
  again. Such an error has `may_be_partial` True, and its advice is to read
  the balance and send only what is missing, with a new key.
- `Applied.ALREADY`: the server already accepted a request with this
  idempotency key (`409 duplicate_idempotency_key`), and this call applied
  nothing more. With the SDK's own key that request was an earlier attempt of
  this call; with a key of yours it was whichever request you sent with it.

`ConnectionError` is an alias of `APIConnectionError`, the name it had first
(and the TypeScript SDK's); the new name does not shadow Python's builtin
`ConnectionError` in code that imports it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum

import attrs

# Error bodies are kept for diagnosis but bounded, so a hostile or broken server
# cannot make a failed call hold megabytes in memory (or in a log line).
MAX_ERROR_BODY_BYTES = 64 * 1024


class Applied(str, Enum):
    """Whether the change a call asked for may have been applied; see `AutumnSDKError.applied`.

    A `str` enum: `error.applied == "unknown"` holds, and it logs and
    serialises as its value.
    """

    NO = "no"
    UNKNOWN = "unknown"
    ALREADY = "already"

    def __str__(self) -> str:
        return self.value


class AutumnSDKError(Exception):
    """Base of every error the SDK returns (in `Err`) or raises (from the facade).

    `applied` says whether the call's change may have been applied (see
    `Applied`); when it is `Applied.UNKNOWN`, `str(error)` says how to settle it.
    """

    idempotency_key: str | None
    attempts: int
    applied: Applied
    # True when `applied` is UNKNOWN for an update the server runs in steps: some
    # steps may be applied, and the key no longer guards a resend.
    may_be_partial: bool = False

    def __init__(
        self,
        message: str,
        *,
        idempotency_key: str | None = None,
        attempts: int = 0,
        applied: Applied = Applied.NO,
    ):
        super().__init__(message)
        self.message = message
        self.idempotency_key = idempotency_key
        self.attempts = attempts
        self.applied = applied

    def __str__(self) -> str:
        details: list[str] = []
        if self.attempts:
            details.append(f"attempts={self.attempts}")
        if self.idempotency_key is not None:
            details.append(f"idempotency_key={self.idempotency_key}")
        text = str(self.args[0]) if self.args else ""
        text = f"{text} ({', '.join(details)})" if details else text
        note = self._applied_note()
        return f"{text}. {note}" if note else text

    def _applied_note(self) -> str:
        """What the caller must know about `applied`, in words."""
        key = self.idempotency_key
        if self.applied is Applied.UNKNOWN and self.may_be_partial:
            return (
                "Some of the update's steps may have been applied: the server applies them one "
                "by one, keeps those applied when a later one fails, and then frees the "
                "idempotency key, so resending this call, even with its key, could apply a step "
                "twice. Read the balance (customers.get) to see what took effect, then send only "
                "what is missing, with a new key; to make each step retry-safe, update one field "
                "per call"
            )
        if self.applied is Applied.UNKNOWN and key is not None:
            return (
                "The change may have been applied: no attempt got a definite answer. To settle "
                f'it, resend the same call with options={{"idempotency_key": "{key}"}}; the '
                "server never applies one key twice, so its answer says which it was"
            )
        if self.applied is Applied.ALREADY:
            return (
                "The server already accepted a request with this idempotency key, so this call "
                "applied nothing. It does not compare bodies: if the key stands for this very "
                "change (an order id, or the key of an earlier call whose outcome was unknown), "
                "the change is applied, once; if the key was used for something else, send this "
                "change with a key of its own"
            )
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


@attrs.frozen(kw_only=True)
class RawResponse:
    """What is kept of an HTTP answer: its status line, headers and address.

    Not aiohttp's response object, which holds the request, and so the
    Authorization header with the secret key. Header values that echo the key
    have it cut out.
    """

    status: int
    reason: str
    headers: Mapping[str, str]
    method: str
    url: str


class AutumnError(AutumnSDKError):
    """The server answered with a status the operation treats as an error.

    `code`, `message` and `env` come from Autumn's JSON error body
    `{"message": ..., "code": ..., "env": ...}` when there is one (`str(error)`
    adds the status and the code); for a non-JSON body (a proxy's HTML page,
    say) `code` is None and `body` holds the text, at most
    `MAX_ERROR_BODY_BYTES` of it once decoded (`body_truncated` tells).
    `raw_response` is a `RawResponse`, never aiohttp's response object.
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
        raw_response: RawResponse | None = None,
        body_truncated: bool = False,
        earlier_attempt_accepted: bool = False,
        idempotency_key: str | None = None,
        attempts: int = 0,
        applied: Applied = Applied.NO,
    ) -> None:
        super().__init__(
            summary, idempotency_key=idempotency_key, attempts=attempts, applied=applied
        )
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
        # True for a 409 duplicate_idempotency_key answered (twice) to a retry of a
        # call with the SDK's own key, for an operation whose success answer is not
        # fixed: an earlier attempt of this very call was accepted; its answer is lost.
        self.earlier_attempt_accepted = earlier_attempt_accepted

    def _applied_note(self) -> str:
        if self.earlier_attempt_accepted:
            return (
                "An earlier attempt of this same call was accepted by the server, so the "
                "change was applied, once, but its answer was lost; do not repeat it"
            )
        return super()._applied_note()


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
