"""The usage recorder's promises about when events go, how long flush() and close()
wait, what its counts and log lines say, and how its spool file behaves when damaged:
each stated against a batch server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from autumn_core import AutumnCore, SDKValidationError
from autumn_funcs import AutumnSync, RecorderStats, TrackParams, UsageRecorder, UsageRecorderSync
from tests.recorder.batch_server import BatchServer
from tests.recorder.conftest import FAST

Quick = Callable[..., dict[str, Any]]
EVENT = {"customer_id": "cus_1", "feature_id": "f"}


def reconciles(stats: RecorderStats) -> bool:
    return stats.recorded + stats.recovered == (
        stats.delivered + stats.refused + stats.dropped + stats.pending
    )


def logged(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "autumn" and r.levelno == level]


async def until(condition: Callable[[], bool], within: float = 5.0) -> bool:
    """Whether `condition` holds within `within` seconds (polled on the loop)."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


def until_blocking(condition: Callable[[], bool], within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def spool_rows(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return int(db.execute("SELECT count(*) FROM usage_events").fetchone()[0])


async def leave_in_spool(core: AutumnCore, quick: Quick, spool: Path, events: int) -> None:
    """A recorder that could not deliver `events` events and closed: they stay in `spool`."""
    recorder = UsageRecorder(core, **quick(spool=spool))
    for _ in range(events):
        recorder.track(EVENT)
    await recorder.aclose(timeout=0.05)


async def test_a_partial_batch_waits_for_the_interval_and_full_batches_go_at_once(
    core: AutumnCore, server: BatchServer, quick: Quick
) -> None:
    settings = quick(flush_interval=60, max_batch=2, max_in_flight=1)
    async with UsageRecorder(core, **settings) as recorder:
        await asyncio.sleep(0.05)  # the sender has started, and waits
        recorder.track(EVENT)
        await asyncio.sleep(0.1)
        assert server.requests == 0  # one event of a batch of 2: it waits for the interval
        for _ in range(5):
            recorder.track(EVENT)
        # Three full batches: the first wakes the sender, the next ones follow it.
        assert await until(lambda: server.total() == 6)
        assert server.requests == 3
        assert "autumn-usage-recorder" in {task.get_name() for task in asyncio.all_tasks()}


async def test_a_recorder_on_a_spool_sends_what_an_earlier_one_left_at_once(
    core: AutumnCore,
    server: BatchServer,
    quick: Quick,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    spool = tmp_path / "usage.db"
    server.down = True
    with caplog.at_level(logging.INFO, logger="autumn"):
        await leave_in_spool(core, quick, spool, 1)
        server.down = False
        async with UsageRecorder(core, **quick(spool=spool, flush_interval=60)) as again:
            # One event left, far from a full batch: sent without waiting for the interval.
            assert await until(lambda: server.total() == 1)
            assert again.stats().recovered == 1
    assert (
        f"usage recorder closed with 1 events undelivered; they stay in the spool {spool} "
        "and are sent by the next recorder started with it"
    ) in logged(caplog, logging.WARNING)
    assert (
        f"usage recorder: 1 events left in the spool {spool} by an earlier run; sending them"
    ) in logged(caplog, logging.INFO)
    assert logged(caplog, logging.ERROR) == []  # an event in the spool is not dropped
    assert (server.applied, spool_rows(spool)) == ({"cus_1": 1}, 0)


async def test_the_counts_add_up_while_a_backlog_is_read_back_from_the_spool(
    core: AutumnCore, server: BatchServer, quick: Quick, tmp_path: Path
) -> None:
    spool = tmp_path / "usage.db"
    server.down = True
    await leave_in_spool(core, quick, spool, 10)
    settings = quick(spool=spool, max_batch=2, max_pending=4)
    async with UsageRecorder(core, **settings) as recorder:
        seen: list[RecorderStats] = []

        def failed_twice() -> bool:
            seen.append(recorder.stats())
            return seen[-1].retried >= 4

        assert await until(failed_twice)  # read back in part, sent, failed, kept
        server.down = False
        assert await recorder.flush(5)
        seen.append(recorder.stats())

    assert all(reconciles(stats) and stats.pending == 10 for stats in seen[:-1]), seen
    assert (seen[-1].recovered, seen[-1].delivered, seen[-1].pending) == (10, 10, 0)
    assert server.applied == {"cus_1": 10}


async def test_a_failing_spool_is_logged_with_the_databases_error(
    core: AutumnCore,
    server: BatchServer,
    quick: Quick,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder = UsageRecorder(core, **quick(spool=tmp_path / "usage.db", flush_interval=60))
    with caplog.at_level(logging.ERROR, logger="autumn"):
        recorder.track(EVENT)
        recorder._spool._db.close()  # type: ignore[union-attr]  # pyright: ignore[reportPrivateUsage, reportOptionalMemberAccess]
        recorder.track(EVENT)
        assert await recorder.flush(5)
    await recorder.aclose()
    closed = "(Cannot operate on a closed database.)"
    errors = logged(caplog, logging.ERROR)
    assert f"usage recorder: the spool refused an event {closed}" in errors
    assert f"usage recorder: the spool failed to forget events {closed}" in errors
    assert server.applied == {"cus_1": 2}


async def test_without_a_spool_memory_takes_max_pending_events_and_drops_the_next(
    core: AutumnCore, server: BatchServer, quick: Quick
) -> None:
    dropped: list[dict[str, Any]] = []
    settings = quick(flush_interval=60, max_batch=2, max_pending=2)
    async with UsageRecorder(core, on_dropped=lambda e, _: dropped.extend(e), **settings) as r:
        for value in (1, 2, 3):
            r.track({**EVENT, "value": value})
        stats = r.stats()
    assert (stats.recorded, stats.dropped, stats.pending) == (3, 1, 2)
    assert [event["value"] for event in dropped] == [3]
    assert server.applied == {"cus_1": 3}


async def test_events_in_flight_at_close_are_not_counted_as_retried(
    core: AutumnCore, server: BatchServer, quick: Quick
) -> None:
    server.faults.append("slow")
    recorder = UsageRecorder(core, **quick())
    recorder.track(EVENT)
    assert await until(lambda: server.requests == 1)  # the batch is on its way
    await recorder.aclose(timeout=0.05)
    stats = recorder.stats()
    # Never sent a second time: the answer may yet apply it, but the recorder let it go.
    assert (stats.retried, stats.dropped, stats.pending, stats.requests) == (0, 1, 0, 1)


async def test_a_recorder_collected_unclosed_closes_its_spool_on_its_loop(
    core: AutumnCore, server: BatchServer, quick: Quick, tmp_path: Path
) -> None:
    server.down = True
    recorder = UsageRecorder(core, **quick(flush_interval=60, spool=tmp_path / "usage.db"))
    recorder.track(EVENT)
    spool = recorder._spool  # pyright: ignore[reportPrivateUsage]
    assert spool is not None
    with pytest.warns(RuntimeWarning, match="stay in the spool"):
        del recorder
        gc.collect()
    await asyncio.sleep(0.05)
    with pytest.raises(sqlite3.ProgrammingError, match="closed database"):
        spool._db.execute("SELECT 1")  # pyright: ignore[reportPrivateUsage]


def test_a_recorder_collected_after_its_loop_closed_closes_its_spool(tmp_path: Path) -> None:
    async def left_open() -> UsageRecorder:
        core = AutumnCore("am_sk_test_recorder", server_url="http://127.0.0.1:9")
        recorder = UsageRecorder(core, flush_interval=60, spool=tmp_path / "usage.db")
        recorder.track(EVENT)
        await core.aclose()
        return recorder

    recorder = asyncio.run(left_open())
    spool = recorder._spool  # pyright: ignore[reportPrivateUsage]
    assert spool is not None
    with pytest.warns(RuntimeWarning, match="stay in the spool"):
        del recorder
        gc.collect()
    with pytest.raises(sqlite3.ProgrammingError, match="closed database"):
        spool._db.execute("SELECT 1")  # pyright: ignore[reportPrivateUsage]


async def test_retried_counts_every_event_sent_again(
    core: AutumnCore, server: BatchServer, quick: Quick
) -> None:
    server.faults.extend(["503"] * 6)  # two of the recorder's sends, each after the core's retries
    async with UsageRecorder(core, **quick()) as recorder:
        for _ in range(3):
            recorder.track(EVENT)
        assert await recorder.flush(5)
        stats = recorder.stats()
    assert (stats.retried, stats.delivered, stats.requests) == (6, 3, 3)
    assert server.applied == {"cus_1": 3}


async def test_a_flush_that_gives_up_leaves_another_one_waiting_to_be_served(
    core: AutumnCore, server: BatchServer, quick: Quick
) -> None:
    server.down = True
    async with UsageRecorder(core, **quick(flush_interval=60)) as recorder:
        recorder.track(EVENT)
        short = asyncio.create_task(recorder.flush(0.1))
        patient = asyncio.create_task(recorder.flush(3))
        assert await short is False
        await asyncio.sleep(0.2)  # still down: the sender keeps trying for the other flush
        server.down = False
        assert await patient is True
    assert server.applied == {"cus_1": 1}


async def test_a_failed_batch_is_kept_and_logged_once_as_a_failure_not_a_bug(
    core: AutumnCore, server: BatchServer, quick: Quick, caplog: pytest.LogCaptureFixture
) -> None:
    # The whole batch is refused for its last event; its first half then meets a
    # server error: every event goes back to the queue, and the refusal is found again.
    server.faults.extend(["", "503", "503", "503"])
    with caplog.at_level(logging.WARNING, logger="autumn"):
        async with UsageRecorder(core, **quick(max_batch=4)) as recorder:
            for customer in ("cus_1", "cus_1", "cus_1"):
                recorder.track({"customer_id": customer, "feature_id": "f"})
            recorder.track({"customer_id": "cus_2", "feature_id": "bad"})
            assert await recorder.flush(5)
            stats = recorder.stats()
    (failed,) = logged(caplog, logging.WARNING)
    assert re.fullmatch(
        r"usage recorder: a batch of 4 events failed \(.*\); kept, sending again in 0\.0\d s",
        failed,
    ), failed
    (refused,) = logged(caplog, logging.ERROR)  # the bad event, and no failure of the sender
    assert refused.startswith("usage recorder: Autumn refused an event")
    assert (stats.delivered, stats.refused, stats.retried) == (3, 1, 4)
    assert server.applied == {"cus_1": 3}


async def test_a_spool_row_that_is_not_an_event_does_not_stop_the_others(
    core: AutumnCore, server: BatchServer, quick: Quick, tmp_path: Path
) -> None:
    spool = tmp_path / "usage.db"
    server.down = True
    await leave_in_spool(core, quick, spool, 3)
    with contextlib.closing(sqlite3.connect(spool)) as db, db:
        db.execute(
            "UPDATE usage_events SET event = '[1, 2]'"
            " WHERE seq = (SELECT min(seq) + 1 FROM usage_events)"
        )
    server.down = False
    refused: list[object] = []
    settings = quick(spool=spool, on_refused=lambda event, _error: refused.append(event))
    async with UsageRecorder(core, **settings) as recorder:
        assert await recorder.flush(5)
        stats = recorder.stats()
    assert (stats.delivered, stats.refused, stats.retried, stats.pending) == (2, 1, 0, 0)
    assert refused == [[1, 2]]  # reported as it was read, once
    assert server.applied == {"cus_1": 2}
    assert spool_rows(spool) == 0


async def test_a_spool_file_that_is_not_a_database_is_refused_each_time(
    core: AutumnCore, quick: Quick, tmp_path: Path
) -> None:
    spool = tmp_path / "usage.db"
    spool.write_bytes(b"not a database, " * 64)
    with pytest.raises(sqlite3.DatabaseError) as first:
        UsageRecorder(core, **quick(spool=spool))
    # The lock taken for the first try was let go: the second meets the same error,
    # not "in use by another UsageRecorder".
    with pytest.raises(sqlite3.DatabaseError):
        UsageRecorder(core, **quick(spool=spool))
    gc.collect()  # a connection left open would warn here (Python 3.13), failing this test
    assert "not a database" in str(first.value)
    assert (tmp_path / "usage.db.lock").exists()  # the lock lives beside the spool


async def test_a_params_object_without_a_key_gets_the_recorders_key(
    core: AutumnCore, server: BatchServer, quick: Quick
) -> None:
    async with UsageRecorder(core, **quick()) as recorder:
        key = recorder.track(TrackParams(customer_id="cus_1", feature_id="f", value=2))
        assert await recorder.flush(5)
    assert re.fullmatch(r"ur_[0-9a-f]{16}_1", key), key
    assert (server.keys, server.applied) == ({key}, {"cus_1": 2})


@pytest.mark.parametrize(
    ("settings", "field", "reason"),
    [
        ({"retry_initial_s": 0}, "retry_initial_s", "expected a number > 0, got 0"),
        ({"max_batch": 1001}, "max_batch", "expected a whole number from 1 to 1000, got 1001"),
        ({"on_dropped": "log"}, "on_dropped", "expected a callable or None, got 'log'"),
    ],
)
async def test_a_bad_setting_is_refused_with_its_name_and_reason(
    core: AutumnCore, settings: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(SDKValidationError) as refused:
        UsageRecorder(core, **settings)
    assert (refused.value.field, str(refused.value)) == (field, f"invalid {field}: {reason}")


async def test_a_core_that_is_not_a_core_is_refused_by_name() -> None:
    with pytest.raises(SDKValidationError) as refused:
        UsageRecorder("am_sk_test_recorder")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    assert (refused.value.field, str(refused.value)) == (
        "core",
        "invalid core: expected an AutumnCore, got str",
    )


def test_a_full_batch_recorded_from_a_thread_goes_without_waiting_for_the_interval(
    threaded_server: BatchServer,
) -> None:
    with (
        AutumnSync("am_sk_test_recorder", server_url=threaded_server.url) as autumn,
        UsageRecorderSync(
            autumn, flush_interval=60, max_batch=2, requests_per_second=None
        ) as recorder,
    ):
        recorder.track(EVENT)
        assert recorder.flush(5)  # the sender now waits for the interval, or a full batch
        recorder.track(EVENT)
        recorder.track(EVENT)  # a full batch: the sender on the client's thread is woken
        assert until_blocking(lambda: threaded_server.total() == 3)


def test_blocking_flush_and_close_keep_to_their_timeouts(threaded_server: BatchServer) -> None:
    threaded_server.down = True
    # The server comes back later than either timeout: a wait past them would deliver.
    later = threading.Timer(0.6, lambda: setattr(threaded_server, "down", False))
    with AutumnSync(
        "am_sk_test_recorder", server_url=threaded_server.url, retry_config=FAST
    ) as autumn:
        recorder = UsageRecorderSync(
            autumn, flush_interval=60, close_timeout=5, retry_initial_s=0.01, retry_max_s=0.05
        )
        recorder.track(EVENT)
        later.start()
        try:
            assert recorder.flush(0.2) is False
            recorder.close(0.2)
            stats = recorder.stats()
        finally:
            later.join()
        recorder.close()  # closed already: nothing more
    assert (stats.dropped, stats.delivered, stats.pending) == (1, 0, 0)
    assert threaded_server.applied == {}
    with pytest.raises(RuntimeError, match="closed"):
        recorder.track(EVENT)


async def test_a_flush_waits_only_for_events_recorded_before_it(
    core: AutumnCore, server: BatchServer, quick: Quick
) -> None:
    server.down = True
    async with UsageRecorder(core, **quick(flush_interval=60)) as recorder:
        flushing = asyncio.create_task(recorder.flush(1))
        await asyncio.sleep(0)  # the flush has begun, with nothing recorded before it
        recorder.track(EVENT)  # recorded after: not the flush's to wait for
        assert await flushing is True
        server.down = False
    assert server.applied == {"cus_1": 1}
