"""`CallState`: one call of an operation, the request its attempts send and what they showed.

Built once per call, with keywords, by the pipeline (autumn_core._call), which
drives the attempts; each attempt (autumn_core._attempt) only reads it. Its
fields change only through its own methods, here, so every change of a call's
state is in this module.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import aiohttp
import attrs
import yarl

from autumn_core._call_context import CallContext
from autumn_core._operation import Operation
from autumn_core._retries import RetryConfig

R = TypeVar("R")


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


@attrs.define(kw_only=True, eq=False)
class CallState(Generic[R]):
    """A call ready to be attempted: its request, built once, and its progress.

    The request: `url`, `headers` (sent by every attempt; hooks may change them,
    and retries carry `X-Retry-Count`), `body`, `idempotency_key` (`own_key`: the
    caller's, not one the SDK drew). The bounds: `retry`, `attempt_timeout` and
    `total_timeout` (seconds, None: no bound), which shortens `timeout`, the next
    attempt's, when less is left (`cut_short`).

    The progress: `attempts` made so far; what they showed about the change (see
    autumn_core._applied): `in_doubt`, some attempt may have applied it without
    saying so; `duplicate_seen`, a retry was refused as a duplicate; and
    `waiting`, the call is between attempts.
    """

    context: CallContext = attrs.field(repr=False)
    operation: Operation[Any, R]
    session: aiohttp.ClientSession = attrs.field(repr=False)
    url: yarl.URL
    headers: dict[str, str] = attrs.field(repr=False)  # the Authorization header among them
    body: bytes = attrs.field(repr=False)
    idempotency_key: str | None
    own_key: bool = False
    retry: RetryConfig = attrs.field(repr=False)
    attempt_timeout: aiohttp.ClientTimeout = attrs.field(repr=False)
    total_timeout: float | None = None
    attempts: int = attrs.field(default=0, init=False)
    timeout: aiohttp.ClientTimeout = attrs.field(
        default=attrs.Factory(lambda self: self.attempt_timeout, takes_self=True),
        init=False,
        repr=False,
    )
    cut_short: bool = attrs.field(default=False, init=False)
    in_doubt: bool = attrs.field(default=False, init=False)
    duplicate_seen: bool = attrs.field(default=False, init=False)
    waiting: bool = attrs.field(default=False, init=False)

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
