"""What the usage recorder says and decides when a batch fails: which answers refuse
an event (and are logged with its key and customer), which are retried, how long
it waits when the server says, and its spool file's own rules."""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from autumn_core import AutumnCore, AutumnSDKError, SDKValidationError
from autumn_funcs import UsageRecorder
from autumn_funcs._usage_spool import UsageSpool
from tests.recorder.batch_server import BatchServer

Quick = Callable[..., dict[str, Any]]


def messages(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "autumn" and r.levelno == level]


async def test_a_refused_event_is_logged_with_its_key_customer_and_error(
    core: AutumnCore, server: BatchServer, quick: Quick, caplog: pytest.LogCaptureFixture
) -> None:
    refused: list[tuple[dict[str, Any], AutumnSDKError]] = []

    def on_refused(event: dict[str, Any], error: AutumnSDKError) -> None:
        refused.append((event, error))
        raise RuntimeError("the hook of yours failed")

    with caplog.at_level(logging.INFO, logger="autumn"):
        async with UsageRecorder(core, **quick(on_refused=on_refused)) as recorder:
            recorder.track({"customer_id": "cus_1", "feature_id": "invalid"})
            assert await recorder.flush(5)
    ((event, error),) = refused
    assert error.status_code == 400  # type: ignore[attr-defined]
    assert len(str(error)) > 300
    logged, hook = messages(caplog, logging.ERROR)
    assert logged.getMessage() == (
        f"usage recorder: Autumn refused an event (idempotency_key {event['idempotency_key']},"
        f" customer cus_1): {str(error)[:300]}"
    )
    assert hook.getMessage() == "usage recorder: the on_refused hook raised"
    assert hook.exc_info is not None and isinstance(hook.exc_info[1], RuntimeError)
    assert recorder.stats().refused == 1


@pytest.mark.parametrize("fault", ["500", "404-not_found"])
async def test_an_answer_about_the_server_not_the_events_is_retried_not_refused(
    core: AutumnCore, server: BatchServer, quick: Quick, fault: str
) -> None:
    server.faults.extend([fault] * 3)  # more than the core's own two retries
    async with UsageRecorder(core, **quick()) as recorder:
        recorder.track({"customer_id": "cus_1", "feature_id": "f"})
        assert await recorder.flush(5)
        stats = recorder.stats()
    assert (stats.refused, stats.delivered) == (0, 1)
    assert stats.retried >= 1
    assert server.applied == {"cus_1": 1}


async def test_the_servers_retry_after_is_the_wait_before_the_batch_goes_again(
    core: AutumnCore, server: BatchServer, quick: Quick, caplog: pytest.LogCaptureFixture
) -> None:
    server.faults.extend(["429-soon"] * 3)
    with caplog.at_level(logging.WARNING, logger="autumn"):
        async with UsageRecorder(core, **quick(retry_max_s=5.0)) as recorder:
            recorder.track({"customer_id": "cus_1", "feature_id": "f"})
            assert await recorder.flush(10)
    (failed,) = messages(caplog, logging.WARNING)
    assert re.fullmatch(
        r"usage recorder: a batch of 1 events failed \(.*\); kept, sending again in 0\.30 s",
        failed.getMessage(),
    ), failed.getMessage()
    assert server.applied == {"cus_1": 1}


async def test_a_failed_batch_is_logged_with_its_error_cut_at_200_characters(
    core: AutumnCore, server: BatchServer, quick: Quick, caplog: pytest.LogCaptureFixture
) -> None:
    server.faults.extend(["500-long"] * 3)  # a message of over 400 characters
    with caplog.at_level(logging.WARNING, logger="autumn"):
        async with UsageRecorder(core, **quick()) as recorder:
            recorder.track({"customer_id": "cus_1", "feature_id": "f"})
            assert await recorder.flush(5)
    (failed,) = messages(caplog, logging.WARNING)
    count, error, _wait = failed.args  # type: ignore[misc]
    assert (count, len(error)) == (1, 200)
    assert error.startswith("500 internal_error: not now xxx")
    assert server.applied == {"cus_1": 1}


async def test_a_delivered_batch_is_logged_at_debug_with_its_count(
    core: AutumnCore, server: BatchServer, quick: Quick, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="autumn"):
        async with UsageRecorder(core, **quick()) as recorder:
            for _ in range(3):
                recorder.track({"customer_id": "cus_1", "feature_id": "f"})
            assert await recorder.flush(5)
    assert "usage recorder: delivered 3 events" in [
        r.getMessage() for r in messages(caplog, logging.DEBUG)
    ]


def test_the_spool_forgets_settled_events_in_any_order(tmp_path: Path) -> None:
    spool = UsageSpool(tmp_path / "usage.db")
    try:
        numbers = [spool.add({"customer_id": "cus_1", "value": i}) for i in range(6)]
        spool.remove([numbers[4], numbers[1]])  # not a run: a split batch's halves
        assert [event["value"] for _, event in spool.after(0, 10)] == [0, 2, 3, 5]
        spool.remove(numbers[2:4])  # a run
        assert [event["value"] for _, event in spool.after(0, 10)] == [0, 5]
        assert spool.count_and_last() == (2, numbers[5])
    finally:
        spool.close()


def test_the_spool_takes_events_from_any_thread(tmp_path: Path) -> None:
    # A blocking program's threads record through the one connection, under a lock.
    spool = UsageSpool(tmp_path / "usage.db")
    failures: list[BaseException] = []

    def add() -> None:
        try:
            spool.add({"customer_id": "cus_1"})
        except BaseException as exc:
            failures.append(exc)

    try:
        thread = threading.Thread(target=add)
        thread.start()
        thread.join(10)
        assert failures == []
        assert spool.count_and_last()[0] == 1
    finally:
        spool.close()


def test_a_spool_in_use_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "usage.db"
    spool = UsageSpool(path)
    try:
        with pytest.raises(SDKValidationError) as taken:
            UsageSpool(path)
    finally:
        spool.close()
    assert taken.value.field == "spool"
    assert taken.value.message == (
        f"invalid spool: {str(path)!r} is in use by another UsageRecorder; give each "
        "process its own spool file"
    )


async def test_dropped_events_are_logged_with_the_reason_and_a_failing_hook_too(
    core: AutumnCore, server: BatchServer, quick: Quick, caplog: pytest.LogCaptureFixture
) -> None:
    reasons: list[str] = []

    def on_dropped(events: list[dict[str, Any]], why: str) -> None:
        reasons.append(why)
        raise RuntimeError("the hook of yours failed")

    server.down = True
    recorder = UsageRecorder(core, **quick(on_dropped=on_dropped))
    with caplog.at_level(logging.ERROR, logger="autumn"):
        for _ in range(3):
            recorder.track({"customer_id": "cus_1", "feature_id": "f"})
        await recorder.aclose(timeout=0.1)
    (why,) = reasons
    errors = messages(caplog, logging.ERROR)
    assert f"usage recorder: dropped 3 events: {why}" in [r.getMessage() for r in errors]
    (hook,) = [r for r in errors if r.exc_info is not None]
    assert hook.getMessage() == "usage recorder: the on_dropped hook raised"
    assert isinstance(hook.exc_info[1], RuntimeError)  # type: ignore[index]


def test_a_batch_of_no_events_or_of_other_checks_is_refused_by_field() -> None:
    from autumn_core.seam import CheckedParams
    from autumn_funcs._balances_batch_track import checked_batch

    with pytest.raises(SDKValidationError) as empty:
        checked_batch([])
    assert (empty.value.field, empty.value.message) == (
        "events",
        "invalid events: expected 1 to 1000 events, got 0",
    )
    assert ("events", "expected 1 to 1000 events, got 0") in empty.value.problems
    with pytest.raises(SDKValidationError) as other:
        checked_batch([CheckedParams("createBalance", {"customer_id": "c"})])
    reason = "expected an event checked for track, got createBalance"
    assert (other.value.field, other.value.message) == ("events.0", f"invalid events.0: {reason}")
    assert ("events.0", reason) in other.value.problems


async def test_a_recorder_collected_unclosed_says_what_is_lost_and_stops_its_task(
    core: AutumnCore, server: BatchServer, quick: Quick, caplog: pytest.LogCaptureFixture
) -> None:
    server.down = True
    recorder = UsageRecorder(core, **quick(flush_interval=60))
    recorder.track({"customer_id": "cus_1", "feature_id": "f"})
    task = recorder._task  # type: ignore[attr-defined]  # pyright: ignore[reportPrivateUsage]
    with pytest.warns(RuntimeWarning) as warned:
        del recorder
        gc.collect()
    await asyncio.sleep(0.05)
    message = (
        "a UsageRecorder was garbage-collected, or left open at exit, with 1 events not "
        "delivered; they are lost. Close it (`await recorder.aclose()`, `async with "
        "UsageRecorder(...)`, or `close()` of a UsageRecorderSync) before dropping it"
    )
    assert [str(w.message) for w in warned] == [message]
    assert message in [r.getMessage() for r in messages(caplog, logging.ERROR)]
    assert task.cancelled()


async def test_a_recorder_with_a_spool_collected_unclosed_leaves_the_spool_usable(
    core: AutumnCore, server: BatchServer, quick: Quick, tmp_path: Path
) -> None:
    server.down = True
    spool = tmp_path / "usage.db"
    recorder = UsageRecorder(core, **quick(flush_interval=60, spool=spool))
    recorder.track({"customer_id": "cus_1", "feature_id": "f"})
    with pytest.warns(RuntimeWarning, match=f"they stay in the spool {spool} for the next"):
        del recorder
        gc.collect()
    await asyncio.sleep(0.05)  # the spool closes on the loop, after the task stopped
    server.down = False
    async with UsageRecorder(core, **quick(spool=spool)) as again:  # its lock was let go
        assert await again.flush(5)
    assert server.applied == {"cus_1": 1}
