"""Each kind of wrong value is refused before any I/O, with a message that says what
the field expected and what it got (the JSON kind of the value, or its Python type
when it has no JSON kind)."""

from __future__ import annotations

import enum
from typing import Any

import attrs
import pytest

from autumn_core import AutumnCore, SDKValidationError
from autumn_core.seam import Operation, tolerate_unknown_fields
from autumn_funcs import balances_create
from tests.scripted_server import ScriptedServer, json_reply

GRANT = {"customer_id": "cus_1", "feature_id": "api_calls"}
TOO_LONG = 10**5000  # more digits than Python writes (sys.get_int_max_str_digits)


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ({"customer_id": 5}, ("customer_id", "expected a string, got number")),
        ({"customer_id": b"cus_1"}, ("customer_id", "expected a string, got bytes")),
        ({"included_grant": "10"}, ("included_grant", "expected a number, got string")),
        (
            {"included_grant": TOO_LONG},
            ("included_grant", "expected a number, got an integer too long to write"),
        ),
        (
            {"reset": {"interval": ["month"]}},  # unhashable: the value map cannot hold it
            (
                "reset.interval",
                "expected one of one_off, minute, hour, day, week, month, quarter, "
                "semi_annual, year, got ['month']",
            ),
        ),
    ],
)
async def test_a_wrong_value_says_what_was_expected_and_what_was_got(
    make_core: Any, scripted: ScriptedServer, given: dict[str, Any], problem: tuple[str, str]
) -> None:
    res = await balances_create(make_core(), {**GRANT, **given})

    assert isinstance(res.error, SDKValidationError), res
    assert res.error.problems == (problem,)
    assert scripted.requests == []


class Level(enum.IntEnum):  # an operation author's enum of numbers
    LOW = 1
    HIGH = 3


@attrs.frozen(kw_only=True)
class LevelParams:
    customer_id: str
    level: Level


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class Done:
    success: bool


SET_LEVEL: Operation[LevelParams, Done] = Operation(
    "setLevel", "/v1/test.levels.set", LevelParams, Done
)


async def test_an_enum_of_numbers_takes_its_values_and_names_them_when_refusing(
    make_core: Any, scripted: ScriptedServer
) -> None:
    core: AutumnCore = make_core()
    scripted.then(json_reply(200, {"success": True}))
    assert (await core.call(SET_LEVEL, {"customer_id": "c", "level": 3})).ok
    assert scripted.requests[0].json() == {"customer_id": "c", "level": 3}

    res = await core.call(SET_LEVEL, {"customer_id": "c", "level": 2})
    assert isinstance(res.error, SDKValidationError), res
    assert res.error.problems == (("level", "expected one of 1, 3, got 2"),)
    assert len(scripted.requests) == 1


async def test_every_wrong_field_is_named_in_one_message(
    make_core: Any, scripted: ScriptedServer
) -> None:
    res = await balances_create(make_core(), {"customer_id": 5, "feature_id": None})

    assert isinstance(res.error, SDKValidationError), res
    assert str(res.error) == (
        "invalid params: customer_id: expected a string, got number; "
        "feature_id: expected a string, got null"
    )


@pytest.mark.parametrize(
    ("grant", "sent"),
    [(1000.0, "1000"), (2.0**53, "9007199254740992"), (2.0**53 + 2, "9007199254740994.0")],
)
async def test_a_whole_float_is_written_as_javascript_writes_it_up_to_2_53(
    make_core: Any, scripted: ScriptedServer, grant: float, sent: str
) -> None:
    # Exact as an integer up to 2**53, as JavaScript (and Autumn's own SDK) writes it.
    scripted.then(json_reply(200, {"success": True}))
    assert (await balances_create(make_core(), {**GRANT, "included_grant": grant})).ok
    assert scripted.requests[0].body.endswith(f'"included_grant":{sent}}}'.encode())


async def test_unknown_keys_of_any_type_are_each_named_in_a_stable_order(
    make_core: Any, scripted: ScriptedServer
) -> None:
    # A plain dict may hold keys that are not strings: each is named, none crashes the check.
    given = {**GRANT, 1: "x", None: 2, "zz": 3, "a'b": 4}
    res = await balances_create(make_core(), given)  # type: ignore[arg-type]

    assert isinstance(res.error, SDKValidationError), res
    assert res.error.problems == (
        ("a'b", "unknown field"),
        ("zz", "unknown field"),
        ("1", "unknown field"),
        ("None", "unknown field"),
    )
    assert scripted.requests == []


async def test_an_unknown_key_of_a_nested_object_is_refused_by_its_path(
    make_core: Any, scripted: ScriptedServer
) -> None:
    given = {**GRANT, "reset": {"interval": "month", "intervall": "week"}}
    res = await balances_create(make_core(), given)

    assert isinstance(res.error, SDKValidationError), res
    assert res.error.problems == (("reset.intervall", "unknown field (did you mean 'interval'?)"),)
    assert scripted.requests == []
