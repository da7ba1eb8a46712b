"""Numbers beyond 2^53: taken, computed and written as Autumn's JavaScript server does.

Autumn's schemas declare ``z.number()`` (zod 3.25's v4 API) for every amount:
``included_grant`` (``createBalanceParams.ts``), ``remaining``,
``add_to_balance``, ``usage``, ``included_grant`` (``updateBalanceParams.ts``),
``required_balance`` (``checkParams.ts``), ``value`` (``trackParams.ts``),
``override_value`` (``finalizeLockParamsV0.ts``): any finite double. Its body
parser is ``JSON.parse``, so 2^60 + 1 arrives as the double 2^60, and a
literal beyond the double range as Infinity, which ``z.number()`` refuses
(400 ``invalid_inputs``). Token counts are ``z.number().int().nonnegative()``
(``trackTokensParams.ts``), and zod 4's ``.int()`` takes safe integers only:
2^53 is too big. Answers are ``JSON.stringify``: 2^60 as
``1152921504606847000``, 1e300 as ``1e+300``.

The replies are read token by token (``parse_int=str``), so these tests see
the number as written on the wire, not only its value.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autumn_local import LocalAutumn
from tests.local.conftest import DAY, KEY, NOW, Api

BIG = 2**60  # the double 1152921504606846976, written 1152921504606847000
BIG_TEXT = "1152921504606847000"
HUGE = 1e300
HUGE_TEXT = "1e+300"
BEYOND_DOUBLES = 10**400  # JSON.parse reads it as Infinity
CUSTOMER = {"customer_id": "cus_123"}


async def raw(api: Api, path: str, body: Any) -> tuple[int, Any]:
    """The status and the reply with every number kept as its JSON text."""
    headers = {
        "Authorization": f"Bearer {api.server.secret_key}",
        "Content-Type": "application/json",
        "x-api-version": "2.1",
    }
    async with api.http.post(api.server.url + path, data=json.dumps(body), headers=headers) as r:
        text = await r.text()
    return r.status, json.loads(text, parse_int=str, parse_float=str)


async def view(api: Api, feature_id: str = "api_calls") -> dict[str, Any]:
    """The customer's balance of the feature, numbers as written."""
    status, body = await raw(api, "/v1/customers.get", CUSTOMER)
    assert status == 200, body
    entry: dict[str, Any] = body["balances"][feature_id]
    return entry


def triple(entry: dict[str, Any]) -> tuple[str, str, str]:
    return entry["granted"], entry["remaining"], entry["usage"]


@pytest.mark.parametrize(
    ("grant", "written"),
    [
        (BIG, BIG_TEXT),
        (BIG + 1, BIG_TEXT),  # the same double
        (HUGE, HUGE_TEXT),
        (123456789012345678901234567890, "1.2345678901234568e+29"),
        (2.5e20, "250000000000000000000"),  # below 1e21: plain digits
        (1e21, "1e+21"),
    ],
)
async def test_create_takes_any_finite_grant_and_shows_it_as_javascript_writes_it(
    api: Api, grant: float, written: str
) -> None:
    status, body = await raw(api, "/v1/balances.create", {**KEY, "included_grant": grant})
    assert (status, body) == (200, {"success": True})
    entry = await view(api)
    assert triple(entry) == (written, written, "0")
    assert entry["breakdown"][0]["included_grant"] == written


async def test_update_amounts_beyond_2_53_are_doubles(api: Api) -> None:
    (await api.create(**KEY, included_grant=100)).ok()
    (await api.update(**KEY, add_to_balance=HUGE)).ok()
    assert triple(await view(api)) == ("100", HUGE_TEXT, "-" + HUGE_TEXT)  # 100 - 1e300
    # Autumn deducts remaining - target (runDeductionOnContextV2.lua): 1e300 - 2^60
    # is 1e300 as a double, so the balance lands on 0, not on 2^60.
    (await api.update(**KEY, remaining=BIG + 1)).ok()
    assert triple(await view(api)) == ("100", "0", "100")
    (await api.update(**KEY, remaining=BIG + 1)).ok()
    # usage 100 - 2^60: the double next to it is 2^60 - 128, written so.
    assert triple(await view(api)) == ("100", BIG_TEXT, "-1152921504606846800")
    (await api.update(**KEY, usage=BIG)).ok()  # remaining 100 - 2^60: shown as 0
    assert triple(await view(api)) == ("100", "0", BIG_TEXT)
    (await api.update(**KEY, included_grant=HUGE)).ok()
    assert (await view(api))["granted"] == HUGE_TEXT


async def test_check_compares_as_doubles(api: Api) -> None:
    (await api.create(**KEY, included_grant=BIG)).ok()
    # 2^60 + 1 is the double 2^60: enough, where exact integers would say no.
    status, body = await raw(api, "/v1/balances.check", {**KEY, "required_balance": BIG + 1})
    assert status == 200
    assert (body["allowed"], body["required_balance"]) == (True, BIG_TEXT)
    status, body = await raw(api, "/v1/balances.check", {**KEY, "required_balance": HUGE})
    assert (body["allowed"], body["required_balance"]) == (False, HUGE_TEXT)


async def test_check_compares_the_double_not_its_written_digits(api: Api) -> None:
    below = BIG - 128  # a double, written 1152921504606846800: less than itself
    (await api.create(**KEY, included_grant=below)).ok()
    status, body = await raw(api, "/v1/balances.check", {**KEY, "required_balance": below})
    assert status == 200
    assert body["balance"]["remaining"] == "1152921504606846800"
    assert body["allowed"] is True


async def test_track_deducts_doubles(api: Api) -> None:
    (await api.create(**KEY, included_grant=BIG)).ok()
    track = {**KEY, "value": BIG + 1, "overage_behavior": "reject"}
    status, body = await raw(api, "/v1/balances.track", track)
    assert status == 200, body  # not "insufficient": the same double
    assert body["value"] == BIG_TEXT
    assert triple(body["balance"]) == (BIG_TEXT, "0", BIG_TEXT)
    status, body = await raw(api, "/v1/balances.track", {**KEY, "value": -HUGE})
    assert status == 200, body
    assert body["value"] == "-" + HUGE_TEXT
    assert triple(body["balance"]) == (BIG_TEXT, BIG_TEXT, "0")  # refilled up to the grant
    status, body = await raw(api, "/v1/balances.track", {**KEY, "value": HUGE})
    assert status == 200, body  # capped at what there is
    assert triple(body["balance"]) == (BIG_TEXT, "0", BIG_TEXT)


async def test_batch_track_applies_huge_values(api: Api) -> None:
    (await api.create(**KEY, included_grant=100)).ok()
    items = [{**KEY, "value": HUGE, "overage_behavior": "overflow"}]
    status, body = await raw(api, "/v1/balances.batch_track", items)
    assert (status, body) == (200, {"success": True})
    assert triple(await view(api)) == ("100", "0", HUGE_TEXT)


async def test_finalize_takes_a_huge_override(api: Api) -> None:
    api.server.clock.set_ms(NOW)
    (await api.create(**KEY, included_grant=BIG)).ok()
    lock = {"enabled": True, "lock_id": "l1"}
    (await api.check(**KEY, required_balance=10, lock=lock)).ok()
    finalize = {"lock_id": "l1", "action": "confirm", "override_value": HUGE}
    assert await raw(api, "/v1/balances.finalize", finalize) == (200, {"success": True})
    assert triple(await view(api)) == (BIG_TEXT, "0", BIG_TEXT)  # the rest, capped


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/balances.create", {**KEY, "included_grant": BEYOND_DOUBLES}, "included_grant"),
        ("/v1/balances.create", {**KEY, "granted_balance": -BEYOND_DOUBLES}, "granted_balance"),
        ("/v1/balances.update", {**KEY, "remaining": BEYOND_DOUBLES}, "remaining"),
        ("/v1/balances.update", {**KEY, "usage": BEYOND_DOUBLES}, "usage"),
        ("/v1/balances.check", {**KEY, "required_balance": BEYOND_DOUBLES}, "required_balance"),
        ("/v1/balances.track", {**KEY, "value": BEYOND_DOUBLES}, "value"),
        ("/v1/balances.batch_track", [{**KEY, "value": -BEYOND_DOUBLES}], "0: value"),
        (
            "/v1/balances.finalize",
            {"lock_id": "l1", "action": "confirm", "override_value": BEYOND_DOUBLES},
            "override_value",
        ),
    ],
)
async def test_a_number_beyond_the_doubles_is_refused_naming_the_field(
    api: Api, path: str, body: Any, field: str
) -> None:
    (await api.post(path, body)).error(400, "invalid_inputs", mentions=field)


async def test_a_sum_beyond_the_doubles_is_refused_and_nothing_changes(api: Api) -> None:
    (await api.create(**KEY, included_grant=1e308)).ok()
    beyond = (await api.update(**KEY, add_to_balance=1e308)).error(400, "invalid_request")
    assert "1.8e308" in beyond.body["message"]
    (await api.track(**KEY, value=-1.5e308, overage_behavior="overflow")).error(
        400, "invalid_request"
    )
    assert triple(await view(api)) == ("1e+308", "1e+308", "0")


async def test_a_lock_expiry_must_be_a_timestamp(api: Api) -> None:
    (await api.create(**KEY, included_grant=10)).ok()
    lock = {"enabled": True, "lock_id": "l1", "expires_at": HUGE}
    (await api.track(**KEY, value=1, lock=lock)).error(
        400, "invalid_inputs", mentions="lock.expires_at"
    )


AI = {"features": [{"id": "ai_credits", "type": "ai_credit_system"}]}
MAX_SAFE = 2**53 - 1


@pytest.fixture
async def ai(http: aiohttp.ClientSession) -> AsyncIterator[Api]:
    async with LocalAutumn(rate_limits=False, config=AI) as server:
        api = Api(http, server)
        (await api.create(**CUSTOMER, feature_id="ai_credits", included_grant=HUGE)).ok()
        yield api


@pytest.mark.parametrize("path", ["/v1/balances.track_tokens", "/v1/balances.batch_track_tokens"])
@pytest.mark.parametrize("field", ["input_tokens", "output_tokens", "cache_read_tokens"])
async def test_token_counts_stop_at_the_largest_safe_integer(
    ai: Api, path: str, field: str
) -> None:
    body = {**CUSTOMER, "model_id": "openai/gpt-4o", "input_tokens": 1, "output_tokens": 1}

    def sent(count: int) -> Any:
        item = {**body, field: count}
        return [item] if path.endswith("batch_track_tokens") else item

    assert (await ai.post(path, sent(MAX_SAFE))).status == 200
    (await ai.post(path, sent(MAX_SAFE + 1))).error(400, "invalid_inputs", mentions=field)


async def test_a_rollover_share_beyond_the_doubles_caps_nothing(api: Api) -> None:
    api.server.clock.set_ms(NOW)
    rollover = {"length": 1, "duration": "month", "max_percentage": HUGE}
    reset = {"interval": "month"}
    (await api.create(**KEY, included_grant=HUGE, reset=reset, rollover=rollover)).ok()
    (await api.track(**KEY, value=1)).ok()
    api.server.clock.set_ms(NOW + 32 * DAY)  # a reset: 1e300 x 1e300 % is Infinity, no cap
    entry = await view(api)
    assert entry["remaining"] == "2e+300"  # the grant again, and the rollover of 1e300 - 1
    assert [r["balance"] for r in entry["rollovers"]] == [HUGE_TEXT]


async def test_stored_amounts_stay_doubles_in_later_arithmetic(api: Api) -> None:
    (await api.create(**KEY, included_grant=1)).ok()
    (await api.update(**KEY, included_grant=BIG)).ok()  # the grant: 1 + an adjustment
    (await api.update(**KEY, remaining=BIG)).ok()
    # 1 + (2^60 - 1) is 2^60 as a double, so nothing is used: exact integers say 1.
    assert triple(await view(api)) == (BIG_TEXT, BIG_TEXT, "0")


async def test_a_total_past_the_doubles_is_infinity_written_null(api: Api) -> None:
    (await api.create(**KEY, included_grant=1e308)).ok()
    (await api.create(**KEY, included_grant=1e308, balance_id="second")).ok()
    status, body = await raw(api, "/v1/balances.check", {**KEY, "required_balance": 1})
    assert status == 200, body
    assert body["allowed"] is True  # Infinity >= 1
    assert (body["balance"]["granted"], body["balance"]["remaining"]) == (None, None)
    assert [b["remaining"] for b in (await view(api))["breakdown"]] == ["1e+308", "1e+308"]


async def test_a_credit_cost_beyond_2_53_is_written_as_javascript_writes_it(api: Api) -> None:
    feature = {
        "id": "pool",
        "type": "credit_system",
        "credit_schema": [{"metered_feature_id": "api_calls", "credit_cost": BIG + 1}],
    }
    status, body = await raw(api, "/v1/features.create", feature)
    assert status == 200, body
    assert body["credit_schema"] == [{"metered_feature_id": "api_calls", "credit_cost": BIG_TEXT}]


AMOUNTS = st.sampled_from(
    [1e308, -1e308, 1.7e308, 1e300, -1e300, BIG, BIG + 1, -(2**63), 2**64, 1e21, 5e-324, 0, 1, -1]
) | st.floats(allow_nan=False, allow_infinity=False)
FEATURES = st.sampled_from(["api_calls", "words", "credits"])
OPERATIONS = st.one_of(
    st.tuples(
        st.just("/v1/balances.create"),
        st.fixed_dictionaries(
            {"feature_id": FEATURES, "included_grant": AMOUNTS},
            optional={
                "reset": st.just({"interval": "month"}),
                "rollover": st.fixed_dictionaries(
                    {"length": AMOUNTS}, optional={"max": AMOUNTS, "max_percentage": AMOUNTS}
                ),
                "balance_id": st.sampled_from(["a", "b", "c"]),
            },
        ),
    ),
    st.tuples(
        st.just("/v1/balances.update"),
        st.fixed_dictionaries(
            {"feature_id": FEATURES},
            optional={
                "remaining": AMOUNTS,
                "add_to_balance": AMOUNTS,
                "usage": AMOUNTS,
                "included_grant": AMOUNTS,
            },
        ),
    ),
    st.tuples(
        st.just("/v1/balances.check"),
        st.fixed_dictionaries(
            {"feature_id": FEATURES, "required_balance": AMOUNTS},
            optional={"send_event": st.booleans()},
        ),
    ),
    st.tuples(
        st.just("/v1/balances.track"),
        st.fixed_dictionaries(
            {"feature_id": FEATURES, "value": AMOUNTS},
            optional={"overage_behavior": st.sampled_from(["cap", "overflow", "reject"])},
        ),
    ),
    st.tuples(st.just("clock"), st.sampled_from([3_600_000, 40 * DAY])),
)
CREDITS = {
    "features": [
        {"id": "words", "type": "metered"},
        {
            "id": "credits",
            "type": "credit_system",
            "credit_schema": [{"metered_feature_id": "words", "credit_cost": 1e150}],
        },
    ]
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(OPERATIONS, min_size=4, max_size=16))
async def test_sequences_of_huge_amounts_never_answer_500(steps: list[tuple[str, Any]]) -> None:
    async with (
        aiohttp.ClientSession() as http,
        LocalAutumn(rate_limits=False, config=CREDITS) as server,
    ):
        api = Api(http, server)
        server.clock.set_ms(NOW)
        for path, body in [*steps, ("/v1/customers.get", {})]:
            if path == "clock":
                server.clock.set_ms(server.clock.now_ms() + body)
                continue
            status, answer = await raw(api, path, {**CUSTOMER, **body})
            assert status < 500, (path, body, answer)
