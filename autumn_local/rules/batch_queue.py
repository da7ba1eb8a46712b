"""When the items of a ``batch_track`` are applied: at once, or after a delay.

Autumn answers ``batch_track`` once the items are queued; a worker applies
them moments later, so a ``customers.get`` right after the answer may not
show them yet. By default this server applies them before answering (a
test sees the effect at once). With ``batch_apply_delay`` seconds it
answers first and applies each batch that long afterwards, in the order
the batches were accepted, so code that must cope with the lag can be
tested. Batches still waiting when the server stops are applied then,
before the database closes: none is lost by stopping.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from autumn_local.rules.batch_track import Deductions, apply_items
from autumn_local.rules.clock import Clock
from autumn_local.schemas.usage import TrackParams
from autumn_local.store.database import Store

__all__ = ["BatchQueue"]

log = logging.getLogger("autumn_local")


@dataclass(frozen=True)
class _Batch:
    due: float  # loop.time()
    store: Store
    clock: Clock
    items: Sequence[TrackParams]
    env: str


class BatchQueue:
    """The batches accepted and not yet applied (none when ``delay_s`` is 0)."""

    def __init__(self, delay_s: float = 0.0) -> None:
        if not 0 <= delay_s < float("inf"):
            raise ValueError(f"batch_apply_delay must be a number of seconds >= 0, got {delay_s}")
        self.delay_s = delay_s
        self._waiting: deque[_Batch] = deque()
        self._timer: asyncio.TimerHandle | None = None

    @property
    def pending(self) -> int:
        """Batches accepted and not applied yet."""
        return len(self._waiting)

    def submit(
        self,
        store: Store,
        clock: Clock,
        items: Sequence[TrackParams],
        resolved: Sequence[Deductions],
        env: str,
        now_ms: int,
    ) -> None:
        """Apply ``items`` now (inside the request's transaction, with the deductions
        ``resolved`` for them there) or schedule them (resolved again when applied:
        the features may have changed by then)."""
        if self.delay_s == 0:
            apply_items(store, items, env, now_ms, resolved)
            return
        loop = asyncio.get_running_loop()
        self._waiting.append(_Batch(loop.time() + self.delay_s, store, clock, items, env))
        if self._timer is None:
            self._timer = loop.call_at(self._waiting[0].due, self._apply_due)

    def _apply_due(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        while self._waiting and self._waiting[0].due <= loop.time():
            self._apply(self._waiting.popleft())
        if self._waiting:
            self._timer = loop.call_at(self._waiting[0].due, self._apply_due)

    def drain(self) -> int:
        """Apply every waiting batch now (the server is stopping, or a test asks); how many."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        applied = 0
        while self._waiting:
            self._apply(self._waiting.popleft())
            applied += 1
        return applied

    @staticmethod
    def _apply(batch: _Batch) -> None:
        try:
            with batch.store.transaction():
                apply_items(batch.store, batch.items, batch.env, batch.clock.now_ms())
        except Exception:
            # A bug, not an item's failure (those are logged per item): say so.
            log.exception("applying a delayed batch of %d items failed", len(batch.items))
