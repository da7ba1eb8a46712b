"""Compiled params: a params dict checked and written as the JSON object it sends, in one
generated function per model, without building the model.

The function is the compiled reader and the compiled writer of the model run as
one, with the model taken out: each field is checked as the reader checks it
(autumn_core._compiled_readers: exactly `str` and ASCII, exactly `bool`, an
`int` of under 1,000 bits, the converter's hook for anything else) into a local,
and written from that local as the writer writes the model's field
(autumn_core._compiled_writers: the fields without a default first, then each
other one that is not None, under its wire name). A nested model (`reset`,
`lock`, a batch's events) is checked and written by its own such function, so
its value is already the object it sends. The model's rules across its fields
are its `_rules` (autumn_core._field_rules), called with the checked values, the
same code `__attrs_post_init__` runs; when they change a value (a grant given
under an alias) the function gives up.

It is only a fast path, as the reader is: it raises at the first thing it is not
sure of (an unknown key, a missing one, a value that is not plainly right), and
`params_fields` then structures the same params with the converter's hooks into
the model, which is written (the same object) or refused by field name. Every
error a caller sees comes from that one path.

Only a model whose `__init__` does nothing but store its fields and apply its
rules has such a function (None otherwise): no validators, converters,
`__attrs_pre_init__` or fields left out of `__init__`; no `__attrs_post_init__`
but `apply_rules`; each field either required or defaulting to None with a type
`X | None`; a model held only as `Model`, `Model | None` or `list[Model]`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, get_args, get_origin

import attrs

from autumn_core._compiled_readers import Hook, ReaderCompiler, is_optional
from autumn_core._compiled_writers import UnstructureHook, WriterCompiler, without_none
from autumn_core._field_rules import RULES, apply_rules, rule_fields
from autumn_core._generated_code import define

Fields = Callable[[Any], dict[str, Any]]


def compile_params(
    cls: type,
    structure_hook_for: Callable[[Any], Hook],
    unstructure_hook_for: Callable[[Any], UnstructureHook],
    wire_name: str,
) -> Fields | None:
    """A function from a params dict to the JSON object the model `cls` would send,
    which raises when it is not sure; None when `cls` is not such a plain model.

    The hooks are the converter's; a field's metadata under `wire_name` is its name
    on the wire."""
    try:
        return _ParamsCompiler(structure_hook_for, unstructure_hook_for, wire_name).reader(cls)
    except _Unsupported:
        return None


class _Unsupported(Exception):
    """A model whose `__init__` does more than the generated function repeats."""


class _ParamsCompiler(ReaderCompiler):
    def __init__(
        self,
        structure_hook_for: Callable[[Any], Hook],
        unstructure_hook_for: Callable[[Any], UnstructureHook],
        wire_name: str,
    ) -> None:
        super().__init__(structure_hook_for, lambda _: False, parsed_json=False)
        self._writer = WriterCompiler(unstructure_hook_for, wire_name, self._scope)
        self._functions: dict[type, Fields] = {}

    def reader(self, cls: type) -> Fields:
        """The function of a model. The reader compiler calls this for a nested model
        (`check`), so a nested model is checked and written by its own function."""
        known = self._functions.get(cls)
        if known is not None:
            return known
        fields = attrs.fields(attrs.resolve_types(cls))
        _refuse_unsupported(cls)
        lines = ["def fields(o):", "    if type(o) is not dict: raise _Unfit"]
        required = [(f"v{n}", f) for n, f in enumerate(fields) if f.default is attrs.NOTHING]
        for var, field in required:
            lines.append(f"    {var} = o[{field.name!r}]")
            lines.extend(self.check(var, field.type, "    "))
        # The writer's order: the fields without a default, then the others.
        entries = ", ".join(
            f"{self._writer.key(f)!r}: {self._sent(var, f.type)}" for var, f in required
        )
        lines.append(f"    r = {{{entries}}}")
        for number, field in enumerate(fields):
            if field.default is None:
                lines.extend(self._optional(f"v{number}", field))
        # An unknown key gives up. `r` holds one key per key of `o` unless `o` has an
        # unknown key or a null: only then are its keys compared with the fields (the
        # comparison costs more than the rest of a small dict's checks).
        names = self.name(frozenset(field.name for field in fields), "known")
        lines.append(f"    if len(r) != len(o) and not o.keys() <= {names}: raise _Unfit")
        lines.extend(self._rules(cls, fields))
        lines.append("    return r")
        function: Fields = define(lines, f"params {cls.__qualname__}", self._scope)
        self._functions[cls] = function
        return function

    def _optional(self, var: str, field: attrs.Attribute[Any]) -> list[str]:
        """Lines reading a field that defaults to None and, when it is set, checking
        and writing it (None, sent or absent, leaves it out, as the writer does)."""
        tp = without_none(field.type)
        return [
            f"    {var} = o.get({field.name!r})",
            f"    if {var} is not None:",
            *self.check(var, tp, "        "),
            f"        r[{self._writer.key(field)!r}] = {self._sent(var, tp)}",
        ]

    def _rules(self, cls: type, fields: tuple[attrs.Attribute[Any], ...]) -> list[str]:
        """The line calling the model's rules with the checked values, if it has any."""
        if not hasattr(cls, "__attrs_post_init__"):
            return []
        var = {field.name: f"v{number}" for number, field in enumerate(fields)}
        arguments = ", ".join(var[name] for name in rule_fields(cls))
        rules = self.name(getattr(cls, RULES), "rules")
        return [f"    if {rules}({arguments}) is not None: raise _Unfit"]

    def _sent(self, var: str, tp: Any) -> str:
        """The expression of the JSON value of the checked `var`, of type `tp`."""
        bare = without_none(tp)
        if _is_model(bare) or _is_model_list(bare):
            return var  # its own function made the object (or the list of them)
        return self._writer.value(var, tp)


def _refuse_unsupported(cls: type) -> None:
    """Raises _Unsupported unless `cls.__init__` does no more than the function repeats."""
    if hasattr(cls, "__attrs_pre_init__"):
        raise _Unsupported
    if getattr(cls, "__attrs_post_init__", apply_rules) is not apply_rules:
        raise _Unsupported
    for field in attrs.fields(cls):
        if field.validator is not None or field.converter is not None or not field.init:
            raise _Unsupported
        if field.default is not attrs.NOTHING and not (
            field.default is None and is_optional(field.type)
        ):
            raise _Unsupported
        bare = without_none(field.type)
        if not (_is_model(bare) or _is_model_list(bare)) and _holds_model(field.type):
            raise _Unsupported


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and attrs.has(tp)


def _is_model_list(tp: Any) -> bool:
    return get_origin(tp) is list and _is_model(get_args(tp)[0])


def _holds_model(tp: Any) -> bool:
    """A model anywhere in `tp` (`dict[str, Model]`, `list[Model | None]`, ...)."""
    return _is_model(tp) or any(_holds_model(arg) for arg in get_args(tp))
