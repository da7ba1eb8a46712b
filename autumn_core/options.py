"""Per-call options: the knobs a single call may turn without touching the core."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Collection, Mapping
from typing import Any, TypeGuard

import attrs

from autumn_core.errors import SDKValidationError
from autumn_core.retries import RetryConfig, parse_retry_codes


def _invalid(attribute: attrs.Attribute[Any], reason: str) -> SDKValidationError:
    field = f"options.{attribute.name}"
    return SDKValidationError(f"invalid {field}: {reason}", field=field)


def is_positive_ms(value: object) -> bool:
    """A finite number of milliseconds > 0 (bool is not a number here)."""
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def is_header_text(text: object) -> TypeGuard[str]:
    """Text that can be sent in an HTTP header as is: printable ASCII."""
    return isinstance(text, str) and text.isascii() and text.isprintable()


def _timeout_ms(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not is_positive_ms(value):
        raise _invalid(attribute, f"expected milliseconds > 0, got {value!r}")


def _idempotency_key(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    # The key travels in a header: printable ASCII only, and bounded.
    if value is not None and not (is_header_text(value) and 0 < len(value) <= 255):
        raise _invalid(attribute, "expected 1 to 255 printable ASCII characters")


def _headers(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, Mapping):
        raise _invalid(attribute, f"expected a mapping of header names to values, got {value!r}")
    for name, text in value.items():
        if not (is_header_text(name) and name and is_header_text(text)):
            raise _invalid(attribute, f"header {name!r}: names and values must be printable ASCII")


def _server_url(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not (
        isinstance(value, str) and value.startswith(("http://", "https://"))
    ):
        raise _invalid(attribute, f"expected an http:// or https:// URL, got {value!r}")


def _instance_of(kind: type) -> Any:
    def check(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None and not isinstance(value, kind):
            raise _invalid(attribute, f"expected {kind.__name__}, got {type(value).__name__}")

    return check


def _codes(value: Collection[str | int] | None) -> frozenset[str] | None:
    if value is None:
        return None
    try:
        return parse_retry_codes(value)
    except (TypeError, ValueError) as exc:
        raise SDKValidationError(
            f"invalid options.retry_codes: {exc}", field="options.retry_codes"
        ) from None


@attrs.frozen(kw_only=True)
class RequestOptions:
    """Options for one call; every field left None takes the core's setting.

    >>> await balances_create(core, params, RequestOptions(timeout_ms=2_000,
    ...                       idempotency_key=f"grant-{order_id}"))

    A plain dict with the same keys is accepted wherever RequestOptions is.
    `idempotency_key` makes a call idempotent across processes and restarts
    (derive it from your own order or event id); by default each call gets a
    fresh key, reused by all of its retry attempts. `abort_signal`: set the
    event to stop the call (it ends in RequestAbortedError).
    """

    retries: RetryConfig | None = attrs.field(default=None, validator=_instance_of(RetryConfig))
    retry_codes: frozenset[str] | None = attrs.field(default=None, converter=_codes)
    timeout_ms: float | None = attrs.field(default=None, validator=_timeout_ms)
    server_url: str | None = attrs.field(default=None, validator=_server_url)
    headers: Mapping[str, str] | None = attrs.field(default=None, validator=_headers)
    idempotency_key: str | None = attrs.field(default=None, validator=_idempotency_key)
    abort_signal: asyncio.Event | None = attrs.field(
        default=None, validator=_instance_of(asyncio.Event)
    )


_FIELDS = frozenset(a.name for a in attrs.fields(RequestOptions))


def request_options(value: RequestOptions | Mapping[str, Any] | None) -> RequestOptions | None:
    """Accept RequestOptions, a dict of its fields, or None; refuse anything else by name."""
    if value is None or isinstance(value, RequestOptions):
        return value
    if not isinstance(value, Mapping):
        raise SDKValidationError(
            f"invalid options: expected RequestOptions or a dict, got {type(value).__name__}",
            field="options",
        )
    unknown = sorted(str(key) for key in value if key not in _FIELDS)
    if unknown:
        field = f"options.{unknown[0]}"
        raise SDKValidationError(f"invalid {field}: unknown option", field=field)
    return RequestOptions(**value)
