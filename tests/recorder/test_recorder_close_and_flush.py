"""What the usage recorder's flush() and close() promise: the waits they keep, the
counts they leave, the task they stop, and what they say when something inside the
recorder fails: each stated against a batch server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from autumn_core import AutumnCore
from autumn_funcs import UsageRecorder
from tests.recorder.batch_server import BatchServer
from tests.recorder.test_recorder_promises import until
from tests.recorder.test_recorder_reports import messages

Quick = Callable[..., dict[str, Any]]
EVENT = {"customer_id": "cus_1", "feature_id": "f"}


class FailingHandler(logging.Handler):
    """A log handler of the app's that raises on the records whose message starts
    with `prefix` (on the first only, when `once`)."""

    def __init__(self, prefix: str, *, once: bool) -> None:
        super().__init__()
        self.prefix, self.once, self.raised = prefix, once, 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith(self.prefix) and not (self.once and self.raised):
            self.raised += 1
            raise RuntimeError("a log handler of the app's failed")


@contextlib.contextmanager
def handler_on(logger: logging.Logger, handler: logging.Handler) -> Iterator[None]:
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


async def test_close_gives_up_after_close_timeout_by_default(
    core: AutumnCore, server: BatchServer, quick: Quick
) -> None:
    server.down = True
    recorder = UsageRecorder(core, **quick(close_timeout=0.2))
    recorder.track(EVENT)
    await asyncio.wait_for(recorder.aclose(), 5)
    stats = recorder.stats()
    assert (stats.dropped, stats.pending) == (1, 0)


async def test_after_a_flush_a_partial_batch_waits_for_the_interval_again(
    core: AutumnCore, server: BatchServer, quick: Quick
) -> None:
    async with UsageRecorder(core, **quick(flush_interval=60, max_batch=2)) as recorder:
        recorder.track(EVENT)
        assert await recorder.flush(5)
        for _ in range(3):
            recorder.track(EVENT)  # a full batch, and one event of the next
        assert await until(lambda: server.total() == 3)
        await asyncio.sleep(0.2)
        assert server.requests == 2  # the flush is over: the last event waits
    assert (server.requests, server.applied) == (3, {"cus_1": 4})  # sent on close


async def test_an_event_with_a_key_of_its_own_keeps_it(
    core: AutumnCore, server: BatchServer, quick: Quick
) -> None:
    async with UsageRecorder(core, **quick()) as recorder:
        key = recorder.track({**EVENT, "idempotency_key": "evt_1"})
        assert await recorder.flush(5)
    assert (key, server.keys) == ("evt_1", {"evt_1"})


async def test_no_task_of_the_recorder_is_left_once_it_is_closed(
    core: AutumnCore, server: BatchServer, quick: Quick
) -> None:
    server.faults.append("slow")
    recorder = UsageRecorder(core, **quick())
    recorder.track(EVENT)
    assert await until(lambda: server.requests == 1)  # a batch on its way
    await recorder.aclose(timeout=0.05)
    assert "autumn-usage-recorder" not in {task.get_name() for task in asyncio.all_tasks()}


async def test_close_adds_what_it_drops_to_what_was_dropped_before(
    core: AutumnCore, server: BatchServer, quick: Quick
) -> None:
    server.down = True
    recorder = UsageRecorder(core, **quick(flush_interval=60, max_batch=2, max_pending=2))
    for _ in range(3):
        recorder.track(EVENT)  # the third finds memory full: dropped
    assert recorder.stats().dropped == 1
    await recorder.aclose(timeout=0.1)
    stats = recorder.stats()
    assert (stats.recorded, stats.dropped, stats.pending) == (3, 3, 0)


async def test_close_with_a_spool_counts_every_event_it_leaves_there(
    core: AutumnCore,
    server: BatchServer,
    quick: Quick,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    spool = tmp_path / "usage.db"
    server.down = True
    settings = quick(spool=spool, flush_interval=60, max_batch=2, max_pending=2)
    recorder = UsageRecorder(core, **settings)
    for _ in range(5):
        recorder.track(EVENT)  # two in memory, three on disk only
    with caplog.at_level(logging.WARNING, logger="autumn"):
        await recorder.aclose(timeout=0.1)
    stats = recorder.stats()
    assert (stats.recorded, stats.dropped, stats.pending) == (5, 0, 5)
    warnings = [r.getMessage() for r in messages(caplog, logging.WARNING)]
    assert any(w.startswith("usage recorder closed with 5 events undelivered") for w in warnings)
    with contextlib.closing(sqlite3.connect(spool)) as db:
        assert db.execute("SELECT count(*) FROM usage_events").fetchone()[0] == 5


async def test_a_failure_inside_delivery_keeps_the_events_not_settled_and_goes_on(
    core: AutumnCore, server: BatchServer, quick: Quick, caplog: pytest.LogCaptureFixture
) -> None:
    # The batch is split for its bad event; the report of that refusal raises (a log
    # handler of the app's): the other event, still in flight, is kept, and the one
    # sender goes on to deliver it.
    failing = FailingHandler("usage recorder: Autumn refused an event", once=True)
    with (
        caplog.at_level(logging.ERROR, logger="autumn"),
        handler_on(logging.getLogger("autumn"), failing),
    ):
        async with UsageRecorder(core, **quick(max_batch=2, max_in_flight=1)) as recorder:
            recorder.track({"customer_id": "cus_2", "feature_id": "bad"})
            recorder.track(EVENT)
            assert await recorder.flush(5)
            stats = recorder.stats()
    assert failing.raised == 1
    (failed,) = [r for r in messages(caplog, logging.ERROR) if r.exc_info]
    assert failed.getMessage() == "usage recorder: delivering a batch failed; kept"
    assert isinstance(failed.exc_info[1], RuntimeError)  # type: ignore[index]
    assert (stats.delivered, stats.refused, stats.retried, stats.pending) == (1, 1, 1, 0)
    assert server.applied == {"cus_1": 1}


async def test_flush_says_false_once_the_recorders_task_has_stopped_with_events_left(
    core: AutumnCore, server: BatchServer, quick: Quick, caplog: pytest.LogCaptureFixture
) -> None:
    # Every line the recorder logs raises, even its report of that failure: its one
    # sender stops. A flush then reports the event as not settled.
    server.faults.extend(["503"] * 3)
    failing = FailingHandler("usage recorder", once=False)
    recorder = UsageRecorder(core, **quick(max_in_flight=1))
    with (
        caplog.at_level(logging.WARNING, logger="autumn"),
        handler_on(logging.getLogger(), failing),  # after the capture: it sees each line
    ):
        recorder.track(EVENT)
        assert await until(lambda: failing.raised == 2)  # the failure, then its report
        await asyncio.sleep(0.05)
        assert await recorder.flush(1) is False
        assert recorder.stats().pending == 1
    await recorder.aclose(timeout=0.1)


async def test_a_flush_waits_only_for_events_recorded_before_it_when_later_ones_wait_on_disk(
    core: AutumnCore, server: BatchServer, quick: Quick, tmp_path: Path
) -> None:
    # One event a batch, one in memory: the first is answered late; the one recorded
    # next (after the flush began) then fails, and waits seconds before it goes again.
    server.faults.extend(["slow", "503", "503", "503"])
    settings = quick(spool=tmp_path / "usage.db", flush_interval=60, max_batch=1,
                     max_pending=1, max_in_flight=1, retry_initial_s=3, retry_max_s=3)  # fmt: skip
    recorder = UsageRecorder(core, **settings)
    recorder.track(EVENT)
    assert await until(lambda: server.requests == 1)  # on its way, answered late
    flushing = asyncio.create_task(recorder.flush(1.5))
    await asyncio.sleep(0)  # the flush has begun: it waits for that one event
    recorder.track(EVENT)  # in memory, sent next
    recorder.track(EVENT)  # memory is full: on disk
    assert await flushing is True
    assert server.applied == {"cus_1": 1}
    await recorder.aclose(timeout=0.1)


async def test_a_flush_after_close_says_false_while_events_wait_in_the_spool(
    core: AutumnCore, server: BatchServer, quick: Quick, tmp_path: Path
) -> None:
    server.down = True
    recorder = UsageRecorder(core, **quick(spool=tmp_path / "usage.db"))
    recorder.track(EVENT)
    recorder.track(EVENT)
    await recorder.aclose(timeout=0.1)
    assert recorder.stats().pending == 2  # left in the spool for the next recorder
    assert await recorder.flush(0.5) is False
