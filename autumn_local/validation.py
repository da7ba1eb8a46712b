"""Schema checks for request bodies: types, ranges, and the rules that need no state.

Rules that depend on stored data (the feature's type, whether an entity
exists, "in the future" against the server clock) live in ``operations.py``.
Every refusal is a 400 ``invalid_inputs`` whose message starts with the field
name, e.g. ``"reset.interval must be one of ..."``.

Unknown fields are ignored, as Autumn's own request schemas (zod objects,
which strip unknown keys) do; pass ``strict=True`` to refuse them instead,
which catches a client that misspells a field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from autumn_local.errors import invalid_inputs
from autumn_local.resets import INTERVALS

__all__ = [
    "MAX_ID_LENGTH",
    "MAX_SAFE_NUMBER",
    "MAX_TEXT_LENGTH",
    "MAX_TIMESTAMP_MS",
    "CreateBalanceParams",
    "CreateFeatureParams",
    "CustomerParams",
    "EntityParams",
    "Number",
    "ResetParams",
    "RolloverParams",
    "UpdateBalanceParams",
    "json_type_name",
    "parse_create_balance",
    "parse_create_feature",
    "parse_customer",
    "parse_entity",
    "parse_update_balance",
]

Number = int | float

MAX_ID_LENGTH = 256
MAX_TEXT_LENGTH = 1024
# The real server is JavaScript: integers beyond 2**53 lose precision there.
MAX_SAFE_NUMBER = 2**53 - 1
# Year 3000; keeps calendar arithmetic far from datetime's year-9999 ceiling.
MAX_TIMESTAMP_MS = 32_503_680_000_000
MAX_INTERVAL_COUNT = 1000

FEATURE_TYPES = ("boolean", "metered", "credit_system")
ROLLOVER_DURATIONS = ("month", "forever")


def json_type_name(value: object) -> str:
    """The JSON name of a decoded value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


class _Fields:
    """Reads typed fields out of one JSON object, naming each in its errors."""

    def __init__(self, body: dict[str, Any], prefix: str = "", *, strict: bool = False) -> None:
        self._body = body
        self._prefix = prefix
        self._strict = strict
        self._seen: set[str] = set()

    def _name(self, key: str) -> str:
        return f"{self._prefix}{key}"

    def _get(self, key: str, required: bool) -> Any:
        self._seen.add(key)
        if key not in self._body:
            if required:
                raise invalid_inputs(f"{self._name(key)} is required")
            return None
        value = self._body[key]
        if value is None:
            # Optional fields are omitted when unset, never sent as null.
            raise invalid_inputs(f"{self._name(key)} must not be null (omit the field instead)")
        return value

    def has(self, key: str) -> bool:
        return key in self._body

    def string(
        self,
        key: str,
        *,
        required: bool = False,
        max_length: int = MAX_ID_LENGTH,
        nullable: bool = False,
    ) -> str | None:
        if nullable and self._body.get(key, 0) is None:
            self._seen.add(key)
            return None
        value = self._get(key, required)
        if value is None:
            return None
        name = self._name(key)
        if not isinstance(value, str):
            raise invalid_inputs(f"{name} must be a string, got {json_type_name(value)}")
        if not value.strip():
            raise invalid_inputs(f"{name} must not be empty")
        if len(value) > max_length:
            raise invalid_inputs(f"{name} must be at most {max_length} characters")
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise invalid_inputs(f"{name} must not contain control characters")
        return value

    def number(
        self,
        key: str,
        *,
        required: bool = False,
        minimum: Number | None = None,
        nullable: bool = False,
    ) -> Number | None:
        if nullable and self._body.get(key, 0) is None:
            self._seen.add(key)
            return None
        value = self._get(key, required)
        if value is None:
            return None
        name = self._name(key)
        # bool is an int in Python; JSON true is not a number.
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise invalid_inputs(f"{name} must be a number, got {json_type_name(value)}")
        if not math.isfinite(value) or abs(value) > MAX_SAFE_NUMBER:
            raise invalid_inputs(f"{name} must be a finite number of magnitude at most 2^53-1")
        if minimum is not None and value < minimum:
            raise invalid_inputs(f"{name} must be at least {minimum}, got {value}")
        return value

    def integer(self, key: str, *, minimum: int, maximum: int) -> int | None:
        value = self.number(key)
        if value is None:
            return None
        name = self._name(key)
        if isinstance(value, float):
            if not value.is_integer():
                raise invalid_inputs(f"{name} must be a whole number, got {value}")
            value = int(value)
        if not minimum <= value <= maximum:
            raise invalid_inputs(f"{name} must be between {minimum} and {maximum}, got {value}")
        return value

    def timestamp(self, key: str) -> int | None:
        """Unix milliseconds; fractions of a millisecond are dropped."""
        value = self.number(key)
        if value is None:
            return None
        if not 0 < value <= MAX_TIMESTAMP_MS:
            raise invalid_inputs(
                f"{self._name(key)} must be a Unix timestamp in milliseconds "
                f"between 1 and {MAX_TIMESTAMP_MS}"
            )
        return int(value)

    def boolean(self, key: str) -> bool | None:
        value = self._get(key, False)
        if value is None:
            return None
        if not isinstance(value, bool):
            raise invalid_inputs(
                f"{self._name(key)} must be a boolean, got {json_type_name(value)}"
            )
        return value

    def choice(self, key: str, options: tuple[str, ...], *, required: bool = False) -> str | None:
        value = self._get(key, required)
        if value is None:
            return None
        if not isinstance(value, str) or value not in options:
            raise invalid_inputs(
                f"{self._name(key)} must be one of {', '.join(options)}; got {_show(value)}"
            )
        return value

    def object(self, key: str) -> _Fields | None:
        value = self._get(key, False)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise invalid_inputs(
                f"{self._name(key)} must be an object, got {json_type_name(value)}"
            )
        return _Fields(value, f"{self._name(key)}.", strict=self._strict)

    def string_list(self, key: str) -> list[str] | None:
        value = self._get(key, False)
        if value is None:
            return None
        name = self._name(key)
        if not isinstance(value, list) or len(value) > 100:
            raise invalid_inputs(f"{name} must be an array of at most 100 strings")
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item or len(item) > MAX_ID_LENGTH:
                raise invalid_inputs(f"{name}[{i}] must be a non-empty string")
            out.append(item)
        return out

    def finish(self) -> None:
        """In strict mode, refuse fields this schema does not know."""
        if not self._strict:
            return
        unknown = sorted(k for k in self._body if k not in self._seen)
        if unknown:
            names = ", ".join(self._name(k) for k in unknown[:5])
            raise invalid_inputs(f"unknown field(s): {names}")


def _show(value: object) -> str:
    text = repr(value) if isinstance(value, str) else json_type_name(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True, slots=True)
class ResetParams:
    interval: str
    interval_count: int


@dataclass(frozen=True, slots=True)
class RolloverParams:
    max: Number | None
    max_percentage: Number | None
    duration: str
    length: Number


@dataclass(frozen=True, slots=True)
class CreateBalanceParams:
    customer_id: str
    feature_id: str
    entity_id: str | None
    included: Number | None
    unlimited: bool
    reset: ResetParams | None
    rollover: RolloverParams | None
    expires_at: int | None
    next_reset_at: int | None
    balance_id: str | None


@dataclass(frozen=True, slots=True)
class UpdateBalanceParams:
    customer_id: str
    feature_id: str
    entity_id: str | None
    remaining: Number | None
    add_to_balance: Number | None
    usage: Number | None
    interval: str | None
    included_grant: Number | None
    balance_id: str | None
    next_reset_at: int | None
    expires_at: int | None


@dataclass(frozen=True, slots=True)
class CustomerParams:
    customer_id: str
    name: str | None
    email: str | None
    entity_id: str | None = None


@dataclass(frozen=True, slots=True)
class EntityParams:
    customer_id: str
    entity_id: str


@dataclass(frozen=True, slots=True)
class CreateFeatureParams:
    id: str
    name: str
    type: str
    consumable: bool
    event_names: list[str]


def _required_id(fields: _Fields, key: str) -> str:
    value = fields.string(key, required=True)
    assert value is not None
    return value


def _grant_field(fields: _Fields) -> Number | None:
    """``included`` (2.1), ``included_grant`` (later) and ``granted_balance`` name one amount."""
    names = [k for k in ("included", "included_grant", "granted_balance") if fields.has(k)]
    if len(names) > 1:
        raise invalid_inputs(f"{' and '.join(names)} name the same amount; send only one")
    amount: Number | None = None
    for key in ("included", "included_grant", "granted_balance"):
        value = fields.number(key, minimum=0)
        if value is not None:
            amount = value
    return amount


def _reset(fields: _Fields) -> ResetParams | None:
    reset = fields.object("reset")
    if reset is None:
        return None
    interval = reset.choice("interval", INTERVALS, required=True)
    assert interval is not None
    count = reset.integer("interval_count", minimum=1, maximum=MAX_INTERVAL_COUNT)
    reset.finish()
    return ResetParams(interval=interval, interval_count=1 if count is None else count)


def _rollover(fields: _Fields) -> RolloverParams | None:
    rollover = fields.object("rollover")
    if rollover is None:
        return None
    maximum = rollover.number("max", minimum=0, nullable=True)
    percentage = rollover.number("max_percentage", minimum=0, nullable=True)
    if percentage is not None and percentage > 100:
        raise invalid_inputs(f"rollover.max_percentage must be at most 100, got {percentage}")
    duration = rollover.choice("duration", ROLLOVER_DURATIONS) or "month"
    length = rollover.number("length", required=True, minimum=0)
    assert length is not None
    rollover.finish()
    return RolloverParams(max=maximum, max_percentage=percentage, duration=duration, length=length)


def parse_create_balance(body: dict[str, Any], *, strict: bool = False) -> CreateBalanceParams:
    """Schema and stateless rules of ``POST /v1/balances.create``."""
    fields = _Fields(body, strict=strict)
    customer_id = _required_id(fields, "customer_id")
    feature_id = _required_id(fields, "feature_id")
    entity_id = fields.string("entity_id")
    included = _grant_field(fields)
    unlimited = fields.boolean("unlimited")
    reset = _reset(fields)
    rollover = _rollover(fields)
    expires_at = fields.timestamp("expires_at")
    next_reset_at = fields.timestamp("next_reset_at")
    balance_id = fields.string("balance_id")
    fields.finish()

    if unlimited and included is not None:
        raise invalid_inputs("included and unlimited cannot be combined; send one of them")
    if unlimited and reset is not None:
        raise invalid_inputs("reset cannot be set on an unlimited balance")
    if next_reset_at is not None and reset is None:
        raise invalid_inputs("next_reset_at requires reset")
    if next_reset_at is not None and reset is not None and reset.interval == "one_off":
        raise invalid_inputs("next_reset_at requires a resetting reset.interval, not one_off")
    if next_reset_at is not None and expires_at is not None and next_reset_at >= expires_at:
        raise invalid_inputs("next_reset_at must be before expires_at")
    if expires_at is not None and reset is not None:
        raise invalid_inputs("expires_at and reset are mutually exclusive")
    if rollover is not None and reset is None:
        raise invalid_inputs("rollover requires reset")
    return CreateBalanceParams(
        customer_id=customer_id,
        feature_id=feature_id,
        entity_id=entity_id,
        included=included,
        unlimited=bool(unlimited),
        reset=reset,
        rollover=rollover,
        expires_at=expires_at,
        next_reset_at=next_reset_at,
        balance_id=balance_id,
    )


def parse_update_balance(body: dict[str, Any], *, strict: bool = False) -> UpdateBalanceParams:
    """Schema and stateless rules of ``POST /v1/balances.update``."""
    fields = _Fields(body, strict=strict)
    customer_id = _required_id(fields, "customer_id")
    feature_id = _required_id(fields, "feature_id")
    entity_id = fields.string("entity_id")
    remaining = fields.number("remaining", minimum=0)
    add_to_balance = fields.number("add_to_balance")
    usage = fields.number("usage", minimum=0)
    interval = fields.choice("interval", INTERVALS)
    # ``included`` is accepted here too: some clients send the 2.1 name.
    if fields.has("included") and fields.has("included_grant"):
        raise invalid_inputs("included and included_grant name the same amount; send only one")
    included_grant = fields.number("included_grant", minimum=0)
    if included_grant is None:
        included_grant = fields.number("included", minimum=0)
    balance_id = fields.string("balance_id")
    next_reset_at = fields.timestamp("next_reset_at")
    expires_at = fields.timestamp("expires_at")
    fields.finish()

    if remaining is not None and add_to_balance is not None:
        raise invalid_inputs("remaining and add_to_balance cannot be combined")
    if usage is not None and remaining is not None:
        raise invalid_inputs("usage and remaining cannot be combined")
    if usage is not None and add_to_balance is not None:
        raise invalid_inputs("usage and add_to_balance cannot be combined")
    if all(
        v is None
        for v in (remaining, add_to_balance, usage, included_grant, next_reset_at, expires_at)
    ):
        raise invalid_inputs(
            "nothing to update: send one of remaining, add_to_balance, usage, "
            "included_grant, next_reset_at, expires_at"
        )
    return UpdateBalanceParams(
        customer_id=customer_id,
        feature_id=feature_id,
        entity_id=entity_id,
        remaining=remaining,
        add_to_balance=add_to_balance,
        usage=usage,
        interval=interval,
        included_grant=included_grant,
        balance_id=balance_id,
        next_reset_at=next_reset_at,
        expires_at=expires_at,
    )


def parse_customer(body: dict[str, Any], *, strict: bool = False) -> CustomerParams:
    """``customers.get`` / ``customers.get_or_create``: ``{customer_id, name?, email?}``."""
    fields = _Fields(body, strict=strict)
    customer_id = _required_id(fields, "customer_id")
    name = fields.string("name", max_length=MAX_TEXT_LENGTH, nullable=True)
    email = fields.string("email", max_length=MAX_TEXT_LENGTH, nullable=True)
    fields.finish()
    return CustomerParams(customer_id=customer_id, name=name, email=email)


def parse_entity(body: dict[str, Any], *, strict: bool = False) -> EntityParams:
    """``entities.get``: ``{customer_id, entity_id}``."""
    fields = _Fields(body, strict=strict)
    customer_id = _required_id(fields, "customer_id")
    entity_id = _required_id(fields, "entity_id")
    fields.finish()
    return EntityParams(customer_id=customer_id, entity_id=entity_id)


def parse_create_feature(body: dict[str, Any], *, strict: bool = False) -> CreateFeatureParams:
    """``features.create``: ``{id | feature_id, name?, type, consumable?, event_names?}``."""
    fields = _Fields(body, strict=strict)
    if fields.has("id") and fields.has("feature_id"):
        raise invalid_inputs("id and feature_id name the same thing; send only one")
    feature_id = fields.string("feature_id") or fields.string("id")
    if feature_id is None:
        raise invalid_inputs("id is required")
    name = fields.string("name", max_length=MAX_TEXT_LENGTH) or feature_id
    feature_type = fields.choice("type", FEATURE_TYPES, required=True)
    assert feature_type is not None
    consumable = fields.boolean("consumable")
    event_names = fields.string_list("event_names") or []
    fields.finish()
    if feature_type == "boolean" and consumable:
        raise invalid_inputs("consumable cannot be true for a boolean feature")
    if consumable is None:
        # Metered features are usage-like (they reset) unless said otherwise.
        consumable = feature_type != "boolean"
    return CreateFeatureParams(
        id=feature_id,
        name=name,
        type=feature_type,
        consumable=consumable,
        event_names=event_names,
    )
