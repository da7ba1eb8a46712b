"""Compiled writers: a params model as the JSON object it sends, in one generated function.

The converter's generated unstructuring (cattrs, `omit_if_default`) compares
every optional field with its default by `!=`; for a nested model that runs
attrs' `__ne__` and `__eq__`, and each optional field is a call of its own.
Params fields default to None, so `is not None` says the same in one step,
and a nested model's writer is inlined as a call of its own writer. A writer
makes the object the converter makes, key for key and in the same order (so
the same bytes): a field is sent only when it is not its default, under its
wire name (`WIRE_NAME`), a nested model as its object, and any other type (an
enum, a free-form object, a list) through the converter's unstructure hook
for it, as cattrs would.
"""

from __future__ import annotations

from collections.abc import Callable
from types import UnionType
from typing import Any, Union, get_args, get_origin

import attrs
from cattrs.fns import identity

from autumn_core._generated_code import define

UnstructureHook = Callable[[Any], Any]

# Sent as they are: the converter unstructures them by identity.
_AS_IS = (str, int, float, bool)


def compile_writer(
    cls: type, hook_for: Callable[[Any], UnstructureHook], wire_name: str
) -> Callable[[Any], dict[str, Any]]:
    """A function from an instance of the attrs class `cls` to its JSON object.

    `hook_for(type)` is the converter's unstructure hook for a type; a field's
    metadata under `wire_name` is its name on the wire."""
    return WriterCompiler(hook_for, wire_name).writer(cls)


class WriterCompiler:
    """Generates writers into one scope (`scope`, when given, shared with other
    generated code); `value(expression, tp)` is the part autumn_core._compiled_params
    builds on."""

    def __init__(
        self,
        hook_for: Callable[[Any], UnstructureHook],
        wire_name: str,
        scope: dict[str, Any] | None = None,
    ) -> None:
        self._hook_for = hook_for
        self._wire_name = wire_name
        self._writers: dict[type, Callable[[Any], dict[str, Any]]] = {}
        self._scope: dict[str, Any] = {} if scope is None else scope

    def _name(self, value: Any, prefix: str) -> str:
        name = f"{prefix}{len(self._scope)}"
        self._scope[name] = value
        return name

    def writer(self, cls: type) -> Callable[[Any], dict[str, Any]]:
        known = self._writers.get(cls)
        if known is not None:
            return known
        attrs.resolve_types(cls)  # annotations may still be strings
        fields = attrs.fields(cls)
        required = [f for f in fields if f.default is attrs.NOTHING]
        lines = ["def write(i):"]
        # cattrs starts the object with the fields that have no default, in order,
        # then adds the others in order: the same keys in the same order.
        entries = ", ".join(
            f"{self.key(f)!r}: {self.value(f'i.{f.name}', f.type)}" for f in required
        )
        lines.append(f"    r = {{{entries}}}")
        for field in fields:
            if field.default is not attrs.NOTHING:
                lines.extend(self._optional(field))
        lines.append("    return r")
        write: Callable[[Any], dict[str, Any]] = define(
            lines, f"writer {cls.__qualname__}", self._scope
        )
        self._writers[cls] = write
        return write

    def key(self, field: attrs.Attribute[Any]) -> str:
        return str(field.metadata.get(self._wire_name, field.name))

    def _optional(self, field: attrs.Attribute[Any]) -> list[str]:
        """Lines adding a field with a default, when its value is not the default."""
        value = f"v_{field.name}"
        default = field.default
        if default is None:
            sent = f"{value} is not None"
            tp = without_none(field.type)
        elif isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            sent = f"{value} != {self._name(default.factory, 'factory')}()"  # pyright: ignore
            tp = field.type
        else:
            sent = f"{value} != {self._name(default, 'default')}"
            tp = field.type
        return [
            f"    {value} = i.{field.name}",
            f"    if {sent}:",
            f"        r[{self.key(field)!r}] = {self.value(value, tp)}",
        ]

    def value(self, expression: str, tp: Any) -> str:
        """The expression of the JSON value of `expression`, of type `tp`."""
        if tp in _AS_IS or (_is_optional(tp) and without_none(tp) in _AS_IS):
            return expression
        if isinstance(tp, type) and attrs.has(tp):
            return f"{self._name(self.writer(tp), 'write')}({expression})"
        hook = self._hook_for(tp)
        if hook is identity:  # a str-valued enum, say: cattrs writes it inline too
            return expression
        return f"{self._name(hook, 'hook')}({expression})"


def _is_optional(tp: Any) -> bool:
    return get_origin(tp) in (Union, UnionType) and type(None) in get_args(tp)


def without_none(tp: Any) -> Any:
    """`X` of `X | None`; `tp` itself otherwise (a union of several stays a union)."""
    if not _is_optional(tp):
        return tp
    rest = [a for a in get_args(tp) if a is not type(None)]
    return rest[0] if len(rest) == 1 else tp
