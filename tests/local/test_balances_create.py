"""balances.create: field names, rules and their statuses, as Autumn's server answers."""

from __future__ import annotations

from typing import Any

import pytest

from autumn_local import LocalAutumn
from autumn_local.store import ids
from autumn_local.store.ids import new_balance_id
from tests.local.conftest import DAY, KEY, MONTHLY, NOW, Api


def body(**overrides: Any) -> dict[str, Any]:
    out: dict[str, Any] = {**KEY, "included_grant": 100}
    out.update(overrides)
    return {k: v for k, v in out.items() if v is not ...}


async def test_example_shows_up_in_customer_view(api: Api) -> None:
    api.server.clock.set_ms(NOW)
    (await api.create(**MONTHLY)).ok()
    entry = await api.balance()
    assert entry is not None
    [part] = entry["breakdown"]
    assert part["id"].startswith("cus_ent_")
    assert entry == {
        "feature_id": "api_calls",
        "granted": 1000,
        "remaining": 1000,
        "usage": 0,
        "unlimited": False,
        "overage_allowed": False,
        "max_purchase": None,
        "next_reset_at": 1_769_904_000_000,  # 2026-02-01
        "breakdown": [
            {
                "id": part["id"],
                "plan_id": None,
                "included_grant": 1000,
                "prepaid_grant": 0,
                "remaining": 1000,
                "usage": 0,
                "unlimited": False,
                # interval_count is left out when it is 1, as Autumn does.
                "reset": {"interval": "month", "resets_at": 1_769_904_000_000},
                "price": None,
                "expires_at": None,
            }
        ],
    }


async def test_included_is_dropped_so_a_metered_create_without_grant_is_a_500(
    api: Api,
) -> None:
    # The seed's name: Autumn renamed it included_grant and ignores it now.
    reply = await api.create(**KEY, included=100)
    reply.error(500, "invalid_inputs", mentions="input: Invalid input")
    assert "included_grant" in reply.body["message"]
    assert await api.balance() is None
    # With the real name next to it, included is simply ignored.
    (await api.create(**KEY, included_grant=7, included=100)).ok()
    assert await api.totals() == (7, 7, 0)


async def test_granted_balance_is_an_alias_and_included_grant_wins(api: Api) -> None:
    (await api.create(**KEY, granted_balance=5)).ok()
    assert await api.totals() == (5, 5, 0)
    (await api.create(**KEY, included_grant=10, granted_balance=1000)).ok()
    assert await api.totals() == (15, 15, 0)


async def test_strict_mode_refuses_included_and_names_the_field_to_send(http: Any) -> None:
    async with LocalAutumn(strict=True) as server:
        api = Api(http, server)
        reply = await api.create(**KEY, included=100)
        reply.error(400, "invalid_inputs", mentions="included_grant")
        assert "unknown field(s): included" in reply.body["message"]
        (await api.create(**body(color="blue"))).error(400, "invalid_inputs", mentions="color")
        (await api.create(**body(reset={"interval": "day", "every": 2}))).error(
            400, "invalid_inputs", mentions="reset.every"
        )
        (await api.create(**body())).ok()


async def test_unknown_fields_are_ignored_by_default(api: Api) -> None:
    (await api.create(**body(color="blue", reset={"interval": "day", "every": 2}))).ok()


async def test_amounts_keep_their_type(api: Api) -> None:
    (await api.create(**body(included_grant=2.5))).ok()
    (await api.create(**body(included_grant=-1))).ok()  # Autumn's schema allows it
    assert await api.totals() == (1.5, 2.5, 0)


@pytest.mark.parametrize("field", ["customer_id", "feature_id"])
async def test_required_ids(api: Api, field: str) -> None:
    (await api.create(**body(**{field: ...}))).error(400, "invalid_inputs", mentions=field)


@pytest.mark.parametrize(
    ("overrides", "mentions"),
    [
        ({"customer_id": 123}, "customer_id"),
        ({"customer_id": ""}, "customer_id"),
        ({"customer_id": "c" * 257}, "customer_id"),
        ({"customer_id": "a\nb"}, "customer_id"),
        ({"customer_id": None}, "customer_id"),
        ({"feature_id": ["api_calls"]}, "feature_id"),
        ({"entity_id": 5}, "entity_id"),
        ({"entity_id": None}, "entity_id"),
        ({"included_grant": "100"}, "included_grant"),
        ({"included_grant": True}, "included_grant"),
        ({"included_grant": None}, "included_grant"),
        ({"included_grant": 10**400}, "included_grant"),  # Infinity in JavaScript
        ({"granted_balance": "5"}, "granted_balance"),
        ({"unlimited": "yes", "included_grant": ...}, "unlimited"),
        ({"unlimited": 1, "included_grant": ...}, "unlimited"),
        ({"reset": "month"}, "reset"),
        ({"reset": {}}, "reset.interval"),
        ({"reset": {"interval": "fortnight"}}, "reset.interval"),
        ({"reset": {"interval": 5}}, "reset.interval"),
        ({"reset": {"interval": "month", "interval_count": 0}}, "reset.interval_count"),
        ({"reset": {"interval": "month", "interval_count": 1.5}}, "reset.interval_count"),
        ({"reset": {"interval": "month", "interval_count": True}}, "reset.interval_count"),
        ({"expires_at": "tomorrow"}, "expires_at"),
        ({"expires_at": -5}, "expires_at"),
        ({"expires_at": 10**17}, "expires_at"),
        ({"next_reset_at": True, "reset": {"interval": "day"}}, "next_reset_at"),
        ({"balance_id": 7}, "balance_id"),
        ({"balance_id": "b" * 300}, "balance_id"),
        ({"rollover": []}, "rollover"),
        ({"rollover": {"duration": "month"}, "reset": {"interval": "month"}}, "rollover.length"),
        ({"rollover": {"length": 1, "duration": "week"}}, "rollover.duration"),
    ],
)
async def test_schema_errors_are_400_naming_the_field(
    api: Api, overrides: dict[str, Any], mentions: str
) -> None:
    (await api.create(**body(**overrides))).error(400, "invalid_inputs", mentions=mentions)
    assert await api.balance() is None  # nothing applied


@pytest.mark.parametrize(
    ("feature_id", "overrides", "mentions"),
    [
        ("api_calls", {"included_grant": ...}, "needs included_grant"),
        ("api_calls", {"included_grant": ..., "unlimited": False}, "needs included_grant"),
        ("api_calls", {"unlimited": True}, "cannot be combined"),
        (
            "api_calls",
            {"included_grant": ..., "unlimited": True, "reset": {"interval": "month"}},
            "reset",
        ),
        (
            "api_calls",
            {"included_grant": ..., "unlimited": True, "reset": {"interval": "one_off"}},
            "reset",
        ),
        ("premium", {"included_grant": 1}, "boolean"),
        ("premium", {"included_grant": ..., "unlimited": True}, "boolean"),
        ("premium", {"included_grant": ..., "reset": {"interval": "month"}}, "boolean"),
    ],
)
async def test_broken_grant_rules_are_500_invalid_inputs(
    api: Api, feature_id: str, overrides: dict[str, Any], mentions: str
) -> None:
    # Autumn checks these after the request counted as valid: a 500 whose
    # code still says the input is at fault.
    reply = await api.create(**body(feature_id=feature_id, **overrides))
    reply.error(500, "invalid_inputs", mentions="input: Invalid input")
    assert mentions in reply.body["message"]
    assert (await api.customer())["balances"] == {} and (await api.customer())["flags"] == {}


async def test_credit_systems_take_no_grant_rule(api: Api) -> None:
    schema = [{"metered_feature_id": "api_calls", "credit_cost": 1}]
    (
        await api.post(
            "/v1/features.create",
            {"id": "credits", "type": "credit_system", "credit_schema": schema},
        )
    ).ok()
    (await api.create(customer_id="cus_123", feature_id="credits")).ok()
    assert await api.totals("credits") == (0, 0, 0)


async def test_other_rules_are_400_invalid_request(api: Api) -> None:
    api.server.clock.set_ms(NOW)
    monthly = {"interval": "month"}
    rollover = {"max": 50, "length": 1}
    cases: list[tuple[dict[str, Any], str]] = [
        (
            body(feature_id="seats", reset=monthly, rollover=rollover),
            "Rollover is not supported for continuous use features",
        ),
        (body(rollover=rollover), "Rollover cannot be provided for one-time balances"),
        (
            body(reset=monthly, rollover=rollover, expires_at=NOW + 10 * DAY),
            "occurs before the next rollover event",
        ),
        (body(next_reset_at=NOW + DAY), "next_reset_at requires a reset interval"),
        (body(reset=monthly, next_reset_at=NOW), "next_reset_at must be in the future"),
        (
            body(reset=monthly, next_reset_at=NOW + 2 * DAY, expires_at=NOW + DAY),
            "must occur before expires_at",
        ),
    ]
    for sent, message in cases:
        (await api.create(**sent)).error(400, "invalid_request", mentions=message)
    assert await api.balance() is None


async def test_a_used_balance_id_and_a_second_flag_are_409(api: Api) -> None:
    (await api.create(**body(balance_id="promo"))).ok()
    reply = await api.create(**body(balance_id="promo", included_grant=1))
    reply.error(409, "invalid_request")
    assert reply.body["message"] == "balance_id 'promo' is already in use for this customer"
    await api.post("/v1/customers.get_or_create", {"customer_id": "cus_2"})
    (await api.create(**body(customer_id="cus_2", balance_id="promo"))).ok()
    assert list(await api.parts()) == ["promo"]

    (await api.create(customer_id="cus_123", feature_id="premium")).ok()
    (await api.create(customer_id="cus_123", feature_id="premium")).error(
        409, "invalid_request", mentions="premium"
    )


async def test_an_empty_balance_id_is_ignored(api: Api) -> None:
    (await api.create(**body(balance_id=""))).ok()
    (await api.create(**body(balance_id=""))).ok()
    assert all(i.startswith("cus_ent_") for i in await api.parts())


async def test_not_found_codes_check_the_feature_first(ents: Api) -> None:
    api = ents
    (await api.create(**body(customer_id="nobody", feature_id="nope"))).error(
        404, "feature_not_found"
    )
    (await api.create(**body(customer_id="nobody"))).error(404, "customer_not_found")
    (await api.create(**body(entity_id="nope"))).error(404, "entity_not_found")
    # The grant rules come after the lookups.
    (await api.create(customer_id="nobody", feature_id="api_calls")).error(
        404, "customer_not_found"
    )


async def test_create_does_not_create_customers(api: Api) -> None:
    (await api.create(**body(customer_id="cus_new"))).error(404, "customer_not_found")
    (await api.post("/v1/customers.get", {"customer_id": "cus_new"})).error(
        404, "customer_not_found"
    )


async def test_expires_at_in_the_past_creates_an_expired_balance(api: Api) -> None:
    api.server.clock.set_ms(NOW)
    (await api.create(**body(expires_at=NOW - DAY))).ok()
    assert await api.balance() is None
    (await api.create(**body(expires_at=NOW + DAY))).ok()
    [part] = (await api.balance() or {})["breakdown"]
    assert part["expires_at"] == NOW + DAY


async def test_expires_at_with_a_reset_never_resets_unless_next_reset_at_is_given(
    api: Api,
) -> None:
    api.server.clock.set_ms(NOW)
    (await api.create(**body(reset={"interval": "day"}, expires_at=NOW + 5 * DAY))).ok()
    entry = await api.balance()
    assert entry is not None and entry["next_reset_at"] is None
    assert entry["breakdown"][0]["reset"] == {"interval": "day", "resets_at": None}
    (
        await api.create(
            **body(
                reset={"interval": "day"}, expires_at=NOW + 5 * DAY, next_reset_at=NOW + 3_600_000
            )
        )
    ).ok()
    assert (await api.balance() or {})["next_reset_at"] == NOW + 3_600_000


async def test_next_reset_at_sets_the_first_boundary(api: Api) -> None:
    api.server.clock.set_ms(NOW)
    (await api.create(**body(reset={"interval": "month"}, next_reset_at=NOW + 10 * DAY))).ok()
    (await api.update(**KEY, usage=10)).ok()
    api.server.clock.set_ms(NOW + 10 * DAY + 1)
    entry = await api.balance()
    assert entry is not None
    assert (entry["remaining"], entry["usage"]) == (100, 0)
    # Anchored on that boundary: one month after it, not after "now".
    assert entry["next_reset_at"] == NOW + 10 * DAY + 31 * DAY


async def test_unlimited_balance(api: Api) -> None:
    (await api.create(**body(included_grant=..., unlimited=True))).ok()
    entry = await api.balance()
    assert entry is not None and entry["unlimited"] is True
    assert entry["breakdown"][0]["reset"] is None


async def test_boolean_feature_shows_as_a_flag(api: Api) -> None:
    (await api.create(customer_id="cus_123", feature_id="premium", balance_id="pro")).ok()
    customer = await api.customer()
    assert customer["balances"] == {}
    assert customer["flags"] == {
        "premium": {"id": "pro", "plan_id": None, "expires_at": None, "feature_id": "premium"}
    }


async def test_entity_scoped_balance(ents: Api) -> None:
    api = ents
    (await api.create(**body(entity_id="seat_1", included_grant=3))).ok()
    entity = (
        await api.post("/v1/entities.get", {"customer_id": "cus_123", "entity_id": "seat_1"})
    ).ok()
    assert entity["balances"]["api_calls"]["granted"] == 3
    assert not (await api.parts())  # merged into the totals, not the breakdown


BASE62 = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def test_generated_ids_are_27_base62_characters_and_distinct() -> None:
    made = [new_balance_id() for _ in range(5000)]
    assert len(set(made)) == len(made)
    for balance_id in made:
        assert balance_id.startswith("cus_ent_")
        assert len(balance_id) == len("cus_ent_") + 27
        assert set(balance_id[len("cus_ent_") :]) <= BASE62
    # Every character of the alphabet shows up (a mapping bug would lose some).
    assert set("".join(i[len("cus_ent_") :] for i in made)) == BASE62


def test_generated_id_draws_again_when_too_few_bytes_are_usable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Bytes 248..255 are rejected (they would bias b % 62); the first draw has
    # only 26 usable bytes, so the id must come from the second draw.
    draws = iter([bytes([255] * 10 + [0] * 26), bytes(range(36))])
    monkeypatch.setattr(ids.secrets, "token_bytes", lambda n: next(draws))
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    assert new_balance_id() == "cus_ent_" + alphabet[:27]


async def test_created_balances_get_distinct_generated_ids(api: Api) -> None:
    for _ in range(20):
        (await api.create(**body(included_grant=1))).ok()
    made = list(await api.parts())
    assert len(set(made)) == 20
    assert all(len(i) == len("cus_ent_") + 27 and i.startswith("cus_ent_") for i in made)
