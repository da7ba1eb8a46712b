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
from typing import Any, TypeVar, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn

from autumn_core.errors import SDKValidationError

T = TypeVar("T")

converter = cattrs.Converter(omit_if_default=True, forbid_extra_keys=True)


def _not_json(value: object) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _encoder() -> Callable[[Any], str]:
    """Compact JSON, NaN refused (a last line of defence behind validation).

    `json.dumps` builds a new C encoder on every call; this builds it once and
    skips the cycle check (bodies are unstructured models, never cyclic),
    which makes encoding a body about 40% cheaper.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # an interpreter without the C accelerator
        return json.JSONEncoder(
            separators=(",", ":"), allow_nan=False, ensure_ascii=False, check_circular=False
        ).encode
    chunks = make(
        None, _not_json, json.encoder.encode_basestring, None, ":", ",", False, False, False
    )
    return lambda value: "".join(chunks(value, 0))


encode_json: Callable[[Any], str] = _encoder()


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    return {
        bool: "boolean",
        int: "number",
        float: "number",
        str: "string",
        dict: "object",
        list: "array",
    }.get(type(value), type(value).__name__)


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
    structure_mapping: Callable[[Any, Any], Any] = make_dict_structure_fn(
        cls, converter, _cattrs_forbid_extra_keys=forbid
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
            raise TypeError(f"expected an object, got {_json_type(value)}")
        return structure_mapping(value, cls)

    return structure


def _is_optional(t: object) -> bool:
    args = get_args(t)
    return get_origin(t) in (Union, UnionType) and len(args) == 2 and type(None) in args


def _structure_optional_factory(t: object) -> Callable[[object, type], Any]:
    # cattrs' own Optional hook looks the inner hook up on every call; resolve it once.
    inner = next(arg for arg in get_args(t) if arg is not type(None))
    inner_hook = converter.get_structure_hook(inner)

    def structure(value: object, _: type) -> Any:
        return None if value is None else inner_hook(value, inner)

    return structure


def _unstructure_enum(value: object) -> object:
    # A hand-built model may hold the plain string; it is checked when structured.
    return value.value if isinstance(value, Enum) else value


converter.register_structure_hook(str, _structure_str)
converter.register_structure_hook(bool, _structure_bool)
converter.register_structure_hook(int, _structure_number)
converter.register_structure_hook(float, _structure_number)
converter.register_structure_hook(Enum, _structure_enum)
converter.register_structure_hook_factory(attrs.has, _structure_attrs_factory)
converter.register_structure_hook_factory(_is_optional, _structure_optional_factory)
converter.register_unstructure_hook_factory(
    lambda t: isinstance(t, type) and issubclass(t, Enum), lambda _t: _unstructure_enum
)
converter.register_unstructure_hook_factory(
    attrs.has, lambda cls: make_dict_unstructure_fn(cls, converter, _cattrs_omit_if_default=True)
)


def response_reader(cls: type[T]) -> Callable[[bytes], T]:
    """A function from a JSON body to the (frozen) response model `cls`.

    Almost every answer of an operation is the same few bytes
    (`{"success":true}`), so the last small body read is remembered with its
    model: reading it again costs one bytes comparison instead of a JSON parse
    and a structuring. Sharing the instance is safe because models are frozen.
    Raises ValueError for invalid JSON or UTF-8, cattrs' errors for a wrong shape.
    """
    hook = converter.get_structure_hook(cls)
    # One (body, model) pair, read and replaced whole, so that cores used from
    # several threads never pair one body with another's model.
    last: list[tuple[bytes, Any]] = [(b"", None)]

    def read(body: bytes) -> T:
        seen, model = last[0]
        if body == seen and seen:
            return model  # type: ignore[no-any-return]
        # Decoding first skips json's encoding detection, which runs in Python.
        model = hook(json.loads(body.decode()), cls)
        if len(body) <= 256:
            last[0] = (body, model)
        return model  # type: ignore[no-any-return]

    return read


def tolerate_unknown_fields(cls: type[T]) -> type[T]:
    """Mark a response model: servers add fields, and reading them must not fail."""
    cls.__autumn_tolerate_unknown_fields__ = True  # type: ignore[attr-defined]
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
    def join(name: object) -> str:
        return f"{path}.{name}" if path else str(name)

    if isinstance(exc, ForbiddenExtraKeysError):
        found = []
        fields = {a.name for a in attrs.fields(exc.cl)} if attrs.has(exc.cl) else set()
        # A plain dict may hold keys that are not strings (ints, None): name them, do not crash.
        for key in sorted(exc.extra_fields, key=repr):
            hint = _camel_to_snake(key) if isinstance(key, str) else None
            reason = "unknown field" + (f" (did you mean {hint!r}?)" if hint in fields else "")
            found.append((join(key), reason))
        return found
    if isinstance(exc, (ClassValidationError, IterableValidationError)):
        found = []
        for sub in exc.exceptions:
            notes = [n for n in getattr(sub, "__notes__", ()) if hasattr(n, "name")]
            name = join(notes[0].name) if notes else path
            if isinstance(sub, KeyError):
                found.append((name, "required field missing"))
            else:
                found.extend(_problems(sub, name))
        return found
    if isinstance(exc, SDKValidationError):  # a model's own cross-field rule
        return [(join(name), reason) for name, reason in exc.problems]
    return [(path, str(exc))]
