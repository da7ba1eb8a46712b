"""An injectable clock and sleep for RetryConfig: retry schedules run in no time."""

from __future__ import annotations

import asyncio


class FakeTime:
    """A clock that moves only when the SDK sleeps; `sleeps` records every wait
    the SDK asked for, in seconds.

    >>> fake = FakeTime(); RetryConfig(sleep=fake.sleep, clock=fake.clock)
    """

    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)  # still yield to the loop, as a real sleep would
