"""The one cattrs converter: strict structuring of params, lenient reading of responses.

Structuring is where input is validated. The default cattrs hooks coerce
(`str(5)`, `bool("no")`); an SDK that moves money must not guess, so the hooks
here accept only the JSON type the wire contract names, and only finite numbers
(NaN and infinity cannot travel in JSON).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from enum import Enum
from types import UnionType
from typing import Any, Literal, TypeVar, Union, cast, get_args, get_origin

import attrs
import cattrs
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.fns import identity
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from autumn_core._compiled_params import compile_params
from autumn_core._compiled_readers import compile_reader, is_optional
from autumn_core._compiled_writers import compile_writer
from autumn_core._errors import SDKValidationError

T = TypeVar("T")

converter: cattrs.Converter = cattrs.Converter(omit_if_default=True, forbid_extra_keys=True)


def _not_json(value: object) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _one_shot(encoder: json.JSONEncoder) -> Callable[[Any], str]:
    """`encoder.encode`, as the standard library runs it for a value that is not a str:
    its C encoder (`json.encoder.c_make_encoder`) over the whole value at once."""
    make: Any = getattr(json.encoder, "c_make_encoder", None)
    indent = cast("object", encoder.indent)  # None, though typeshed says int | str
    if make is None or encoder.check_circular or indent is not None:
        # No C accelerator, or settings the standard library encodes in Python.
        return encoder.encode
    # `encode` builds this C encoder again on every call, which costs about as much
    # as encoding a params object: built once here, with the same settings.
    iterencode = make(
        None,  # no markers: no cycle check
        encoder.default,
        json.encoder.encode_basestring_ascii
        if encoder.ensure_ascii
        else json.encoder.encode_basestring,
        encoder.indent,
        encoder.key_separator,
        encoder.item_separator,
        encoder.sort_keys,
        encoder.skipkeys,
        encoder.allow_nan,
    )

    def encode(value: Any) -> str:
        return "".join(iterencode(value, 0))

    return encode


# Compact JSON, NaN refused (a last line of defence behind validation). Bodies
# are unstructured models, never cyclic, so the cycle check is skipped.
_ENCODER = json.JSONEncoder(
    separators=(",", ":"),
    allow_nan=False,
    ensure_ascii=False,
    check_circular=False,
    default=_not_json,
)
encode_json: Callable[[Any], str] = _one_shot(_ENCODER)


_JSON_SCALARS = (str, int, float, bool, type(None))
_JSON_TYPES: dict[type, str] = {
    bool: "boolean",
    int: "number",
    float: "number",
    str: "string",
    dict: "object",
    list: "array",
}


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    kind: type = type(value)
    return _JSON_TYPES.get(kind, kind.__name__)


def _structure_enum(value: object, cl: type[Enum]) -> Enum:
    try:  # the value map first: calling the Enum class is several times slower
        member = cl._value2member_map_.get(value)
    except TypeError:  # unhashable
        member = None
    if member is not None:
        return member
    try:
        return cl(value)
    except ValueError:
        allowed = ", ".join(str(member.value) for member in cl)
        raise ValueError(f"expected one of {allowed}, got {value!r}") from None


def _structure_str(value: object, cl: type) -> Any:
    if cl is not str:  # a str-valued Enum dispatches here, through its str base
        return _structure_enum(value, cl)
    if type(value) is not str:
        raise TypeError(f"expected a string, got {_json_type(value)}")
    if not value.isascii():  # O(1): only non-ASCII text pays for the check
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # A lone surrogate ("\ud800") cannot travel as UTF-8: refuse it here,
            # by field name, rather than fail while encoding the body.
            raise ValueError("expected text encodable as UTF-8 (found a lone surrogate)") from None
    return value


def _structure_bool(value: object, _: type) -> bool:
    if type(value) is not bool:
        raise TypeError(f"expected a boolean, got {_json_type(value)}")
    return value


_MAX_SAFE = 2**53  # integers beyond this are not exact as JavaScript numbers


def _structure_number(value: object, cl: type) -> Any:
    if cl is not int and cl is not float:
        return _structure_enum(value, cl)
    # bool is an int subclass: `True` is not a number on the wire.
    if type(value) is int:
        if value.bit_length() > 1_000:  # rare: only huge ints pay for the exact check
            try:
                str(value)
            except ValueError:  # beyond sys.get_int_max_str_digits(): cannot become JSON
                raise ValueError("expected a number, got an integer too long to write") from None
        return value
    if type(value) is float:
        if math.isfinite(value):
            # JavaScript, and so Autumn's own SDK, writes 1000.0 as 1000: do the
            # same, so that one call makes the same bytes from either SDK.
            return int(value) if value.is_integer() and abs(value) <= _MAX_SAFE else value
        raise ValueError(f"expected a finite number, got {value!r}")
    raise TypeError(f"expected a number, got {_json_type(value)}")


def _structure_attrs_factory(cls: type) -> Callable[[object, type], Any]:
    forbid = not getattr(cls, "__autumn_tolerate_unknown_fields__", False)
    structure_mapping = cast(
        "Callable[[Any, type], Any]",
        make_dict_structure_fn(
            cls,  # pyright: ignore[reportUnknownArgumentType]
            converter,
            _cattrs_forbid_extra_keys=forbid,
        ),
    )
    names = tuple(a.name for a in attrs.fields(cls))

    def structure(value: object, _: type) -> Any:
        if type(value) is dict:  # the common case, ahead of the slower ABC check
            return structure_mapping(value, cls)
        if isinstance(value, cls):
            # Re-check a model built by hand, field by field. One level only: a
            # nested model is checked by its own hook, so a wrong type anywhere
            # (reset=5) is reported by field name instead of crashing unstructuring.
            value = {name: getattr(value, name) for name in names}
        elif not isinstance(value, Mapping):
            kind = type(value)
            if attrs.has(kind):  # a model of another operation, say
                raise TypeError(
                    f"expected {cls.__name__} or a dict of its fields, got {kind.__name__}"
                )
            raise TypeError(f"expected an object, got {_json_type(value)}")
        return structure_mapping(value, cls)

    return structure


def _structure_optional_factory(t: object) -> Callable[[object, type], Any]:
    # cattrs' own Optional hook looks the inner hook up on every call; resolve it once.
    inner = next(arg for arg in get_args(t) if arg is not type(None))
    inner_hook = converter.get_structure_hook(inner)

    def structure(value: object, _: type) -> Any:
        return None if value is None else inner_hook(value, inner)

    return structure


def _is_union(t: object) -> bool:
    return get_origin(t) in (Union, UnionType) and not is_optional(t)


def _describe(t: object) -> str:
    """How an error names what a type accepts, in JSON's words."""
    if t is type(None):
        return "null"
    if get_origin(t) is Literal:
        return " or ".join(repr(arg) for arg in get_args(t))
    names: dict[object, str] = {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
    }
    if isinstance(t, type) and attrs.has(t):
        return t.__name__
    return names.get(t) or str(getattr(t, "__name__", t))


def _structure_union_factory(t: object) -> Callable[[object, type], Any]:
    """A union of several types (`float | Literal["inf"]`, `Allowed | Denied`):
    each member is tried in order and the first that fits wins, so a union lists
    its most specific member first."""
    members = get_args(t)
    nullable = type(None) in members
    hooks = [(m, converter.get_structure_hook(m)) for m in members if m is not type(None)]
    expected = " or ".join(dict.fromkeys(_describe(m) for m in members))

    def structure(value: object, _: type) -> Any:
        if value is None and nullable:
            return None
        failures: list[tuple[object, Exception]] = []
        for member, hook in hooks:
            try:
                return hook(value, member)
            except Exception as exc:  # the next member may fit
                failures.append((member, exc))
        raise _no_member_fits(value, expected, failures)

    return structure


def _no_member_fits(
    value: object, expected: str, failures: list[tuple[object, Exception]]
) -> ValueError:
    """Why `value` fits no member of a union; for an object, why it fits no model."""
    text = f"expected {expected}, got {_json_type(value)}"
    models = [
        (member.__name__, exc)
        for member, exc in failures
        if isinstance(member, type) and attrs.has(member)
    ]
    if not (models and isinstance(value, Mapping)):
        return ValueError(f"{text} {value!r:.60}")
    why = "; ".join(
        f"not {name}: " + ", ".join(f"{field}: {reason}" for field, reason in _problems(exc, ""))
        for name, exc in models
    )
    return ValueError(f"{text} ({why})")


def _is_list(t: object) -> bool:
    return get_origin(t) is list


def _structure_list_factory(t: object) -> Callable[[object, type], list[Any]]:
    # cattrs' own list hook iterates whatever it is given: a string would become
    # its characters, a dict its keys. Only a JSON array (a list or tuple) is one.
    (item_type,) = get_args(t)
    item_hook = converter.get_structure_hook(item_type)

    def structure(value: object, _: type) -> list[Any]:
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"expected an array, got {_json_type(value)}")
        items: list[Any] = []
        failures: list[Exception] = []
        for index, item in enumerate(cast("list[object]", value)):
            try:
                items.append(item_hook(item, item_type))
            except Exception as exc:
                # Where cattrs notes an item's index (add_note is Python 3.11+).
                note = IterableValidationNote(f"@ index {index}", index, item_type)
                setattr(exc, "__notes__", [note])  # noqa: B010
                failures.append(exc)
        if failures:
            raise IterableValidationError(f"invalid items of {t}", failures, list)
        return items

    return structure


def _is_literal(t: object) -> bool:
    return get_origin(t) is Literal


def _structure_literal_factory(t: object) -> Callable[[object, type], Any]:
    allowed = get_args(t)

    def structure(value: object, _: type) -> Any:
        # Compared with the type too: 1 is not True, and 1.0 is not "1.0".
        for choice in allowed:
            if type(value) is type(choice) and value == choice:
                return value
        raise ValueError(f"expected {_describe(t)}, got {value!r:.60}")

    return structure


def _is_json_object(t: object) -> bool:
    """`dict[str, Any]` (or `Mapping[str, Any]`): a free-form JSON object, such as
    the `properties` attached to a usage event."""
    return get_origin(t) in (dict, Mapping) and get_args(t) == (str, Any)


_MAX_JSON_DEPTH = 64


def _json_value(value: object, depth: int) -> object:
    """`value` if it can travel as JSON as it is, else a ValueError saying why."""
    kind = type(value)
    if kind is str:
        return _structure_str(value, str)
    if value is None or kind is bool or kind is int:
        return value
    if kind is float:
        return _structure_number(value, float)
    if depth >= _MAX_JSON_DEPTH:
        raise ValueError(f"nested deeper than {_MAX_JSON_DEPTH} levels")
    if isinstance(value, Mapping):
        return _json_object(cast("Mapping[object, object]", value), depth + 1)
    if isinstance(value, (list, tuple)):
        return [_json_value(item, depth + 1) for item in cast("list[object]", value)]
    raise TypeError(f"expected a JSON value, got {kind.__name__}")


def _json_object(value: Mapping[object, object], depth: int) -> dict[str, object]:
    copied: dict[str, object] = {}
    for key, item in value.items():
        if type(key) is not str:
            raise TypeError(f"expected string keys, got {_json_type(key)} {key!r:.60}")
        try:
            copied[key] = _json_value(item, depth)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{key}: {exc}") from None
    return copied


def _structure_json_object(value: object, _: type) -> dict[str, object]:
    if not isinstance(value, Mapping):
        raise TypeError(f"expected an object, got {_json_type(value)}")
    return _json_object(cast("Mapping[object, object]", value), 0)


def json_object(value: object, field: str) -> dict[str, object]:
    """`value` as a JSON object (a copy), or an SDKValidationError naming `field`."""
    try:
        return _structure_json_object(value, dict)
    except (TypeError, ValueError) as exc:
        raise SDKValidationError(f"invalid {field}: {exc}", field=field) from None


def _structure_json_object_factory(_t: object) -> Callable[[object, type], dict[str, object]]:
    return _structure_json_object


def _is_optional_scalar(t: object) -> bool:
    return is_optional(t) and all(arg in _JSON_SCALARS for arg in get_args(t))


def _unstructure_as_is_factory(_t: object) -> Callable[[Any], Any]:
    # cattrs writes `instance.field` for the identity hook instead of calling a
    # function per field: `str | None`, `float | None` are already JSON.
    return identity


def _is_enum(t: object) -> bool:
    return isinstance(t, type) and issubclass(t, Enum)


def _unstructure_enum_factory(_t: object) -> Callable[[object], object]:
    return _unstructure_enum


# A field whose name on the wire is no Python identifier (track's `async`) is
# declared `async_: bool | None = attrs.field(default=None, metadata={WIRE_NAME: "async"})`.
WIRE_NAME = "autumn_wire_name"


def _unstructure_attrs_factory(cls: type) -> Callable[[Any], dict[str, Any]]:
    renamed: dict[str, Any] = {
        a.name: override(rename=a.metadata[WIRE_NAME])
        for a in attrs.fields(cls)
        if WIRE_NAME in a.metadata
    }
    return make_dict_unstructure_fn(
        cls,  # pyright: ignore[reportUnknownArgumentType]
        converter,
        _cattrs_omit_if_default=True,
        **renamed,
    )


def _unstructure_enum(value: object) -> object:
    # A hand-built model may hold the plain string; it is checked when structured.
    return value.value if isinstance(value, Enum) else value


converter.register_structure_hook(str, _structure_str)
converter.register_structure_hook(bool, _structure_bool)
converter.register_structure_hook(int, _structure_number)
converter.register_structure_hook(float, _structure_number)
converter.register_structure_hook(Enum, _structure_enum)
converter.register_structure_hook_factory(attrs.has, _structure_attrs_factory)
converter.register_structure_hook_factory(is_optional, _structure_optional_factory)
converter.register_structure_hook_factory(_is_union, _structure_union_factory)
converter.register_structure_hook_factory(_is_literal, _structure_literal_factory)
converter.register_structure_hook_factory(_is_list, _structure_list_factory)
converter.register_structure_hook_factory(_is_json_object, _structure_json_object_factory)
converter.register_unstructure_hook_factory(_is_optional_scalar, _unstructure_as_is_factory)
converter.register_unstructure_hook_factory(_is_enum, _unstructure_enum_factory)
converter.register_unstructure_hook_factory(attrs.has, _unstructure_attrs_factory)


class WrongShape(Exception):
    """A JSON answer that does not fit its response model; `error` says where."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def response_reader(cls: type[T] | UnionType) -> Callable[[bytes], T]:
    """A function from a JSON body to the (frozen) response model `cls` (or a union of them).

    Raises ValueError for invalid JSON or UTF-8, WrongShape for valid JSON that
    does not fit the model.
    """
    hook: Callable[[object, object], T] = converter.get_structure_hook(cls)
    # The same checks inlined, for a model (None for a union of them); it gives up
    # on anything it is unsure of, and the hook then decides (autumn_core._compiled_readers).
    # It reads text without `\u` escapes, the usual answer: a JavaScript server writes
    # other text as UTF-8 and escapes only control characters and lone surrogates.
    fast: Callable[[object], T] | None = compile_reader(
        cls, converter.get_structure_hook, _tolerates_unknown_fields, parsed_json=True
    )

    def read(body: bytes) -> T:
        # Decoding first skips json's encoding detection, which runs in Python.
        data = json.loads(body.decode())
        if fast is not None and b"\\u" not in body:
            try:
                return fast(data)  # typed, not cast: cast is a call, and this is every answer
            except Exception:  # noqa: S110 - the hook decides, and names the field
                pass
        try:
            return hook(data, cls)
        except Exception as exc:
            raise WrongShape(exc) from exc

    return read


def params_fields(cls: type[T]) -> Callable[[object], dict[str, Any]]:
    """A function from params (a dict or the model `cls`) to the JSON object they send,
    checked as the converter's structure hook checks them; it raises
    SDKValidationError naming each bad field.

    The usual input, a dict of plain values, takes a compiled fast path that
    checks and writes it without building the model (autumn_core._compiled_params)
    and gives up on anything else; the hook then builds the model or says which
    field is wrong. The model is written by its compiled writer
    (autumn_core._compiled_writers)."""
    hook: Callable[[object, type[T]], T] = converter.get_structure_hook(cls)
    fast = compile_params(
        cls, converter.get_structure_hook, converter.get_unstructure_hook, WIRE_NAME
    )
    write = compile_writer(cls, converter.get_unstructure_hook, WIRE_NAME)

    def fields(value: object) -> dict[str, Any]:
        if fast is not None and value.__class__ is dict:  # exactly a dict
            try:
                return fast(value)
            except Exception:  # noqa: S110 - the hook decides, and names the field
                pass
        try:
            return write(hook(value, cls))
        except SDKValidationError:  # a model's own rule, already named
            raise
        except Exception as exc:  # cattrs' grouped errors, turned into field names
            raise validation_error(exc, "params") from None

    return fields


def _tolerates_unknown_fields(cls: type) -> bool:
    return bool(getattr(cls, "__autumn_tolerate_unknown_fields__", False))


def tolerate_unknown_fields(cls: type[T]) -> type[T]:
    """Mark a response model: servers add fields, and reading them must not fail."""
    setattr(cls, "__autumn_tolerate_unknown_fields__", True)  # noqa: B010 - read by getattr
    return cls


def validation_error(exc: Exception, what: str) -> SDKValidationError:
    """Turn a cattrs structuring failure into an SDKValidationError naming each field.

    `what` names the whole input ("params", "options") and stands for the field
    when the input itself has the wrong type.
    """
    problems = [(name or what, reason) for name, reason in _problems(exc, "")]
    message = "; ".join(
        reason if name == what else f"{name}: {reason}" for name, reason in problems
    )
    return SDKValidationError(f"invalid {what}: {message}", field=problems[0][0], problems=problems)


def _camel_to_snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _problems(exc: BaseException, path: str) -> list[tuple[str, str]]:
    if isinstance(exc, ForbiddenExtraKeysError):
        return _unknown_fields(exc, path)
    if isinstance(exc, (ClassValidationError, IterableValidationError)):
        grouped = cast("list[BaseException]", exc.exceptions)  # pyright: ignore[reportUnknownMemberType]
        return _grouped_problems(grouped, path)
    if isinstance(exc, SDKValidationError):  # a model's own cross-field rule
        return [(_join(path, name), reason) for name, reason in exc.problems]
    return [(path, str(exc))]


def _join(path: str, name: object) -> str:
    return f"{path}.{name}" if path else str(name)


def _unknown_fields(exc: ForbiddenExtraKeysError, path: str) -> list[tuple[str, str]]:
    fields = {a.name for a in attrs.fields(exc.cl)} if attrs.has(exc.cl) else set[str]()
    found: list[tuple[str, str]] = []
    # A plain dict may hold keys that are not strings (ints, None): name them, do not crash.
    for key in sorted(cast("set[object]", exc.extra_fields), key=repr):
        hint = _closest(key, fields) if isinstance(key, str) else None
        reason = "unknown field" + (f" (did you mean {hint!r}?)" if hint else "")
        found.append((_join(path, key), reason))
    return found


def _closest(key: str, fields: set[str]) -> str | None:
    """The field a mistyped `key` most likely meant: its snake_case spelling
    (customerId), the id it names (feature), or a near spelling (custmer_id)."""
    for guess in (_camel_to_snake(key), f"{_camel_to_snake(key)}_id"):
        if guess in fields:
            return guess
    import difflib  # only a refused call pays for the import

    close = difflib.get_close_matches(key, sorted(fields), n=1, cutoff=0.8)
    return close[0] if close else None


def _where(error: BaseException) -> object | None:
    """The attribute name, list index or mapping key cattrs noted on `error`."""
    for note in getattr(error, "__notes__", ()):
        if isinstance(note, AttributeValidationNote):
            return note.name
        if isinstance(note, IterableValidationNote):
            return cast("object", note.index)
    return None


def _grouped_problems(exceptions: list[BaseException], path: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for sub in exceptions:
        where = _where(sub)
        name = path if where is None else _join(path, where)
        if isinstance(sub, KeyError):
            found.append((name, "required field missing"))
        else:
            found.extend(_problems(sub, name))
    return found
