"""customers.get / get_or_create / entities.get: Autumn's customer schema, key for key."""

from __future__ import annotations

from typing import Any

import pytest

from tests.local.conftest import DAY, KEY, NOW, Api

CUSTOMER_KEYS = [
    "id",
    "name",
    "email",
    "created_at",
    "fingerprint",
    "stripe_id",
    "env",
    "metadata",
    "send_email_receipts",
    "billing_controls",
    "subscriptions",
    "purchases",
    "licenses",
    "balances",
    "flags",
]
BALANCE_KEYS = [
    "feature_id",
    "granted",
    "remaining",
    "usage",
    "unlimited",
    "overage_allowed",
    "max_purchase",
    "next_reset_at",
    "breakdown",
]
BREAKDOWN_KEYS = [
    "id",
    "plan_id",
    "included_grant",
    "prepaid_grant",
    "remaining",
    "usage",
    "unlimited",
    "reset",
    "price",
    "expires_at",
]


async def entity(api: Api, entity_id: str = "seat_1") -> dict[str, Any]:
    reply = await api.post("/v1/entities.get", {"customer_id": "cus_123", "entity_id": entity_id})
    body: dict[str, Any] = reply.ok()
    return body


async def test_every_key_of_autumns_customer_in_its_order(api: Api) -> None:
    (await api.create(**KEY, included_grant=10, reset={"interval": "month"})).ok()
    (await api.create(customer_id="cus_123", feature_id="premium")).ok()
    customer = await api.customer()
    assert list(customer) == CUSTOMER_KEYS
    assert customer["send_email_receipts"] is False
    assert customer["billing_controls"] == {}
    assert (customer["subscriptions"], customer["purchases"], customer["licenses"]) == ([], [], [])
    assert (customer["fingerprint"], customer["stripe_id"], customer["metadata"]) == (
        None,
        None,
        {},
    )
    assert list(customer["balances"]["api_calls"]) == BALANCE_KEYS
    assert list(customer["balances"]["api_calls"]["breakdown"][0]) == BREAKDOWN_KEYS
    assert list(customer["flags"]["premium"]) == ["id", "plan_id", "expires_at", "feature_id"]


async def test_get_or_create_creates_once_and_answers_the_same_shape(api: Api) -> None:
    sent = {"customer_id": "cus_9", "name": "Nine", "email": "nine@example.com"}
    created = (await api.post("/v1/customers.get_or_create", sent)).ok()
    assert list(created) == CUSTOMER_KEYS
    assert (created["id"], created["name"], created["email"]) == ("cus_9", "Nine", sent["email"])
    again = (
        await api.post("/v1/customers.get_or_create", {"customer_id": "cus_9", "name": "Other"})
    ).ok()
    assert again["name"] == "Nine" and again["created_at"] == created["created_at"]


async def test_remaining_is_floored_per_balance_and_usage_is_not(api: Api) -> None:
    api.server.clock.set_ms(NOW)
    (await api.create(**KEY, included_grant=10, balance_id="a")).ok()
    (await api.create(**KEY, included_grant=10, balance_id="b")).ok()
    (await api.update(**KEY, balance_id="a", remaining=-4)).ok()
    entry = await api.balance()
    assert entry is not None
    assert (entry["granted"], entry["remaining"], entry["usage"]) == (20, 10, 14)
    assert [(b["remaining"], b["usage"]) for b in entry["breakdown"]] == [(0, 14), (10, 0)]


@pytest.mark.parametrize(
    ("feature_id", "reset", "shown"),
    [
        ("api_calls", None, {"interval": "one_off", "resets_at": None}),
        ("api_calls", {"interval": "one_off"}, {"interval": "one_off", "resets_at": None}),
        ("api_calls", {"interval": "day"}, {"interval": "day", "resets_at": NOW + DAY}),
        (
            "api_calls",
            {"interval": "day", "interval_count": 3},
            {"interval": "day", "interval_count": 3, "resets_at": NOW + 3 * DAY},
        ),
        # A continuous-use feature (seats) shows no reset at all.
        ("seats", {"interval": "month"}, None),
        ("seats", None, None),
    ],
)
async def test_reset_shapes(
    api: Api, feature_id: str, reset: dict[str, Any] | None, shown: dict[str, Any] | None
) -> None:
    api.server.clock.set_ms(NOW)
    extra = {} if reset is None else {"reset": reset}
    (await api.create(customer_id="cus_123", feature_id=feature_id, included_grant=5, **extra)).ok()
    entry = await api.balance(feature_id)
    assert entry is not None and entry["breakdown"][0]["reset"] == shown


async def test_totals_take_the_earliest_reset(api: Api) -> None:
    api.server.clock.set_ms(NOW)
    (await api.create(**KEY, included_grant=1, reset={"interval": "month"})).ok()
    (await api.create(**KEY, included_grant=1, reset={"interval": "week"})).ok()
    (await api.create(**KEY, included_grant=1)).ok()
    entry = await api.balance()
    assert entry is not None and entry["next_reset_at"] == NOW + 7 * DAY


async def test_an_unlimited_balance_collapses_the_feature(api: Api) -> None:
    api.server.clock.set_ms(NOW)
    (await api.create(**KEY, included_grant=10, reset={"interval": "month"}, balance_id="f")).ok()
    (await api.create(**KEY, unlimited=True, balance_id="unl")).ok()
    (await api.update(**KEY, add_to_balance=-7)).ok()
    entry = await api.balance()
    assert entry is not None
    [part] = entry["breakdown"]
    assert part["id"].startswith("cus_ent_")  # Autumn's own id, not the balance_id
    assert entry == {
        "feature_id": "api_calls",
        "granted": 0,
        "remaining": 0,
        "usage": 7,  # the unlimited balance took the whole deduction
        "unlimited": True,
        "overage_allowed": False,
        "max_purchase": None,
        "next_reset_at": None,
        "breakdown": [
            {
                "id": part["id"],
                "plan_id": None,
                "included_grant": 0,
                "prepaid_grant": 0,
                "remaining": 0,
                "usage": 7,
                "unlimited": True,
                "reset": None,
                "price": None,
                "expires_at": None,
            }
        ],
    }


async def test_booleans_are_flags_not_balances(api: Api) -> None:
    api.server.clock.set_ms(NOW)
    (await api.create(customer_id="cus_123", feature_id="premium", expires_at=NOW + DAY)).ok()
    customer = await api.customer()
    [flag] = customer["flags"].values()
    assert customer["balances"] == {}
    assert flag["id"].startswith("cus_ent_")
    assert flag == {
        "id": flag["id"],
        "plan_id": None,
        "expires_at": NOW + DAY,
        "feature_id": "premium",
    }
    api.server.clock.set_ms(NOW + DAY)
    assert (await api.customer())["flags"] == {}


async def test_entity_balances_count_in_the_customer_totals_not_the_breakdown(ents: Api) -> None:
    api = ents
    api.server.clock.set_ms(NOW)
    (await api.create(**KEY, included_grant=100, balance_id="own")).ok()
    (
        await api.create(
            **KEY, entity_id="seat_1", included_grant=10, reset={"interval": "day"}, balance_id="s1"
        )
    ).ok()
    (await api.create(**KEY, entity_id="seat_2", included_grant=10)).ok()
    (await api.update(**KEY, entity_id="seat_1", balance_id="s1", remaining=-4)).ok()
    entry = await api.balance()
    assert entry is not None
    assert [b["id"] for b in entry["breakdown"]] == ["own"]
    # The entities' balances (-4 and 10) count as a sum floored at 0: 6, not 10.
    assert (entry["granted"], entry["remaining"], entry["usage"]) == (120, 106, 14)
    assert entry["next_reset_at"] == NOW + DAY


async def test_entity_balances_at_exactly_zero_are_left_out_of_the_customer(ents: Api) -> None:
    api = ents
    (await api.create(**KEY, included_grant=100, balance_id="own")).ok()
    (await api.create(**KEY, entity_id="seat_1", included_grant=10, balance_id="s1")).ok()
    (await api.update(**KEY, entity_id="seat_1", balance_id="s1", usage=10)).ok()
    # seat_1's balance is exactly 0: Autumn's aggregate skips it, grant and usage included.
    assert await api.totals() == (100, 100, 0)
    (await api.update(**KEY, entity_id="seat_1", balance_id="s1", usage=11)).ok()
    assert await api.totals() == (110, 100, 11)


async def test_a_customer_with_only_entity_balances_has_empty_breakdowns(ents: Api) -> None:
    api = ents
    (await api.create(**KEY, entity_id="seat_1", included_grant=10)).ok()
    entry = await api.balance()
    assert entry is not None
    assert entry["breakdown"] == [] and "rollovers" not in entry
    assert (entry["granted"], entry["remaining"], entry["usage"]) == (10, 10, 0)


async def test_an_unlimited_entity_balance_collapses_only_the_totals(ents: Api) -> None:
    api = ents
    (await api.create(**KEY, included_grant=10, balance_id="own")).ok()
    (await api.create(**KEY, entity_id="seat_1", unlimited=True)).ok()
    (await api.update(**KEY, entity_id="seat_1", add_to_balance=-3)).ok()
    entry = await api.balance()
    assert entry is not None
    assert (entry["granted"], entry["remaining"], entry["usage"], entry["unlimited"]) == (
        0,
        0,
        3,
        True,
    )
    assert [b["id"] for b in entry["breakdown"]] == ["own"]


async def test_entities_get_shows_the_entity_and_the_customer_level_balances(ents: Api) -> None:
    api = ents
    api.server.clock.set_ms(NOW)
    (await api.create(**KEY, included_grant=100, balance_id="own")).ok()
    (await api.create(**KEY, entity_id="seat_1", included_grant=10, balance_id="mine")).ok()
    (await api.create(**KEY, entity_id="seat_2", included_grant=10, balance_id="theirs")).ok()
    (await api.create(customer_id="cus_123", feature_id="premium", entity_id="seat_1")).ok()
    got = await entity(api)
    assert list(got) == [
        "id",
        "name",
        "customer_id",
        "created_at",
        "env",
        "subscriptions",
        "purchases",
        "balances",
        "flags",
        "billing_controls",
    ]
    assert (got["id"], got["name"], got["customer_id"]) == ("seat_1", "Seat 1", "cus_123")
    entry = got["balances"]["api_calls"]
    assert [b["id"] for b in entry["breakdown"]] == ["mine", "own"]
    assert (entry["granted"], entry["remaining"]) == (110, 110)
    assert list(got["flags"]) == ["premium"]
    assert (await entity(api, "seat_2"))["flags"] == {}
    (await api.post("/v1/entities.get", {"customer_id": "cus_123", "entity_id": "nope"})).error(
        404, "entity_not_found"
    )
    # Autumn looks the entity up with its customer in one go (getOrSetCachedFullSubject).
    (await api.post("/v1/entities.get", {"customer_id": "nobody", "entity_id": "seat_1"})).error(
        404, "entity_not_found"
    )


async def test_customers_get_errors(api: Api) -> None:
    (await api.post("/v1/customers.get", {"customer_id": "nobody"})).error(
        404, "customer_not_found"
    )
    (await api.post("/v1/customers.get", {})).error(400, "invalid_inputs", mentions="customer_id")
    (await api.post("/v1/customers.get_or_create", {"customer_id": "x", "name": 5})).error(
        400, "invalid_inputs", mentions="name"
    )
    (await api.post("/v1/customers.get_or_create", {"customer_id": "x", "email": None})).ok()


async def test_numbers_are_written_as_a_javascript_server_writes_them(api: Api) -> None:
    async def raw_customer() -> str:
        async with api.http.post(
            api.server.url + "/v1/customers.get",
            json={"customer_id": "cus_123"},
            headers={"Authorization": f"Bearer {api.server.secret_key}"},
        ) as reply:
            return await reply.text()

    (await api.create(**KEY, included_grant=0.1)).ok()
    (await api.create(**KEY, included_grant=0.2)).ok()
    assert '"granted": 0.3,' in await raw_customer()  # rounded to 10 decimals, as Autumn does
    (await api.update(**KEY, remaining=3.0)).ok()
    assert '"remaining": 3,' in await raw_customer()  # a whole number has no ".0"
