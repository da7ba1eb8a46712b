"""When the usage recorder sends again and how fast it sends: the backoff after each
failure in a row, the pause a server asks for, the pacing of request starts, and how
much of a spool's backlog it holds in memory: each stated against a batch server
on 127.0.0.1."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from autumn_core import AutumnCore
from autumn_funcs import UsageRecorder
from tests.recorder.batch_server import BatchServer

Quick = Callable[..., dict[str, Any]]
EVENT = {"customer_id": "cus_1", "feature_id": "f"}
# A recorder's send that fails: the core's first attempt and its two retries.
FAILED_SEND = ["503"] * 3


def waits(caplog: pytest.LogCaptureFixture) -> list[float]:
    """The wait each failure's warning announced, unrounded (the log line rounds it)."""
    return [
        float(r.args[2])  # type: ignore[index]
        for r in caplog.records
        if r.name == "autumn" and r.msg.startswith("usage recorder: a batch of")
    ]


async def test_the_wait_doubles_with_each_failure_in_a_row_up_to_retry_max_s(
    core: AutumnCore, server: BatchServer, quick: Quick, caplog: pytest.LogCaptureFixture
) -> None:
    # The n-th failure in a row waits between half and all of
    # min(retry_max_s, retry_initial_s * 2 ** (n - 1)); a delivery starts the count again.
    initial, most, failures = 0.001, 0.016, 24
    server.faults.extend(FAILED_SEND * failures)
    settings = quick(retry_initial_s=initial, retry_max_s=most)
    with caplog.at_level(logging.WARNING, logger="autumn"):
        async with UsageRecorder(core, **settings) as recorder:
            recorder.track(EVENT)
            assert await recorder.flush(10)
            server.faults.extend(FAILED_SEND)
            recorder.track(EVENT)
            assert await recorder.flush(10)
    backoffs = [min(most, initial * 2**n) for n in range(failures)] + [initial]
    announced = waits(caplog)
    for n, (wait, backoff) in enumerate(zip(announced, backoffs, strict=True)):
        assert backoff / 2 <= wait <= backoff, (n, wait, backoff)
    assert [r.levelno for r in caplog.records if r.name == "autumn"] == [logging.WARNING] * (
        failures + 1
    )  # failures, and no failure of the sender itself
    assert server.applied == {"cus_1": 2}


async def test_the_batch_goes_again_only_after_the_pause_the_server_asked_for(
    core: AutumnCore, server: BatchServer, quick: Quick
) -> None:
    server.faults.extend(["429-soon"] * 3)  # Retry-After: 0.3, on each of the core's attempts
    async with UsageRecorder(core, **quick(retry_max_s=5.0)) as recorder:
        recorder.track(EVENT)
        assert await recorder.flush(10)
    assert server.requests == 4
    assert server.started[3] - server.started[2] >= 0.3
    assert server.applied == {"cus_1": 1}


async def test_a_second_of_requests_may_start_at_once_and_the_next_waits_for_the_next_second(
    core: AutumnCore, server: BatchServer, quick: Quick
) -> None:
    settings = quick(requests_per_second=2, max_batch=1, max_in_flight=2)
    async with UsageRecorder(core, **settings) as recorder:
        for _ in range(3):
            recorder.track(EVENT)
        assert await recorder.flush(10)
    first, second, third = server.started
    assert second - first < 0.5  # not spread out: two requests are this second's share
    assert third - first >= 1.0
    assert server.applied == {"cus_1": 3}


async def test_one_request_per_second_is_one_request_per_second(
    core: AutumnCore, server: BatchServer, quick: Quick
) -> None:
    settings = quick(requests_per_second=1, max_batch=1, max_in_flight=2)
    async with UsageRecorder(core, **settings) as recorder:
        recorder.track(EVENT)
        recorder.track(EVENT)
        assert await recorder.flush(10)
    first, second = server.started
    assert second - first >= 1.0
    assert server.applied == {"cus_1": 2}


async def test_a_backlog_read_back_from_the_spool_fills_memory_up_to_max_pending_only(
    core: AutumnCore, server: BatchServer, quick: Quick, tmp_path: Path
) -> None:
    spool = tmp_path / "usage.db"
    server.down = True
    recorder = UsageRecorder(core, **quick(spool=spool))
    for feature in ("f", "f", "bad", "f", "f", "f", "f"):
        recorder.track({"customer_id": "cus_1", "feature_id": feature})
    await recorder.aclose(timeout=0.05)
    server.down = False
    # The first batch is refused for its third event and split; its second half then
    # fails and goes back to the queue, two events: the next read-back tops it up.
    server.faults.extend(["", "", *FAILED_SEND])
    settings = quick(spool=spool, max_batch=3, max_pending=3, max_in_flight=1)
    async with UsageRecorder(core, **settings) as again:
        queue = again._queue  # pyright: ignore[reportPrivateUsage]
        held: list[int] = []
        server.on_request = lambda: held.append(len(queue.memory) + len(queue.in_flight))
        assert await again.flush(10)
        stats = again.stats()
    assert held and max(held) <= 3, held  # one batch in flight, the rest waits on disk
    assert (stats.recovered, stats.delivered, stats.refused, stats.pending) == (7, 6, 1, 0)
    assert server.applied == {"cus_1": 6}
