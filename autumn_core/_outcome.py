"""`Outcome`: what one HTTP attempt came to, as the retry policy and the hooks see it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, Literal, TypeVar

from autumn_core._errors import AutumnSDKError
from autumn_core._result import Result

if TYPE_CHECKING:
    import aiohttp

R = TypeVar("R")

# Why an attempt got no HTTP answer. "connection" and "timeout" may pass on
# their own; the others fail the same way again.
Failure = Literal["connection", "timeout", "tls", "refused_by_hook", "not_sent", "unexpected"]
TRANSIENT_FAILURES: frozenset[Failure] = frozenset(("connection", "timeout"))


class Outcome(Generic[R]):
    """One attempt, settled: an answer was read (`status` set) or none came (`failure` set).

    - `result`: what the call returns if this attempt is its last.
    - `status`, `code`: the HTTP status and, for an error answer, Autumn's error `code`.
    - `retry_after`: the seconds a `Retry-After` header asked for, when readable.
    - `may_have_reached_server`: False only when the request certainly never left
      (connection refused, TLS handshake failed, refused by a hook, not buildable),
      so nothing it asked for can have been applied by this attempt.
    - `response`: the aiohttp response (body already read), for the hooks.
    """

    __slots__ = (
        "code",
        "failure",
        "may_have_reached_server",
        "response",
        "result",
        "retry_after",
        "status",
    )

    result: Result[R, AutumnSDKError]
    status: int | None
    code: str | None
    retry_after: float | None
    failure: Failure | None
    may_have_reached_server: bool
    response: aiohttp.ClientResponse | None

    # `status` and `response` may be passed by position: every success does, and a
    # call by position is about half the cost of one by keyword.
    def __init__(
        self,
        result: Result[R, AutumnSDKError],
        status: int | None = None,
        response: aiohttp.ClientResponse | None = None,
        *,
        code: str | None = None,
        retry_after: float | None = None,
        failure: Failure | None = None,
        may_have_reached_server: bool = True,
    ) -> None:
        self.result = result
        self.status = status
        self.code = code
        self.retry_after = retry_after
        self.failure = failure
        self.may_have_reached_server = may_have_reached_server
        self.response = response

    def __repr__(self) -> str:
        what = f"status={self.status}" if self.status is not None else f"failure={self.failure}"
        return f"Outcome({what}, code={self.code!r}, ok={self.result.ok})"
