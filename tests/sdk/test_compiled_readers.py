"""The compiled readers of response models (autumn_core._compiled_readers) are a fast path
only: for any parsed JSON they build the model the converter's hooks build, or give up.
Checked with generated answers, valid and broken anywhere, for every response model of
check, track and the customer and entity views; and the same of the params models,
whose readers also give up on a field they do not know."""

from __future__ import annotations

import json
import math
from enum import Enum
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autumn_core import SDKValidationError
from autumn_core._compiled_readers import compile_reader
from autumn_core._compiled_writers import compile_writer
from autumn_core._serde import WrongShape, converter, params_fields, response_reader
from autumn_core.seam import WIRE_NAME, tolerate_unknown_fields
from autumn_funcs import (
    CheckParams,
    CheckResponse,
    CreateBalanceParams,
    Customer,
    DeleteBalanceParams,
    Entity,
    FinalizeLockParams,
    GetOrCreateCustomerParams,
    TrackParams,
    TrackResponse,
    UpdateBalanceParams,
)
from tests.property_examples import examples
from tests.sdk.answers import CHECK_ALLOWED, CUSTOMER, ENTITY, TRACK
from tests.sdk.test_every_operation import OPERATIONS, params_model

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**60), max_value=2**60),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4),
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=2), st.dictionaries(st.text(max_size=3), inner, max_size=2)
    ),
    max_leaves=4,
)
TEXT = st.one_of(
    st.text(max_size=6),
    st.sampled_from(["month", "é", "\ud800", "cus_ent_1", ""]),
)
NUMBERS = st.one_of(
    st.integers(min_value=-(2**60), max_value=2**60),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1000.0, -0.0, 2.5, 2**53 + 1.0, 2**1000, -(2**1000), 10**5000]),
)


_STRATEGIES: dict[tuple[Any, bool], st.SearchStrategy[Any]] = {}


def values(tp: Any, broken: bool) -> st.SearchStrategy[Any]:
    """Values of the JSON type `tp` reads (built once per type). Valid ones may still
    hold text the hooks refuse (a lone surrogate); `broken` ones have any JSON at
    all in any place, now and then, and now and then lack a required key."""
    if (tp, broken) not in _STRATEGIES:
        strategy = _values(tp, broken)
        if broken:
            strategy = st.one_of(*[strategy] * 4, JSON)
        _STRATEGIES[tp, broken] = strategy
    return _STRATEGIES[tp, broken]


def _values(tp: Any, broken: bool) -> st.SearchStrategy[Any]:
    args, origin = get_args(tp), get_origin(tp)
    if tp is str:
        return TEXT
    if tp is bool:
        return st.booleans()
    if tp in (int, float):
        return NUMBERS
    if tp is Any:
        return JSON
    if origin is Literal:
        return st.sampled_from(args)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return st.sampled_from([*tp, *(member.value for member in tp), "other"])
    if origin in (Union, UnionType):
        return st.one_of(*(values(a, broken) for a in args if a is not type(None)), st.none())
    if origin is list:
        return st.lists(values(args[0], broken), max_size=2)
    if origin is dict:
        return st.dictionaries(TEXT, values(args[1], broken), max_size=2)
    if isinstance(tp, type) and attrs.has(tp):
        return model(tp, broken)
    raise AssertionError(f"no strategy for {tp}")


def model(cls: type, broken: bool) -> st.SearchStrategy[dict[str, Any]]:
    fields = attrs.fields(attrs.resolve_types(cls))
    required = {f.name: values(f.type, broken) for f in fields if f.default is attrs.NOTHING}
    optional = {f.name: values(f.type, broken) for f in fields if f.default is not attrs.NOTHING}

    def maybe_without_a_key(data: dict[str, Any], drop: int, extra: dict[str, Any]) -> Any:
        if broken and drop < len(required) and drop % 7 == 0:
            data.pop(list(required)[drop], None)
        return {**extra, **data}

    return st.builds(
        maybe_without_a_key,
        st.fixed_dictionaries(required, optional=optional),
        st.integers(min_value=0, max_value=60),
        st.dictionaries(st.sampled_from(["object", "added_later"]), JSON, max_size=1),
    )


def answers(cls: type) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(model(cls, broken=False), model(cls, broken=True))


def structured(cls: type, data: Any) -> tuple[str, Any]:
    """What the converter's hook makes of `data`: ("ok", model) or ("error", None)."""
    try:
        return "ok", converter.get_structure_hook(cls)(data, cls)
    except Exception:
        return "error", None


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (1 is not 1.0, True is not 1)."""
    return repr(a) == repr(b) and type(a) is type(b)


@pytest.mark.parametrize("cls", [CheckResponse, TrackResponse, Entity, Customer])
def test_every_response_model_has_a_compiled_reader(cls: type) -> None:
    reader = compile_reader(cls, converter.get_structure_hook, lambda c: True)
    assert reader is not None


@pytest.mark.parametrize(
    ("cls", "answer"),
    [
        (CheckResponse, CHECK_ALLOWED),
        (TrackResponse, TRACK),
        (Customer, CUSTOMER),
        (Entity, ENTITY),
    ],
)
def test_the_readers_build_what_the_hooks_build_from_real_answers(
    cls: type, answer: dict[str, Any]
) -> None:
    reader = compile_reader(cls, converter.get_structure_hook, lambda c: True)
    assert reader is not None
    status, expected = structured(cls, answer)
    assert status == "ok"
    assert same(reader(answer), expected)


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
@pytest.mark.parametrize("cls", [CheckResponse, TrackResponse, Entity])
def test_a_reader_builds_the_hooks_model_or_gives_up(cls: type, data: st.DataObject) -> None:
    answer = data.draw(answers(cls))
    reader = compile_reader(cls, converter.get_structure_hook, lambda c: True)
    assert reader is not None
    status, expected = structured(cls, answer)
    try:
        read = reader(answer)
    except Exception:
        return  # gave up: the hook decides
    assert status == "ok", f"the reader accepted what the hook refuses: {read!r}"
    assert same(read, expected)


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), ascii_only=st.booleans())
@pytest.mark.parametrize("cls", [CheckResponse, TrackResponse, Entity, Customer])
def test_response_reader_answers_as_the_hooks_do(
    cls: type, data: st.DataObject, ascii_only: bool
) -> None:
    """Bodies as a server writes them: text as UTF-8 (read by the reader that takes
    parsed text as it is) or escaped (`\\u00e9`, `\\ud800`: read by the hooks)."""
    answer = data.draw(answers(cls))
    try:
        body = json.dumps(answer, allow_nan=True, ensure_ascii=ascii_only).encode()
    except (UnicodeEncodeError, ValueError):  # a lone surrogate, an int too long to write
        return
    try:
        parsed = json.loads(body)
    except ValueError:
        return
    status, expected = structured(cls, parsed)
    read = response_reader(cls)
    if status == "error":
        with pytest.raises(WrongShape):
            read(body)
    else:
        assert same(read(body), expected)


def test_whole_floats_and_non_ascii_text_go_through_the_hooks() -> None:
    answer = {**CHECK_ALLOWED, "required_balance": 5.0, "customer_id": "clé"}
    reader = compile_reader(CheckResponse, converter.get_structure_hook, lambda c: True)
    assert reader is not None
    read = reader(answer)
    assert read.required_balance == 5 and type(read.required_balance) is int
    assert read.customer_id == "clé"
    with pytest.raises(Exception):  # noqa: B017 - the hook's refusal, any kind
        reader({**answer, "customer_id": "\ud800"})
    with pytest.raises(Exception):  # noqa: B017
        reader({**answer, "required_balance": math.nan})
    with pytest.raises(Exception):  # noqa: B017
        reader({**answer, "allowed": 1})


def test_a_read_model_is_its_own_frozen_class_as_if_built_by_its_init() -> None:
    reader = compile_reader(CheckResponse, converter.get_structure_hook, lambda c: True)
    assert reader is not None
    read = reader(CHECK_ALLOWED)
    built = converter.get_structure_hook(CheckResponse)(CHECK_ALLOWED, CheckResponse)
    assert type(read) is CheckResponse and read == built
    assert read.balance is not None and built.balance is not None
    reset, built_reset = read.balance.breakdown[0].reset, built.balance.breakdown[0].reset
    assert type(reset) is type(built_reset) and hash(reset) == hash(built_reset)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        read.allowed = False  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        del read.balance.remaining  # type: ignore[misc]


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class _Checked:
    value: float = attrs.field(validator=attrs.validators.gt(0))
    seen: list[str] = attrs.field(factory=list)

    def __attrs_post_init__(self) -> None:
        self.seen.append("post_init")


def test_a_model_with_validators_or_hooks_is_built_by_its_init() -> None:
    reader = compile_reader(_Checked, converter.get_structure_hook, lambda c: True)
    assert reader is not None
    assert reader({"value": 2}).seen == ["post_init"]
    with pytest.raises(ValueError, match="value"):
        reader({"value": -1})


def test_the_reader_of_a_model_that_refuses_unknown_fields_gives_up_on_them() -> None:
    @attrs.frozen
    class Strict:
        value: int

    reader = compile_reader(Strict, converter.get_structure_hook, lambda c: False)
    assert reader is not None
    assert reader({"value": 1}) == Strict(value=1)
    with pytest.raises(Exception):  # noqa: B017 - gives up; the hook names the field
        reader({"value": 1, "valeu": 2})


PARAMS = [
    CheckParams,
    TrackParams,
    CreateBalanceParams,
    UpdateBalanceParams,
    DeleteBalanceParams,
    FinalizeLockParams,
    GetOrCreateCustomerParams,
]


def params(cls: type) -> st.SearchStrategy[dict[str, Any]]:
    """Params dicts, valid and broken; now and then with a key the model does not know."""
    unknown = st.dictionaries(st.sampled_from(["customerId", "feature"]), JSON, max_size=1)
    return st.builds(lambda data, extra: {**data, **extra}, answers(cls), unknown)


def outcome(structure: Any, cls: type, data: Any) -> tuple[str, str]:
    try:
        return "ok", repr(structure(data, cls))
    except Exception as exc:
        return "error", f"{type(exc).__name__}: {exc} {getattr(exc, 'exceptions', '')}"


def sent(cls: type, data: Any) -> tuple[str, str]:
    """What the converter makes of params `data`: the JSON they send, or the error."""
    try:
        model = converter.get_structure_hook(cls)(data, cls)
    except Exception as exc:
        return "error", f"{type(exc).__name__}"
    return "ok", json.dumps(converter.unstructure(model, cls))


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
@pytest.mark.parametrize("cls", PARAMS)
def test_params_are_structured_as_the_hooks_do(cls: type, data: st.DataObject) -> None:
    given_params = data.draw(params(cls))
    expected = outcome(converter.get_structure_hook(cls), cls, given_params)
    reader = compile_reader(cls, converter.get_structure_hook, lambda c: False)
    assert reader is not None
    try:
        read = reader(given_params)
    except Exception:
        return  # gave up: the hook decides
    assert expected[0] == "ok", f"the reader accepted what the hook refuses: {read!r}"
    assert same(read, converter.get_structure_hook(cls)(given_params, cls))


# What every operation sends is written by its params model's compiled writer.
EVERY_PARAMS = sorted({params_model(f) for f in OPERATIONS.values()}, key=lambda c: c.__name__)


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
@pytest.mark.parametrize("cls", EVERY_PARAMS)
def test_params_send_what_the_converter_sends(cls: type, data: st.DataObject) -> None:
    """From a dict or from the model: the same keys in the same order, the same values
    and types (the same bytes), or an SDKValidationError where the converter fails."""
    given_params = data.draw(params(cls))
    status, expected = sent(cls, given_params)
    fields = params_fields(cls)
    if status == "error":
        with pytest.raises(SDKValidationError):
            fields(given_params)
        return
    assert json.dumps(fields(given_params)) == expected
    model = converter.get_structure_hook(cls)(given_params, cls)
    assert json.dumps(fields(model)) == expected


@pytest.mark.parametrize("cls", EVERY_PARAMS)
def test_a_params_writer_writes_every_field_set_as_the_converter_does(cls: type) -> None:
    """Every field set at once (hand-built values, enum members included), and none."""
    write = compile_writer(cls, converter.get_unstructure_hook, WIRE_NAME)
    for model in (full_model(cls), minimal_model(cls)):
        assert json.dumps(write(model)) == json.dumps(converter.unstructure(model, cls))


def full_model(cls: type) -> Any:
    return built(cls, {f.name: sample(f.type) for f in attrs.fields(attrs.resolve_types(cls))})


def minimal_model(cls: type) -> Any:
    fields = attrs.fields(attrs.resolve_types(cls))
    return built(cls, {f.name: sample(f.type) for f in fields if f.default is attrs.NOTHING})


def built(cls: type, values: dict[str, Any]) -> Any:
    """A model holding `values`, the others at their defaults, its own rules not run
    (both grant names set, say): the writer writes whatever a model holds."""
    model = object.__new__(cls)
    for field in attrs.fields(cls):
        default = field.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            default = default.factory()  # pyright: ignore
        object.__setattr__(model, field.name, values.get(field.name, default))
    return model


def sample(tp: Any) -> Any:
    """A value of `tp` that is not its default: a model with all its fields set."""
    args, origin = get_args(tp), get_origin(tp)
    if origin in (Union, UnionType):
        return sample(next(a for a in args if a is not type(None)))
    if isinstance(tp, type) and attrs.has(tp):
        return full_model(tp)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return next(iter(tp))
    if origin is Literal:
        return args[0]
    if origin is list:
        return [sample(args[0])]
    if origin is dict or tp is Any:
        return {"k": 1}
    return {str: "x", bool: True, int: 7, float: 2.5}[tp]


def test_a_traceback_through_a_compiled_reader_shows_its_code() -> None:
    import traceback

    @tolerate_unknown_fields
    @attrs.frozen(kw_only=True)
    class Answer:
        customer_id: str
        remaining: float

    read = compile_reader(Answer, converter.get_structure_hook, lambda _: True)
    assert read is not None
    with pytest.raises(KeyError) as raised:
        read({"customer_id": "cus_1"})  # `remaining` missing: the reader's own lookup fails
    shown = "".join(traceback.format_exception(raised.value))
    assert "<autumn_core compiled reader" in shown
    assert "v1 = o['remaining']" in shown
