"""balances.update: every field, rule, status and code."""

from __future__ import annotations

from typing import Any

import pytest

from tests.local.conftest import MONTHLY, Api

DAY = 86_400_000
KEY = {"customer_id": "cus_123", "feature_id": "api_calls"}


@pytest.fixture
async def monthly(api: Api) -> Api:
    (await api.create(**MONTHLY)).ok()
    return api


async def state(api: Api) -> tuple[Any, Any, Any]:
    entry = await api.balance()
    assert entry is not None
    return entry["granted"], entry["remaining"], entry["usage"]


async def test_example_remaining(monthly: Api) -> None:
    (await monthly.update(**KEY, remaining=5)).ok()
    assert await state(monthly) == (1000, 5, 995)


async def test_add_to_balance_moves_grant_and_remaining(monthly: Api) -> None:
    (await monthly.update(**KEY, remaining=900)).ok()
    (await monthly.update(**KEY, add_to_balance=50)).ok()
    assert await state(monthly) == (1050, 950, 100)
    (await monthly.update(**KEY, add_to_balance=-950)).ok()
    assert await state(monthly) == (100, 0, 100)
    (await monthly.update(**KEY, add_to_balance=-1)).error(
        400, "invalid_inputs", mentions="add_to_balance"
    )
    assert await state(monthly) == (100, 0, 100)


async def test_usage_sets_usage(monthly: Api) -> None:
    (await monthly.update(**KEY, usage=30)).ok()
    assert await state(monthly) == (1000, 970, 30)
    (await monthly.update(**KEY, usage=1001)).error(400, "invalid_inputs", mentions="usage")


async def test_included_grant_sets_grant(monthly: Api) -> None:
    (await monthly.update(**KEY, usage=30)).ok()
    (await monthly.update(**KEY, included_grant=500)).ok()
    assert await state(monthly) == (500, 470, 30)
    (await monthly.update(**KEY, included_grant=10)).error(
        400, "invalid_inputs", mentions="included_grant"
    )
    # 2.1 clients may say "included".
    (await monthly.update(**KEY, included=40)).ok()
    assert await state(monthly) == (40, 10, 30)
    # Combined: the grant is applied first, then remaining.
    (await monthly.update(**KEY, included_grant=200, remaining=150)).ok()
    assert await state(monthly) == (200, 150, 50)


@pytest.mark.parametrize(
    ("fields", "mentions"),
    [
        ({"remaining": 1, "add_to_balance": 1}, "add_to_balance"),
        ({"remaining": 1, "usage": 1}, "usage"),
        ({"usage": 1, "add_to_balance": 1}, "add_to_balance"),
        ({}, "nothing to update"),
        ({"remaining": -1}, "remaining"),
        ({"remaining": "5"}, "remaining"),
        ({"remaining": True}, "remaining"),
        ({"remaining": None}, "remaining"),
        ({"add_to_balance": 1e16}, "add_to_balance"),
        ({"add_to_balance": False}, "add_to_balance"),
        ({"usage": -3}, "usage"),
        ({"usage": [1]}, "usage"),
        ({"included_grant": -1}, "included_grant"),
        ({"included_grant": 1, "included": 1}, "included"),
        ({"remaining": 1, "interval": "weekly"}, "interval"),
        ({"remaining": 1, "balance_id": ""}, "balance_id"),
        ({"remaining": 1, "entity_id": 3}, "entity_id"),
        ({"next_reset_at": "soon"}, "next_reset_at"),
        ({"expires_at": 0}, "expires_at"),
    ],
)
async def test_schema_errors_name_the_field(
    monthly: Api, fields: dict[str, Any], mentions: str
) -> None:
    (await monthly.update(**KEY, **fields)).error(400, "invalid_inputs", mentions=mentions)
    assert await state(monthly) == (1000, 1000, 0)


@pytest.mark.parametrize("field", ["customer_id", "feature_id"])
async def test_required_ids(monthly: Api, field: str) -> None:
    body = {**KEY, "remaining": 1}
    del body[field]
    (await monthly.update(**body)).error(400, "invalid_inputs", mentions=field)


async def test_not_found_codes(monthly: Api) -> None:
    (await monthly.update(customer_id="cus_x", feature_id="api_calls", remaining=1)).error(
        404, "customer_not_found"
    )
    (await monthly.update(customer_id="cus_123", feature_id="x", remaining=1)).error(
        404, "feature_not_found"
    )
    (await monthly.update(**KEY, entity_id="ent_x", remaining=1)).error(404, "entity_not_found")
    (await monthly.update(customer_id="cus_123", feature_id="seats", remaining=1)).error(
        404, "balance_not_found"
    )
    (await monthly.update(**KEY, balance_id="nope", remaining=1)).error(
        404, "balance_not_found", mentions="nope"
    )
    (await monthly.update(**KEY, interval="day", remaining=1)).error(404, "balance_not_found")


async def test_boolean_feature_has_nothing_to_update(api: Api) -> None:
    (await api.create(customer_id="cus_123", feature_id="premium")).ok()
    (await api.update(customer_id="cus_123", feature_id="premium", remaining=1)).error(
        400, "invalid_inputs", mentions="feature_id"
    )


async def test_unlimited_refuses_remaining(api: Api) -> None:
    (await api.create(**KEY, unlimited=True)).ok()
    for field in ("remaining", "add_to_balance", "included_grant"):
        (await api.update(**KEY, **{field: 1})).error(400, "invalid_inputs", mentions=field)
    (await api.update(**KEY, usage=12)).ok()
    entry = await api.balance()
    assert entry is not None and entry["usage"] == 12 and entry["unlimited"] is True


async def test_targeting_by_interval_and_balance_id(api: Api) -> None:
    (await api.create(**KEY, included=100, reset={"interval": "month"}, balance_id="m1")).ok()
    (await api.create(**KEY, included=100, reset={"interval": "month"}, balance_id="m2")).ok()
    (await api.create(**KEY, included=10, reset={"interval": "day"}, balance_id="d")).ok()
    (await api.create(**KEY, included=5, balance_id="once")).ok()

    (await api.update(**KEY, remaining=1)).error(400, "invalid_inputs", mentions="balance_id")
    (await api.update(**KEY, interval="month", remaining=1)).error(
        400, "invalid_inputs", mentions="balance_id"
    )
    (await api.update(**KEY, interval="day", remaining=3)).ok()
    (await api.update(**KEY, interval="one_off", remaining=4)).ok()
    (await api.update(**KEY, balance_id="m2", remaining=50)).ok()
    (await api.update(**KEY, balance_id="m2", interval="day", remaining=50)).error(
        404, "balance_not_found"
    )
    entry = await api.balance()
    assert entry is not None
    remaining = {b["id"]: b["remaining"] for b in entry["breakdown"]}
    assert remaining == {"m1": 100, "m2": 50, "d": 3, "once": 4}
    assert entry["remaining"] == 157 and entry["granted"] == 215 and entry["usage"] == 58


async def test_single_balance_needs_no_target(monthly: Api) -> None:
    (await monthly.update(**KEY, interval="month", remaining=7)).ok()
    assert await state(monthly) == (1000, 7, 993)


async def test_move_next_reset_at_and_expires_at(api: Api) -> None:
    clock = api.server.clock
    clock.set_ms(1_767_225_600_000)
    now = clock.now_ms()
    (await api.create(**KEY, included=10, reset={"interval": "month"}, balance_id="m")).ok()
    (await api.create(**KEY, included=10, balance_id="plain")).ok()
    (await api.update(**KEY, balance_id="m", next_reset_at=now + DAY)).ok()
    (await api.update(**KEY, balance_id="m", next_reset_at=now)).error(
        400, "invalid_inputs", mentions="next_reset_at"
    )
    (await api.update(**KEY, balance_id="plain", next_reset_at=now + DAY)).error(
        400, "invalid_inputs", mentions="next_reset_at"
    )
    (await api.update(**KEY, balance_id="plain", expires_at=now + 5 * DAY)).ok()
    (await api.update(**KEY, balance_id="plain", expires_at=now - 1)).error(
        400, "invalid_inputs", mentions="expires_at"
    )
    entry = await api.balance()
    assert entry is not None
    by_id = {b["id"]: b for b in entry["breakdown"]}
    assert by_id["m"]["reset"]["resets_at"] == now + DAY
    assert by_id["plain"]["expires_at"] == now + 5 * DAY
    assert entry["next_reset_at"] == now + DAY
    # A moved boundary becomes the new anchor: the following reset is a month later.
    clock.advance(days=1)
    entry = await api.balance()
    assert entry is not None
    assert entry["next_reset_at"] == 1_767_225_600_000 + DAY + 31 * DAY


async def test_next_reset_at_must_precede_expiry(api: Api) -> None:
    clock = api.server.clock
    clock.set_ms(1_767_225_600_000)
    now = clock.now_ms()
    (await api.create(**KEY, included=10, reset={"interval": "month"})).ok()
    (await api.update(**KEY, expires_at=now + 2 * DAY)).ok()
    (await api.update(**KEY, next_reset_at=now + 3 * DAY)).error(
        400, "invalid_inputs", mentions="expires_at"
    )
