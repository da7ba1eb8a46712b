"""What an Operation declares, and what the call pipeline does with it.

The operations here exist for these tests only: a read, a write that may answer
204, and answers made of unions and free-form objects, as Autumn's check and
track operations have. Each runs against a scripted server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import enum
import math
from collections.abc import Callable
from typing import Any, Literal

import attrs
import pytest

from autumn_core import (
    AutumnCore,
    AutumnDefaultError,
    RequestOptionsDict,
    ResponseValidationError,
    SDKValidationError,
)
from autumn_core.seam import Operation, tolerate_unknown_fields
from autumn_funcs._balances_create import CREATE_BALANCE, CreateBalanceResponse
from autumn_funcs._balances_update import UPDATE_BALANCE, UpdateBalanceResponse
from tests.scripted_server import ScriptedServer, autumn_error, json_reply, raw_reply
from tests.sdk.conftest import header

MakeCore = Callable[..., AutumnCore]


@attrs.frozen(kw_only=True)
class CustomerParams:
    customer_id: str


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class Flag:
    id: str
    expires_at: float | None = None


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class Balance:
    feature_id: str
    remaining: float | Literal["inf"]


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class Customer:
    id: str
    balances: dict[str, Balance | None]
    flag: Flag | None = None
    metadata: dict[str, Any] = attrs.field(factory=dict)


GET_CUSTOMER: Operation[CustomerParams, Customer] = Operation(
    "getCustomer", "/v1/test.customers.get", CustomerParams, Customer, writes=False
)


@attrs.frozen(kw_only=True)
class EventParams:
    customer_id: str
    value: float = 1
    properties: dict[str, Any] | None = None
    run_async: bool | None = None


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class Recorded:
    value: float


RECORD_EVENT: Operation[EventParams, Recorded | None] = Operation(
    "recordEvent", "/v1/test.events.record", EventParams, Recorded, no_content=True
)


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class Allowed:
    allowed: Literal[True]
    remaining: float


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class Denied:
    allowed: Literal[False]
    reason: str


CHECK_ACCESS: Operation[CustomerParams, Allowed | Denied] = Operation(
    "checkAccess", "/v1/test.check", CustomerParams, Allowed | Denied, writes=False
)

CUSTOMER = {
    "id": "cus_1",
    "balances": {
        "api_calls": {"feature_id": "api_calls", "remaining": 40, "breakdown": []},
        "seats": {"feature_id": "seats", "remaining": "inf"},
        "premium": None,
    },
    "flag": {"id": "beta", "expires_at": None, "plan_id": None},
    "metadata": {"tier": "gold", "limits": {"rps": [1, 2.5]}},
    "added_later": True,
}


async def test_a_read_sends_no_idempotency_key_on_any_attempt(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    # Autumn checks the key on reads too: a retry carrying the first attempt's
    # key would be refused with 409.
    scripted.then(autumn_error(503, "unavailable"), json_reply(200, CUSTOMER))
    res = await make_core().call(GET_CUSTOMER, {"customer_id": "cus_1"})

    assert res.ok, res
    assert len(scripted.requests) == 2
    assert [header(r, "Idempotency-Key") for r in scripted.requests] == [None, None]
    assert header(scripted.requests[1], "X-Retry-Count") == "1"


async def test_a_failed_read_reports_no_key(make_core: MakeCore, scripted: ScriptedServer) -> None:
    scripted.then(autumn_error(404, "customer_not_found"))
    res = await make_core().call(GET_CUSTOMER, {"customer_id": "cus_1"})

    assert not res.ok
    assert isinstance(res.error, AutumnDefaultError)
    assert res.error.idempotency_key is None
    assert "idempotency_key" not in str(res.error)


async def test_a_read_refuses_a_callers_idempotency_key_before_any_io(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    res = await make_core().call(
        GET_CUSTOMER, {"customer_id": "cus_1"}, {"idempotency_key": "read-1"}
    )
    assert not res.ok
    assert isinstance(res.error, SDKValidationError)
    assert res.error.field == "options.idempotency_key"
    assert scripted.requests == []


async def test_a_write_sends_one_key_on_every_attempt(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    scripted.then(autumn_error(503, "unavailable"), json_reply(200, {"value": 1}))
    res = await make_core().call(RECORD_EVENT, {"customer_id": "cus_1"})

    assert res.ok
    keys = [header(r, "Idempotency-Key") for r in scripted.requests]
    assert len(keys) == 2 and keys[0] is not None and keys[0] == keys[1]


async def test_unions_and_free_form_objects_are_read_as_declared(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    scripted.then(json_reply(200, CUSTOMER))
    res = await make_core().call(GET_CUSTOMER, {"customer_id": "cus_1"})

    assert res.ok, res
    assert res.value == Customer(
        id="cus_1",
        balances={
            "api_calls": Balance(feature_id="api_calls", remaining=40),
            "seats": Balance(feature_id="seats", remaining="inf"),
            "premium": None,
        },
        flag=Flag(id="beta"),
        metadata={"tier": "gold", "limits": {"rps": [1, 2.5]}},
    )


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (
            {**CUSTOMER, "balances": {"x": {"feature_id": "x", "remaining": "lots"}}},
            "balances.x.remaining: expected a number or 'inf', got string 'lots'",
        ),
        ({**CUSTOMER, "flag": "beta"}, "flag"),
        ({**CUSTOMER, "metadata": ["tier"]}, "metadata: expected an object, got array"),
    ],
)
async def test_an_answer_that_fits_no_member_of_a_union_is_refused(
    make_core: MakeCore, scripted: ScriptedServer, answer: dict[str, Any], reason: str
) -> None:
    scripted.then(json_reply(200, answer))
    res = await make_core().call(GET_CUSTOMER, {"customer_id": "cus_1"})

    assert not res.ok
    assert isinstance(res.error, ResponseValidationError)
    assert reason in res.error.message, res.error.message


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"allowed": True, "remaining": 5, "new": 1}, Allowed(allowed=True, remaining=5)),
        ({"allowed": False, "reason": "no balance"}, Denied(allowed=False, reason="no balance")),
    ],
)
async def test_a_union_answer_is_the_member_it_fits(
    make_core: MakeCore, scripted: ScriptedServer, answer: dict[str, Any], expected: object
) -> None:
    scripted.then(json_reply(200, answer))
    res = await make_core().call(CHECK_ACCESS, {"customer_id": "cus_1"})

    assert res.ok, res
    assert res.value == expected
    assert type(res.value) is type(expected)


async def test_a_union_answer_fitting_no_member_is_refused(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    scripted.then(json_reply(200, {"allowed": True}))
    res = await make_core().call(CHECK_ACCESS, {"customer_id": "cus_1"})

    assert not res.ok
    assert isinstance(res.error, ResponseValidationError)
    message = res.error.message
    assert "expected Allowed or Denied, got object" in message, message
    assert "not Allowed: remaining: required field missing" in message
    assert "not valid JSON" not in message


async def test_a_204_answer_is_ok_none_where_the_operation_allows_it(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    scripted.then(raw_reply(204, b"", "application/json"), json_reply(200, {"value": 3}))
    core = make_core()
    queued = await core.call(RECORD_EVENT, {"customer_id": "cus_1", "run_async": True})
    recorded = await core.call(RECORD_EVENT, {"customer_id": "cus_1", "value": 3})

    assert queued.ok and queued.value is None
    assert recorded.ok and recorded.value == Recorded(value=3)


async def test_free_form_properties_are_sent_as_given(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    properties = {"model": "gpt", "tokens": {"in": 10, "out": 2.5}, "tags": ["a", None, True]}
    scripted.then(json_reply(200, {"value": 1}))
    res = await make_core().call(RECORD_EVENT, {"customer_id": "cus_1", "properties": properties})

    assert res.ok, res
    assert scripted.requests[0].json() == {"customer_id": "cus_1", "properties": properties}


@pytest.mark.parametrize(
    ("properties", "shown"),
    [
        ({"cost": math.nan}, "cost: expected a finite number"),
        ({"when": object()}, "when: expected a JSON value, got object"),
        ({"ids": {1, 2}}, "ids: expected a JSON value, got set"),
        ({"nested": {"deep": b"x"}}, "nested: deep: expected a JSON value, got bytes"),
        ({1: "x"}, "expected string keys, got number 1"),
        ({"text": "\ud800"}, "text: expected text encodable as UTF-8"),
        ("tier=gold", "expected an object, got string"),
    ],
)
async def test_properties_that_cannot_travel_as_json_are_refused_by_name(
    make_core: MakeCore, scripted: ScriptedServer, properties: object, shown: str
) -> None:
    res = await make_core().call(RECORD_EVENT, {"customer_id": "cus_1", "properties": properties})

    assert not res.ok
    assert isinstance(res.error, SDKValidationError)
    assert res.error.field == "properties"
    assert shown in str(res.error), str(res.error)
    assert scripted.requests == []


async def test_properties_nested_beyond_reason_are_refused(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    deep: dict[str, Any] = {}
    for _ in range(200):
        deep = {"d": deep}
    res = await make_core().call(RECORD_EVENT, {"customer_id": "c", "properties": deep})

    assert not res.ok
    assert isinstance(res.error, SDKValidationError)
    assert "nested deeper than 64 levels" in str(res.error)
    assert scripted.requests == []


class Tier(enum.Enum):  # an operation author's enum, not a str one
    GOLD = 1
    SILVER = 2


@attrs.frozen(kw_only=True)
class TierParams:
    customer_id: str
    tier: Tier | None = None


SET_TIER: Operation[TierParams, Recorded] = Operation(
    "setTier", "/v1/test.tiers.set", TierParams, Recorded
)


async def test_a_plain_enum_is_sent_as_its_value_and_a_raw_value_as_given(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    core = make_core()
    for _ in range(3):
        scripted.then(json_reply(200, {"value": 1}))
    given: list[TierParams | dict[str, Any]] = [
        {"customer_id": "c", "tier": 2},
        TierParams(customer_id="c", tier=Tier.GOLD),
        TierParams(customer_id="c", tier=2),  # type: ignore[arg-type]  # hand-built, unchecked
    ]
    for params in given:
        assert (await core.call(SET_TIER, params)).ok

    assert [r.json()["tier"] for r in scripted.requests] == [2, 1, 2]


@attrs.frozen(kw_only=True)
class Pair:
    left: str
    right: str


@attrs.frozen(kw_only=True)
class ChoiceParams:
    customer_id: str
    choice: bool | str | int | None = None
    pick: Flag | Literal["all", "none"] | list[int] | None = None
    either: Flag | Pair | str | None = None


CHOOSE: Operation[ChoiceParams, Recorded] = Operation(
    "choose", "/v1/test.choices.set", ChoiceParams, Recorded
)


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        (
            {"choice": [1]},
            ("choice", "expected a boolean or a string or a number or null, got array [1]"),
        ),
        ({"pick": 7}, ("pick", "expected Flag or 'all' or 'none' or list or null, got number 7")),
        (
            {"pick": {"id": 5}},
            (
                "pick",
                "expected Flag or 'all' or 'none' or list or null, got object "
                "(not Flag: id: expected a string, got number)",
            ),
        ),
        (
            {"either": {"left": 1, "right": 2}},
            (
                "either",
                "expected Flag or Pair or a string or null, got object (not Flag: id: required "
                "field missing; not Pair: left: expected a string, got number, right: expected "
                "a string, got number)",
            ),
        ),
    ],
)
async def test_a_value_fitting_no_member_of_a_union_names_every_member(
    make_core: MakeCore, scripted: ScriptedServer, given: dict[str, Any], problem: tuple[str, str]
) -> None:
    res = await make_core().call(CHOOSE, {"customer_id": "c", **given})

    assert isinstance(res.error, SDKValidationError), res
    assert res.error.problems == (problem,)
    assert scripted.requests == []


async def test_a_value_fitting_a_member_of_a_union_is_sent_as_given(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    for _ in range(3):
        scripted.then(json_reply(200, {"value": 1}))
    for given in (
        {"choice": None, "pick": "all"},
        {"choice": "x", "pick": [1]},
        {"pick": {"id": "f"}},
    ):
        assert (await make_core().call(CHOOSE, {"customer_id": "c", **given})).ok
    assert [r.json() for r in scripted.requests] == [
        {"customer_id": "c", "pick": "all"},
        {"customer_id": "c", "choice": "x", "pick": [1]},
        {"customer_id": "c", "pick": {"id": "f"}},
    ]


@attrs.frozen(kw_only=True)
class IdsParams:
    customer_id: str
    ids: list[int] | None = None


SET_IDS: Operation[IdsParams, Recorded] = Operation(
    "setIds", "/v1/test.ids.set", IdsParams, Recorded
)


@pytest.mark.parametrize(
    ("ids", "problems"),
    [
        ("123", (("ids", "expected an array, got string"),)),  # not read as ["1", "2", "3"]
        (
            [1, "a", None],
            (("ids.1", "expected a number, got string"), ("ids.2", "expected a number, got null")),
        ),
    ],
)
async def test_a_list_field_takes_an_array_and_names_each_wrong_item(
    make_core: MakeCore, scripted: ScriptedServer, ids: object, problems: object
) -> None:
    res = await make_core().call(SET_IDS, {"customer_id": "c", "ids": ids})

    assert isinstance(res.error, SDKValidationError), res
    assert res.error.problems == problems
    assert scripted.requests == []


def test_create_and_update_are_writes_with_a_fixed_answer() -> None:
    # Their fixed answer is what a retry deduplicated by the server would have got.
    assert CREATE_BALANCE.writes and UPDATE_BALANCE.writes
    assert CREATE_BALANCE.fixed_response == CreateBalanceResponse(success=True)
    assert UPDATE_BALANCE.fixed_response == UpdateBalanceResponse(success=True)
    assert not CREATE_BALANCE.no_content and not UPDATE_BALANCE.no_content


async def test_a_new_operations_first_answer_empty_is_a_response_validation_error(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    # A reader never used before has read no body yet: an empty one is no answer.
    fresh = Operation("freshRead", "/v1/fresh.read", CustomerParams, Customer, writes=False)
    scripted.then(raw_reply(200, b"", "application/json"))
    res = await make_core().call(fresh, {"customer_id": "cus_1"})
    assert isinstance(res.error, ResponseValidationError), res
    assert "empty body" in res.error.message


def called_outside_a_loop(core: AutumnCore, options: RequestOptionsDict | None = None) -> Any:
    """A create built before any event loop runs, then awaited in one."""
    params = {"customer_id": "cus_1", "feature_id": "api_calls"}
    pending = core.call(CREATE_BALANCE, params, options)

    async def run() -> Any:
        try:
            return await pending
        finally:
            await core.aclose()

    return asyncio.run(run())


def test_a_call_built_outside_the_loop_that_awaits_it_is_prepared_there(
    local_autumn_thread: Any,
) -> None:
    # core.call checks and prepares the call when it is called, inside a running loop;
    # called before any loop runs, it leaves that to the loop that awaits it.
    core = AutumnCore(local_autumn_thread.secret_key, server_url=local_autumn_thread.url)
    res = called_outside_a_loop(core)
    # The local server read the call: its customer is unknown (a body lost would be a 400).
    assert isinstance(res.error, AutumnDefaultError), res
    assert (res.error.status_code, res.error.code) == (404, "customer_not_found")


def test_a_call_built_outside_the_loop_keeps_its_options(local_autumn_thread: Any) -> None:
    # The core's own server refuses connections: only the option's server answers.
    core = AutumnCore(local_autumn_thread.secret_key, server_url="http://127.0.0.1:9")
    res = called_outside_a_loop(
        core, {"server_url": local_autumn_thread.url, "idempotency_key": "grant-42"}
    )
    assert isinstance(res.error, AutumnDefaultError), res
    assert (res.error.status_code, res.error.code) == (404, "customer_not_found")
    assert res.error.idempotency_key == "grant-42"
