"""`FloodLog`: one log line the first time something happens, then a sum at most once a minute.

For what a hostile or broken client can make happen thousands of times a second
(connections closed at the cap, malformed requests): the log says that it
happens and how often, and never grows with the flood.
"""

from __future__ import annotations

import logging
import time
from collections import Counter

__all__ = ["SUMMARY_EVERY_S", "FloodLog"]

SUMMARY_EVERY_S = 60.0


class FloodLog:
    """WARNING lines on ``log``: the first of each kind, then sums."""

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._pending: Counter[str] = Counter()
        self._last: dict[str, float] = {}

    def record(self, kind: str, first: str, summary: str) -> None:
        """Count one ``kind``; log ``first`` the first time, then ``summary % count``
        at most once a minute."""
        now = time.monotonic()
        last = self._last.get(kind)
        self._pending[kind] += 1
        if last is None:
            self._log.warning(
                "%s (logged once; later ones are summed up at most once a minute)", first
            )
        elif now - last >= SUMMARY_EVERY_S:
            self._log.warning(summary, self._pending[kind])
        else:
            return
        self._last[kind] = now
        self._pending[kind] = 0
