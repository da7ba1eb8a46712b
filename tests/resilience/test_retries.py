"""Promise 4: retries behave as documented.

Every schedule runs on an injected clock and sleep (FakeTime), so the waits the
SDK asks for are recorded exactly and the tests take milliseconds.
"""

from __future__ import annotations

import random
import time
from email.utils import formatdate
from typing import Any

import pytest

from autumn_core import (
    APIConnectionError,
    AutumnCore,
    AutumnDefaultError,
    BackoffStrategy,
    RequestTimeoutError,
    RetryConfig,
)
from autumn_funcs import balances_create
from tests.fake_time import FakeTime
from tests.resilience.conftest import SECRET, assert_typed, fast_retries
from tests.resilience.hostile import HostileServer
from tests.scripted_server import autumn_error, delayed, drop_connection, json_reply

pytestmark = pytest.mark.resilience

GRANT = {"customer_id": "cus_123", "feature_id": "api_calls", "included_grant": 100}


def unavailable(retry_after: str | None = None) -> Any:
    headers = {"Retry-After": retry_after} if retry_after is not None else None
    return autumn_error(503, "service_unavailable", "try later", headers)


def retry_config(fake: FakeTime, **kwargs: Any) -> RetryConfig:
    kwargs.setdefault("backoff", BackoffStrategy(initial_interval=500, max_interval=60_000))
    return RetryConfig(sleep=fake.sleep, clock=fake.clock, **kwargs)


async def call(server: HostileServer, retry: RetryConfig, **options: Any) -> Any:
    async with AutumnCore(
        SECRET,
        server_url=server.url,
        retry_config=retry,
        timeout_ms=options.pop("timeout_ms", None),
    ) as core:
        return await balances_create(core, GRANT, options or None)


async def test_attempts_counted_with_one_key_and_a_retry_count(hostile: HostileServer) -> None:
    fake = FakeTime()
    hostile.then(unavailable(), autumn_error(429, "rate_limit_exceeded"), json_reply())
    res = await call(hostile, retry_config(fake, max_retries=5))
    assert res.ok
    assert len(hostile.requests) == 3 and len(fake.sleeps) == 2
    keys = {r.headers["Idempotency-Key"] for r in hostile.requests}
    assert len(keys) == 1
    assert [r.headers.get("X-Retry-Count") for r in hostile.requests] == [None, "1", "2"]
    assert len({r.body for r in hostile.requests}) == 1


async def test_retry_after_seconds_is_honoured(hostile: HostileServer) -> None:
    fake = FakeTime()
    hostile.then(unavailable("7"), unavailable("0"), unavailable("2.5"), json_reply())
    assert (await call(hostile, retry_config(fake, max_retries=5))).ok
    assert fake.sleeps == [7.0, 0.0, 2.5]


async def test_retry_after_http_date_is_honoured(hostile: HostileServer) -> None:
    fake = FakeTime()
    in_30_s = formatdate(time.time() + 30, usegmt=True)
    in_the_past = formatdate(time.time() - 3600, usegmt=True)
    hostile.then(unavailable(in_30_s), unavailable(in_the_past), json_reply())
    assert (await call(hostile, retry_config(fake, max_retries=5))).ok
    first, second = fake.sleeps
    assert 28.0 < first <= 30.0  # the date has one-second resolution
    assert second == 0.0


async def test_unreadable_retry_after_falls_back_to_backoff(hostile: HostileServer) -> None:
    fake = FakeTime()
    hostile.then(unavailable("soon"), unavailable("Thu, 99 Foo 2024"), json_reply())
    assert (await call(hostile, retry_config(fake, max_retries=5))).ok
    assert len(fake.sleeps) == 2
    assert 0 <= fake.sleeps[0] <= 0.5 and 0 <= fake.sleeps[1] <= 0.75


async def test_retry_after_is_capped_by_max_interval(hostile: HostileServer) -> None:
    fake = FakeTime()
    hostile.then(unavailable("3600"), json_reply())
    backoff = BackoffStrategy(initial_interval=10, max_interval=5_000)
    assert (await call(hostile, retry_config(fake, backoff=backoff))).ok
    assert fake.sleeps == [5.0]


async def test_max_interval_caps_computed_delays(hostile: HostileServer) -> None:
    fake = FakeTime()
    hostile.default = unavailable()
    backoff = BackoffStrategy(initial_interval=1_000, max_interval=2_000, exponent=10)
    # Seeded jitter: the check on later waits below holds for this draw, every run.
    draws = random.Random(2024).random
    res = await call(hostile, retry_config(fake, backoff=backoff, max_retries=12, random=draws))
    assert_typed(res.error, AutumnDefaultError, status=503, attempts=13)
    assert len(fake.sleeps) == 12
    assert all(0 <= s <= 2.0 for s in fake.sleeps)
    assert max(fake.sleeps[2:]) > 1.0  # capped, not shrunk: later waits use the whole cap


async def test_jitter_spreads_delays_within_bounds(hostile: HostileServer) -> None:
    fake = FakeTime()
    hostile.default = unavailable()
    backoff = BackoffStrategy(initial_interval=100, max_interval=60_000, exponent=1.5)
    res = await call(hostile, retry_config(fake, backoff=backoff, max_retries=20))
    assert res.error.attempts == 21
    ceilings = [0.1 * 1.5**n for n in range(20)]
    assert all(0 <= s <= c for s, c in zip(fake.sleeps, ceilings, strict=True))
    assert len(set(fake.sleeps)) == 20  # every delay differs
    assert sum(s < c * 0.999 for s, c in zip(fake.sleeps, ceilings, strict=True)) >= 15


async def test_max_elapsed_time_stops_retrying(hostile: HostileServer) -> None:
    fake = FakeTime()
    hostile.default = unavailable("1")
    backoff = BackoffStrategy(initial_interval=10, max_interval=60_000, max_elapsed_time=3_500)
    res = await call(hostile, retry_config(fake, backoff=backoff, max_retries=None))
    # Waits of 1 s at 0, 1 and 2 s fit in 3.5 s; a fourth would end at 4 s.
    assert fake.sleeps == [1.0, 1.0, 1.0]
    assert_typed(res.error, AutumnDefaultError, status=503, attempts=4)


@pytest.mark.parametrize("max_retries", [0, 1, 3])
async def test_max_retries_is_respected(hostile: HostileServer, max_retries: int) -> None:
    fake = FakeTime()
    hostile.default = unavailable("0")
    res = await call(hostile, retry_config(fake, max_retries=max_retries))
    assert_typed(res.error, AutumnDefaultError, status=503, attempts=max_retries + 1)
    assert len(hostile.requests) == max_retries + 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 501, 505])
async def test_statuses_outside_the_retry_set_are_not_retried(
    hostile: HostileServer, status: int
) -> None:
    fake = FakeTime()
    hostile.default = autumn_error(status, "refused")
    res = await call(hostile, retry_config(fake, max_retries=5))
    assert_typed(res.error, AutumnDefaultError, status=status, attempts=1)
    assert fake.sleeps == [] and len(hostile.requests) == 1


async def test_retry_codes_choose_what_is_retried(hostile: HostileServer) -> None:
    fake = FakeTime()
    hostile.then(autumn_error(501, "x"), json_reply())
    assert (await call(hostile, retry_config(fake, retry_codes=["5XX"]))).ok
    hostile.then(autumn_error(429, "rate_limit_exceeded"))
    res = await call(hostile, retry_config(fake, retry_codes=["5XX"]))
    assert_typed(res.error, AutumnDefaultError, status=429, attempts=1)


async def test_strategy_none_never_retries(hostile: HostileServer) -> None:
    fake = FakeTime()
    hostile.default = unavailable("0")
    res = await call(hostile, retry_config(fake, strategy="none"))
    assert_typed(res.error, AutumnDefaultError, status=503, attempts=1)


@pytest.mark.parametrize("enabled", [False, True])
async def test_connection_errors_retried_only_when_configured(
    hostile: HostileServer, enabled: bool
) -> None:
    fake = FakeTime()
    hostile.then(drop_connection(), json_reply())
    res = await call(hostile, fast_retries(fake, retry_connection_errors=enabled))
    if enabled:
        assert res.ok and len(hostile.requests) == 2
    else:
        assert_typed(res.error, APIConnectionError, attempts=1)
        assert len(hostile.requests) == 1


@pytest.mark.parametrize("enabled", [False, True])
async def test_timeouts_retried_only_when_configured(hostile: HostileServer, enabled: bool) -> None:
    fake = FakeTime()
    hostile.then(delayed(0.3), json_reply())
    res = await call(hostile, fast_retries(fake, retry_connection_errors=enabled), timeout_ms=50)
    if enabled:
        assert res.ok
        assert len({r.headers["Idempotency-Key"] for r in hostile.requests}) == 1
    else:
        assert_typed(res.error, RequestTimeoutError, attempts=1)


async def test_per_call_retries_override_the_core(hostile: HostileServer) -> None:
    fake = FakeTime()
    hostile.default = unavailable("0")
    async with AutumnCore(
        SECRET, server_url=hostile.url, retry_config=RetryConfig(strategy="none")
    ) as core:
        res = await balances_create(core, GRANT, {"retries": retry_config(fake, max_retries=4)})
    assert_typed(res.error, AutumnDefaultError, status=503, attempts=5)
