"""UsageRecorder against a batch server on 127.0.0.1: every event recorded ends delivered
once, refused (alone, with its error) or dropped (counted, logged, hooked), whatever
the faults; the stats add up; a bad event is refused at track()."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest

from autumn_core import AutumnCore, AutumnError, AutumnSDKError, SDKValidationError
from autumn_funcs import AutumnSync, RecorderStats, TrackParams, UsageRecorder, UsageRecorderSync
from tests.recorder.batch_server import BatchServer
from tests.recorder.conftest import FAST

Quick = Callable[..., dict[str, Any]]


def reconciles(stats: RecorderStats) -> bool:
    return stats.recorded + stats.recovered == (
        stats.delivered + stats.refused + stats.dropped + stats.pending
    )


async def test_events_are_delivered_in_batches_each_with_its_own_key(
    core: AutumnCore, server: BatchServer, quick: Quick
) -> None:
    async with UsageRecorder(core, **quick(max_batch=100)) as recorder:
        keys = [recorder.track({"customer_id": "cus_1", "feature_id": "f"}) for _ in range(250)]
        mine = recorder.track(TrackParams(customer_id="cus_2", feature_id="f", value=5,
                                          idempotency_key="req_7"))  # fmt: skip
        assert await recorder.flush(5)
        stats = recorder.stats()

    assert mine == "req_7" and len(set(keys)) == 250
    assert server.applied == {"cus_1": 250, "cus_2": 5}
    assert server.keys == {*keys, "req_7"}
    assert server.requests == 3  # 100, 100, 51
    assert stats == RecorderStats(recorded=251, recovered=0, delivered=251, pending=0,
                                  retried=0, refused=0, dropped=0, requests=3)  # fmt: skip


async def test_a_bad_event_is_refused_at_track_by_field_before_any_io(
    core: AutumnCore, server: BatchServer, quick: Quick
) -> None:
    async with UsageRecorder(core, **quick()) as recorder:
        with pytest.raises(SDKValidationError) as refused:
            recorder.track({"customer_id": "cus_1", "feature_id": "f", "value": "3"})  # type: ignore[arg-type]
        with pytest.raises(SDKValidationError, match="feature_id"):
            recorder.track({"customer_id": "cus_1"})
        assert recorder.stats().recorded == 0

    assert refused.value.field == "value"
    assert server.requests == 0


@pytest.mark.parametrize(
    "bad",
    [
        {"customer_id": "cus_1"},
        {"customer_id": "cus_1", "feature_id": "f", "event_name": "e"},
        {"customer_id": "cus_1", "feature_id": "f", "value": float("nan")},
        {"customer_id": "cus_1", "feature_id": "f", "timestamp": -5},
        {"customer_id": "cus_1", "feature_id": "f", "overage_behavior": "capped"},
        {"customerId": "cus_1", "feature_id": "f"},
        {"customer_id": 7, "feature_id": "f"},
    ],
)
async def test_track_refuses_what_balances_track_refuses_with_the_same_error(
    core: AutumnCore, server: BatchServer, quick: Quick, bad: dict[str, Any]
) -> None:
    from autumn_funcs import balances_track

    res = await balances_track(core, bad)  # type: ignore[arg-type]
    async with UsageRecorder(core, **quick()) as recorder:
        with pytest.raises(SDKValidationError) as raised:
            recorder.track(bad)  # type: ignore[arg-type]

    assert not res.ok and isinstance(res.error, SDKValidationError)
    assert (raised.value.field, raised.value.problems) == (res.error.field, res.error.problems)
    assert str(raised.value) == str(res.error)
    assert server.requests == 0


async def test_a_batch_refused_for_one_event_is_split_and_the_rest_delivered(
    core: AutumnCore, server: BatchServer, quick: Quick
) -> None:
    refused: list[tuple[dict[str, Any], AutumnSDKError]] = []
    settings = quick(on_refused=lambda event, error: refused.append((event, error)))
    async with UsageRecorder(core, **settings) as recorder:
        for i in range(64):
            feature = "bad" if i in (5, 40) else "f"
            recorder.track({"customer_id": "cus_1", "feature_id": feature, "properties": {"i": i}})
        assert await recorder.flush(5)
        stats = recorder.stats()

    assert server.applied == {"cus_1": 62}
    assert sorted(event["properties"]["i"] for event, _ in refused) == [5, 40]
    for _, error in refused:
        assert isinstance(error, AutumnError) and error.code == "feature_not_found"
    assert (stats.delivered, stats.refused, stats.pending) == (62, 2, 0)
    assert reconciles(stats)


async def test_a_retry_after_is_honoured_within_retry_max_s(
    core: AutumnCore, server: BatchServer, quick: Quick
) -> None:
    server.faults.extend(["429-hour"] * 3)  # more than the core's two retries
    async with UsageRecorder(core, **quick(retry_max_s=0.2)) as recorder:
        recorder.track({"customer_id": "cus_1", "feature_id": "f"})
        assert await recorder.flush(5)  # not an hour
        stats = recorder.stats()

    assert (stats.delivered, stats.retried) == (1, 1)


async def test_a_404_page_is_a_wrong_address_not_a_refusal_of_every_event(
    core: AutumnCore, server: BatchServer, quick: Quick
) -> None:
    server.faults.extend(["no_route"] * 30)  # enough to reach single events, were it split
    async with UsageRecorder(core, **quick(max_batch=10)) as recorder:
        for _ in range(20):
            recorder.track({"customer_id": "cus_1", "feature_id": "f"})
        assert await recorder.flush(10)
        stats = recorder.stats()

    assert (stats.refused, stats.delivered) == (0, 20)
    assert server.applied == {"cus_1": 20}


async def test_a_hook_that_raises_is_logged_and_delivery_goes_on(
    core: AutumnCore, server: BatchServer, quick: Quick, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_event: dict[str, Any], _error: AutumnSDKError) -> None:
        raise RuntimeError("the hook is broken")

    async with UsageRecorder(core, **quick(on_refused=broken)) as recorder:
        recorder.track({"customer_id": "cus_1", "feature_id": "bad"})
        recorder.track({"customer_id": "cus_1", "feature_id": "f"})
        assert await recorder.flush(5)
        recorder.track({"customer_id": "cus_1", "feature_id": "f"})
        assert await recorder.flush(5)
        stats = recorder.stats()

    assert (stats.delivered, stats.refused) == (2, 1)
    assert any("on_refused hook raised" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("faults", [["lost"] * 4, ["reset"] * 4, ["503"] * 4, ["429"] * 4,
                                    ["lost", "reset", "503", "429", "lost", "lost"]])  # fmt: skip
async def test_faults_neither_lose_nor_double_an_event(
    core: AutumnCore, server: BatchServer, quick: Quick, faults: list[str]
) -> None:
    server.faults.extend(faults)
    async with UsageRecorder(core, **quick(max_batch=10)) as recorder:
        for _ in range(30):
            recorder.track({"customer_id": "cus_1", "feature_id": "f"})
        assert await recorder.flush(10)
        stats = recorder.stats()

    assert server.applied == {"cus_1": 30}
    assert stats.delivered == 30 and reconciles(stats)
    assert not server.faults


async def test_a_batch_is_sent_again_with_the_same_event_keys_when_the_core_gives_up(
    server: BatchServer, quick: Quick
) -> None:
    server.faults.extend(["lost"] * 3)  # more than the core's two retries
    core = AutumnCore("am_sk_test_recorder", server_url=server.url, retry_config=FAST)
    async with core, UsageRecorder(core, **quick()) as recorder:
        for _ in range(7):
            recorder.track({"customer_id": "cus_1", "feature_id": "f"})
        assert await recorder.flush(10)
        stats = recorder.stats()

    assert server.applied == {"cus_1": 7}  # applied by the first request, once
    assert stats.retried == 7 and stats.delivered == 7


async def test_requests_are_paced_within_the_routes_rate_limit(
    core: AutumnCore, server: BatchServer, quick: Quick
) -> None:
    server.limit = 20
    async with UsageRecorder(core, **quick(max_batch=1, requests_per_second=20)) as recorder:
        for _ in range(30):
            recorder.track({"customer_id": "cus_1", "feature_id": "f"})
        assert await recorder.flush(10)

    assert server.requests == 30 and server.limited == 0
    assert server.applied == {"cus_1": 30}


async def test_a_full_queue_without_spool_drops_loudly(
    core: AutumnCore, server: BatchServer, quick: Quick, caplog: pytest.LogCaptureFixture
) -> None:
    dropped: list[tuple[list[dict[str, Any]], str]] = []
    server.down = True
    settings = quick(max_batch=2, max_pending=3, on_dropped=lambda e, why: dropped.append((e, why)))
    async with UsageRecorder(core, **settings) as recorder:
        with caplog.at_level(logging.ERROR, logger="autumn"):
            for i in range(10):
                recorder.track({"customer_id": "cus_1", "feature_id": "f", "value": i})
        stats = recorder.stats()
        assert stats.dropped >= 5 and reconciles(stats)
        server.down = False
        assert await recorder.flush(10)
        final = recorder.stats()

    assert final.delivered + final.dropped == 10 and reconciles(final)
    assert sum(len(events) for events, _ in dropped) == final.dropped
    assert {why for _, why in dropped} == {"the queue is full (max_pending) and there is no spool"}
    assert any("dropped 1 events" in r.getMessage() for r in caplog.records)
    assert server.total() == sum(range(10)) - sum(e["value"] for es, _ in dropped for e in es)


async def test_close_without_spool_drops_what_is_left_and_says_so(
    core: AutumnCore, server: BatchServer, quick: Quick
) -> None:
    server.down = True
    dropped: list[tuple[list[dict[str, Any]], str]] = []
    recorder = UsageRecorder(core, **quick(on_dropped=lambda e, why: dropped.append((e, why))))
    for _ in range(4):
        recorder.track({"customer_id": "cus_1", "feature_id": "f"})
    assert not await recorder.flush(0.2)  # the server is down: not settled in time
    assert recorder.closed is False
    await recorder.aclose(timeout=0.1)
    stats = recorder.stats()

    assert recorder.closed is True
    assert (stats.dropped, stats.pending) == (4, 0)
    ((events, why),) = dropped
    assert (len(events), why) == (4, "the recorder closed before delivering")
    with pytest.raises(RuntimeError) as closed:
        recorder.track({"customer_id": "cus_1", "feature_id": "f"})
    assert str(closed.value) == "this UsageRecorder is closed; its events can no longer be queued"


async def test_async_with_flushes_on_exit(core: AutumnCore, server: BatchServer) -> None:
    # The default flush interval (1 s) never comes: leaving the block sends the events.
    async with UsageRecorder(core, flush_interval=30) as recorder:
        recorder.track({"customer_id": "cus_1", "feature_id": "f", "value": 3})
    assert server.applied == {"cus_1": 3}


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("flush_interval", 0),
        ("close_timeout", 0),
        ("max_batch", 1001),
        ("max_pending", 10),
        ("max_pending", 10**12 + 1),
        ("requests_per_second", -1),
        ("max_in_flight", 0),
        ("max_in_flight", 17),
        ("on_refused", "log"),
        ("on_dropped", "log"),
        ("retry_max_s", True),
    ],
)
async def test_bad_settings_are_refused_by_name(
    core: AutumnCore, setting: str, value: object
) -> None:
    settings: dict[str, Any] = {setting: value}
    with pytest.raises(SDKValidationError) as refused:
        UsageRecorder(core, **settings)
    assert refused.value.field == setting


def test_a_recorder_needs_a_running_loop() -> None:
    core = AutumnCore("am_sk_test_recorder", server_url="http://127.0.0.1:9")
    with pytest.raises(RuntimeError) as refused:
        UsageRecorder(core)
    assert str(refused.value) == (
        "UsageRecorder starts a background task: create it inside a running event loop (in "
        "your app's lifespan), or use UsageRecorderSync from blocking code"
    )


def test_blocking_code_records_from_many_threads(threaded_server: BatchServer) -> None:
    url = threaded_server.url
    with (
        AutumnSync("am_sk_test_recorder", server_url=url, retry_config=FAST) as autumn,
        UsageRecorderSync(autumn, flush_interval=0.05, requests_per_second=None) as recorder,
    ):

        def work(customer: str) -> None:
            for _ in range(500):
                recorder.track({"customer_id": customer, "feature_id": "f"})

        threads = [threading.Thread(target=work, args=(f"cus_{n}",)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert recorder.flush(10)
        stats = recorder.stats()

    assert stats.delivered == 2000 and reconciles(stats)
    assert threaded_server.applied == {f"cus_{n}": 500 for n in range(4)}


async def test_no_log_line_of_the_recorder_shows_the_secret_key(
    server: BatchServer, quick: Quick, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "am_sk_test_s3cr3t_recorder_key"
    server.faults.extend(["lost", "lost", "lost", "503", "503", "503", "reset"])
    core = AutumnCore(secret, server_url=server.url, retry_config=FAST)
    with caplog.at_level(logging.DEBUG):
        async with core, UsageRecorder(core, **quick()) as recorder:
            recorder.track({"customer_id": "cus_1", "feature_id": "f"})
            recorder.track({"customer_id": "cus_1", "feature_id": "bad"})
            assert await recorder.flush(10)

    assert caplog.records
    assert all(secret not in record.getMessage() for record in caplog.records)
    assert secret not in repr(recorder.stats())
