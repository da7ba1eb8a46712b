"""balances.create: every field, rule, status and code."""

from __future__ import annotations

from typing import Any

import pytest

from autumn_local import operations
from autumn_local.operations import new_balance_id
from tests.local.conftest import MONTHLY, Api

DAY = 86_400_000


def body(**overrides: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"customer_id": "cus_123", "feature_id": "api_calls", "included": 100}
    out.update(overrides)
    return {k: v for k, v in out.items() if v is not ...}


async def test_example_shows_up_in_customer_view(api: Api) -> None:
    api.server.clock.set_ms(1_767_225_600_000)  # 2026-01-01T00:00:00Z
    (await api.create(**MONTHLY)).ok()
    entry = await api.balance()
    assert entry is not None
    assert entry["feature_id"] == "api_calls"
    assert (entry["granted"], entry["remaining"], entry["usage"]) == (1000, 1000, 0)
    assert entry["unlimited"] is False
    assert entry["overage_allowed"] is False
    assert entry["max_purchase"] is None
    assert entry["next_reset_at"] == 1_769_904_000_000  # 2026-02-01
    [part] = entry["breakdown"]
    assert part["id"].startswith("cus_ent_")
    assert part == {
        "id": part["id"],
        "plan_id": None,
        "included_grant": 1000,
        "prepaid_grant": 0,
        "remaining": 1000,
        "usage": 0,
        "unlimited": False,
        "reset": {"interval": "month", "interval_count": 1, "resets_at": 1_769_904_000_000},
        "price": None,
        "expires_at": None,
    }


@pytest.mark.parametrize("name", ["included", "included_grant", "granted_balance"])
async def test_grant_field_names(api: Api, name: str) -> None:
    (await api.create(customer_id="cus_123", feature_id="api_calls", **{name: 7})).ok()
    entry = await api.balance()
    assert entry is not None and entry["granted"] == 7


async def test_two_grant_names_at_once_is_refused(api: Api) -> None:
    (await api.create(**body(included_grant=5))).error(
        400, "invalid_inputs", mentions="included_grant"
    )


async def test_fractional_amounts_are_kept(api: Api) -> None:
    (await api.create(**body(included=2.5))).ok()
    entry = await api.balance()
    assert entry is not None and entry["granted"] == 2.5


@pytest.mark.parametrize("field", ["customer_id", "feature_id"])
async def test_required_ids(api: Api, field: str) -> None:
    (await api.create(**body(**{field: ...}))).error(400, "invalid_inputs", mentions=field)


@pytest.mark.parametrize(
    ("overrides", "mentions"),
    [
        ({"customer_id": 123}, "customer_id"),
        ({"customer_id": ""}, "customer_id"),
        ({"customer_id": "   "}, "customer_id"),
        ({"customer_id": "c" * 257}, "customer_id"),
        ({"customer_id": "a\nb"}, "customer_id"),
        ({"customer_id": None}, "customer_id"),
        ({"feature_id": ["api_calls"]}, "feature_id"),
        ({"entity_id": 5}, "entity_id"),
        ({"entity_id": None}, "entity_id"),
        ({"included": "100"}, "included"),
        ({"included": True}, "included"),
        ({"included": -1}, "included"),
        ({"included": None}, "included"),
        ({"included": 2**53}, "included"),
        ({"included": 1e300}, "included"),
        ({"included_grant": False, "included": ...}, "included_grant"),
        ({"unlimited": "yes", "included": ...}, "unlimited"),
        ({"unlimited": 1, "included": ...}, "unlimited"),
        ({"reset": "month"}, "reset"),
        ({"reset": {}}, "reset.interval"),
        ({"reset": {"interval": "fortnight"}}, "reset.interval"),
        ({"reset": {"interval": 5}}, "reset.interval"),
        ({"reset": {"interval": "month", "interval_count": 0}}, "reset.interval_count"),
        ({"reset": {"interval": "month", "interval_count": 1.5}}, "reset.interval_count"),
        ({"reset": {"interval": "month", "interval_count": True}}, "reset.interval_count"),
        ({"reset": {"interval": "month", "interval_count": 10**6}}, "reset.interval_count"),
        ({"expires_at": "tomorrow"}, "expires_at"),
        ({"expires_at": -5}, "expires_at"),
        ({"expires_at": 10**17}, "expires_at"),
        ({"next_reset_at": True, "reset": {"interval": "day"}}, "next_reset_at"),
        ({"balance_id": 7}, "balance_id"),
        ({"balance_id": "b" * 300}, "balance_id"),
        ({"rollover": []}, "rollover"),
    ],
)
async def test_schema_errors_name_the_field(
    api: Api, overrides: dict[str, Any], mentions: str
) -> None:
    (await api.create(**body(**overrides))).error(400, "invalid_inputs", mentions=mentions)
    assert await api.balance() is None  # nothing applied


@pytest.mark.parametrize(
    ("overrides", "mentions"),
    [
        ({"included": ...}, "included"),
        ({"unlimited": True}, "unlimited"),
        ({"included": ..., "unlimited": False}, "included"),
        ({"included": ..., "unlimited": True, "reset": {"interval": "month"}}, "reset"),
        ({"expires_at": 1, "reset": {"interval": "month"}}, "expires_at"),
        ({"next_reset_at": 32_503_680_000_000}, "next_reset_at"),
        (
            {"reset": {"interval": "one_off"}, "next_reset_at": 32_503_680_000_000},
            "next_reset_at",
        ),
        ({"rollover": {"length": 1}}, "rollover"),
    ],
)
async def test_metered_rules(api: Api, overrides: dict[str, Any], mentions: str) -> None:
    (await api.create(**body(**overrides))).error(400, "invalid_inputs", mentions=mentions)


async def test_unlimited_balance(api: Api) -> None:
    (await api.create(**body(included=..., unlimited=True))).ok()
    entry = await api.balance()
    assert entry is not None and entry["unlimited"] is True
    assert entry["breakdown"][0]["reset"] is None


async def test_expires_at_must_be_in_the_future(api: Api) -> None:
    now = api.server.clock.now_ms()
    api.server.clock.set_ms(now)
    (await api.create(**body(expires_at=now))).error(400, "invalid_inputs", mentions="expires_at")
    (await api.create(**body(expires_at=now - DAY))).error(
        400, "invalid_inputs", mentions="expires_at"
    )
    (await api.create(**body(expires_at=now + DAY))).ok()
    entry = await api.balance()
    assert entry is not None and entry["breakdown"][0]["expires_at"] == now + DAY


async def test_next_reset_at_rules(api: Api) -> None:
    now = api.server.clock.now_ms()
    api.server.clock.set_ms(now)
    daily = {"interval": "day"}
    (await api.create(**body(reset=daily, next_reset_at=now))).error(
        400, "invalid_inputs", mentions="next_reset_at"
    )
    (
        await api.create(**body(reset=daily, next_reset_at=now + 2 * DAY, expires_at=now + DAY))
    ).error(400, "invalid_inputs", mentions="next_reset_at")
    (await api.create(**body(reset=daily, next_reset_at=now + 3_600_000))).ok()
    entry = await api.balance()
    assert entry is not None and entry["next_reset_at"] == now + 3_600_000


async def test_rollover_needs_reset_and_consumable_feature(api: Api) -> None:
    rollover = {"max": 50, "duration": "month", "length": 1}
    (await api.create(**body(rollover=rollover))).error(400, "invalid_inputs", mentions="rollover")
    (
        await api.create(**body(feature_id="seats", reset={"interval": "month"}, rollover=rollover))
    ).error(400, "invalid_inputs", mentions="consumable")
    (await api.create(**body(rollover={"duration": "month"}, reset={"interval": "month"}))).error(
        400, "invalid_inputs", mentions="rollover.length"
    )
    (
        await api.create(
            **body(rollover={**rollover, "duration": "week"}, reset={"interval": "month"})
        )
    ).error(400, "invalid_inputs", mentions="rollover.duration")
    (
        await api.create(
            **body(rollover={**rollover, "max_percentage": 101}, reset={"interval": "month"})
        )
    ).error(400, "invalid_inputs", mentions="rollover.max_percentage")
    (await api.create(**body(rollover={**rollover, "max": None}, reset={"interval": "month"}))).ok()


async def test_unknown_customer_feature_entity(api: Api) -> None:
    (await api.create(**body(customer_id="cus_missing"))).error(404, "customer_not_found")
    (await api.create(**body(feature_id="nope"))).error(404, "feature_not_found")
    (await api.create(**body(entity_id="ent_missing"))).error(404, "entity_not_found")


async def test_create_does_not_create_customers(api: Api) -> None:
    (await api.create(**body(customer_id="cus_new"))).error(404, "customer_not_found")
    (await api.post("/v1/customers.get", {"customer_id": "cus_new"})).error(
        404, "customer_not_found"
    )


async def test_balance_id_unique_per_customer(api: Api) -> None:
    (await api.create(**body(balance_id="promo"))).ok()
    (await api.create(**body(balance_id="promo", included=1))).error(
        409, "invalid_request", mentions="promo"
    )
    await api.post("/v1/customers.get_or_create", {"customer_id": "cus_2"})
    (await api.create(**body(customer_id="cus_2", balance_id="promo"))).ok()
    entry = await api.balance()
    assert entry is not None and [b["id"] for b in entry["breakdown"]] == ["promo"]


async def test_boolean_feature_rules(api: Api) -> None:
    for extra in ({"included": 1}, {"unlimited": True}, {"reset": {"interval": "month"}}):
        (await api.create(customer_id="cus_123", feature_id="premium", **extra)).error(
            400, "invalid_inputs", mentions=next(iter(extra))
        )
    (await api.create(customer_id="cus_123", feature_id="premium")).ok()
    (await api.create(customer_id="cus_123", feature_id="premium")).error(409, "invalid_request")
    entry = await api.balance("premium")
    assert entry is not None and len(entry["breakdown"]) == 1


async def test_several_balances_aggregate(api: Api) -> None:
    clock = api.server.clock
    clock.set_ms(1_767_225_600_000)
    (await api.create(**body(included=100, reset={"interval": "month"}))).ok()
    (await api.create(**body(included=10, reset={"interval": "day", "interval_count": 2}))).ok()
    (await api.create(**body(included=1))).ok()
    entry = await api.balance()
    assert entry is not None
    assert (entry["granted"], entry["remaining"], entry["usage"]) == (111, 111, 0)
    assert entry["next_reset_at"] == 1_767_225_600_000 + 2 * DAY
    resets = [b["reset"] for b in entry["breakdown"]]
    assert resets[1] == {
        "interval": "day",
        "interval_count": 2,
        "resets_at": clock.now_ms() + 2 * DAY,
    }
    assert resets[2] is None


async def test_one_off_reset_never_resets(api: Api) -> None:
    (await api.create(**body(reset={"interval": "one_off"}))).ok()
    entry = await api.balance()
    assert entry is not None and entry["next_reset_at"] is None
    assert entry["breakdown"][0]["reset"] == {
        "interval": "one_off",
        "interval_count": 1,
        "resets_at": None,
    }


async def test_entity_scoped_balance(api: Api) -> None:
    await api.server.stop()
    from autumn_local import LocalAutumn

    config = {"entities": [{"id": "seat_1", "customer_id": "cus_123", "name": "Seat 1"}]}
    async with LocalAutumn(config=config) as server:
        api.server = server
        (await api.create(**body(entity_id="seat_1", included=3))).ok()
        assert await api.balance() is None  # not a customer-level balance
        entity = (
            await api.post("/v1/entities.get", {"customer_id": "cus_123", "entity_id": "seat_1"})
        ).ok()
        assert entity["balances"]["api_calls"]["granted"] == 3
        (
            await api.update(
                customer_id="cus_123", feature_id="api_calls", entity_id="seat_1", remaining=1
            )
        ).ok()
        entity = (
            await api.post("/v1/entities.get", {"customer_id": "cus_123", "entity_id": "seat_1"})
        ).ok()
        assert entity["balances"]["api_calls"]["remaining"] == 1
        (await api.post("/v1/entities.get", {"customer_id": "cus_123", "entity_id": "nope"})).error(
            404, "entity_not_found"
        )


async def test_unknown_fields_are_ignored_unless_strict(api: Api) -> None:
    (await api.create(**body(color="blue"))).ok()
    await api.server.stop()
    from autumn_local import LocalAutumn

    async with LocalAutumn(strict=True) as server:
        api.server = server
        (await api.create(**body(color="blue"))).error(400, "invalid_inputs", mentions="color")
        (await api.create(**body(reset={"interval": "day", "every": 2}))).error(
            400, "invalid_inputs", mentions="reset.every"
        )
        (await api.create(**body())).ok()


BASE62 = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def test_generated_ids_are_27_base62_characters_and_distinct() -> None:
    ids = [new_balance_id() for _ in range(5000)]
    assert len(set(ids)) == len(ids)
    for balance_id in ids:
        assert balance_id.startswith("cus_ent_")
        assert len(balance_id) == len("cus_ent_") + 27
        assert set(balance_id[len("cus_ent_") :]) <= BASE62
    # Every character of the alphabet shows up (a mapping bug would lose some).
    assert set("".join(i[len("cus_ent_") :] for i in ids)) == BASE62


def test_generated_id_draws_again_when_too_few_bytes_are_usable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Bytes 248..255 are rejected (they would bias b % 62); the first draw has
    # only 26 usable bytes, so the id must come from the second draw.
    draws = iter([bytes([255] * 10 + [0] * 26), bytes(range(36))])
    monkeypatch.setattr(operations.secrets, "token_bytes", lambda n: next(draws))
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    assert new_balance_id() == "cus_ent_" + alphabet[:27]


async def test_created_balances_get_distinct_generated_ids(api: Api) -> None:
    for _ in range(20):
        (await api.create(**body(included=1))).ok()
    entry = await api.balance()
    assert entry is not None
    ids = [b["id"] for b in entry["breakdown"]]
    assert len(set(ids)) == 20
    assert all(len(i) == len("cus_ent_") + 27 and i.startswith("cus_ent_") for i in ids)
