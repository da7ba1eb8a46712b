"""Checks of configuration values, shared by the core's configuration, the retry
policy and the per-call options. Each failure is an SDKValidationError naming
the field, raised before any I/O."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeGuard

import attrs
import yarl

from autumn_core._errors import SDKValidationError


def invalid(field: str, reason: str) -> SDKValidationError:
    return SDKValidationError(f"invalid {field}: {reason}", field=field)


def is_positive_ms(value: object) -> bool:
    """A finite number of milliseconds > 0 (bool is not a number here)."""
    return is_number(value) and math.isfinite(value) and value > 0


def is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_header_text(text: object) -> TypeGuard[str]:
    """Text that can be sent in an HTTP header as is: printable ASCII."""
    return isinstance(text, str) and text.isascii() and text.isprintable()


def is_header_token(text: object) -> TypeGuard[str]:
    """Header text without spaces, as a key or a version must be."""
    return is_header_text(text) and bool(text) and " " not in text


def server_url(value: object, field: str) -> str:
    """`value` as a base URL without its trailing slash; refused unless it is an
    http:// or https:// URL with a host."""
    if isinstance(value, str):
        try:
            parsed = yarl.URL(value)
        except ValueError:  # yarl refuses some URLs outright, e.g. "http://[oops"
            pass
        else:
            if parsed.scheme in ("http", "https") and parsed.host:
                return _without_version(value.rstrip("/"), field)
    raise invalid(field, f"expected an http:// or https:// URL with a host, got {value!r}")


def _without_version(url: str, field: str) -> str:
    # Every operation's path starts with /v1: a base ending in it would send
    # every call to /v1/v1/..., which answers 404.
    if url.lower().endswith("/v1"):
        raise invalid(
            field,
            f"{url!r} ends in /v1, but every operation's path already starts with /v1 (calls "
            f"would go to {url}/v1/...); use {url[:-3]!r}",
        )
    return url


AttrsValidator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def field_name(instance: object, attribute: attrs.Attribute[Any]) -> str:
    """`Class.field`, the name an attrs-built configuration object reports."""
    return f"{type(instance).__name__}.{attribute.name}"


def instance_of(kind: type, *, optional: bool = False, prefix: str | None = None) -> AttrsValidator:
    """An attrs validator refusing anything but a `kind` (or None when optional).

    The field is reported as `Class.field`, or as `prefix + field` when a prefix
    is given ("" for the core's keyword arguments, "options." for the options).
    """

    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if (value is None and optional) or isinstance(value, kind):
            return
        field = field_name(instance, attribute) if prefix is None else prefix + attribute.name
        raise invalid(field, f"expected a {kind.__name__}, got {type(value).__name__}")

    return check


def is_callable(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not callable(value):
        raise invalid(field_name(instance, attribute), f"expected a callable, got {value!r}")
