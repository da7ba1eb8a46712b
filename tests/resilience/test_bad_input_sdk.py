"""Promise 6, SDK side: bad input refused before any I/O, good input sent exactly.

Hypothesis draws params for both operations, as plain dicts and as attrs
models. A valid draw must reach the wire as exactly the JSON expected (unset
and None fields omitted, fields in declaration order, compact separators); an
invalid one (one field broken) must end in SDKValidationError naming that
field, with no request sent. One scripted server per test, not per example.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autumn_core import AutumnCore, SDKValidationError
from autumn_funcs import (
    CreateBalanceParams,
    Reset,
    ResetInterval,
    Rollover,
    RolloverDuration,
    UpdateBalanceParams,
    balances_create,
    balances_update,
)
from tests.property_examples import examples
from tests.resilience.conftest import NO_RETRIES, SECRET, assert_no_secret
from tests.resilience.hostile import HostileServer

pytestmark = pytest.mark.resilience

SETTINGS = settings(
    max_examples=examples(int(os.environ.get("RESILIENCE_EXAMPLES", "150"))),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# A schema is a list of (field, kind, required); a kind is a scalar name or a nested schema.
RESET = [("interval", "interval", True), ("interval_count", "number", False)]
ROLLOVER = [
    ("length", "number", True),
    ("max", "number", False),
    ("max_percentage", "number", False),
    ("duration", "duration", False),
]
CREATE = [
    ("customer_id", "text", True),
    ("feature_id", "text", True),
    ("entity_id", "text", False),
    ("included_grant", "number", False),
    ("unlimited", "boolean", False),
    ("reset", RESET, False),
    ("expires_at", "number", False),
    ("rollover", ROLLOVER, False),
    ("next_reset_at", "number", False),
    ("balance_id", "text", False),
]
UPDATE = [
    ("customer_id", "text", True),
    ("feature_id", "text", True),
    ("entity_id", "text", False),
    ("remaining", "number", False),
    ("add_to_balance", "number", False),
    ("interval", "interval", False),
    ("usage", "number", False),
    ("included_grant", "number", False),
    ("balance_id", "text", False),
    ("next_reset_at", "number", False),
    ("expires_at", "number", False),
]
MODELS: dict[int, type] = {
    id(CREATE): CreateBalanceParams,
    id(UPDATE): UpdateBalanceParams,
    id(RESET): Reset,
    id(ROLLOVER): Rollover,
}
ENUMS: dict[str, Any] = {"interval": ResetInterval, "duration": RolloverDuration}
OPERATIONS = {"create": (balances_create, CREATE), "update": (balances_update, UPDATE)}

numbers = st.one_of(
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=False, allow_infinity=False),
)
texts = st.text(max_size=24)


def scalar(kind: str) -> st.SearchStrategy[Any]:
    if kind == "text":
        return texts
    if kind == "number":
        return numbers
    if kind == "boolean":
        return st.booleans()
    return st.sampled_from([member.value for member in ENUMS[kind]])


@st.composite
def valid(draw: st.DrawFn, schema: list[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(params as given, JSON expected on the wire)."""
    given_: dict[str, Any] = {}
    expected: dict[str, Any] = {}
    for name, kind, required in schema:
        choice = "set" if required else draw(st.sampled_from(["set", "absent", "none"]))
        if choice == "absent":
            continue
        if choice == "none":
            given_[name] = None
            continue
        if isinstance(kind, list):
            given_[name], expected[name] = draw(valid(kind))
        else:
            given_[name] = expected[name] = draw(scalar(kind))
    return given_, expected


@st.composite
def as_model(draw: st.DrawFn, schema: list[Any], params: dict[str, Any]) -> Any:
    """The same params as attrs models, enums given as members or as plain strings."""
    fields: dict[str, Any] = {}
    kinds = {name: kind for name, kind, _ in schema}
    for name, value in params.items():
        kind = kinds.get(name)
        if isinstance(kind, list) and isinstance(value, dict):
            value = draw(as_model(kind, value))
        elif isinstance(kind, str) and kind in ENUMS and isinstance(value, str):
            members = {member.value: member for member in ENUMS[kind]}
            if value in members and draw(st.booleans()):  # an invalid value stays a string
                value = members[value]
        fields[name] = value
    return MODELS[id(schema)](**fields)


def as_javascript_writes(value: Any) -> Any:
    """Integral floats as integers, as JavaScript (and so Autumn's own SDK) writes them."""
    if isinstance(value, dict):
        return {name: as_javascript_writes(item) for name, item in value.items()}
    if type(value) is float and value.is_integer() and abs(value) <= 2**53:
        return int(value)
    return value


def wire(expected: dict[str, Any]) -> bytes:
    body = as_javascript_writes(expected)
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


WRONG_VALUES: dict[str, list[Any]] = {
    "text": [5, 1.5, True, [], {}, ["a"], "bad\ud800text"],
    "number": ["5", True, False, [], {}, float("nan"), float("inf"), float("-inf"), 10**5000],
    "boolean": [0, 1, "true", "false", [], {}, 1.0],
    "interval": ["monthly", "MONTH", "", 5, True, [], {}],
    "duration": ["week", "", 5, False, {}],
    "object": [5, "x", True, [], [{"interval": "month"}]],
}


@st.composite
def broken(draw: st.DrawFn, schema: list[Any], *, models: bool) -> tuple[Any, str]:
    """(params with exactly one problem, the field SDKValidationError must name)."""
    params, _ = draw(valid(schema))
    owner, path, current = params, "", schema
    # Walk into a nested object some of the time, so nested paths are covered too.
    nested = [
        (n, k) for n, k, _ in current if isinstance(k, list) and isinstance(params.get(n), dict)
    ]
    if nested and draw(st.booleans()):
        name, current = draw(st.sampled_from(nested))
        owner, path = params[name], f"{name}."
    fields = [(n, k, r) for n, k, r in current]
    how = draw(st.sampled_from(["wrong"] if models else ["wrong", "wrong", "unknown", "missing"]))
    if how == "unknown":
        extra = draw(st.sampled_from(["customerId", "bogus", "included_grant_x", "Interval"]))
        if extra in {n for n, _, _ in fields}:
            extra += "_"
        owner[extra] = 1
        field = path + extra
    elif how == "missing":
        name = draw(st.sampled_from([n for n, _, r in fields if r]))
        owner.pop(name, None)
        field = path + name
    else:
        name, kind, required = draw(st.sampled_from(fields))
        choices = WRONG_VALUES["object" if isinstance(kind, list) else kind]
        if required:
            choices = [*choices, None]
        owner[name] = draw(st.sampled_from(choices))
        field = path + name
    if models:
        return draw(as_model(schema, params)), field
    return params, field


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
@pytest.mark.parametrize("form", ["dict", "model"])
@SETTINGS
@given(data=st.data())
async def test_valid_params_reach_the_wire_exactly(
    hostile: HostileServer, operation: str, form: str, data: st.DataObject
) -> None:
    function, schema = OPERATIONS[operation]
    params, expected = data.draw(valid(schema))
    if form == "model":
        params = data.draw(as_model(schema, params))
    async with AutumnCore(SECRET, server_url=hostile.url, retry_config=NO_RETRIES) as core:
        res = await function(core, params)
    assert res.ok, res
    assert hostile.requests[-1].body == wire(expected)


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
@pytest.mark.parametrize("form", ["dict", "model"])
@SETTINGS
@given(data=st.data())
async def test_invalid_params_are_refused_before_any_io(
    hostile: HostileServer, operation: str, form: str, data: st.DataObject
) -> None:
    function, schema = OPERATIONS[operation]
    params, field = data.draw(broken(schema, models=form == "model"))
    sent = len(hostile.requests)
    async with AutumnCore(SECRET, server_url=hostile.url, retry_config=NO_RETRIES) as core:
        res = await function(core, params)
    assert not res.ok, (params, res)
    error = res.error
    assert type(error) is SDKValidationError, error
    assert error.field == field, (error.field, field, str(error))
    assert field in str(error)
    assert error.attempts == 0
    assert len(hostile.requests) == sent  # nothing went out
    assert_no_secret(str(error), repr(error))


@pytest.mark.parametrize("params", [None, [], "customer_id", 5, b"{}", {1: 2}, {None: 1}])
async def test_params_of_the_wrong_type_are_refused(hostile: HostileServer, params: Any) -> None:
    async with AutumnCore(SECRET, server_url=hostile.url) as core:
        for function in (balances_create, balances_update):
            res = await function(core, params)
            assert type(res.error) is SDKValidationError, res
    assert hostile.requests == []


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"timeout_ms": -1}, "options.timeout_ms"),
        ({"timeout_ms": float("nan")}, "options.timeout_ms"),
        ({"idempotency_key": ""}, "options.idempotency_key"),
        ({"idempotency_key": "k" * 256}, "options.idempotency_key"),
        ({"idempotency_key": "caf\u00e9"}, "options.idempotency_key"),
        ({"headers": {"X-Trace": "a\r\nInjected: 1"}}, "options.headers"),
        ({"server_url": "ftp://example"}, "options.server_url"),
        ({"server_url": "http://[oops"}, "options.server_url"),
        ({"server_url": "https://"}, "options.server_url"),
        ({"retry_codes": ["5xx5"]}, "options.retry_codes"),
        ({"bogus": 1}, "options.bogus"),
        ("fast", "options"),
    ],
)
async def test_bad_options_are_refused_before_any_io(
    hostile: HostileServer, options: Any, field: str
) -> None:
    params = {"customer_id": "cus_123", "feature_id": "api_calls", "included_grant": 1}
    async with AutumnCore(SECRET, server_url=hostile.url) as core:
        res = await balances_create(core, params, options)
    assert type(res.error) is SDKValidationError, res
    assert res.error.field == field
    assert hostile.requests == []
