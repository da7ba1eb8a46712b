"""balances.track: what is deducted from which balance, and what the answer shows.

Facts from Autumn's runTrackV3 / deduction script and its integration tests
(track-basic, track-negative, track-deductions, track-event-name,
track-body-idempotency).
"""

from __future__ import annotations

from typing import Any

from autumn_local.http.ratelimits import TRACK_ORG
from tests.local.conftest import DAY, NOW, Api

WORDS = {"customer_id": "cus_123", "feature_id": "words"}


async def grant(api: Api, amount: float = 100, **extra: Any) -> None:
    body = {**WORDS, "included_grant": amount, **extra}
    (await api.create(**body)).ok()


async def test_track_defaults_to_one_and_answers_the_updated_balance(usage: Api) -> None:
    await grant(usage)
    answer = (await usage.track(**WORDS)).ok()
    assert list(answer) == ["customer_id", "value", "balance", "balances", "deductions"]
    assert answer["value"] == 1
    balance = answer["balance"]
    assert (balance["feature_id"], balance["granted"], balance["remaining"]) == ("words", 100, 99)
    assert balance["usage"] == 1
    assert answer["balance"] == (await usage.balance("words"))
    [deduction] = answer["deductions"]
    assert deduction == {
        "balance_id": balance["breakdown"][0]["id"],
        "feature_id": "words",
        "plan_id": None,
        "reset": {"interval": "one_off", "resets_at": None},
        "value": 1,
    }


async def test_a_fractional_value_is_deducted_exactly(usage: Api) -> None:
    await grant(usage)
    (await usage.track(**WORDS, value=23.47)).ok()
    assert await usage.totals("words") == (100, 76.53, 23.47)


async def test_cap_is_the_default_and_stops_at_zero(usage: Api) -> None:
    await grant(usage, 10)
    answer = (await usage.track(**WORDS, value=25)).ok()
    assert answer["value"] == 25  # what was asked, not what fitted
    assert [d["value"] for d in answer["deductions"]] == [10]
    assert await usage.totals("words") == (10, 0, 10)
    (await usage.track(**WORDS, value=5, overage_behavior="cap")).ok()
    assert await usage.totals("words") == (10, 0, 10)


async def test_overflow_lets_the_first_balance_go_negative(usage: Api) -> None:
    await grant(usage, 10)
    answer = (await usage.track(**WORDS, value=25, overage_behavior="overflow")).ok()
    assert [d["value"] for d in answer["deductions"]] == [25]
    assert await usage.totals("words") == (10, 0, 25)
    [part] = (await usage.parts("words")).values()
    assert part == (10, 0, 25)  # remaining shows 0; usage 25 above the grant


async def test_reject_refuses_the_whole_amount(usage: Api) -> None:
    await grant(usage, 10)
    reply = await usage.track(**WORDS, value=11, overage_behavior="reject")
    reply.error(400, "insufficient_balance", mentions="Insufficient balance to deduct 11")
    assert await usage.totals("words") == (10, 10, 0)
    (await usage.track(**WORDS, value=10, overage_behavior="reject")).ok()
    assert await usage.totals("words") == (10, 0, 10)


async def test_reject_is_refused_with_an_event_name(usage: Api) -> None:
    await grant(usage, 10)
    reply = await usage.track(
        customer_id="cus_123", event_name="generation", overage_behavior="reject"
    )
    reply.error(400, "invalid_request", mentions="event_name")
    assert await usage.totals("words") == (10, 10, 0)


async def test_a_negative_value_credits_back_up_to_the_grant(usage: Api) -> None:
    await grant(usage)
    (await usage.track(**WORDS, value=30)).ok()
    answer = (await usage.track(**WORDS, value=-10)).ok()
    assert [d["value"] for d in answer["deductions"]] == [-10]
    assert await usage.totals("words") == (100, 80, 20)
    (await usage.track(**WORDS, value=-50)).ok()
    assert await usage.totals("words") == (100, 100, 0)  # never above the grant


async def test_a_credit_refills_negative_balances_first(usage: Api) -> None:
    usage.server.clock.set_ms(NOW)
    await grant(usage, 10, balance_id="a")
    usage.server.clock.advance(ms=1)
    await grant(usage, 10, balance_id="b")
    (await usage.update(**WORDS, balance_id="b", remaining=-4)).ok()
    (await usage.update(**WORDS, balance_id="a", remaining=5)).ok()
    (await usage.track(**WORDS, value=-6)).ok()
    # b back to 0 first (4), then a gets 2 of the 5 it is short.
    parts = await usage.parts("words")
    assert (parts["a"][1], parts["b"][1]) == (7, 0)


async def test_several_balances_are_drained_in_autumns_order(usage: Api) -> None:
    clock = usage.server.clock
    for balance_id, extra in [
        ("lifetime", {}),
        ("monthly", {"reset": {"interval": "month"}}),
        ("daily", {"reset": {"interval": "day"}}),
        ("expiring", {"expires_at": NOW + 10 * DAY}),
    ]:
        await grant(usage, 10, balance_id=balance_id, **extra)
        clock.advance(ms=1)
    answer = (await usage.track(**WORDS, value=25)).ok()
    by_id = {b["id"]: b["remaining"] for b in answer["balance"]["breakdown"]}
    assert by_id == {"daily": 0, "monthly": 0, "expiring": 5, "lifetime": 10}
    assert [d["value"] for d in answer["deductions"]] == [10, 10, 5]
    # Deductions name Autumn's own balance ids, not the caller's balance_id.
    assert all(d["balance_id"].startswith("cus_ent_") for d in answer["deductions"])
    assert [d["reset"]["interval"] for d in answer["deductions"]] == ["day", "month", "one_off"]


async def test_rollovers_are_used_before_the_balance(usage: Api) -> None:
    clock = usage.server.clock
    monthly = {"interval": "month"}
    await grant(usage, 100, reset=monthly, rollover={"max": 50, "length": 1})
    (await usage.track(**WORDS, value=70)).ok()
    clock.advance(days=32)  # reset: 30 left over roll over
    answer = (await usage.track(**WORDS, value=40)).ok()
    rollover, main = answer["deductions"]
    assert rollover["balance_id"].startswith("roll_") and rollover["value"] == 30
    assert main["balance_id"].startswith("cus_ent_") and main["value"] == 10
    [shown] = answer["balance"]["rollovers"]
    assert (shown["granted"], shown["balance"]) == (30, 0)
    assert (answer["balance"]["remaining"], answer["balance"]["usage"]) == (90, 40)


async def test_an_unlimited_balance_absorbs_everything(usage: Api) -> None:
    await grant(usage, 10)
    (await usage.create(**WORDS, unlimited=True)).ok()
    answer = (await usage.track(**WORDS, value=1000)).ok()
    assert answer["balance"]["unlimited"] is True
    assert answer["balance"]["usage"] == 1000
    [deduction] = answer["deductions"]
    assert deduction["value"] == 1000 and deduction["reset"] == {
        "interval": "one_off",
        "resets_at": None,
    }
    parts = await usage.parts("words")
    assert len(parts) == 1  # the unlimited view collapses the feature
    customer = await usage.customer()
    assert customer["balances"]["words"]["unlimited"] is True


async def test_a_continuous_use_feature_goes_above_its_grant_even_capped(usage: Api) -> None:
    seats = {"customer_id": "cus_123", "feature_id": "seats"}
    (await usage.create(**seats, included_grant=5)).ok()
    answer = (await usage.track(**seats, value=8)).ok()
    assert (answer["balance"]["remaining"], answer["balance"]["usage"]) == (0, 8)
    assert answer["deductions"][0]["reset"] is None  # continuous use: no reset shown
    (await usage.track(**seats, value=-2)).ok()
    assert await usage.totals("seats") == (5, 0, 6)
    (await usage.track(**seats, value=-20)).ok()
    assert await usage.totals("seats") == (5, 5, 0)  # a credit stops at the grant


async def test_a_boolean_feature_is_a_no_op(usage: Api) -> None:
    (await usage.create(customer_id="cus_123", feature_id="premium")).ok()
    answer = (await usage.track(customer_id="cus_123", feature_id="premium")).ok()
    assert answer == {"customer_id": "cus_123", "value": 1, "balance": None, "deductions": []}
    assert "premium" in (await usage.customer())["flags"]


async def test_no_balance_is_no_error(usage: Api) -> None:
    answer = (await usage.track(customer_id="cus_123", feature_id="api_calls", value=3)).ok()
    assert answer == {"customer_id": "cus_123", "value": 3, "balance": None, "deductions": []}


async def test_refused_requests(usage: Api) -> None:
    (await usage.track(customer_id="nobody", feature_id="nothing")).error(
        404, "feature_not_found"
    )  # the feature is checked first
    (await usage.track(customer_id="nobody", feature_id="words")).error(404, "customer_not_found")
    (await usage.track(**WORDS, entity_id="seat_9")).error(404, "entity_not_found")
    # Autumn looks the subject up in one go: a missing customer's entity is not found.
    (await usage.track(customer_id="nobody", feature_id="words", entity_id="seat_1")).error(
        404, "entity_not_found"
    )
    (await usage.track(customer_id="cus_123", event_name="nothing")).error(
        404, "invalid_request", mentions="No features found for event name: nothing"
    )
    for body in ({"customer_id": "cus_123"}, {**WORDS, "event_name": "generation"}):
        (await usage.track(**body)).error(400, "invalid_inputs", mentions="event_name")
    (await usage.track(**WORDS, value="2")).error(400, "invalid_inputs", mentions="value")
    (await usage.track(**WORDS, overage_behavior="allow")).error(
        400, "invalid_inputs", mentions="overage_behavior"
    )


async def test_timestamp_must_not_be_in_the_future(usage: Api) -> None:
    await grant(usage, 10)
    (await usage.track(**WORDS, timestamp=NOW - 10_000, properties={"model": "x"})).ok()
    (await usage.track(**WORDS, timestamp=NOW + 1)).error(
        400, "invalid_inputs", mentions="timestamp cannot be in the future"
    )
    (await usage.track(**WORDS, properties=[1])).error(400, "invalid_inputs", mentions="properties")
    assert await usage.totals("words") == (10, 9, 1)


async def test_an_event_name_tracks_every_feature_listing_it(usage: Api) -> None:
    await grant(usage, 100)
    (await usage.create(customer_id="cus_123", feature_id="tokens", included_grant=50)).ok()
    answer = (await usage.track(customer_id="cus_123", event_name="generation", value=4.5)).ok()
    assert answer["event_name"] == "generation"
    assert answer["balance"] is None  # two features tracked
    assert set(answer["balances"]) == {"words", "credits", "tokens", "credits_b"}
    assert answer["balances"]["credits"] is None  # related, but not held
    assert [(d["feature_id"], d["value"]) for d in answer["deductions"]] == [
        ("words", 4.5),
        ("tokens", 4.5),
    ]
    assert await usage.totals("words") == (100, 95.5, 4.5)
    assert await usage.totals("tokens") == (50, 45.5, 4.5)


async def test_an_entity_uses_its_own_balance_then_the_customers(usage: Api) -> None:
    entity = {**WORDS, "entity_id": "seat_1"}
    await grant(usage, 10)
    (await usage.create(**entity, included_grant=5)).ok()
    answer = (await usage.track(**entity, value=7)).ok()
    assert answer["entity_id"] == "seat_1"
    assert [d["value"] for d in answer["deductions"]] == [5, 2]
    assert (answer["balance"]["granted"], answer["balance"]["remaining"]) == (15, 8)
    # A customer-level track never touches the entity's balance.
    (
        await usage.create(
            customer_id="cus_123", feature_id="words", entity_id="seat_2", included_grant=5
        )
    ).ok()
    (await usage.track(**WORDS, value=100)).ok()
    seat_2 = await usage.post("/v1/entities.get", {"customer_id": "cus_123", "entity_id": "seat_2"})
    assert seat_2.ok()["balances"]["words"]["breakdown"][0]["remaining"] == 5


async def test_async_answers_202_and_is_applied(usage: Api) -> None:
    await grant(usage, 10)
    reply = await usage.track(**WORDS, value=3, **{"async": True})
    assert (reply.status, reply.body) == (
        202,
        {"customer_id": "cus_123", "value": 3, "balance": None},
    )
    assert await usage.totals("words") == (10, 7, 3)
    # Failures happen later, out of sight: still 202.
    late = await usage.track(customer_id="nobody", feature_id="words", **{"async": True})
    assert late.status == 202


async def test_the_body_idempotency_key_is_claimed_like_a_header_key(usage: Api) -> None:
    await grant(usage, 10)
    (await usage.track(**WORDS, idempotency_key="evt_1")).ok()
    reply = await usage.track(**WORDS, idempotency_key="evt_1")
    reply.error(409, "duplicate_idempotency_key", mentions="idempotency key track:evt_1")
    assert await usage.totals("words") == (10, 9, 1)
    # A failed track releases its key: the retry runs and fails the same way.
    for _ in range(2):
        (await usage.track(**WORDS, entity_id="seat_9", idempotency_key="evt_2")).error(
            404, "entity_not_found"
        )
    # Header and body keys are independent claims.
    header = {"Idempotency-Key": "req_1"}
    (await usage.track(headers=header, **WORDS, idempotency_key="evt_3")).ok()
    (await usage.track(headers=header, **WORDS, idempotency_key="evt_4")).error(
        409, "duplicate_idempotency_key"
    )
    (
        await usage.track(headers={"Idempotency-Key": "req_2"}, **WORDS, idempotency_key="evt_3")
    ).error(409, "duplicate_idempotency_key")
    assert await usage.totals("words") == (10, 8, 2)


async def test_a_due_reset_happens_before_the_deduction(usage: Api) -> None:
    await grant(usage, 10, reset={"interval": "month"})
    (await usage.track(**WORDS, value=10)).ok()
    usage.server.clock.advance(days=32)
    answer = (await usage.track(**WORDS, value=4)).ok()
    assert (answer["balance"]["remaining"], answer["balance"]["usage"]) == (6, 4)


async def test_over_the_organisations_track_cap_tracks_are_queued(usage: Api) -> None:
    server = usage.server
    server.rate_limiter.enabled = True
    await grant(usage, 10)
    for _ in range(120_000):
        server.rate_limiter.check((TRACK_ORG,), "sandbox", None, NOW)
    reply = await usage.track(**WORDS, value=2)
    assert (reply.status, reply.body) == (
        202,
        {"customer_id": "cus_123", "value": 2, "balance": None},
    )
    assert await usage.totals("words") == (10, 8, 2)
