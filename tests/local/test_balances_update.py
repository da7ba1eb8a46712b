"""balances.update on one balance: the arithmetic, the field combinations, the errors."""

from __future__ import annotations

from typing import Any

import pytest

from tests.local.conftest import DAY, KEY, MONTHLY, NOW, Api


@pytest.fixture
async def hundred(api: Api) -> Api:
    """One monthly balance of 100 (grant/remaining/usage 100/100/0), clock at NOW."""
    api.server.clock.set_ms(NOW)
    (await api.create(**KEY, included_grant=100, reset={"interval": "month"})).ok()
    return api


async def test_worked_example(hundred: Api) -> None:
    api = hundred
    (await api.update(**KEY, add_to_balance=50)).ok()
    assert await api.totals() == (100, 150, -50)
    (await api.update(**KEY, included_grant=200)).ok()
    assert await api.totals() == (200, 150, 50)
    api.server.clock.set_ms(NOW + 31 * DAY + 1)  # past the Feb 1 boundary
    assert await api.totals() == (100, 100, 0)


async def test_remaining_sets_remaining_and_moves_usage(hundred: Api) -> None:
    (await hundred.update(**KEY, remaining=5)).ok()
    assert await hundred.totals() == (100, 5, 95)
    (await hundred.update(**KEY, remaining=150)).ok()
    assert await hundred.totals() == (100, 150, -50)


async def test_current_balance_is_an_alias_of_remaining(hundred: Api) -> None:
    (await hundred.update(**KEY, current_balance=30)).ok()
    assert await hundred.totals() == (100, 30, 70)
    (await hundred.update(**KEY, remaining=40, current_balance=30)).ok()  # remaining wins
    assert await hundred.totals() == (100, 40, 60)


async def test_add_to_balance_raises_remaining_and_lowers_usage(hundred: Api) -> None:
    (await hundred.update(**KEY, add_to_balance=-30)).ok()
    assert await hundred.totals() == (100, 70, 30)
    (await hundred.update(**KEY, add_to_balance=50)).ok()
    assert await hundred.totals() == (100, 120, -20)


async def test_usage_sets_usage(hundred: Api) -> None:
    (await hundred.update(**KEY, usage=30)).ok()
    assert await hundred.totals() == (100, 70, 30)


async def test_included_grant_keeps_remaining_and_moves_usage(hundred: Api) -> None:
    (await hundred.update(**KEY, usage=30)).ok()
    (await hundred.update(**KEY, included_grant=500)).ok()
    assert await hundred.totals() == (500, 70, 430)
    (await hundred.update(**KEY, included_grant=10)).ok()
    assert await hundred.totals() == (10, 70, -60)


async def test_negative_remaining_and_usage_above_the_grant_are_allowed(hundred: Api) -> None:
    (await hundred.update(**KEY, remaining=-20)).ok()
    entry = await hundred.balance()
    assert entry is not None
    # remaining is floored at 0 in the view; usage is not.
    assert (entry["granted"], entry["remaining"], entry["usage"]) == (100, 0, 120)
    assert entry["breakdown"][0]["remaining"] == 0
    (await hundred.update(**KEY, usage=250)).ok()
    assert await hundred.totals() == (100, 0, 250)
    (await hundred.update(**KEY, add_to_balance=-1000)).ok()
    assert await hundred.totals() == (100, 0, 1250)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        # The schema declares these pairs exclusive; the real route accepts them.
        ({"remaining": 40, "add_to_balance": 5}, (100, 40, 60)),  # remaining wins
        ({"remaining": 40, "usage": 10}, (100, 90, 10)),  # both run, usage last
        ({"add_to_balance": 5, "usage": 10}, (100, 90, 10)),  # add, then usage
        ({"included_grant": 200, "remaining": 150}, (200, 150, 50)),
        ({"included_grant": 200, "usage": 30}, (200, 70, 130)),  # usage before grant
    ],
)
async def test_field_combinations(
    hundred: Api, fields: dict[str, Any], expected: tuple[int, int, int]
) -> None:
    (await hundred.update(**KEY, **fields)).ok()
    assert await hundred.totals() == expected


async def test_nothing_to_change_is_200(hundred: Api) -> None:
    (await hundred.update(**KEY)).ok()
    (await hundred.update(**KEY, interval="month")).ok()
    assert await hundred.totals() == (100, 100, 0)


async def test_included_is_not_an_update_field(hundred: Api) -> None:
    (await hundred.update(**KEY, included=5)).ok()  # dropped, nothing to change
    assert await hundred.totals() == (100, 100, 0)


@pytest.mark.parametrize(
    ("fields", "mentions"),
    [
        ({"remaining": "5"}, "remaining"),
        ({"remaining": True}, "remaining"),
        ({"remaining": None}, "remaining"),
        ({"current_balance": "5"}, "current_balance"),
        ({"add_to_balance": 10**400}, "add_to_balance"),  # Infinity in JavaScript
        ({"add_to_balance": False}, "add_to_balance"),
        ({"usage": [1]}, "usage"),
        ({"included_grant": "1"}, "included_grant"),
        ({"remaining": 1, "interval": "weekly"}, "interval"),
        ({"remaining": 1, "balance_id": ""}, "balance_id"),
        ({"remaining": 1, "entity_id": 3}, "entity_id"),
        ({"next_reset_at": "soon"}, "next_reset_at"),
        ({"expires_at": 0}, "expires_at"),
    ],
)
async def test_schema_errors_name_the_field(
    hundred: Api, fields: dict[str, Any], mentions: str
) -> None:
    (await hundred.update(**KEY, **fields)).error(400, "invalid_inputs", mentions=mentions)
    assert await hundred.totals() == (100, 100, 0)


@pytest.mark.parametrize("field", ["customer_id", "feature_id"])
async def test_required_ids(hundred: Api, field: str) -> None:
    sent = {**KEY, "remaining": 1}
    del sent[field]
    (await hundred.update(**sent)).error(400, "invalid_inputs", mentions=field)


async def test_not_found_codes_check_the_feature_first(ents: Api) -> None:
    api = ents
    (await api.update(customer_id="cus_x", feature_id="x", remaining=1)).error(
        404, "feature_not_found"
    )
    (await api.update(customer_id="cus_x", feature_id="api_calls", remaining=1)).error(
        404, "customer_not_found"
    )
    (await api.update(**KEY, entity_id="ent_x", remaining=1)).error(404, "entity_not_found")
    # Not an error: there is simply no balance to change.
    (await api.update(**KEY, remaining=1)).ok()


async def test_expires_at_must_be_in_the_future(hundred: Api) -> None:
    api = hundred
    (await api.update(**KEY, expires_at=NOW)).error(
        400, "invalid_request", mentions="expires_at must be in the future"
    )
    # Checked before the customer is looked up.
    (await api.update(customer_id="nobody", feature_id="api_calls", expires_at=NOW - 1)).error(
        400, "invalid_request"
    )
    (await api.update(**KEY, expires_at=NOW + 5 * DAY)).ok()
    entry = await api.balance()
    assert entry is not None and entry["breakdown"][0]["expires_at"] == NOW + 5 * DAY


async def test_next_reset_at_moves_the_next_reset(hundred: Api) -> None:
    api = hundred
    (await api.update(**KEY, next_reset_at=NOW + DAY)).ok()
    entry = await api.balance()
    assert entry is not None
    assert entry["next_reset_at"] == entry["breakdown"][0]["reset"]["resets_at"] == NOW + DAY
    (await api.update(**KEY, usage=10)).ok()
    api.server.clock.set_ms(NOW + DAY + 1)
    entry = await api.balance()
    assert entry is not None and entry["usage"] == 0
    # The following reset is one interval after the moved boundary.
    assert entry["next_reset_at"] == NOW + DAY + 31 * DAY


async def test_next_reset_at_on_a_lifetime_balance_is_refused(api: Api) -> None:
    api.server.clock.set_ms(NOW)
    (await api.create(**KEY, included_grant=10)).ok()
    reply = await api.update(**KEY, next_reset_at=NOW + DAY)
    reply.error(400, "invalid_request", mentions="Cannot update next reset at for lifetime")


async def test_steps_before_a_refused_step_stay_applied(api: Api) -> None:
    # Autumn runs the steps one after another, not in one transaction.
    api.server.clock.set_ms(NOW)
    (await api.create(**KEY, included_grant=10)).ok()
    (await api.update(**KEY, remaining=3, next_reset_at=NOW + DAY)).error(400, "invalid_request")
    assert await api.totals() == (10, 3, 7)


async def test_unlimited_balance_absorbs_updates(api: Api) -> None:
    (await api.create(**KEY, unlimited=True)).ok()
    (await api.update(**KEY, usage=12)).ok()
    entry = await api.balance()
    assert entry is not None and entry["unlimited"] is True
    assert (entry["granted"], entry["remaining"], entry["usage"]) == (0, 0, 12)
    (await api.update(**KEY, add_to_balance=2)).ok()
    assert await api.totals() == (0, 0, 10)
    (await api.update(**KEY, remaining=-30)).ok()
    assert await api.totals() == (0, 0, 30)
    (await api.update(**KEY, included_grant=100)).ok()  # accepted, changes nothing visible
    assert await api.totals() == (0, 0, 30)


async def test_a_boolean_feature_update_changes_nothing_visible(api: Api) -> None:
    (await api.create(customer_id="cus_123", feature_id="premium")).ok()
    before = (await api.customer())["flags"]
    (await api.update(customer_id="cus_123", feature_id="premium", remaining=1)).ok()
    assert (await api.customer())["flags"] == before


async def test_fractional_amounts(hundred: Api) -> None:
    (await hundred.update(**KEY, add_to_balance=-0.1)).ok()
    (await hundred.update(**KEY, add_to_balance=-0.2)).ok()
    granted, remaining, usage = await hundred.totals()
    assert (granted, remaining, usage) == (100, 99.7, 0.3)


async def test_monthly_example_from_the_docs(api: Api) -> None:
    (await api.create(**MONTHLY)).ok()
    (await api.update(**KEY, remaining=5)).ok()
    assert await api.totals() == (1000, 5, 995)
