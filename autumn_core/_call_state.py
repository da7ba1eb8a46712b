"""`CallState`: one call of an operation, the request its attempts send and what they showed.

Built once per call, with keywords, by the pipeline (autumn_core._call), which
drives the attempts; each attempt (autumn_core._attempt) only reads it. Its
fields change only through its own methods, here, so every change of a call's
state is in this module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import aiohttp
import yarl

from autumn_core._call_context import CallContext
from autumn_core._operation import Operation
from autumn_core._retries import RetryConfig

R = TypeVar("R")
T = TypeVar("T")


def attempt_timeout(seconds: float) -> aiohttp.ClientTimeout:
    """aiohttp's bounds for one attempt of `seconds`."""
    # A new connection gets half the attempt. aiohttp reports a connect that outlasts
    # that bound as ConnectionTimeoutError: nothing was sent, so a write can say
    # `applied=no`. Cut by the attempt's total bound instead, the same hang would be a
    # plain timeout, which cannot say whether the request went out. Half, not nearly
    # all: the connect's timer starts later than the attempt's (a busy loop, resolving
    # the host), and must still fire first. (sock_connect, not connect: an attempt on a
    # pooled connection starts no timer for it.)
    return aiohttp.ClientTimeout(total=seconds, sock_connect=seconds / 2)


_UNSET: Any = object()  # a bound not given: the core's
# Typed to return Any, so that `new` needs no cast (which is a call) to type its result.
_new: Callable[[type], Any] = object.__new__


class CallState(Generic[R]):
    """A call ready to be attempted: its request, built once, and its progress.

    The request: `url`, `headers` (sent by every attempt; hooks may change them,
    and retries carry `X-Retry-Count`), `body`, `idempotency_key` (`own_key`: the
    caller's, not one the SDK drew). The bounds, the core's unless given: `retry`,
    `attempt_timeout` and `total_timeout` (seconds, None: no bound), which
    shortens `timeout`, the next attempt's, when less is left (`cut_short`).

    The progress: `attempts` made so far; what they showed about the change (see
    autumn_core._applied): `in_doubt`, some attempt may have applied it without
    saying so; `duplicate_seen`, a retry was refused as a duplicate; and
    `waiting`, the call is between attempts.
    """

    # Slots and a plain keyword-only constructor, not attrs: every call builds one,
    # and the bounds default to the core's, so the usual call passes seven keywords.
    __slots__ = (
        "attempt_timeout",
        "attempts",
        "body",
        "context",
        "cut_short",
        "duplicate_seen",
        "headers",
        "idempotency_key",
        "in_doubt",
        "operation",
        "own_key",
        "retry",
        "session",
        "timeout",
        "total_timeout",
        "url",
        "waiting",
    )

    context: CallContext
    operation: Operation[Any, R]
    session: aiohttp.ClientSession
    url: yarl.URL
    headers: dict[str, str]  # the Authorization header among them
    body: bytes
    idempotency_key: str | None
    own_key: bool
    retry: RetryConfig
    attempt_timeout: aiohttp.ClientTimeout
    timeout: aiohttp.ClientTimeout
    total_timeout: float | None
    attempts: int
    cut_short: bool
    in_doubt: bool
    duplicate_seen: bool
    waiting: bool

    # Built by `CallState.new(...)`: a static method taking keywords costs half what
    # calling the class with keywords does (CPython 3.11 hands __init__ a dict of them).
    @staticmethod
    def new(
        *,
        context: CallContext,
        operation: Operation[Any, T],
        session: aiohttp.ClientSession,
        url: yarl.URL,
        headers: dict[str, str],
        body: bytes,
        idempotency_key: str | None,
        own_key: bool = False,
        retry: RetryConfig = _UNSET,
        attempt_timeout: aiohttp.ClientTimeout = _UNSET,
        total_timeout: float | None = _UNSET,
    ) -> CallState[T]:
        self: CallState[T] = _new(CallState)
        self.context = context
        self.operation = operation
        self.session = session
        self.url = url
        self.headers = headers
        self.body = body
        self.idempotency_key = idempotency_key
        self.own_key = own_key
        self.retry = context.retry if retry is _UNSET else retry
        self.attempt_timeout = self.timeout = (
            context.timeout if attempt_timeout is _UNSET else attempt_timeout
        )
        self.total_timeout = context.total_timeout if total_timeout is _UNSET else total_timeout
        self.attempts = 0
        self.cut_short = self.in_doubt = self.duplicate_seen = self.waiting = False
        return self

    def __repr__(self) -> str:
        # Never the headers or the body: the secret key travels in the headers.
        return (
            f"CallState(operation_id={self.operation_id!r}, url={str(self.url)!r}, "
            f"idempotency_key={self.idempotency_key!r}, attempts={self.attempts})"
        )

    @property
    def operation_id(self) -> str:
        return self.operation.operation_id

    @property
    def method(self) -> str:
        return self.operation.method

    def begin_attempt(self) -> int:
        """Count the attempt about to be sent; a retry says which it is. Its number."""
        if self.attempts:
            self.headers["X-Retry-Count"] = str(self.attempts)
        self.attempts += 1
        return self.attempts

    def remaining(self, started: float, now: float) -> float | None:
        """Seconds left of the call's total timeout, if it has one."""
        total = self.total_timeout
        return None if total is None else started + total - now

    def fit_to_total_timeout(self, started: float) -> bool:
        """Shorten the next attempt's timeout to what is left of the call's; False when
        nothing is left."""
        remaining = self.remaining(started, self.retry.clock())
        if remaining is None:
            return True
        if remaining <= 0:
            return False
        per_attempt = self.attempt_timeout
        self.cut_short = per_attempt.total is None or remaining < per_attempt.total
        self.timeout = attempt_timeout(remaining) if self.cut_short else per_attempt
        return True

    def note_doubt(self) -> None:
        """An attempt may have applied the change without saying so."""
        self.in_doubt = True

    def note_duplicate(self) -> None:
        """A retry was refused as a duplicate: the key is held, by an attempt applied or
        one still running; until a second refusal confirms, the change is in doubt."""
        self.duplicate_seen = self.in_doubt = True

    async def pause(self, seconds: float) -> None:
        """Wait between attempts (on the retry policy's sleep)."""
        # Not reset if the wait is cancelled: an abort then knows no attempt was in flight.
        self.waiting = True
        await self.retry.sleep(seconds)
        self.waiting = False
