"""`UsageRecorder`: usage off the request path, every event delivered once.

    recorder.track(params)      checked, keyed, queued; a few microseconds, no I/O
                                (with a spool: committed to the SQLite file first)
    background task             batches of up to 1,000 with balances_batch_track
                                (autumn_funcs._usage_delivery)

The recorder sends what `balances_batch_track` sends, through the same entry
path (`run_operation` with its operation), each event checked once, when
recorded (`TRACK.check`), the batch built from those checked events
(`checked_batch`); the queue and its spool are storage behind it
(autumn_funcs._usage_queue, _usage_spool).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import threading
import warnings
import weakref
from collections.abc import Callable, Mapping
from os import urandom
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypedDict

import attrs

from autumn_core import AutumnCore, SDKValidationError
from autumn_funcs._balances_track import TRACK, TrackParams, TrackParamsDict
from autumn_funcs._typing_backports import Unpack
from autumn_funcs._usage_delivery import DeliverySettings, RefusedHook, Sender, wire
from autumn_funcs._usage_queue import RecorderStats, UsageQueue
from autumn_funcs._usage_spool import UsageSpool

if TYPE_CHECKING:
    from autumn_funcs._autumn_sync import AutumnSync

logger = logging.getLogger("autumn")

DroppedHook = Callable[[list[dict[str, Any]], str], None]


class RecorderSettings(TypedDict, total=False):
    """The settings `UsageRecorder(core, **settings)` and `UsageRecorderSync(autumn,
    **settings)` take; each left out takes its default (see `UsageRecorder`).

    >>> settings: RecorderSettings = {"spool": "usage.db", "flush_interval": 0.5}
    >>> recorder = UsageRecorder(core, **settings)
    """

    flush_interval: float
    max_batch: int
    max_pending: int
    requests_per_second: float | None
    max_in_flight: int
    spool: str | os.PathLike[str] | None
    on_refused: RefusedHook | None
    on_dropped: DroppedHook | None
    close_timeout: float
    retry_initial_s: float
    retry_max_s: float


@attrs.frozen(kw_only=True)
class _Settings:
    """`RecorderSettings` with every default filled in."""

    flush_interval: float = 1.0
    max_batch: int = 1000
    max_pending: int = 100_000
    requests_per_second: float | None = 10.0
    max_in_flight: int = 2
    spool: str | os.PathLike[str] | None = None
    on_refused: RefusedHook | None = None
    on_dropped: DroppedHook | None = None
    close_timeout: float = 10.0
    retry_initial_s: float = 0.5
    retry_max_s: float = 30.0


def _with_defaults(settings: RecorderSettings) -> _Settings:
    known = RecorderSettings.__optional_keys__
    unknown = sorted(set(settings) - known)
    if unknown:  # a TypeError, as Python's for a keyword no signature names
        raise TypeError(
            f"unexpected keyword argument {unknown[0]!r}: a UsageRecorder's settings are "
            + ", ".join(sorted(known))
        )
    return _Settings(**settings)


def _invalid(name: str, reason: str) -> SDKValidationError:
    return SDKValidationError(f"invalid {name}: {reason}", field=name)


def _check_settings(
    core: object,
    seconds: dict[str, object],
    counts: dict[str, tuple[object, int, int]],
    hooks: dict[str, object],
) -> None:
    """Refuse a bad setting by its name, before anything starts."""
    if not isinstance(core, AutumnCore):
        raise _invalid("core", f"expected an AutumnCore, got {type(core).__name__}")
    for name, value in seconds.items():
        if value is None and name == "requests_per_second":
            continue  # no pacing
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise _invalid(name, f"expected a number > 0, got {value!r}")
    for name, (count, low, high) in counts.items():
        if type(count) is not int or not low <= count <= high:
            raise _invalid(name, f"expected a whole number from {low} to {high}, got {count!r}")
    for name, hook in hooks.items():
        if hook is not None and not callable(hook):
            raise _invalid(name, f"expected a callable or None, got {hook!r}")


class UsageRecorder:
    """Records usage events in the background, in batches, each event applied once.

    Create one in your service's lifespan, call `track()` on every request:

    >>> async with AutumnCore() as core, UsageRecorder(core) as recorder:
    ...     recorder.track({"customer_id": "cus_123", "feature_id": "api_calls"})

    `track(params)` takes what `balances_track` takes, checks it the same way (a
    bad event raises the same SDKValidationError, there and then), gives it a
    body `idempotency_key` unless it has one, queues it and returns that key;
    no I/O, no `await`. A background task sends the queue with
    `balances_batch_track`: a batch as soon as `max_batch` (1,000, Autumn's
    maximum) events wait, and whatever waits at least every `flush_interval`
    seconds (default 1 s: up to ten processes stay within Autumn's 10 batch
    requests per second per organisation, and an event waits about a second).
    Requests start at most `requests_per_second` a second (10, the route's
    limit; None for no pacing), `max_in_flight` (2) at once, so the next batch
    is on its way while Autumn reads the last. A failed request is sent again, the same events
    with the same keys, after `Retry-After` or a backoff from `retry_initial_s`
    to `retry_max_s`: Autumn applies each key once. A batch refused for one bad
    event is split until that event is found; the others are delivered, and
    the bad one goes to `on_refused(event, error)` and the log.

    Memory holds at most `max_pending` events (default 100,000). When it is
    full: with `spool=PATH`, the event is written to the spool only and read
    back when there is room (nothing is dropped; the disk takes the load);
    without a spool, the event is dropped, counted in `stats().dropped`,
    logged at ERROR on the `autumn` logger and passed to `on_dropped`.

    `spool=PATH` (a SQLite file) makes delivery survive a crash: each event is
    committed to the file before `track()` returns, removed once settled, and a
    recorder started later with the same path sends what is left. With the
    per-event keys, an event is applied once even when it was sent just before
    the crash.

    `await flush()` waits until every event recorded before it is settled;
    `aclose()` (or leaving `async with`) flushes for up to `close_timeout`
    seconds, then stops. Events still pending then stay in the spool, or,
    without one, are dropped (counted, logged, hooked). A recorder collected
    with events pending warns loudly. `stats()` returns a `RecorderStats`.
    From blocking code, use `UsageRecorderSync`.
    """

    def __init__(self, core: AutumnCore, **settings: Unpack[RecorderSettings]) -> None:
        s = _with_defaults(settings)
        _check_settings(
            core,
            {
                "flush_interval": s.flush_interval,
                "close_timeout": s.close_timeout,
                "retry_initial_s": s.retry_initial_s,
                "retry_max_s": s.retry_max_s,
                "requests_per_second": s.requests_per_second,
            },
            {"max_batch": (s.max_batch, 1, 1000), "max_in_flight": (s.max_in_flight, 1, 16),
             "max_pending": (s.max_pending, s.max_batch, 10**12)},
            {"on_refused": s.on_refused, "on_dropped": s.on_dropped},
        )  # fmt: skip
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "UsageRecorder starts a background task: create it inside a running event "
                "loop (in your app's lifespan), or use UsageRecorderSync from blocking code"
            ) from None
        self._loop_thread = threading.get_ident()
        self._spool = None if s.spool is None else UsageSpool(s.spool)
        self._queue = UsageQueue(s.max_pending, self._spool)
        self._max_batch = s.max_batch
        self._on_dropped = s.on_dropped
        self._close_timeout = s.close_timeout
        self._closed = False
        self._keys = itertools.count(1)
        # Unique per recorder: 64 random bits, then a counter (cheaper than 128 fresh bits).
        self._key_prefix = f"ur_{urandom(8).hex()}_"
        delivery = DeliverySettings(
            flush_interval=s.flush_interval,
            max_batch=s.max_batch,
            requests_per_second=s.requests_per_second,
            max_in_flight=s.max_in_flight,
            retry_initial_s=s.retry_initial_s,
            retry_max_s=s.retry_max_s,
        )
        self._sender = Sender(core, self._queue, delivery, s.on_refused)
        self._task = self._loop.create_task(self._sender.run(), name="autumn-usage-recorder")
        if self._queue.recovered:
            logger.info(
                "usage recorder: %d events left in the spool %s by an earlier run; sending them",
                self._queue.recovered,
                self._spool.path if self._spool else "",
            )
        # The task refers to the sender and the queue, never to self: a recorder
        # nobody closed can be collected, and then says what it leaves behind.
        self._finalizer = weakref.finalize(self, _collected, self._queue, self._task)

    def track(self, params: TrackParams | TrackParamsDict) -> str:
        """Queue one usage event; returns its body `idempotency_key`. No I/O, no await.

        >>> key = recorder.track({"customer_id": "cus_123", "feature_id": "api_calls"})

        Raises SDKValidationError for a bad event (as `balances_track` would
        refuse it) and RuntimeError once the recorder is closed.
        """
        if self._closed:
            raise RuntimeError("this UsageRecorder is closed; its events can no longer be queued")
        key: str | None
        if isinstance(params, dict):
            given: Mapping[str, Any] = params
            key = given.get("idempotency_key")
            if key is None:
                key = f"{self._key_prefix}{next(self._keys)}"
                given = {**given, "idempotency_key": key}
            # Checked once, here, kept as the JSON it sends: the batch is built from it.
            event = TRACK.check(given)
        else:
            # isinstance: a caller without a type checker may pass anything, which
            # the check then refuses by name.
            unkeyed = isinstance(params, TrackParams) and params.idempotency_key is None  # pyright: ignore[reportUnnecessaryIsInstance]
            if unkeyed:
                params = attrs.evolve(
                    params, idempotency_key=f"{self._key_prefix}{next(self._keys)}"
                )
            event = TRACK.check(params)
            key = event.fields["idempotency_key"]
        assert key is not None  # given, or made above; a checked key is a string
        queue = self._queue
        if not queue.put(event):
            self._dropped([event], "the queue is full (max_pending) and there is no spool")
        elif len(queue.memory) == self._max_batch:  # a batch is ready: wake the sender
            self._wake()
        return key

    def _wake(self) -> None:
        if threading.get_ident() == self._loop_thread:
            self._sender.wake.set()
        elif not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._sender.wake.set)

    def _dropped(self, events: list[Any], reason: str) -> None:
        logger.error("usage recorder: dropped %d events: %s", len(events), reason)
        if self._on_dropped is not None:
            try:
                self._on_dropped([wire(event) for event in events], reason)
            except Exception:
                logger.exception("usage recorder: the on_dropped hook raised")

    def stats(self) -> RecorderStats:
        """Counts of what happened to the events so far (see `RecorderStats`)."""
        return self._queue.stats()

    @property
    def closed(self) -> bool:
        return self._closed

    async def flush(self, timeout: float | None = None) -> bool:
        """Send now, without waiting for `flush_interval`, and wait until every event
        recorded before this call is delivered or refused. False if `timeout`
        seconds passed first (the events stay queued)."""
        queue, sender = self._queue, self._sender
        mark = queue.last_number()
        sender.flushing += 1
        sender.wake.set()
        try:
            await asyncio.wait_for(self._settled(mark), timeout)
        except asyncio.TimeoutError:
            return False
        finally:
            sender.flushing -= 1
        return queue.lowest_unsettled() > mark

    async def _settled(self, mark: int) -> None:
        while self._queue.lowest_unsettled() <= mark and not self._task.done():
            await self._sender.progress.wait()

    async def aclose(self, timeout: float | None = None) -> None:
        """Flush for up to `timeout` seconds (default `close_timeout`), then stop.

        Events still pending stay in the spool for the next start or, without a
        spool, are dropped: counted, logged, and passed to `on_dropped`."""
        if self._closed:
            return
        self._closed = True
        self._finalizer.detach()
        await self.flush(self._close_timeout if timeout is None else timeout)
        self._sender.stopping = True
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._queue.requeue(sorted(self._queue.in_flight.items()), retry=False)
        left = self._queue.release()
        if self._spool is not None:
            pending = self._queue.pending()
            if pending:
                logger.warning(
                    "usage recorder closed with %d events undelivered; they stay in the spool "
                    "%s and are sent by the next recorder started with it",
                    pending,
                    self._spool.path,
                )
            self._spool.close()
        elif left:
            self._dropped([event for _, event in left], "the recorder closed before delivering")

    async def __aenter__(self) -> UsageRecorder:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _collected(queue: UsageQueue, task: asyncio.Task[None]) -> None:
    """A recorder collected without aclose(): say loudly what it leaves behind."""
    pending = queue.pending()
    loop = task.get_loop()
    spool = queue.spool
    if not loop.is_closed():
        loop.call_soon_threadsafe(task.cancel)
        if spool is not None:  # after the task has stopped using it, on its thread
            loop.call_soon_threadsafe(spool.close)
    elif spool is not None:
        spool.close()
    if not pending:
        return
    where = (
        f"they stay in the spool {queue.spool.path} for the next recorder started with it"
        if queue.spool is not None
        else "they are lost"
    )
    message = (
        f"a UsageRecorder was garbage-collected, or left open at exit, with {pending} events "
        f"not delivered; {where}. Close it (`await recorder.aclose()`, `async with "
        "UsageRecorder(...)`, or `close()` of a UsageRecorderSync) before dropping it"
    )
    logger.error(message)
    warnings.warn(message, RuntimeWarning, stacklevel=2)


class UsageRecorderSync:
    """`UsageRecorder` for blocking code (Django, Flask, Celery, scripts), on an
    `AutumnSync` client's event loop thread.

    >>> with AutumnSync() as autumn, UsageRecorderSync(autumn, spool="usage.db") as recorder:
    ...     recorder.track({"customer_id": "cus_123", "feature_id": "api_calls"})

    Same settings as `UsageRecorder`. `track()` may be called from any thread
    and costs the same few microseconds; `flush()` and `close()` block. Close
    it before the client (nesting them in one `with`, as above, does).
    """

    __slots__ = ("__weakref__", "_autumn", "_recorder")

    def __init__(self, autumn: AutumnSync, **settings: Unpack[RecorderSettings]) -> None:
        self._autumn = autumn
        self._recorder: UsageRecorder = autumn.call(_open, settings)

    def track(self, params: TrackParams | TrackParamsDict) -> str:
        """Queue one usage event; returns its body `idempotency_key` (see UsageRecorder)."""
        return self._recorder.track(params)

    def stats(self) -> RecorderStats:
        return self._recorder.stats()

    def flush(self, timeout: float | None = None) -> bool:
        """Block until every event recorded before the call is settled (see UsageRecorder)."""
        return self._autumn.call(_flush, self._recorder, timeout)

    def close(self, timeout: float | None = None) -> None:
        """Flush for up to `timeout` seconds (default close_timeout), then stop."""
        if not self._recorder.closed:
            self._autumn.call(_close, self._recorder, timeout)

    def __enter__(self) -> UsageRecorderSync:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


async def _open(_core: AutumnCore, settings: RecorderSettings) -> UsageRecorder:
    return UsageRecorder(_core, **settings)


async def _flush(_core: AutumnCore, recorder: UsageRecorder, timeout: float | None) -> bool:
    return await recorder.flush(timeout)


async def _close(_core: AutumnCore, recorder: UsageRecorder, timeout: float | None) -> None:
    await recorder.aclose(timeout)
