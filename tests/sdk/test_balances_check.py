"""balances_check against a scripted server: the exact request, the Idempotency-Key only
when the check consumes, the answer read into models, and bad input refused by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from autumn_core import (
    AutumnCore,
    AutumnDefaultError,
    ResponseValidationError,
    SDKValidationError,
)
from autumn_funcs import (
    Balance,
    BalanceBreakdown,
    BalanceReset,
    CheckParams,
    CheckResponse,
    Flag,
    Lock,
    balances_check,
)
from tests.scripted_server import ScriptedServer, autumn_error, json_reply
from tests.sdk.answers import BALANCE, CHECK_ALLOWED, CHECK_FLAG, fresh
from tests.sdk.conftest import header

MakeCore = Callable[..., AutumnCore]

PLAIN = {"customer_id": "cus_123", "feature_id": "messages"}


async def test_a_plain_check_sends_the_exact_body_and_no_key(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    scripted.then(json_reply(200, CHECK_ALLOWED))
    res = await balances_check(core, PLAIN)

    assert res.ok, res
    (request,) = scripted.requests
    assert (request.method, request.path) == ("POST", "/v1/balances.check")
    assert request.body == b'{"customer_id":"cus_123","feature_id":"messages"}'
    assert header(request, "Idempotency-Key") is None
    assert header(request, "Content-Type") == "application/json"


async def test_every_field_goes_on_the_wire_in_the_schemas_order(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    scripted.then(json_reply(200, CHECK_ALLOWED))
    params = CheckParams(
        customer_id="cus_123",
        feature_id="messages",
        entity_id="seat_1",
        required_balance=2.5,
        properties={"model": "gpt", "tokens": [1, 2], "meta": {"ok": True}},
        send_event=True,
        lock=Lock(lock_id="job_1", enabled=True, expires_at=1800000000000),
        with_preview=True,
    )
    assert (await balances_check(core, params)).ok

    assert scripted.requests[0].body == (
        b'{"customer_id":"cus_123","feature_id":"messages","entity_id":"seat_1",'
        b'"required_balance":2.5,"properties":{"model":"gpt","tokens":[1,2],"meta":{"ok":true}},'
        b'"send_event":true,"lock":{"lock_id":"job_1","enabled":true,"expires_at":1800000000000},'
        b'"with_preview":true}'
    )


@pytest.mark.parametrize(
    "extra",
    [
        {"send_event": True},
        {"lock": {"lock_id": "job_1", "enabled": True}},
    ],
    ids=["send_event", "lock"],
)
async def test_a_check_that_consumes_is_a_write_with_one_key_on_every_attempt(
    make_core: MakeCore, scripted: ScriptedServer, extra: dict[str, Any]
) -> None:
    scripted.then(autumn_error(503, "unavailable"), json_reply(200, CHECK_ALLOWED))
    res = await balances_check(make_core(), {**PLAIN, **extra})

    assert res.ok, res
    keys = [header(r, "Idempotency-Key") for r in scripted.requests]
    assert len(keys) == 2 and keys[0] is not None and keys[0] == keys[1]


async def test_a_consuming_check_takes_the_callers_key(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    scripted.then(json_reply(200, CHECK_ALLOWED))
    model = CheckParams(**PLAIN, send_event=True)
    res = await balances_check(core, model, {"idempotency_key": "req-7"})

    assert res.ok, res
    assert header(scripted.requests[0], "Idempotency-Key") == "req-7"


async def test_a_retried_plain_check_sends_no_key_and_gets_the_answer(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    scripted.then(autumn_error(503, "unavailable"), json_reply(200, CHECK_ALLOWED))
    res = await balances_check(make_core(), CheckParams(**PLAIN, send_event=False))

    assert res.ok, res
    assert [header(r, "Idempotency-Key") for r in scripted.requests] == [None, None]


async def test_a_plain_check_refuses_a_callers_key_before_any_io(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    res = await balances_check(core, PLAIN, {"idempotency_key": "k"})

    assert not res.ok
    assert isinstance(res.error, SDKValidationError)
    assert res.error.field == "options.idempotency_key"
    assert scripted.requests == []


async def test_the_answer_is_read_into_models(core: AutumnCore, scripted: ScriptedServer) -> None:
    scripted.then(json_reply(200, CHECK_ALLOWED))
    res = await balances_check(core, PLAIN)

    assert res.ok, res
    assert res.value == CheckResponse(
        allowed=True,
        customer_id="cus_123",
        entity_id=None,
        required_balance=1,
        balance=Balance(
            feature_id="messages",
            granted=100,
            remaining=72,
            usage=28,
            unlimited=False,
            overage_allowed=False,
            max_purchase=None,
            next_reset_at=1773851121437,
            breakdown=[
                BalanceBreakdown(
                    id="cus_ent_39qmLooixXLAqMywgXywjAz96rV",
                    plan_id="pro_plan",
                    included_grant=100,
                    prepaid_grant=0,
                    remaining=72,
                    usage=28,
                    unlimited=False,
                    reset=BalanceReset(interval="month", resets_at=1773851121437),
                    price=None,
                    expires_at=None,
                )
            ],
        ),
        flag=None,
    )
    assert res.value.balances == {}
    assert res.value.preview is None


async def test_a_boolean_feature_answers_with_its_flag(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    scripted.then(json_reply(200, CHECK_FLAG))
    res = await balances_check(core, {"customer_id": "cus_123", "feature_id": "sso"})

    assert res.ok, res
    assert res.value.balance is None
    assert res.value.flag == Flag(
        id="cus_ent_abc123", plan_id="pro_plan", expires_at=None, feature_id="advanced_workflows"
    )


async def test_a_denial_is_an_answer_with_its_preview(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    denied = fresh(CHECK_ALLOWED)
    denied["allowed"] = False
    denied["required_balance"] = 500
    denied["preview"] = {
        "scenario": "usage_limit",
        "title": "Out of messages",
        "message": "Upgrade to send more",
        "feature_id": "messages",
        "feature_name": "Messages",
        "products": [{"id": "pro", "name": "Pro", "items": [], "free_trial": None}],
    }
    scripted.then(json_reply(200, denied))
    res = await balances_check(core, {**PLAIN, "required_balance": 500, "with_preview": True})

    assert res.ok, res
    assert res.value.allowed is False
    assert res.value.preview is not None
    assert res.value.preview.scenario == "usage_limit"
    assert res.value.preview.products[0]["id"] == "pro"


async def test_unknown_fields_values_and_related_balances_are_read(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    # Servers add fields and enum values: a gate on the hot path must not fail on them.
    answer = fresh(CHECK_ALLOWED)
    answer["added_later"] = {"x": 1}
    answer["balance"]["object"] = "balance"
    answer["balance"]["breakdown"][0]["reset"] = {"interval": "fortnight", "resets_at": None}
    answer["balances"] = {"messages": BALANCE, "credits": None}
    answer["balance"]["rollovers"] = [{"granted": 10, "balance": 4, "expires_at": 1800000000000}]
    scripted.then(json_reply(200, answer))
    res = await balances_check(core, PLAIN)

    assert res.ok, res
    balance = res.value.balance
    assert balance is not None
    assert balance.breakdown[0].reset == BalanceReset(interval="fortnight", resets_at=None)
    assert balance.rollovers[0].balance == 4
    assert res.value.balances["credits"] is None
    assert res.value.balances["messages"] is not None


async def test_an_expanded_feature_and_a_priced_breakdown_are_read(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    answer = fresh(CHECK_ALLOWED)
    answer["balance"]["feature"] = {
        "id": "credits",
        "name": "Credits",
        "type": "credit_system",
        "consumable": True,
        "credit_schema": [{"metered_feature_id": "messages", "credit_cost": 2}],
        "display": {"singular": "credit", "plural": None},
        "archived": False,
    }
    answer["balance"]["breakdown"][0]["price"] = {
        "tiers": [{"to": 100, "amount": 0.5}, {"to": "inf", "amount": 0.25}],
        "tier_behavior": "graduated",
        "billing_units": 1,
        "billing_method": "usage_based",
        "max_purchase": None,
    }
    scripted.then(json_reply(200, answer))
    res = await balances_check(core, PLAIN)

    assert res.ok, res
    balance = res.value.balance
    assert balance is not None and balance.feature is not None
    assert balance.feature.credit_schema == [{"metered_feature_id": "messages", "credit_cost": 2}]
    assert balance.feature.event_names == []
    price = balance.breakdown[0].price
    assert price is not None
    assert [tier.to for tier in price.tiers] == [100, "inf"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda a: a.pop("flag"), "flag"),
        (lambda a: a["balance"].pop("remaining"), "balance.remaining"),
        (lambda a: a.update(allowed="yes"), "allowed"),
        (lambda a: a["balance"]["breakdown"][0].update(plan_id=5), "balance.breakdown.0.plan_id"),
    ],
    ids=["flag missing", "remaining missing", "allowed a string", "plan_id a number"],
)
async def test_an_answer_off_the_schema_is_a_response_validation_error(
    core: AutumnCore, scripted: ScriptedServer, change: Callable[[dict[str, Any]], Any], field: str
) -> None:
    answer = fresh(CHECK_ALLOWED)
    change(answer)
    scripted.then(json_reply(200, answer))
    res = await balances_check(core, PLAIN)

    assert not res.ok
    assert isinstance(res.error, ResponseValidationError)
    assert field in str(res.error)


async def test_the_degraded_202_answer_is_read_like_a_200(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    # Autumn allows access fail-open while degraded, with 202 and the same body.
    scripted.then(json_reply(202, CHECK_ALLOWED))
    res = await balances_check(core, PLAIN)

    assert res.ok, res
    assert res.value.allowed is True


async def test_an_unknown_customer_is_the_servers_error(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    scripted.then(autumn_error(404, "customer_not_found", "Customer cus_404 not found"))
    res = await balances_check(core, {"customer_id": "cus_404", "feature_id": "messages"})

    assert not res.ok
    assert isinstance(res.error, AutumnDefaultError)
    assert (res.error.status_code, res.error.code) == (404, "customer_not_found")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"customer_id": "cus_123"}, "feature_id"),
        ({**PLAIN, "required_balance": "5"}, "required_balance"),
        ({**PLAIN, "send_event": 1}, "send_event"),
        ({**PLAIN, "properties": ["a"]}, "properties"),
        ({**PLAIN, "properties": {"at": float("nan")}}, "properties"),
        ({**PLAIN, "lock": {"lock_id": "l", "enabled": False}}, "lock.enabled"),
        # 1 == True in Python, but the API's `true` is a boolean, not the number 1
        ({**PLAIN, "lock": {"lock_id": "l", "enabled": 1}}, "lock.enabled"),
        ({**PLAIN, "lock": {"lock_id": "l"}}, "lock.enabled"),
        ({**PLAIN, "lock": {"lock_id": "l" * 257, "enabled": True}}, "lock.lock_id"),
        ({**PLAIN, "featureId": "x"}, "featureId"),
    ],
)
async def test_bad_params_are_refused_by_name_before_any_io(
    core: AutumnCore, scripted: ScriptedServer, params: dict[str, Any], field: str
) -> None:
    res = await balances_check(core, params)

    assert not res.ok
    assert isinstance(res.error, SDKValidationError)
    assert res.error.field == field, res.error
    assert scripted.requests == []


def _nested(levels: int, kind: str = "object") -> dict[str, Any]:
    """A properties object holding objects (or lists) nested `levels` deep below it."""
    value: Any = 1
    for _ in range(levels):
        value = {"a": value} if kind == "object" else [value]
    return {"a": value}


@pytest.mark.parametrize("kind", ["object", "list"])
async def test_properties_nest_64_levels_deep_and_no_deeper(
    core: AutumnCore, scripted: ScriptedServer, kind: str
) -> None:
    # The bound keeps a hostile or cyclic-looking structure from exhausting the
    # stack while it is checked and encoded; 64 levels is far beyond real usage data.
    scripted.then(json_reply(200, CHECK_ALLOWED))
    deepest = await balances_check(core, {**PLAIN, "properties": _nested(64, kind)})
    assert deepest.ok, deepest
    assert len(scripted.requests) == 1

    res = await balances_check(core, {**PLAIN, "properties": _nested(65, kind)})
    assert isinstance(res.error, SDKValidationError)
    assert res.error.field == "properties"
    assert "nested deeper than 64 levels" in res.error.message
    assert len(scripted.requests) == 1
