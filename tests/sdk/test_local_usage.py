"""The usage loop end to end against the local server, which shares no code with the SDK:
gate with check, record with track, adjust, delete, hold and finalize, reading the
balances back with customers_get, and nothing consumed twice when answers are lost."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from autumn_core import AutumnCore, AutumnDefaultError, RetryConfig
from autumn_funcs import (
    Autumn,
    Balance,
    TrackResponse,
    balances_check,
    balances_delete,
    balances_finalize,
    balances_track,
)
from autumn_local import LocalAutumn

CONFIG = {
    "features": [
        {"id": "words", "type": "metered", "event_names": ["generation"]},
        {"id": "images", "type": "metered", "event_names": ["generation"]},
        {
            "id": "credits",
            "type": "credit_system",
            "credit_schema": [{"metered_feature_id": "words", "credit_cost": 0.5}],
        },
    ],
    "entities": [{"id": "seat_1", "customer_id": "cus_123"}],
}
API_CALLS = {"customer_id": "cus_123", "feature_id": "api_calls"}


@pytest.fixture
async def server() -> AsyncIterator[LocalAutumn]:
    async with LocalAutumn(config=CONFIG, rate_limits=False) as local:
        yield local


@pytest.fixture
async def autumn(server: LocalAutumn, retries: Callable[..., RetryConfig]) -> AsyncIterator[Autumn]:
    # Retries on, on a fake sleep: a lost answer is retried at once.
    async with Autumn(server.secret_key, server_url=server.url, retry_config=retries()) as client:
        yield client


async def balance(autumn: Autumn, feature_id: str = "api_calls") -> Balance:
    return (await autumn.customers.get(customer_id="cus_123")).balances[feature_id]


async def test_gate_then_record(autumn: Autumn) -> None:
    await autumn.balances.create(**API_CALLS, included_grant=10, reset={"interval": "month"})

    gate = await autumn.balances.check(**API_CALLS, required_balance=3)
    assert gate.allowed is True
    assert gate.balance is not None and gate.balance.remaining == 10
    assert gate.flag is None

    tracked = await autumn.balances.track(**API_CALLS, value=3)
    assert tracked.value == 3
    assert tracked.balance is not None and tracked.balance.remaining == 7
    (deduction,) = tracked.deductions
    assert (deduction.feature_id, deduction.value) == ("api_calls", 3)
    assert deduction.reset is not None and deduction.reset.interval == "month"

    denied = await autumn.balances.check(**API_CALLS, required_balance=8)
    assert denied.allowed is False
    assert (await balance(autumn)).remaining == 7


async def test_overage_is_capped_unless_asked_and_negative_values_give_back(
    autumn: Autumn,
) -> None:
    await autumn.balances.create(**API_CALLS, included_grant=10)

    capped = await autumn.balances.track(**API_CALLS, value=15)
    assert capped.balance is not None and capped.balance.remaining == 0
    assert [d.value for d in capped.deductions] == [10]

    await autumn.balances.track(**API_CALLS, value=5, overage_behavior="overflow")
    after = await balance(autumn)
    assert (after.remaining, after.usage) == (0, 15)  # remaining floored, usage not

    await autumn.balances.track(**API_CALLS, value=-8)
    assert (await balance(autumn)).remaining == 3


async def test_an_event_counts_for_every_feature_that_lists_it(autumn: Autumn) -> None:
    await autumn.balances.create(customer_id="cus_123", feature_id="words", included_grant=100)
    await autumn.balances.create(customer_id="cus_123", feature_id="images", included_grant=10)

    tracked = await autumn.balances.track(customer_id="cus_123", event_name="generation", value=2)

    assert tracked.event_name == "generation"
    assert tracked.balance is None  # several features were tracked
    assert sorted((d.feature_id, d.value) for d in tracked.deductions) == [
        ("images", 2),
        ("words", 2),
    ]
    assert (await balance(autumn, "images")).remaining == 8


async def test_a_credit_system_pays_for_what_the_feature_lacks(autumn: Autumn) -> None:
    await autumn.balances.create(customer_id="cus_123", feature_id="credits", included_grant=50)
    words = {"customer_id": "cus_123", "feature_id": "words"}

    gate = await autumn.balances.check(**words, required_balance=40)
    assert gate.allowed is True
    assert gate.balance is not None and gate.balance.feature_id == "credits"
    assert gate.required_balance == 20  # 40 words at 0.5 credits each

    tracked = await autumn.balances.track(**words, value=40)
    assert [(d.feature_id, d.value) for d in tracked.deductions] == [("credits", 20)]
    assert (await balance(autumn, "credits")).remaining == 30


async def test_a_check_with_send_event_consumes_and_is_keyed(autumn: Autumn) -> None:
    await autumn.balances.create(**API_CALLS, included_grant=10)
    once = {"idempotency_key": "req-1"}

    gate = await autumn.balances.check(
        **API_CALLS, required_balance=4, send_event=True, options=once
    )
    assert gate.allowed is True
    # The key was sent: its second use is refused, and nothing is consumed twice.
    with pytest.raises(AutumnDefaultError) as again:
        await autumn.balances.check(**API_CALLS, required_balance=4, send_event=True, options=once)
    assert (again.value.status_code, again.value.code) == (409, "duplicate_idempotency_key")
    assert (await balance(autumn)).remaining == 6


async def test_lost_answers_neither_lose_a_read_nor_consume_twice(
    autumn: Autumn, server: LocalAutumn
) -> None:
    await autumn.balances.create(**API_CALLS, included_grant=10)

    # A plain check is retried without a key: the retry gets the answer.
    server.faults.inject_next("lost-response")
    gate = await balances_check(autumn, {**API_CALLS, "required_balance": 2})
    assert gate.ok and gate.value.allowed, gate

    # A track's retry carries the first attempt's key: refused as already applied.
    server.faults.inject_next("lost-response")
    tracked = await balances_track(autumn, {**API_CALLS, "value": 2})
    assert not tracked.ok and isinstance(tracked.error, AutumnDefaultError)
    assert tracked.error.earlier_attempt_accepted is True

    # So is a consuming check's.
    server.faults.inject_next("lost-response")
    consumed = await balances_check(
        autumn, {**API_CALLS, "required_balance": 3, "send_event": True}
    )
    assert not consumed.ok and isinstance(consumed.error, AutumnDefaultError)
    assert consumed.error.earlier_attempt_accepted is True

    assert (await balance(autumn)).remaining == 5
    assert server.fault_counts["lost-response"] == 3


async def test_the_body_idempotency_key_records_an_event_once_across_calls(
    autumn: Autumn,
) -> None:
    await autumn.balances.create(**API_CALLS, included_grant=10)

    first = await balances_track(autumn, {**API_CALLS, "value": 4, "idempotency_key": "evt_1"})
    second = await balances_track(autumn, {**API_CALLS, "value": 4, "idempotency_key": "evt_1"})

    assert first.ok, first
    assert not second.ok and isinstance(second.error, AutumnDefaultError)
    assert (second.error.status_code, second.error.code) == (409, "duplicate_idempotency_key")
    assert "track:evt_1" in str(second.error)
    assert (await balance(autumn)).remaining == 6


async def test_an_async_track_is_accepted_with_no_balance(autumn: Autumn) -> None:
    await autumn.balances.create(**API_CALLS, included_grant=10)

    queued = await autumn.balances.track(**API_CALLS, value=3, async_=True)

    assert queued == TrackResponse(customer_id="cus_123", value=3, balance=None)
    assert (await balance(autumn)).remaining == 7


async def test_a_lock_holds_until_confirmed_or_released(autumn: Autumn) -> None:
    await autumn.balances.create(**API_CALLS, included_grant=10)

    await autumn.balances.check(
        **API_CALLS, required_balance=4, lock={"lock_id": "job_1", "enabled": True}
    )
    assert (await balance(autumn)).remaining == 6  # held
    await autumn.balances.finalize(lock_id="job_1", action="release")
    assert (await balance(autumn)).remaining == 10

    await autumn.balances.check(
        **API_CALLS, required_balance=4, lock={"lock_id": "job_2", "enabled": True}
    )
    await autumn.balances.finalize(lock_id="job_2", action="confirm", override_value=3)
    assert (await balance(autumn)).remaining == 7

    again = await balances_finalize(autumn, {"lock_id": "job_2", "action": "confirm"})
    assert not again.ok and isinstance(again.error, AutumnDefaultError)
    assert (again.error.status_code, again.error.code) == (400, "invalid_request")


async def test_a_boolean_feature_is_allowed_by_its_flag(autumn: Autumn) -> None:
    denied = await autumn.balances.check(customer_id="cus_123", feature_id="premium")
    await autumn.balances.create(customer_id="cus_123", feature_id="premium")
    allowed = await autumn.balances.check(customer_id="cus_123", feature_id="premium")

    assert (denied.allowed, denied.balance, denied.flag) == (False, None, None)
    assert allowed.allowed is True
    assert allowed.flag is not None and allowed.flag.feature_id == "premium"


async def test_delete_one_balance_by_id_then_the_feature(autumn: Autumn) -> None:
    await autumn.balances.create(**API_CALLS, included_grant=10, balance_id="promo")
    await autumn.balances.create(**API_CALLS, included_grant=100, reset={"interval": "month"})

    await autumn.balances.delete(customer_id="cus_123", balance_id="promo")
    left = await balance(autumn)
    assert [b.included_grant for b in left.breakdown] == [100]

    await autumn.balances.delete(**API_CALLS, interval="month")
    customer = await autumn.customers.get(customer_id="cus_123")
    assert "api_calls" not in customer.balances

    gone = await balances_delete(autumn, API_CALLS)
    assert not gone.ok and isinstance(gone.error, AutumnDefaultError)
    assert (gone.error.status_code, gone.error.code) == (404, "invalid_request")


async def test_delete_with_recalculation_moves_the_usage(autumn: Autumn) -> None:
    await autumn.balances.create(**API_CALLS, included_grant=10, balance_id="promo")
    await autumn.balances.create(**API_CALLS, included_grant=100, balance_id="main")
    await autumn.balances.track(**API_CALLS, value=10)  # the older balance is drawn first
    assert {b.id: b.usage for b in (await balance(autumn)).breakdown} == {"promo": 10, "main": 0}

    await autumn.balances.delete(
        customer_id="cus_123",
        feature_id="api_calls",
        balance_id="promo",
        recalculate_balances=True,
    )

    (main,) = (await balance(autumn)).breakdown
    assert (main.id, main.remaining, main.usage) == ("main", 90, 10)


async def test_entity_scoped_usage(autumn: Autumn, server: LocalAutumn) -> None:
    seat = {"customer_id": "cus_123", "feature_id": "api_calls", "entity_id": "seat_1"}
    await autumn.balances.create(**seat, included_grant=5)

    tracked = await autumn.balances.track(**seat, value=2)
    gate = await autumn.balances.check(**seat, required_balance=3)
    entity = await autumn.entities.get(customer_id="cus_123", entity_id="seat_1")

    assert tracked.entity_id == "seat_1"
    assert gate.allowed is True and gate.entity_id == "seat_1"
    assert entity.balances["api_calls"].remaining == 3


async def test_the_standalone_functions_report_the_servers_errors(server: LocalAutumn) -> None:
    async with AutumnCore(server.secret_key, server_url=server.url) as core:
        unknown = await balances_track(core, {"customer_id": "cus_404", "feature_id": "api_calls"})
        no_event = await balances_track(core, {"customer_id": "cus_123", "event_name": "nope"})

    assert not unknown.ok and isinstance(unknown.error, AutumnDefaultError)
    assert unknown.error.code == "customer_not_found"
    assert not no_event.ok and isinstance(no_event.error, AutumnDefaultError)
    assert no_event.error.status_code == 404
