"""UsageRecorder with a spool: each event is in the SQLite file before track() returns,
a full memory queue pushes events to disk instead of dropping them, and a recorder
started on the file of one that was closed, or killed with SIGKILL, delivers what
was left, each event once."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import sqlite3
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from autumn_core import AutumnCore, SDKValidationError
from autumn_funcs import UsageRecorder
from tests.recorder.batch_server import BatchServer

Quick = Callable[..., dict[str, Any]]
Spooled = Callable[..., UsageRecorder]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    """The test's spool file (not there yet)."""
    return tmp_path / "usage.db"


@pytest.fixture
def spooled(core: AutumnCore, quick: Quick, spool: Path) -> Spooled:
    """A new UsageRecorder on the test's spool, with quick settings plus what a test adds."""
    return lambda **more: UsageRecorder(core, **quick(spool=spool, **more))


def rows(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as db:  # `with db` alone does not close
        return int(db.execute("SELECT count(*) FROM usage_events").fetchone()[0])


async def test_an_event_is_on_disk_when_track_returns(
    server: BatchServer, spool: Path, spooled: Spooled
) -> None:
    server.down = True
    recorder = spooled(flush_interval=60)
    recorder.track({"customer_id": "cus_1", "feature_id": "f"})
    on_disk = rows(spool)  # read by another connection, as another process would
    server.down = False
    await recorder.aclose()

    assert on_disk == 1
    assert rows(spool) == 0  # delivered, then removed
    assert server.applied == {"cus_1": 1}


async def test_a_new_recorder_on_the_spool_delivers_what_the_last_one_left(
    server: BatchServer, spooled: Spooled
) -> None:
    server.down = True
    first = spooled()
    for _ in range(20):
        first.track({"customer_id": "cus_1", "feature_id": "f"})
    await first.aclose(timeout=0.1)
    left = first.stats()

    server.down = False
    async with spooled() as second:
        assert await second.flush(5)
        stats = second.stats()

    assert (left.pending, left.dropped) == (20, 0)
    assert (stats.recovered, stats.delivered, stats.pending) == (20, 20, 0)
    assert server.applied == {"cus_1": 20}


async def test_an_event_read_back_from_the_spool_is_checked_again(
    server: BatchServer, spool: Path, spooled: Spooled
) -> None:
    # An event is checked when recorded and sent as it was checked; one read back
    # from a file is checked again, and refused alone when it no longer passes.
    server.down = True
    first = spooled()
    for _ in range(5):
        first.track({"customer_id": "cus_1", "feature_id": "f"})
    await first.aclose(timeout=0.1)
    with contextlib.closing(sqlite3.connect(spool)) as db, db:
        db.execute(
            "UPDATE usage_events SET event = json_set(event, '$.value', 'three')"
            " WHERE seq = (SELECT min(seq) FROM usage_events)"
        )

    server.down = False
    refused: list[tuple[dict[str, Any], Exception]] = []

    def on_refused(event: dict[str, Any], error: Exception) -> None:
        refused.append((event, error))

    async with spooled(on_refused=on_refused) as second:
        assert await second.flush(5)
        stats = second.stats()

    assert (stats.recovered, stats.delivered, stats.refused, stats.pending) == (5, 4, 1, 0)
    assert server.applied == {"cus_1": 4}
    [(event, error)] = refused
    assert event["value"] == "three"
    assert isinstance(error, SDKValidationError) and error.field == "value"
    assert rows(spool) == 0


async def test_a_full_queue_pushes_events_to_disk_and_drops_none(
    server: BatchServer, spooled: Spooled
) -> None:
    server.down = True
    async with spooled(max_batch=2, max_pending=4) as recorder:
        for i in range(50):
            recorder.track({"customer_id": "cus_1", "feature_id": "f", "value": i})
        waiting = recorder.stats()
        assert len(recorder._queue.memory) <= 4  # pyright: ignore[reportPrivateUsage]
        server.down = False
        assert await recorder.flush(10)
        stats = recorder.stats()

    assert (waiting.pending, waiting.dropped) == (50, 0)
    assert (stats.delivered, stats.dropped) == (50, 0)
    assert server.total() == sum(range(50))


RECORD_THEN_HANG = """
import asyncio, sys
import pytest

from autumn_core import AutumnCore, SDKValidationError
from autumn_funcs import UsageRecorder

async def main():
    core = AutumnCore("am_sk_test_recorder", server_url=sys.argv[1])
    recorder = UsageRecorder(core, spool=sys.argv[2], flush_interval=0.01,
                             requests_per_second=None)
    for i in range(int(sys.argv[3])):
        recorder.track({"customer_id": "cus_1", "feature_id": "f"})
    print("recorded", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


async def test_a_process_killed_with_sigkill_loses_nothing(
    server: BatchServer, spool: Path, spooled: Spooled
) -> None:
    server.faults.extend(["lost"] * 50)  # answers lost, so the process keeps resending
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        textwrap.dedent(RECORD_THEN_HANG),
        server.url,
        str(spool),
        "300",
        stdout=asyncio.subprocess.PIPE,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert child.stdout is not None
    line = (await child.stdout.readline()).decode().strip()
    os.kill(child.pid, signal.SIGKILL)
    await child.wait()
    server.faults.clear()

    async with spooled() as recorder:
        assert await recorder.flush(10)
        stats = recorder.stats()

    assert line == "recorded"
    assert stats.recovered > 0 and stats.pending == 0
    assert server.applied == {"cus_1": 300}  # every event once: none lost, none doubled


async def test_a_failing_spool_keeps_events_in_memory_and_delivers_them(
    server: BatchServer, spooled: Spooled
) -> None:
    async with spooled() as recorder:
        recorder.track({"customer_id": "cus_1", "feature_id": "f"})
        recorder._spool._db.close()  # type: ignore[union-attr]  # pyright: ignore[reportPrivateUsage, reportOptionalMemberAccess]
        for _ in range(5):
            recorder.track({"customer_id": "cus_1", "feature_id": "f"})
        assert await recorder.flush(5)
        stats = recorder.stats()

    assert server.applied == {"cus_1": 6}
    assert (stats.recorded, stats.delivered, stats.pending) == (6, 6, 0)


async def test_one_spool_belongs_to_one_recorder_at_a_time(
    server: BatchServer, spooled: Spooled
) -> None:
    async with spooled() as first:
        with pytest.raises(SDKValidationError, match="in use by another UsageRecorder") as taken:
            spooled()
        first.track({"customer_id": "cus_1", "feature_id": "f"})
    async with spooled() as second:  # free again once closed
        second.track({"customer_id": "cus_1", "feature_id": "f"})

    assert taken.value.field == "spool"
    assert server.applied == {"cus_1": 2}


async def test_a_recorder_with_a_spool_collected_unclosed_warns_and_leaks_nothing(
    server: BatchServer, spooled: Spooled
) -> None:
    server.down = True
    recorder = spooled(flush_interval=60)
    recorder.track({"customer_id": "cus_1", "feature_id": "f"})
    with pytest.warns(RuntimeWarning, match=r"stay in the spool"):
        del recorder
        gc.collect()
    await asyncio.sleep(0.05)  # the task stops, then the spool closes, on the loop
    server.down = False
    async with spooled() as again:  # the lock was released
        assert await again.flush(5)
    assert server.applied == {"cus_1": 1}
