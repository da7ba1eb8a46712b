"""The usage recorder's queue: events between `track()` and their delivery.

Each event is held as `(number, event)`: in memory its order of recording, with
a spool its row in the SQLite file. Memory is bounded by `max_pending` events;
what happens beyond it is the queue's policy:

- with a spool, backpressure to disk: the event is committed to the file
  only, and read back when memory has room. Nothing is dropped.
- without one, the event is dropped, and the recorder counts it, logs it
  and hands it to `on_dropped`.

Every event ends delivered, refused or dropped, and `recorded + recovered ==
delivered + refused + dropped + pending` at every moment (the stats say so).
One lock guards it all: a blocking program records from many threads while
the sender runs on the client's loop thread.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections import deque
from collections.abc import Iterable
from typing import Any

import attrs

from autumn_core.seam import CheckedParams
from autumn_funcs._usage_spool import UsageSpool

logger = logging.getLogger("autumn")

# (number, event): the event checked when it was recorded (a CheckedParams of
# balances_track), or as read back from the spool (its wire dict, checked again
# before it is sent: a file is no proof).
Item = tuple[int, Any]


@attrs.frozen(kw_only=True)
class RecorderStats:
    """What a `UsageRecorder` did with its events so far.

    `recorded` events taken by `track()`, and `recovered` from the spool at
    start, each end `delivered` (Autumn accepted them), `refused` (Autumn
    refused that event alone; `on_refused` got it with the error), `dropped`
    (the queue was full without a spool, or the recorder closed without one
    before delivering them; `on_dropped` got them) or are still `pending`
    (queued, in flight, or waiting in the spool):
    `recorded + recovered == delivered + refused + dropped + pending`.
    `retried` counts events sent again after a failed request; `requests` the
    batch requests sent.
    """

    recorded: int
    recovered: int
    delivered: int
    pending: int
    retried: int
    refused: int
    dropped: int
    requests: int


class UsageQueue:
    """Bounded in memory, with an optional spool behind it; see the module's note."""

    def __init__(self, max_pending: int, spool: UsageSpool | None) -> None:
        self.lock = threading.Lock()
        self.max_pending = max_pending
        self.spool = spool
        self.memory: deque[Item] = deque()
        self.in_flight: dict[int, Any] = {}
        self._number = 0  # the last number given, in memory mode
        self._last = 0  # the number of the last event recorded (either mode)
        self._loaded = 0  # the spool's last row read into memory
        self._on_disk = 0  # events in the spool only, not yet read into memory
        self._unspooled = 0  # the last number given to an event the spool could not take
        self.recorded = self.recovered = self.delivered = 0
        self.retried = self.refused = self.dropped = self.requests = 0
        if spool is not None:
            # Left by an earlier run: read back from disk, as the backlog of a full queue is.
            self._on_disk, self._last = spool.count_and_last()
            self.recovered = self._on_disk

    def put(self, event: CheckedParams) -> bool:
        """Queue an event (and commit it to the spool, if any); False when it was dropped."""
        with self.lock:
            self.recorded += 1
            spool = self.spool
            if spool is not None:
                try:
                    number = self._last = spool.add(event.fields)
                except sqlite3.Error as exc:  # a full or failing disk: memory, if it has room
                    logger.error("usage recorder: the spool refused an event (%s)", exc)
                    # Numbered below zero: no spool row has that number to be deleted by it.
                    self._unspooled -= 1
                    return self._put_in_memory(event, self._unspooled)
                if self._on_disk or len(self.memory) >= self.max_pending:
                    self._on_disk += 1  # backpressure to disk: read back when there is room
                else:
                    self.memory.append((number, event))
                    self._loaded = number
                return True
            return self._put_in_memory(event)

    def _put_in_memory(self, event: Any, number: int | None = None) -> bool:
        if len(self.memory) >= self.max_pending:
            self.dropped += 1
            return False
        if number is None:
            number = self._number = self._last = self._number + 1
        self.memory.append((number, event))
        return True

    def ready(self, size: int) -> bool:
        return len(self.memory) >= size or self._on_disk > 0

    def take(self, size: int) -> list[Item]:
        """Up to `size` events, oldest first, now in flight."""
        with self.lock:
            if self._on_disk and len(self.memory) < size:
                self._read_back()
            memory = self.memory
            batch = [memory.popleft() for _ in range(min(size, len(memory)))]
            self.in_flight.update(batch)
            return batch

    def _read_back(self) -> None:
        assert self.spool is not None  # events are on disk only with a spool
        want = max(self.max_pending - len(self.memory), 1)
        rows = self.spool.after(self._loaded, want)
        if rows:
            self._loaded = rows[-1][0]
        self.memory.extend(rows)
        # Fewer rows than asked for: the disk holds no more.
        self._on_disk = self._on_disk - len(rows) if len(rows) == want else 0

    def settle(self, items: Iterable[Item], *, refused: bool = False) -> None:
        """Events delivered (or refused and reported): out of flight, off the disk."""
        numbers = [number for number, _ in items]
        with self.lock:
            for number in numbers:
                del self.in_flight[number]
            if refused:
                self.refused += len(numbers)
            else:
                self.delivered += len(numbers)
            if self.spool is not None:
                try:
                    self.spool.remove(numbers)
                except sqlite3.Error as exc:
                    # Settled all the same: a later run may send them again, and their
                    # keys make that harmless.
                    logger.error("usage recorder: the spool failed to forget events (%s)", exc)

    def requeue(self, items: list[Item], *, retry: bool = True) -> None:
        """Events to send again, back at the head of the queue in their order."""
        with self.lock:
            for number, _ in items:
                del self.in_flight[number]
            self.memory.extendleft(reversed(items))
            if retry:
                self.retried += len(items)

    def release(self) -> list[Item]:
        """At close: every event still queued in memory (a spool keeps its own)."""
        with self.lock:
            items = list(self.memory)
            self.memory.clear()
            if self.spool is None:
                self.dropped += len(items)
            else:
                self._on_disk += len(items)  # still pending, in the file, for the next run
                if items:
                    # Back on disk, older than any row not read yet: lowest_unsettled()
                    # must see them, or a flush after the close would call them settled.
                    self._loaded = min(self._loaded, min(number for number, _ in items) - 1)
            return items

    def pending(self) -> int:
        return len(self.memory) + len(self.in_flight) + self._on_disk

    def last_number(self) -> int:
        return self._last

    def lowest_unsettled(self) -> float:
        """The number of the oldest event not yet settled (infinity when none is)."""
        with self.lock:
            candidates: list[float] = [min(self.in_flight)] if self.in_flight else []
            if self.memory:
                candidates.append(self.memory[0][0])
            if self._on_disk:
                candidates.append(self._loaded + 1)
            return min(candidates, default=float("inf"))

    def stats(self) -> RecorderStats:
        with self.lock:
            return RecorderStats(
                recorded=self.recorded,
                recovered=self.recovered,
                delivered=self.delivered,
                pending=self.pending(),
                retried=self.retried,
                refused=self.refused,
                dropped=self.dropped,
                requests=self.requests,
            )
