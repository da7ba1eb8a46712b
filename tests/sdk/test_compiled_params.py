"""A params dict is checked and written without its model (autumn_core._compiled_params):
for every operation's params model, the function either gives up or sends what the
converter's hooks and the model's own rules send, byte for byte; and the params a
call sends are the model path's, error for error. Its models' rules across fields
are written once (autumn_core._field_rules) and run on both paths."""

from __future__ import annotations

import json
from enum import Enum
from typing import Any, Literal, get_args, get_origin

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autumn_core import SDKValidationError
from autumn_core._compiled_params import compile_params
from autumn_core._field_rules import apply_rules, rule_fields
from autumn_core._serde import WIRE_NAME, converter, params_fields, validation_error
from autumn_funcs import (
    BatchTrackParams,
    BatchTrackTokensParams,
    CreateBalanceParams,
    DeleteBalanceParams,
    FinalizeLockParams,
    Lock,
    TrackParams,
    TrackTokensParams,
)
from tests.property_examples import examples
from tests.sdk.test_compiled_readers import EVERY_PARAMS, params


def compiled(cls: type) -> Any:
    return compile_params(
        cls, converter.get_structure_hook, converter.get_unstructure_hook, WIRE_NAME
    )


def by_model(cls: type, data: Any) -> tuple[Any, ...]:
    """What the model path makes of `data`: the bytes the converter writes from the
    model the hooks build, or the error, as a call reports it."""
    try:
        model = converter.get_structure_hook(cls)(data, cls)
    except SDKValidationError as exc:  # a model's own rule
        return "error", exc.message, exc.field, exc.problems
    except Exception as exc:
        error = validation_error(exc, "params")
        return "error", error.message, error.field, error.problems
    return "ok", json.dumps(converter.unstructure(model, cls))


def by_call(cls: type, data: Any) -> tuple[Any, ...]:
    """What `params_fields`, which every call runs, makes of `data`."""
    try:
        return "ok", json.dumps(params_fields(cls)(data))
    except SDKValidationError as exc:
        return "error", exc.message, exc.field, exc.problems


@pytest.mark.parametrize("cls", EVERY_PARAMS)
def test_every_operations_params_have_a_model_free_function(cls: type) -> None:
    assert compiled(cls) is not None


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
@pytest.mark.parametrize("cls", EVERY_PARAMS)
def test_the_function_sends_what_the_model_sends_or_gives_up(
    cls: type, data: st.DataObject
) -> None:
    given_params = data.draw(params(cls))
    expected = by_model(cls, given_params)
    try:
        sent = compiled(cls)(given_params)
    except Exception:
        sent = None  # gave up: the model path decides
    if sent is not None:
        assert expected[0] == "ok", f"accepted what the model path refuses: {expected}"
        assert json.dumps(sent) == expected[1]
    assert by_call(cls, given_params) == expected


# Every field set with a plain value (ASCII text, small ints, enum values as text),
# less the fields a rule refuses together with the others.
LEFT_OUT: dict[str, set[str]] = {
    "TrackParams": {"event_name"},
    "CreateBalanceParams": {"included", "granted_balance"},
}
PLAIN: dict[Any, Any] = {str: "x", bool: True, int: 7, float: 2.5}


def plain_dict(cls: type) -> dict[str, Any]:
    fields = attrs.fields(attrs.resolve_types(cls))
    left_out = LEFT_OUT.get(cls.__name__, set())
    return {f.name: plain(f.type) for f in fields if f.name not in left_out}


def plain(tp: Any) -> Any:
    args, origin = get_args(tp), get_origin(tp)
    if type(None) in args:
        return plain(next(a for a in args if a is not type(None)))
    if isinstance(tp, type) and attrs.has(tp):
        return plain_dict(tp)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return next(iter(tp)).value
    if origin is Literal:
        return args[0]
    if origin is list:
        return [plain(args[0])]
    if origin is dict:
        return {"k": 1}
    return PLAIN[tp]


def required_only(cls: type) -> dict[str, Any]:
    full = plain_dict(cls)
    kept = {f.name for f in attrs.fields(cls) if f.default is attrs.NOTHING}
    # The field a rule needs, of those that are optional one by one.
    kept |= {"feature_id"} & set(full)
    return {name: value for name, value in full.items() if name in kept}


def with_nulls(cls: type) -> dict[str, Any]:
    """What is needed, and null for every other field."""
    nulls = {f.name: None for f in attrs.fields(cls) if f.default is None}
    return nulls | required_only(cls)


@pytest.mark.parametrize("cls", EVERY_PARAMS)
@pytest.mark.parametrize("shape", [plain_dict, required_only, with_nulls])
def test_plain_params_are_sent_by_the_function_itself(cls: type, shape: Any) -> None:
    """Every field set, and only what is needed: the function does not give up, and
    sends what the model sends, keys in the same order."""
    given_params = shape(cls)
    expected = by_model(cls, given_params)
    assert expected[0] == "ok", expected
    assert json.dumps(compiled(cls)(given_params)) == expected[1]


def test_the_plain_dicts_set_every_field_of_their_model() -> None:
    full = plain_dict(TrackParams)
    assert set(full) == {f.name for f in attrs.fields(TrackParams)} - {"event_name"}
    assert json.dumps(compiled(TrackParams)(full)).startswith('{"customer_id": "x", "feature_id"')
    assert '"async": true' in json.dumps(compiled(TrackParams)(full))


@pytest.mark.parametrize("cls", EVERY_PARAMS)
@pytest.mark.parametrize("shape", [plain_dict, required_only, with_nulls])
def test_an_unknown_key_gives_up_and_the_call_names_it(cls: type, shape: Any) -> None:
    given_params = {**shape(cls), "zzz": "c"}
    with pytest.raises(Exception):  # noqa: B017 - gives up; the model path names the key
        compiled(cls)(given_params)
    expected = by_model(cls, given_params)
    assert expected[:3] == ("error", "invalid params: zzz: unknown field", "zzz")
    assert by_call(cls, given_params) == expected


BROKEN_RULES: list[tuple[type, dict[str, Any], str]] = [
    (TrackParams, {"customer_id": "c"}, "feature_id"),
    (TrackParams, {"customer_id": "c", "feature_id": "f", "event_name": "e"}, "feature_id"),
    (TrackParams, {"customer_id": "c", "event_name": ""}, "event_name"),
    (TrackParams, {"customer_id": "c", "feature_id": "f", "timestamp": 0}, "timestamp"),
    (
        TrackParams,
        {"customer_id": "c", "feature_id": "f", "lock": {"lock_id": "j" * 257, "enabled": True}},
        "lock.lock_id",
    ),
    (
        TrackTokensParams,
        {
            "customer_id": "c",
            "model_id": "m",
            "input_tokens": 1,
            "output_tokens": 2,
            "reasoning_tokens": -1,
        },
        "reasoning_tokens",
    ),
    (
        TrackTokensParams,
        {
            "customer_id": "c",
            "model_id": "m",
            "input_tokens": 1,
            "output_tokens": 2,
            "timestamp": -5,
        },
        "timestamp",
    ),
    (DeleteBalanceParams, {"customer_id": "c"}, "feature_id"),
    (
        DeleteBalanceParams,
        {"customer_id": "c", "balance_id": "b", "recalculate_balances": True},
        "feature_id",
    ),
    (
        FinalizeLockParams,
        {"lock_id": "j", "action": "release", "override_value": 3},
        "override_value",
    ),
    (BatchTrackParams, {"events": []}, "events"),
    (BatchTrackTokensParams, {"events": []}, "events"),
    (BatchTrackParams, {"events": [{"customer_id": "c"}]}, "events.0.feature_id"),
    (
        CreateBalanceParams,
        {"customer_id": "c", "feature_id": "f", "included_grant": 1, "included": 2},
        "included",
    ),
    (
        CreateBalanceParams,
        {"customer_id": "c", "feature_id": "f", "included": 1, "granted_balance": 2},
        "granted_balance",
    ),
]


@pytest.mark.parametrize(("cls", "given_params", "field"), BROKEN_RULES)
def test_a_broken_rule_gives_up_and_the_call_names_it_as_the_model_does(
    cls: type, given_params: dict[str, Any], field: str
) -> None:
    with pytest.raises(Exception):  # noqa: B017 - gives up; the model path names the field
        compiled(cls)(given_params)
    expected = by_model(cls, given_params)
    assert expected[0] == "error" and expected[2] == field
    assert by_call(cls, given_params) == expected


@pytest.mark.parametrize("alias", ["included", "granted_balance"])
def test_a_grant_under_an_alias_is_sent_as_included_grant_by_the_model_path(alias: str) -> None:
    given_params = {"customer_id": "c", "feature_id": "f", alias: 5}
    with pytest.raises(Exception):  # noqa: B017 - the rule changes a value: the model path writes it
        compiled(CreateBalanceParams)(given_params)
    assert by_call(CreateBalanceParams, given_params) == (
        "ok",
        '{"customer_id": "c", "feature_id": "f", "included_grant": 5}',
    )
    model = CreateBalanceParams(customer_id="c", feature_id="f", **{alias: 5})
    assert (model.included_grant, model.included, model.granted_balance) == (5, None, None)


def test_what_the_rules_allow_is_sent_by_the_function_itself() -> None:
    sent = compiled(FinalizeLockParams)({"lock_id": "j", "action": "confirm", "override_value": 3})
    assert sent == {"lock_id": "j", "action": "confirm", "override_value": 3}
    assert compiled(Lock)({"lock_id": "j" * 256, "enabled": True})["lock_id"] == "j" * 256


def test_the_rules_take_their_fields_in_the_order_of_their_parameters() -> None:
    assert rule_fields(TrackParams) == ("feature_id", "event_name", "timestamp")
    assert rule_fields(CreateBalanceParams) == ("included_grant", "included", "granted_balance")
    assert rule_fields(TrackParams) is rule_fields(TrackParams)  # found once per model


def test_rules_naming_a_field_the_model_lacks_are_refused() -> None:
    @attrs.frozen
    class Wrong:
        a: int

        @staticmethod
        def _rules(b: int) -> None:
            pass

        __attrs_post_init__ = apply_rules

    with pytest.raises(TypeError, match=r"Wrong._rules takes \['b'\], which are not its fields"):
        Wrong(a=1)


def test_a_models_rules_changes_are_set_on_it() -> None:
    seen: list[tuple[int, int | None]] = []

    @attrs.frozen
    class Grant:
        a: int
        b: int | None = None

        @staticmethod
        def _rules(b: int | None, a: int) -> dict[str, int | None] | None:
            seen.append((a, b))
            return None if b is None else {"a": a + b, "b": None}

        __attrs_post_init__ = apply_rules

    assert Grant(a=1) == Grant(a=1, b=None)
    assert Grant(a=1, b=2) == Grant(a=3)
    assert seen[:2] == [(1, None), (1, None)]
    assert seen[2] == (1, 2)
    assert compiled(Grant)({"a": 1}) == {"a": 1}
    with pytest.raises(Exception):  # noqa: B017 - a change: the model path writes it
        compiled(Grant)({"a": 1, "b": 2})


@attrs.frozen
class _Inner:
    x: int


@attrs.frozen
class _Outer:
    inner: _Inner
    maybe: _Inner | None = None
    many: list[_Inner] | None = None


def test_nested_models_are_checked_and_written_by_their_own_function() -> None:
    fields = compiled(_Outer)
    assert fields({"inner": {"x": 1}, "maybe": {"x": 2}, "many": [{"x": 3}]}) == {
        "inner": {"x": 1},
        "maybe": {"x": 2},
        "many": [{"x": 3}],
    }
    assert fields({"inner": {"x": 1}, "maybe": None}) == {"inner": {"x": 1}}
    for broken in ({"inner": _Inner(x=1)}, {"inner": {"x": 1, "y": 2}}, {"inner": {"x": "1"}}):
        with pytest.raises(Exception):  # noqa: B017 - gives up
            fields(broken)


def _positive(instance: object, attribute: object, value: int) -> None:
    if value <= 0:
        raise ValueError(attribute)


@attrs.frozen
class _Validated:
    x: int = attrs.field(validator=_positive)


@attrs.frozen
class _Converted:
    x: int = attrs.field(converter=int)


@attrs.frozen
class _NotInInit:
    x: int | None = attrs.field(default=None, init=False)


@attrs.frozen
class _OtherDefault:
    x: int = 0


@attrs.frozen
class _NoneButNotOptional:
    x: int = None  # type: ignore[assignment]


@attrs.frozen
class _PreInit:
    x: int

    def __attrs_pre_init__(self) -> None:
        pass


@attrs.frozen
class _OwnPostInit:
    x: int

    def __attrs_post_init__(self) -> None:
        pass


@attrs.frozen
class _ModelsByKey:
    x: dict[str, _Inner]


@attrs.frozen
class _HoldsUnsupported:
    inner: _Validated


@pytest.mark.parametrize(
    "cls",
    [
        _Validated,
        _Converted,
        _NotInInit,
        _OtherDefault,
        _NoneButNotOptional,
        _PreInit,
        _OwnPostInit,
        _ModelsByKey,
        _HoldsUnsupported,
    ],
)
def test_a_model_whose_init_does_more_has_no_model_free_function(cls: type) -> None:
    assert compiled(cls) is None


def test_the_models_the_function_checks_without_a_rule_are_supported() -> None:
    @attrs.frozen
    class Plain:
        x: int
        y: str | None = None

    assert compiled(Plain)({"x": 1, "y": "a"}) == {"x": 1, "y": "a"}
