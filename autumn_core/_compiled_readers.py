"""Compiled readers: models structured from parsed JSON (or params dicts) with the checks
inlined.

The converter's structuring calls one hook per field and wraps each in the
bookkeeping that names a failing field; for a check or track answer (some forty
fields over four nested models) that costs twice the JSON parse, and for a
call's params dict more than encoding it. A compiled reader does the same
checks inline, in one generated function per model, and gives up (raises) at
the first value it is not sure of. It is only a fast path: `response_reader`
and `params_fields` then structure the same data with the converter's hooks,
which either accept it (the model is the same) or say which field is wrong.
So a reader may be stricter than the hooks, never more lenient, and never
builds a different model (params use its checks without building the model:
autumn_core._compiled_params):

- str: exactly `str`, ASCII (other text goes through the hook, which refuses
  what UTF-8 cannot carry); bool: exactly `bool`; int and float: an `int` of
  under 1,000 bits as is, anything else through the hook (which turns 1000.0
  into 1000, refuses NaN and an integer too long to write as JSON);
- for `parsed_json=True`, a reader of what `json.loads` made of a text with no
  `\\u` escape: its text holds no lone surrogate (only an escape makes one) and
  its ints are short enough to write (json.loads refuses longer ones), so it
  takes any `str` and any `int` as they are;
- `X | None`, a model, `list[X]`, `dict[str, X]`: inlined; a model that does not
  tolerate unknown fields (params) gives up on a key it does not know;
- an enum: its member for the value, as the hook's value map finds it, else
  the hook;
- any other type (Literals, unions, free-form objects): its hook, called as the
  converter would.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from types import MemberDescriptorType, UnionType
from typing import Any, Union, get_args, get_origin

import attrs

from autumn_core._generated_code import define

Hook = Callable[[Any, Any], Any]


class _Unfit(Exception):
    """The fast path gives up; the converter's hooks decide."""


def compile_reader(
    cls: object,
    hook_for: Callable[[Any], Hook],
    tolerant: Callable[[type], bool],
    *,
    parsed_json: bool = False,
) -> Callable[[Any], Any] | None:
    """A function from parsed JSON to `cls`, or None when `cls` is not a model (a union
    of models, say).

    `hook_for(type)` is the converter's structure hook; `tolerant(cls)` says that a
    model ignores unknown fields (the reader of one that refuses them gives up on them).
    `parsed_json`: the reader only ever gets `json.loads` of a text without `\\u`
    escapes (see the module's docstring).
    """
    if not (isinstance(cls, type) and attrs.has(cls)):
        return None
    return ReaderCompiler(hook_for, tolerant, parsed_json).reader(cls)


class ReaderCompiler:
    """Generates readers into one scope; `reader(cls)` and `check(var, tp, indent)`
    are the parts autumn_core._compiled_params builds on."""

    def __init__(
        self, hook_for: Callable[[Any], Hook], tolerant: Callable[[type], bool], parsed_json: bool
    ) -> None:
        self._hook_for = hook_for
        self._tolerant = tolerant
        self._parsed_json = parsed_json
        self._readers: dict[type, Callable[[Any], Any]] = {}
        self._scope: dict[str, Any] = {"_Unfit": _Unfit, "_absent": object()}

    def name(self, value: Any, prefix: str) -> str:
        name = f"{prefix}{len(self._scope)}"
        self._scope[name] = value
        return name

    def reader(self, cls: type) -> Callable[[Any], Any]:
        """The reader of a model, compiled once (a model used twice shares it)."""
        known = self._readers.get(cls)
        if known is not None:
            return known
        attrs.resolve_types(cls)  # annotations may still be strings
        lines = [
            "def read(o):",
            "    if type(o) is not dict: raise _Unfit",
        ]
        if not self._tolerant(cls):
            names = frozenset(field.name for field in attrs.fields(cls))
            lines.append(f"    if not o.keys() <= {self.name(names, 'known')}: raise _Unfit")
        arguments: list[tuple[str, str]] = []  # (the __init__ parameter, its variable)
        for number, field in enumerate(attrs.fields(cls)):
            var = f"v{number}"
            key = repr(field.name)
            if field.default is attrs.NOTHING:
                lines.append(f"    {var} = o[{key}]")
                lines.extend(self.check(var, field.type, "    "))
            else:
                # Only a value sent is checked, as by the hooks; a default is used as is.
                default = field.default
                if default is None and is_optional(field.type):
                    lines.append(f"    {var} = o.get({key})")  # None: absent, or null
                    lines.extend(self.check(var, field.type, "    "))
                    arguments.append((field.alias, var))
                    continue
                if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                    factory: Any = default.factory  # pyright: ignore
                    # `list[Model]()` is a plain list made ten times slower.
                    factory = get_origin(factory) or factory
                    fallback = f"{self.name(factory, 'factory')}()"
                else:
                    fallback = self.name(default, "default")
                lines.append(f"    {var} = o.get({key}, _absent)")
                lines.append(f"    if {var} is _absent: {var} = {fallback}")
                lines.append("    else:")
                lines.extend("    " + line for line in self.check(var, field.type, "    "))
            arguments.append((field.alias, var))
        lines.extend(self._construct(cls, arguments))
        read: Callable[[Any], Any] = define(lines, f"reader {cls.__qualname__}", self._scope)
        self._readers[cls] = read
        return read

    def _construct(self, cls: type, arguments: list[tuple[str, str]]) -> list[str]:
        """Lines returning the instance. A frozen attrs class sets each field through
        `object.__setattr__` in its `__init__`, which is most of a reader's time. A
        plain slotted model (no validators, converters or pre-init hook) is filled
        instead as an instance of its filler (see `_filler`), by plain attribute
        stores, then given its own class and its `__attrs_post_init__` called: the
        instance `__init__` would have made."""
        filler = _filler(cls)
        if filler is None:
            keywords = ", ".join(f"{alias}={var}" for alias, var in arguments)
            return [f"    return {self.name(cls, 'cls')}({keywords})"]
        lines = [f"    r = {self.name(object.__new__, 'new')}({self.name(filler, 'filler')})"]
        lines.extend(
            f"    r.{field.name} = {var}"
            for field, (_, var) in zip(attrs.fields(cls), arguments, strict=True)
        )
        lines.append(f"    r.__class__ = {self.name(cls, 'cls')}")
        if hasattr(cls, "__attrs_post_init__"):  # a params model's own cross-field rules
            lines.append("    r.__attrs_post_init__()")
        lines.append("    return r")
        return lines

    def check(self, var: str, tp: Any, indent: str) -> list[str]:
        """Lines that check `var` against `tp`, leaving the structured value in `var`."""
        args = get_args(tp)
        origin = get_origin(tp)
        if tp is str:
            ascii_only = "" if self._parsed_json else f" or not {var}.isascii()"
            return [
                f"{indent}if type({var}) is not str{ascii_only}:",
                f"{indent}    {var} = {self._hook(str)}({var}, {self.name(str, 't')})",
            ]
        if tp is bool:
            return [f"{indent}if type({var}) is not bool: raise _Unfit"]
        if tp is int or tp is float:
            hook, kind = self._hook(tp), self.name(tp, "t")
            bounded = ""
            if not self._parsed_json:  # params may hold any int; the hook bounds it
                low, high = self.name(-(2**1000), "low"), self.name(2**1000, "high")
                bounded = f" or not {low} < {var} < {high}"
            return [
                f"{indent}if type({var}) is not int{bounded}:",
                f"{indent}    {var} = {hook}({var}, {kind})",
            ]
        if is_optional(tp):
            (inner,) = [a for a in args if a is not type(None)]
            return [f"{indent}if {var} is not None:", *self.check(var, inner, indent + "    ")]
        if isinstance(tp, type) and attrs.has(tp):
            return [f"{indent}{var} = {self.name(self.reader(tp), 'read')}({var})"]
        if origin is list and len(args) == 1:
            item = self._item_reader(args[0])
            return [
                f"{indent}if type({var}) is not list: raise _Unfit",
                f"{indent}{var} = [{item}(i) for i in {var}]",
            ]
        if origin is dict and len(args) == 2 and args[0] is str and args[1] is not Any:
            item = self._item_reader(args[1])
            return [
                f"{indent}if type({var}) is not dict: raise _Unfit",
                f"{indent}{var} = {{k: {item}(i) for k, i in {var}.items()}}",
                *(
                    []
                    if self._parsed_json
                    else [f"{indent}if not all(k.isascii() for k in {var}): raise _Unfit"]
                ),
            ]
        if isinstance(tp, type) and issubclass(tp, Enum):
            # The hook's own first step, its value map (`_structure_enum`), inlined; an
            # unhashable value raises here, and the hook then says why.
            members = self.name(tp._value2member_map_, "members")
            hook, kind = self._hook(tp), self.name(tp, "t")
            return [
                f"{indent}m = {members}.get({var})",
                f"{indent}{var} = {hook}({var}, {kind}) if m is None else m",
            ]
        return [f"{indent}{var} = {self._hook(tp)}({var}, {self.name(tp, 't')})"]

    def _item_reader(self, tp: Any) -> str:
        """The name of a one-argument function checking a list's or a dict's items."""
        if isinstance(tp, type) and attrs.has(tp):
            return self.name(self.reader(tp), "read")
        lines = ["def item(v):", *self.check("v", tp, "    "), "    return v"]
        return self.name(define(lines, f"reader item of {tp!r}", self._scope), "item")

    def _hook(self, tp: Any) -> str:
        return self.name(self._hook_for(tp), "hook")


def is_optional(tp: Any) -> bool:
    args = get_args(tp)
    return get_origin(tp) in (Union, UnionType) and len(args) == 2 and type(None) in args


def _filler(cls: type) -> type | None:
    """A subclass of `cls` that adds nothing but object's own `__setattr__` and
    `__delattr__`: its instances take plain attribute stores, the interpreter's
    fastest, and have `cls`'s layout, so that one becomes an instance of `cls` once
    its `__class__` is set. None when `__init__` must run: the class is not slotted,
    validates or converts, or hooks in before its fields are set."""
    if "__slots__" not in cls.__dict__ or hasattr(cls, "_attrs_cached_hash"):
        return None
    if hasattr(cls, "__attrs_pre_init__"):
        return None
    for field in attrs.fields(cls):
        if field.validator is not None or field.converter is not None or not field.init:
            return None
        slot = next((k.__dict__[field.name] for k in cls.__mro__ if field.name in k.__dict__), None)
        if not isinstance(slot, MemberDescriptorType):
            return None
    # Both, or the type keeps the frozen pair's slow path for either.
    namespace = {
        "__slots__": (),
        "__setattr__": object.__setattr__,
        "__delattr__": object.__delattr__,
    }
    return type(f"_Filling{cls.__name__}", (cls,), namespace)
