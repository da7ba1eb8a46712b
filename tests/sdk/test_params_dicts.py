"""Each operation's params TypedDicts agree with its attrs model, so the types a checker
sees cannot drift from what the SDK accepts at run time.

For every standalone function exported by autumn_funcs (found, not listed):

- its `params` is `Model | ModelDict`: an attrs model and a TypedDict;
- the TypedDict has the model's fields as keys, `Required` exactly where the model
  has no default, and for each the model's type, where a nested model `M` becomes
  `M | MDict` (checked the same way, recursively), an enum `E` becomes
  `E | Literal[<its values>]`, and a container (`list[M]`, `dict[str, E]`) holds
  what its items become;
- the facade method of the same name (`balances_create` -> `autumn.balances.create`)
  takes the same `params` (or None) and `options`, and `**fields: Unpack[Fields]`,
  a TypedDict with the same keys and types, none required.
"""

from __future__ import annotations

import inspect
import types
from enum import Enum
from typing import Any, Literal, TypedDict, Union, get_args, get_origin, is_typeddict

import attrs
import pytest
import typing_extensions

import autumn_funcs
from autumn_funcs import Autumn, CreateBalanceParams, Reset, ResetDict, ResetInterval
from autumn_funcs._typing_backports import Required, Unpack


def hints(thing: object) -> dict[str, Any]:
    # typing_extensions' version reads Required/Unpack on every Python the package supports.
    return typing_extensions.get_type_hints(thing, include_extras=True)


def members(annotation: object) -> set[object]:
    """The members of a union (one for anything else); Literal values come out one by one."""
    if get_origin(annotation) in (Union, types.UnionType):
        return set().union(*(members(arg) for arg in get_args(annotation)))
    if get_origin(annotation) is Literal:
        return {("literal", value) for value in get_args(annotation)}
    return {annotation}


def model_and_dict(annotation: object, where: str) -> tuple[type, type]:
    """Split `Model | ModelDict` into its two halves, or fail saying what is wrong."""
    found = members(annotation) - {type(None)}
    models = [m for m in found if isinstance(m, type) and attrs.has(m)]
    dicts = [m for m in found if is_typeddict(m)]
    assert len(models) == 1 and len(dicts) == 1 and len(found) == 2, (
        f"{where}: expected `Model | ModelDict` (an attrs model and its TypedDict), "
        f"got {annotation}"
    )
    return models[0], dicts[0]


def expected_members(model_type: object, dict_type: object, where: str) -> set[object]:
    """What the TypedDict's value type must be made of, for a model field's type. Nested
    models are checked against their TypedDict on the way."""
    expected: set[object] = set()
    for member in members(model_type):
        if isinstance(member, type) and attrs.has(member):
            nested = [m for m in members(dict_type) if is_typeddict(m)]
            assert len(nested) == 1, f"{where}: {member.__name__} | its TypedDict, got {dict_type}"
            assert_dict_mirrors_model(nested[0], member)
            expected |= {member, nested[0]}
        elif isinstance(member, type) and issubclass(member, Enum):
            expected |= {member} | {("literal", item.value) for item in member}
        elif get_args(member) and get_origin(member) not in (Literal, Required):
            expected.add(same_container(member, dict_type, where))
        else:
            expected.add(member)
    return expected


def same_container(model_type: Any, dict_type: object, where: str) -> object:
    """The member of the dict's type that is the model's container (`list[...]`, ...),
    once each of its arguments is checked like a field's type."""
    origin = get_origin(model_type)
    candidates = [m for m in members(dict_type) if get_origin(m) is origin]
    assert len(candidates) == 1, f"{where}: one {origin} expected in {dict_type}"
    (candidate,) = candidates
    model_args, dict_args = get_args(model_type), get_args(candidate)
    assert len(model_args) == len(dict_args), f"{where}: {model_type} against {candidate}"
    for model_arg, dict_arg in zip(model_args, dict_args, strict=True):
        assert members(dict_arg) == expected_members(model_arg, dict_arg, where), (
            f"{where}: {candidate}, the model says {model_type}"
        )
    return candidate


def required_keys(typed_dict: type) -> set[str]:
    return {key for key, tp in hints(typed_dict).items() if get_origin(tp) is Required}


def without_required(annotation: object) -> object:
    return get_args(annotation)[0] if get_origin(annotation) is Required else annotation


def assert_dict_mirrors_model(typed_dict: type, model: type) -> None:
    name = typed_dict.__name__
    fields = {field.name: field for field in attrs.fields(model)}
    model_hints = hints(model)
    dict_hints = hints(typed_dict)
    assert set(dict_hints) == set(fields), (
        f"{name} and {model.__name__} have different keys: "
        f"only in the model {sorted(set(fields) - set(dict_hints))}, "
        f"only in the dict {sorted(set(dict_hints) - set(fields))}"
    )
    must_have = {key for key, field in fields.items() if field.default is attrs.NOTHING}
    assert required_keys(typed_dict) == must_have, f"{name}: Required[...] exactly for {must_have}"
    for key in fields:
        dict_type = without_required(dict_hints[key])
        where = f"{name}[{key!r}]"
        assert members(dict_type) == expected_members(model_hints[key], dict_type, where), (
            f"{where} is {dict_type}, the model says {model_hints[key]}"
        )


def assert_same_keys_none_required(fields: type, typed_dict: type) -> None:
    assert required_keys(fields) == set(), f"{fields.__name__}: no key is Required"
    assert {k: without_required(t) for k, t in hints(fields).items()} == {
        k: without_required(t) for k, t in hints(typed_dict).items()
    }, f"{fields.__name__} and {typed_dict.__name__} differ"


OPERATIONS = {
    name: getattr(autumn_funcs, name)
    for name in autumn_funcs.__all__
    if inspect.iscoroutinefunction(getattr(autumn_funcs, name))
}


def facade_method(function_name: str) -> Any:
    namespace, _, operation = function_name.partition("_")
    prop = vars(Autumn).get(namespace)
    assert isinstance(prop, property) and prop.fget is not None, f"Autumn has no .{namespace}"
    method = getattr(hints(prop.fget)["return"], operation, None)
    assert method is not None, f"autumn.{namespace} has no {operation}() for {function_name}"
    return method


def test_the_operations_are_found() -> None:
    # The control: discovery sees the operations known to exist.
    assert {"balances_create", "balances_update"} <= set(OPERATIONS)


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_the_params_dict_mirrors_the_model(name: str) -> None:
    model, typed_dict = model_and_dict(hints(OPERATIONS[name])["params"], f"{name}(params)")
    assert_dict_mirrors_model(typed_dict, model)
    exported = set(autumn_funcs.__all__)
    assert {model.__name__, typed_dict.__name__} <= exported, "export both from autumn_funcs"


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_the_facade_takes_the_same_params_and_keywords(name: str) -> None:
    function, method = hints(OPERATIONS[name]), hints(facade_method(name))
    assert members(method["params"]) == members(function["params"]) | {type(None)}
    assert method["options"] == function["options"]
    unpacked = method["fields"]
    assert get_origin(unpacked) is Unpack, f"{name}: type the keywords `**fields: Unpack[...]`"
    (fields,) = get_args(unpacked)
    _, typed_dict = model_and_dict(function["params"], name)
    assert_same_keys_none_required(fields, typed_dict)
    assert fields.__name__ in set(autumn_funcs.__all__), "export the keywords' TypedDict"


def test_the_literals_list_each_enum_value() -> None:
    # One spot check that the recursion above compares Literal values to the enum's.
    assert members(without_required(hints(ResetDict)["interval"])) >= {
        ("literal", i.value) for i in ResetInterval
    }


# Shapes the operations to come have (lists of models, maps of enums), for the test below.
class _Kind(str, Enum):
    A = "a"


@attrs.frozen(kw_only=True)
class _Item:
    kind: _Kind


class _ItemDict(TypedDict, total=False):
    kind: Required[_Kind | Literal["a"]]


@attrs.frozen(kw_only=True)
class _Batch:
    items: list[_Item]
    tags: dict[str, _Kind] | None = None


class _BatchDict(TypedDict, total=False):
    items: Required[list[_Item | _ItemDict]]
    tags: dict[str, _Kind | Literal["a"]] | None


class _BatchDictWithoutItemDict(TypedDict, total=False):
    items: Required[list[_Item]]
    tags: dict[str, _Kind | Literal["a"]] | None


class _BatchDictWithoutLiteral(TypedDict, total=False):
    items: Required[list[_Item | _ItemDict]]
    tags: dict[str, _Kind] | None


@pytest.mark.parametrize(
    ("typed_dict", "model", "complaint"),
    [
        (ResetDict, Reset, None),
        (ResetDict, CreateBalanceParams, "different keys"),
        (autumn_funcs.CreateBalanceFields, CreateBalanceParams, "Required"),
        (_BatchDict, _Batch, None),
        (_BatchDictWithoutItemDict, _Batch, "its TypedDict"),
        (_BatchDictWithoutLiteral, _Batch, "tags"),
    ],
)
def test_a_drift_is_named(typed_dict: type, model: type, complaint: str | None) -> None:
    if complaint is None:
        assert_dict_mirrors_model(typed_dict, model)
        return
    with pytest.raises(AssertionError, match=complaint):
        assert_dict_mirrors_model(typed_dict, model)
