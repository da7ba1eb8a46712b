"""The usage recorder's sender: queued events out in batches, as `balances_batch_track`
sends them (its operation, through `run_operation`; each event checked when it
was recorded, not again).

    wait for a full batch, the flush interval, a flush() or the close
      -> take up to 1,000 events -> pace to the route's rate -> send
         -> Ok: delivered
         -> refused for its content (a 4xx other than 401, 403, 408, 409, 429):
            split it in two and send each half, down to the one bad event,
            which is refused alone and handed to on_refused; the rest go through
         -> anything else (connection lost, timeout, 429, 5xx, once the core's
            own retries are spent): the events go back to the head of the queue
            and wait (Retry-After, or a backoff up to retry_max_s)

Sending again is safe because every event carries its own body
`idempotency_key`, claimed per event by Autumn: a batch whose answer was lost
after Autumn took it is applied once. Autumn checks every event of a batch
before it applies any, so a refused batch applied nothing and its halves may
be sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections import deque
from collections.abc import Callable
from typing import Any, cast

import attrs

from autumn_core import AutumnCore, AutumnError, AutumnSDKError, SDKValidationError
from autumn_core.seam import CheckedParams, run_operation
from autumn_funcs._balances_batch_track import BATCH_TRACK, checked_batch
from autumn_funcs._balances_track import TRACK
from autumn_funcs._usage_queue import Item, UsageQueue

logger = logging.getLogger("autumn")

# Statuses that say nothing about the events themselves: the key, the rate, a
# conflict on the request's own key. Splitting the batch would not help.
_NOT_ABOUT_THE_EVENTS = frozenset((401, 403, 408, 409, 429))

# Between a start here and its arrival at Autumn: encoding a batch, a busy machine.
_PACING_MARGIN_S = 0.05

RefusedHook = Callable[[dict[str, Any], AutumnSDKError], None]


@attrs.frozen(kw_only=True)
class DeliverySettings:
    flush_interval: float
    max_batch: int
    requests_per_second: float | None
    max_in_flight: int
    retry_initial_s: float
    retry_max_s: float


def refused_for_content(error: AutumnSDKError) -> bool:
    """A batch Autumn refused because of what its events say: one of them is bad.

    Only an answer of Autumn's own (a JSON error with a `code`) says that: a 404
    page from a proxy, or a server that has no batch route (`not_found`), is a
    wrong address, and splitting the batch would refuse every event in it."""
    if isinstance(error, SDKValidationError):
        return True
    if not isinstance(error, AutumnError) or error.code in (None, "not_found"):
        return False
    return 400 <= error.status_code < 500 and error.status_code not in _NOT_ABOUT_THE_EVENTS


def wire(event: Any) -> dict[str, Any]:
    """An event's JSON fields, as sent and as the hooks get them (a checked event's,
    or the dict read back from the spool)."""
    fields: dict[str, Any] = event.fields if isinstance(event, CheckedParams) else event
    return fields


def _fields_to_name(event: object) -> dict[str, Any]:
    # A spool row is JSON, but a damaged one may not be an object: it is refused and
    # reported all the same, with no fields to name it by.
    return cast("dict[str, Any]", event) if isinstance(event, dict) else {}


def _retry_after(error: AutumnSDKError) -> float | None:
    if not isinstance(error, AutumnError):
        return None
    value = error.headers.get("Retry-After")
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None


class Sender:
    """The background task's work: batches in the order recorded, `max_in_flight` at once."""

    def __init__(
        self,
        core: AutumnCore,
        queue: UsageQueue,
        settings: DeliverySettings,
        on_refused: RefusedHook | None,
    ) -> None:
        self._core = core
        self._queue = queue
        self._settings = settings
        self._on_refused = on_refused
        self.wake = asyncio.Event()
        self.progress = asyncio.Event()  # set, and replaced, whenever events settle
        self.flushing = 0
        self.stopping = False
        self._failures = 0
        self._paused_until = 0.0  # after a failure, no sender starts a request before this
        rate = settings.requests_per_second
        # The last n request starts, n the whole requests of one second (at least 1).
        self._starts: deque[float] = deque(maxlen=max(1, math.floor(rate or 1)))

    async def run(self) -> None:
        await asyncio.gather(*(self._work() for _ in range(self._settings.max_in_flight)))

    async def _work(self) -> None:
        """One of `max_in_flight` loops, each with one batch in flight at a time."""
        queue, settings = self._queue, self._settings
        while True:
            if not (self.stopping or self.flushing or queue.ready(settings.max_batch)):
                await self._wait()  # a partial batch goes out after flush_interval
            batch = queue.take(settings.max_batch)
            if batch:
                try:
                    await self._deliver(batch)
                except Exception:  # a failing spool, a bug: keep the events, keep going
                    logger.exception("usage recorder: delivering a batch failed; kept")
                    queue.requeue([item for item in batch if item[0] in queue.in_flight])
                    await asyncio.sleep(settings.retry_max_s)
                finally:
                    self._pulse()
            elif self.stopping:
                return
            elif self.flushing:
                await self._wait()

    async def _wait(self) -> None:
        self.wake.clear()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.wake.wait(), self._settings.flush_interval)

    def _pulse(self) -> None:
        self.progress.set()
        self.progress = asyncio.Event()

    async def _deliver(self, batch: list[Item]) -> None:
        batch = self._checked(batch)
        if not batch:
            return
        unsent = await self._send(batch)
        if unsent is None:
            self._failures = 0
            return
        items, error = unsent
        self._queue.requeue(items)
        self._failures += 1
        settings = self._settings
        backoff = min(settings.retry_max_s, settings.retry_initial_s * 2 ** (self._failures - 1))
        asked = _retry_after(error)
        # The server's Retry-After, within retry_max_s: a proxy's "come back tomorrow"
        # must not hold the queue for a day.
        wait = random.uniform(backoff / 2, backoff) if asked is None else asked
        wait = min(wait, settings.retry_max_s)
        logger.warning(
            "usage recorder: a batch of %d events failed (%s); kept, sending again in %.2f s",
            len(items),
            str(error)[:200],
            wait,
        )
        # Every sender waits, not only this one: a server that asks for a pause gets it.
        self._paused_until = max(self._paused_until, time.monotonic() + wait)

    def _checked(self, items: list[Item]) -> list[Item]:
        """`items`, each event read back from the spool checked again as `track()`
        checked it (a file is no proof); one that fails is refused alone."""
        if all(isinstance(event, CheckedParams) for _, event in items):
            return items  # the usual batch: every event checked when recorded
        checked: list[Item] = []
        for number, event in items:
            if not isinstance(event, CheckedParams):
                try:
                    event = TRACK.check(event)
                except SDKValidationError as exc:
                    self._refuse([(number, event)], exc)
                    continue
            checked.append((number, event))
        return checked

    async def _send(self, items: list[Item]) -> tuple[list[Item], AutumnSDKError] | None:
        """Deliver `items`, splitting a refused batch; what is left unsent, and why."""
        await self._pace()
        self._queue.requests += 1
        # Each event was checked when recorded: the body is built from their fields
        # as they are, not checked and encoded a second time.
        body = checked_batch([event for _, event in items])
        res = await run_operation(self._core, BATCH_TRACK, body)
        if res.ok:
            self._queue.settle(items)
            logger.debug("usage recorder: delivered %d events", len(items))
            return None
        error = res.error
        if not refused_for_content(error):
            return items, error
        if len(items) == 1:
            self._refuse(items, error)
            return None
        middle = len(items) // 2
        first = await self._send(items[:middle])
        if first is not None:
            return first[0] + items[middle:], first[1]
        return await self._send(items[middle:])

    def _refuse(self, items: list[Item], error: AutumnSDKError) -> None:
        self._queue.settle(items, refused=True)
        event = wire(items[0][1])
        named = _fields_to_name(event)
        logger.error(
            "usage recorder: Autumn refused an event (idempotency_key %s, customer %s): %s",
            named.get("idempotency_key"),
            named.get("customer_id"),
            str(error)[:300],
        )
        if self._on_refused is not None:
            try:
                self._on_refused(event, error)
            except Exception:
                logger.exception("usage recorder: the on_refused hook raised")

    async def _pace(self) -> None:
        """Wait out a pause after a failure, then start no more than
        `requests_per_second` requests in any second (and a margin).

        Autumn counts a route's requests in fixed one-second windows that open at
        a first request. Keeping any `n` consecutive starts `n / rate` seconds
        apart, plus a margin for the jitter between a start here and the arrival
        there, never puts `n + 1` in one window; unlike evenly spaced starts, a
        late request does not push the following ones later."""
        pause = self._paused_until - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)
        rate = self._settings.requests_per_second
        if rate is None:
            return
        starts = self._starts
        n = starts.maxlen or 1
        now = time.monotonic()
        start = now if len(starts) < n else max(now, starts[0] + n / rate + _PACING_MARGIN_S)
        starts.append(start)  # reserved before sleeping: concurrent senders queue behind it
        if start > now:
            await asyncio.sleep(start - now)
