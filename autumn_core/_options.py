"""Per-call options: the knobs a single call may turn without touching the core."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from typing import Any, TypedDict, cast

import attrs

from autumn_core._errors import SDKValidationError
from autumn_core._field_checks import (
    instance_of,
    invalid,
    is_header_text,
    is_positive_ms,
    server_url,
)
from autumn_core._retries import RetryConfig, parse_retry_codes
from autumn_core._serde import json_object


def _invalid(attribute: attrs.Attribute[Any], reason: str) -> SDKValidationError:
    return invalid(f"options.{attribute.name}", reason)


def _milliseconds(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not is_positive_ms(value):
        raise _invalid(attribute, f"expected milliseconds > 0, got {value!r}")


def _idempotency_key(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    # The key travels in a header: printable ASCII only, and bounded.
    if value is not None and not (is_header_text(value) and 0 < len(value) <= 255):
        raise _invalid(attribute, "expected 1 to 255 printable ASCII characters")


# Headers the SDK owns, each with the setting that controls it. Set through
# `headers`, a second value would travel next to the SDK's, and the error of a
# failed call would report a key that is not the one sent.
_OWN_HEADERS = {
    "authorization": "the core's secret_key (AutumnCore(secret_key=...))",
    "idempotency-key": 'the idempotency_key option (options={"idempotency_key": ...})',
    "x-api-version": "the core's x_api_version (AutumnCore(x_api_version=...))",
}


def _headers(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, Mapping):
        raise _invalid(attribute, f"expected a mapping of header names to values, got {value!r}")
    for name, text in cast("Mapping[object, object]", value).items():
        if not (is_header_text(name) and name and is_header_text(text)):
            # The value is not shown: it may be a credential.
            raise _invalid(attribute, f"header {name!r}: names and values must be printable ASCII")
        instead = _OWN_HEADERS.get(name.lower())
        if instead is not None:
            raise _invalid(attribute, f"header {name!r} is set by the SDK; use {instead} instead")


def _extra_body(value: object) -> dict[str, object] | None:
    return None if value is None else json_object(value, "options.extra_body")


def _server_url(value: object) -> str | None:
    return None if value is None else server_url(value, "options.server_url")


def _codes(value: object) -> frozenset[str] | None:
    return None if value is None else parse_retry_codes(value, "options.retry_codes")


@attrs.frozen(kw_only=True)
class RequestOptions:
    """Options for one call; every field left None takes the core's setting.

    >>> await balances_create(core, params, RequestOptions(timeout_ms=2_000,
    ...                       idempotency_key=f"grant-{order_id}"))

    A plain dict with the same keys (typed as `RequestOptionsDict`) is accepted
    wherever RequestOptions is.

    - `idempotency_key` makes a call idempotent across processes and restarts
      (derive it from your own order or event id); by default each call gets a
      fresh key, reused by all of its retry attempts.
    - `timeout_ms` bounds each attempt; `total_timeout_ms` bounds the whole call,
      retries and waits included, and cuts an attempt still running when it
      expires.
    - `abort_signal`: set the event to stop the call (it ends in RequestAbortedError).
    - `headers` are sent with the call; Authorization, Idempotency-Key and
      x-api-version are refused there, each has its own setting.
    - `extra_body`: fields this SDK does not model yet (newer than it), merged
      into the JSON body; a field the operation's params model is refused.
    """

    retries: RetryConfig | None = attrs.field(
        default=None, validator=instance_of(RetryConfig, optional=True, prefix="options.")
    )
    retry_codes: frozenset[str] | None = attrs.field(default=None, converter=_codes)
    timeout_ms: float | None = attrs.field(default=None, validator=_milliseconds)
    total_timeout_ms: float | None = attrs.field(default=None, validator=_milliseconds)
    server_url: str | None = attrs.field(default=None, converter=_server_url)
    headers: Mapping[str, str] | None = attrs.field(default=None, validator=_headers)
    idempotency_key: str | None = attrs.field(default=None, validator=_idempotency_key)
    abort_signal: asyncio.Event | None = attrs.field(
        default=None, validator=instance_of(asyncio.Event, optional=True, prefix="options.")
    )
    extra_body: dict[str, object] | None = attrs.field(default=None, converter=_extra_body)


class RequestOptionsDict(TypedDict, total=False):
    """`RequestOptions` as a dict, every key optional: what a type checker accepts for
    `options={...}`. See `RequestOptions` for what each key means."""

    retries: RetryConfig | None
    retry_codes: Collection[str | int] | None
    timeout_ms: float | None
    total_timeout_ms: float | None
    server_url: str | None
    headers: Mapping[str, str] | None
    idempotency_key: str | None
    abort_signal: asyncio.Event | None
    extra_body: Mapping[str, object] | None


_FIELDS = frozenset(a.name for a in attrs.fields(RequestOptions))


def request_options(value: RequestOptions | RequestOptionsDict | None) -> RequestOptions | None:
    """Accept RequestOptions, a dict of its fields, or None; refuse anything else by name."""
    given = cast(object, value)  # callers without a type checker pass anything
    if given is None or isinstance(given, RequestOptions):
        return given
    if not isinstance(given, Mapping):
        raise SDKValidationError(
            f"invalid options: expected RequestOptions or a dict, got {type(given).__name__}",
            field="options",
        )
    fields = cast("Mapping[str, Any]", given)
    unknown = sorted(str(key) for key in fields if key not in _FIELDS)
    if unknown:
        field = f"options.{unknown[0]}"
        raise SDKValidationError(f"invalid {field}: unknown option", field=field)
    return RequestOptions(**fields)
