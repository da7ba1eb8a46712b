"""The server's notion of "now", which tests may move by hand.

Resets, expiry and the idempotency window are all judged against this clock,
never against ``time.time()`` directly, so a test can jump a month ahead
without sleeping.
"""

from __future__ import annotations

import time

__all__ = ["Clock"]


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class Clock:
    """Milliseconds since the Unix epoch, following wall time until told otherwise.

    The clock runs with the wall clock plus an offset. ``set_ms`` freezes it at
    an instant (a frozen clock makes assertions on timestamps exact);
    ``advance`` moves it forward whether frozen or running; ``resume``
    unfreezes it, keeping the current reading.

    Example::

        server.clock.advance(days=31)   # the monthly balance has now reset
        server.clock.set_ms(1_767_225_600_000)
    """

    def __init__(self, start_ms: int | None = None) -> None:
        self._offset_ms = 0
        self._frozen_ms: int | None = None
        if start_ms is not None:
            self.set_ms(start_ms)

    def now_ms(self) -> int:
        """Current time in Unix milliseconds."""
        if self._frozen_ms is not None:
            return self._frozen_ms
        return _wall_ms() + self._offset_ms

    @property
    def frozen(self) -> bool:
        return self._frozen_ms is not None

    def set_ms(self, ms: int) -> None:
        """Freeze the clock at ``ms`` (Unix milliseconds)."""
        if isinstance(ms, bool) or not isinstance(ms, int):
            raise TypeError("ms must be an int of Unix milliseconds")
        self._frozen_ms = ms

    def advance(
        self,
        ms: int = 0,
        *,
        seconds: float = 0,
        minutes: float = 0,
        hours: float = 0,
        days: float = 0,
    ) -> int:
        """Move the clock forward (or back, with negative values); returns the new time."""
        delta = ms + round(
            seconds * 1_000 + minutes * 60_000 + hours * 3_600_000 + days * 86_400_000
        )
        if self._frozen_ms is not None:
            self._frozen_ms += delta
        else:
            self._offset_ms += delta
        return self.now_ms()

    def resume(self) -> None:
        """Let a frozen clock run again from where it stands."""
        if self._frozen_ms is not None:
            self._offset_ms = self._frozen_ms - _wall_ms()
            self._frozen_ms = None

    def __repr__(self) -> str:
        state = "frozen" if self.frozen else "running"
        return f"Clock({self.now_ms()} ms, {state})"
