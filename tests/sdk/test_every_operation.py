"""The contract of an operation function, held by every operation the package exports.

The operations come from autumn_funcs' export table, so an operation added there
is tested here without a line changed: no core or a wrong object as the core,
params that are no params, another model's params, a missing required field, bad
and good options. Valid params are built from the params model's required fields;
the calls that should reach a server reach the local Autumn server on 127.0.0.1,
the ones that should not are pointed at a recording server that must see nothing.
"""

from __future__ import annotations

import enum
import inspect
import typing
from collections.abc import Callable, Coroutine
from typing import Any

import attrs
import pytest

import autumn_funcs
from autumn_core import (
    AutumnCore,
    AutumnError,
    AutumnSDKError,
    ResponseValidationError,
    Result,
    SDKValidationError,
)
from autumn_core.seam import CheckedParams
from autumn_funcs import Autumn, AutumnSync
from autumn_local import LocalAutumn
from tests.scripted_server import ScriptedServer, raw_reply
from tests.sdk.conftest import SECRET

OperationFunction = Callable[..., Coroutine[Any, Any, Result[Any, AutumnSDKError]]]


def _operations() -> dict[str, OperationFunction]:
    table: dict[str, tuple[str, ...]] = autumn_funcs._EXPORTS  # pyright: ignore[reportPrivateUsage]
    found: dict[str, OperationFunction] = {}
    for names in table.values():
        for name in names:
            value = getattr(autumn_funcs, name)
            if inspect.iscoroutinefunction(value):
                found[name] = value
    return found


OPERATIONS = _operations()
EACH = pytest.mark.parametrize("name", sorted(OPERATIONS))


def test_the_table_holds_the_operations() -> None:
    # The discovery above must find something, or every test here passes vacuously.
    assert {"balances_create", "balances_check", "balances_track", "entities_get"} <= set(
        OPERATIONS
    )


def params_model(function: OperationFunction) -> type[Any]:
    """The attrs params model in the function's `params` annotation."""
    hint = typing.get_type_hints(function)["params"]
    models = [arg for arg in typing.get_args(hint) if attrs.has(arg)]
    assert len(models) == 1, f"{function.__name__}: params should be Model | ModelDict"
    model: type[Any] = models[0]
    return model


def _value_for(owner: str, field: str, kind: Any) -> Any:
    """A valid value of a required field, by its type."""
    if typing.get_origin(kind) is list:  # a batch's events: one valid item
        return [valid_dict(typing.get_args(kind)[0])]
    options = [a for a in typing.get_args(kind) if a is not type(None)] or [kind]
    first = options[0]
    if first is str:
        return f"contract_{field}"
    if first in (int, float):
        return 1
    if isinstance(first, type) and issubclass(first, enum.Enum):
        return next(iter(first)).value
    if typing.get_origin(first) is list:
        return [valid_dict(typing.get_args(first)[0])]
    if attrs.has(first):
        return valid_dict(first)
    raise AssertionError(f"{owner}.{field}: teach _value_for a valid {kind!r}")


def valid_dict(model: type[Any]) -> dict[str, Any]:
    """The model's required fields, each with a valid value: a dict the SDK accepts."""
    hints = typing.get_type_hints(model)
    return {
        field.name: _value_for(model.__name__, field.name, hints[field.name])
        for field in attrs.fields(model)
        if field.default is attrs.NOTHING
    } | MODEL_ONE_OF.get(model.__name__, {})


# The same rule across fields, for a model that is an item of a batch.
MODEL_ONE_OF: dict[str, dict[str, Any]] = {"TrackParams": {"feature_id": "contract_feature_id"}}


# Fields that are optional one by one but of which the SDK needs one (a rule across
# fields): an operation with such a rule names here what to add to its required fields.
ONE_OF: dict[str, dict[str, Any]] = {
    "balances_delete": {"feature_id": "contract_feature_id"},
    "balances_track": {"feature_id": "contract_feature_id"},
}

# Fields that make the server answer made-up params with a 4xx: without customer_id,
# Autumn answers entities.get of an unknown entity with a 500 (findCustomerForEntity's
# InternalError), which is retried and says nothing of where the call went.
ANSWERED_4XX: dict[str, dict[str, Any]] = {"entities_get": {"customer_id": "contract_customer_id"}}


def valid_params(name: str) -> dict[str, Any]:
    return valid_dict(params_model(OPERATIONS[name])) | ONE_OF.get(name, {})


@attrs.frozen
class NotAnOperationsParams:
    customer_id: str = "cus_123"
    feature_id: str = "api_calls"


async def refused(
    name: str, core: object, params: object, options: object = None
) -> SDKValidationError:
    res = await OPERATIONS[name](core, params, options)
    assert not res.ok, f"{name}: {res!r}"
    assert isinstance(res.error, SDKValidationError), f"{name}: {res.error!r}"
    return res.error


class ClosableThing:
    """Something with a close() that is no client (a session, a file): no AutumnSync hint."""

    def close(self) -> None: ...


@EACH
@pytest.mark.parametrize(
    ("given", "shown"),
    [
        (None, "None"),
        ("am_sk_test_x", "str"),
        (42, "int"),
        (object(), "object"),
        (ClosableThing(), "ClosableThing"),
    ],
)
async def test_no_core_or_a_wrong_object_is_an_err_naming_the_core(
    name: str, given: object, shown: str
) -> None:
    error = await refused(name, given, valid_params(name))
    assert error.field == "core"
    assert error.message == (
        f"invalid core: expected an AutumnCore, got {shown}: create one "
        "(`async with AutumnCore(...) as core:`) and pass it first"
    )


@EACH
async def test_the_blocking_client_as_the_core_is_an_err_saying_how_to_use_it(name: str) -> None:
    with AutumnSync(SECRET, server_url="http://127.0.0.1:9") as autumn:
        error = await refused(name, autumn, valid_params(name))
    assert error.field == "core"
    assert error.message == (
        "invalid core: expected an AutumnCore, got AutumnSync; with AutumnSync, run a "
        "function through its client: autumn.call(balances_create, ...)"
    )


@EACH
@pytest.mark.parametrize("params", [None, 42, "cus_123", ["cus_123"]])
async def test_params_that_are_no_params_are_refused_before_any_request(
    name: str, params: object, core: AutumnCore, scripted: ScriptedServer
) -> None:
    error = await refused(name, core, params)
    assert error.field == "params"
    assert scripted.requests == []


@EACH
async def test_another_models_params_name_the_expected_model(
    name: str, core: AutumnCore, scripted: ScriptedServer
) -> None:
    error = await refused(name, core, NotAnOperationsParams())
    expected = params_model(OPERATIONS[name]).__name__
    assert error.field == "params"
    assert f"expected {expected} or a dict of its fields, got NotAnOperationsParams" in (
        error.message
    )
    assert scripted.requests == []


@EACH
async def test_params_checked_for_another_operation_are_refused_before_any_request(
    name: str, core: AutumnCore, scripted: ScriptedServer
) -> None:
    error = await refused(name, core, CheckedParams("notThisOperation", {"customer_id": "c"}))
    assert error.field == "params"
    assert "checked for notThisOperation" in error.message
    assert scripted.requests == []


@EACH
async def test_a_missing_required_field_is_named_before_any_request(
    name: str, core: AutumnCore, scripted: ScriptedServer
) -> None:
    params = valid_params(name)
    missing = sorted(params)[0]
    del params[missing]
    error = await refused(name, core, params)
    assert error.field == missing
    assert "required field missing" in error.message
    assert scripted.requests == []


@EACH
@pytest.mark.parametrize(
    ("options", "field"),
    [
        (42, "options"),
        ({"timeout_ms": -1}, "options.timeout_ms"),
        ({"no_such_option": 1}, "options.no_such_option"),
        ({"headers": {"Authorization": "Bearer x"}}, "options.headers"),
    ],
)
async def test_bad_options_are_refused_by_name_before_any_request(
    name: str, options: object, field: str, core: AutumnCore, scripted: ScriptedServer
) -> None:
    error = await refused(name, core, valid_params(name), options)
    assert error.field == field
    assert scripted.requests == []


@EACH
async def test_options_reach_the_server_the_call_is_sent_to(
    name: str, local_autumn: LocalAutumn, refused_url: str
) -> None:
    # The core points at a port nothing listens on: only the options' server_url
    # can bring the call to the local server, which answers (an Ok, or Autumn's
    # own error for params made up here: either way, an answer from the server).
    options = {"server_url": local_autumn.url, "timeout_ms": 10_000, "headers": {"x-trace": "1"}}
    async with AutumnCore(local_autumn.secret_key, server_url=refused_url) as core:
        params = valid_params(name) | ANSWERED_4XX.get(name, {})
        res = await OPERATIONS[name](core, params, options)
    if not res.ok:
        error = res.error
        assert isinstance(error, AutumnError), f"{name}: {res!r}"
        assert error.status_code in (400, 404), f"{name}: {error!r}"


@EACH
async def test_an_empty_200_answer_is_a_response_validation_error(
    name: str, core: AutumnCore, scripted: ScriptedServer
) -> None:
    # Twice: the first read of an operation and a later one must both refuse it.
    for _ in range(2):
        scripted.then(raw_reply(200, b"", "application/json"))
        res = await OPERATIONS[name](core, valid_params(name))
        assert isinstance(res.error, ResponseValidationError), f"{name}: {res!r}"
        assert "empty body" in res.error.message


# What every call sends, and no other header: JSON both ways, and only the encodings
# the SDK decodes itself, within its bounds (aiohttp would also offer br).
SENT_HEADERS = {
    "Accept": "application/json",
    "Accept-Encoding": "gzip, deflate",
    "Authorization": f"Bearer {SECRET}",
    "Content-Type": "application/json",
}


@EACH
async def test_a_call_sends_exactly_the_headers_it_names(
    name: str, core: AutumnCore, scripted: ScriptedServer
) -> None:
    scripted.then(raw_reply(200, b"", "application/json"))  # refused after it was sent
    await OPERATIONS[name](core, valid_params(name))

    (sent,) = scripted.requests
    assert {key: sent.headers.get(key) for key in SENT_HEADERS} == SENT_HEADERS, name
    # Idempotency-Key too, on a write (tests/sdk/test_operation_seam.py).
    assert {key.lower() for key in sent.headers} - {"idempotency-key"} == {
        *(key.lower() for key in SENT_HEADERS),
        "content-length",
        "host",
        "user-agent",
        "x-api-version",
    }, name


@EACH
async def test_the_facades_method_sends_the_params_and_options_it_is_given(
    name: str, local_autumn: LocalAutumn, refused_url: str
) -> None:
    # `autumn.balances.track(params, options=...)` is `balances_track(core, params,
    # options)`: the options' server_url alone brings the call to the local server.
    group, _, method = name.partition("_")
    options = {"server_url": local_autumn.url, "headers": {"x-trace": "1"}}
    params = valid_params(name) | ANSWERED_4XX.get(name, {})
    async with Autumn(local_autumn.secret_key, server_url=refused_url) as autumn:
        try:
            await getattr(getattr(autumn, group), method)(params, options=options)
        except AutumnError as answered:  # Autumn's own error for params made up here
            assert answered.status_code in (400, 404), f"{name}: {answered!r}"
