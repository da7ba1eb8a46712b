"""Fault injection: each kind, what it changes (nothing, or everything but the answer)."""

from __future__ import annotations

import aiohttp
import pytest

from autumn_local import FAULT_KINDS, FaultSpec, LocalAutumn
from tests.local.conftest import MONTHLY, Api

KEY = {"customer_id": "cus_123", "feature_id": "api_calls"}


def idem(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


@pytest.fixture
async def monthly(api: Api) -> Api:
    (await api.create(**MONTHLY)).ok()
    api.server.set_faults("retry-after=0")
    return api


async def remaining(api: Api) -> int:
    entry = await api.balance()
    assert entry is not None
    value: int = entry["remaining"]
    return value


async def test_429_is_autumns_plain_text_answer_and_changes_nothing(monthly: Api) -> None:
    monthly.server.set_faults("retry-after=2")
    monthly.server.faults.inject_next("429")
    reply = await monthly.update(headers=idem("a"), **KEY, add_to_balance=1)
    assert (reply.status, reply.body) == (429, b"Too many requests, please try again later.")
    assert reply.headers["Content-Type"].startswith("text/plain")
    assert reply.headers["Retry-After"] == "2"
    assert reply.headers["RateLimit-Remaining"] == "0"
    assert reply.headers["RateLimit-Limit"] == "10000"
    assert reply.headers["RateLimit-Reset"] == "2"
    assert await remaining(monthly) == 1000
    # The key was never claimed: the retry goes through.
    (await monthly.update(headers=idem("a"), **KEY, add_to_balance=1)).ok()
    assert await remaining(monthly) == 1001


async def test_503_has_retry_after(monthly: Api) -> None:
    monthly.server.set_faults(FaultSpec(retry_after=1))
    monthly.server.faults.inject_next("503")
    reply = await monthly.update(**KEY, add_to_balance=1)
    reply.error(503, "service_unavailable")
    assert reply.headers["Retry-After"] == "1"
    assert await remaining(monthly) == 1000


async def test_500_is_internal_error(monthly: Api) -> None:
    monthly.server.faults.inject_next("500")
    (await monthly.create(headers=idem("c"), **MONTHLY)).error(500, "internal_error")
    assert await remaining(monthly) == 1000
    (await monthly.create(headers=idem("c"), **MONTHLY)).ok()
    assert await remaining(monthly) == 2000


async def test_reset_drops_the_connection_before_handling(monthly: Api) -> None:
    monthly.server.faults.inject_next("reset")
    with pytest.raises(aiohttp.ClientError):
        await monthly.update(headers=idem("r"), **KEY, add_to_balance=1)
    assert await remaining(monthly) == 1000
    (await monthly.update(headers=idem("r"), **KEY, add_to_balance=1)).ok()
    assert await remaining(monthly) == 1001


async def test_lost_response_commits_then_drops(monthly: Api) -> None:
    monthly.server.faults.inject_next("lost-response")
    with pytest.raises(aiohttp.ClientError):
        await monthly.update(headers=idem("l"), **KEY, add_to_balance=1)
    assert await remaining(monthly) == 1001
    # The retry a careful client makes with the same key is refused, not re-applied.
    (await monthly.update(headers=idem("l"), **KEY, add_to_balance=1)).error(
        409, "duplicate_idempotency_key"
    )
    assert await remaining(monthly) == 1001


async def test_delay_then_normal_answer(monthly: Api) -> None:
    monthly.server.set_faults("delay-ms=1")
    monthly.server.faults.inject_next("delay")
    (await monthly.update(**KEY, add_to_balance=1)).ok()
    assert await remaining(monthly) == 1001
    assert monthly.server.fault_counts["delay"] == 1


async def test_reads_are_never_faulted(monthly: Api) -> None:
    monthly.server.set_faults("500=1")
    for _ in range(5):
        await monthly.customer()
    (await monthly.post("/v1/features.list", {})).ok()
    assert monthly.server.fault_counts["500"] == 0


async def test_scope_decides_which_writes_are_faulted(monthly: Api) -> None:
    monthly.server.set_faults("500=1")
    (await monthly.post("/v1/customers.get_or_create", {"customer_id": "c2"})).ok()
    monthly.server.set_faults("500=1,scope=all")
    (await monthly.post("/v1/customers.get_or_create", {"customer_id": "c3"})).error(
        500, "internal_error"
    )


async def test_rates_are_reproducible_with_a_seed_and_counted(http: aiohttp.ClientSession) -> None:
    spec = "429=0.2,503=0.2,500=0.2,retry-after=0,seed=42"

    async def run() -> tuple[list[int], dict[str, int]]:
        async with LocalAutumn(faults=spec, rate_limits=False) as server:
            api = Api(http, server)
            statuses = [(await api.create(**MONTHLY)).status for _ in range(60)]
            return statuses, server.fault_counts

    first, counts = await run()
    second, _ = await run()
    assert first == second
    assert set(first) == {200, 429, 503, 500}
    assert counts["429"] == first.count(429)
    assert counts["503"] == first.count(503)
    assert counts["500"] == first.count(500)


def test_spec_parsing() -> None:
    spec = FaultSpec.parse(
        "429=0.05, 503=0.05,500=0.02,reset=0.02,delay=0.1,lost-response=0.02,"
        "delay-ms=200,retry-after=0,seed=7,scope=all"
    )
    assert spec.rates == {
        "429": 0.05,
        "503": 0.05,
        "500": 0.02,
        "reset": 0.02,
        "delay": 0.1,
        "lost-response": 0.02,
    }
    assert (spec.delay_ms, spec.retry_after, spec.seed, spec.scope) == (200, 0, 7, "all")
    assert FaultSpec.parse(str(spec)) == spec
    assert FaultSpec.parse("") == FaultSpec() == FaultSpec.parse("off")
    assert set(FAULT_KINDS) == set(spec.rates)


@pytest.mark.parametrize(
    "bad",
    [
        "429",
        "404=0.1",
        "429=lots",
        "429=1.5",
        "429=0.6,503=0.6",
        "delay-ms=-1",
        "scope=some",
        "seed=x",
    ],
)
def test_bad_specs_say_what_is_wrong(bad: str) -> None:
    with pytest.raises(ValueError) as info:
        FaultSpec.parse(bad)
    assert str(info.value)


async def test_lost_response_of_a_failure_changes_nothing(monthly: Api) -> None:
    monthly.server.faults.inject_next("lost-response")
    with pytest.raises(aiohttp.ClientError):
        await monthly.update(headers=idem("lf"), **KEY, balance_id="none", included_grant=5)
    assert await remaining(monthly) == 1000
    # Nothing was accepted, so the key is free for the retry.
    (await monthly.update(headers=idem("lf"), **KEY, add_to_balance=1)).ok()
