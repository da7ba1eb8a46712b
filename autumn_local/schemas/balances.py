"""Schema checks for request bodies: the types Autumn's request schemas declare.

Every refusal is a 400 ``invalid_inputs`` whose message starts with the field
name, e.g. ``"reset.interval must be one of ..."``. Rules that need the
feature or stored data (Autumn checks them after the schema, with other
statuses) live in ``rules/operations.py``.

Unknown fields are ignored, as Autumn's schemas (zod objects, which strip
unknown keys) do -- including ``included`` on ``balances.create``, which
Autumn renamed ``included_grant``. ``strict=True`` refuses unknown fields
instead, naming the field to send when the intent is clear.

Beyond Autumn's schemas, input that only a hostile or broken client sends
is refused here too, so nothing absurd reaches the calendar or the database:
ids must be non-empty, at most 256 characters and free of control
characters; timestamps between 1 ms and the year 3000; ``interval_count`` a
whole number from 1 to 1000. Numbers are read as JavaScript reads them
(``store/js_numbers.py``): any finite double, as Autumn's ``z.number()`` takes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from autumn_local.schemas.ai_markups import parse_ai_markups
from autumn_local.schemas.errors import invalid_inputs
from autumn_local.store.database import CreditCost
from autumn_local.store.js_numbers import MAX_SAFE_INTEGER, as_double

__all__ = [
    "INTERVALS",
    "MAX_ID_LENGTH",
    "MAX_SAFE_NUMBER",
    "MAX_TEXT_LENGTH",
    "MAX_TIMESTAMP_MS",
    "CreateBalanceParams",
    "CreateFeatureParams",
    "Number",
    "ResetParams",
    "RolloverParams",
    "UpdateBalanceParams",
    "json_type_name",
    "parse_create_balance",
    "parse_create_feature",
    "parse_update_balance",
]

Number = int | float

MAX_ID_LENGTH = 256
MAX_TEXT_LENGTH = 1024
# The real server is JavaScript: integers beyond 2**53 lose precision there,
# and zod's ``.int()`` takes none beyond it (token counts, track timestamps).
MAX_SAFE_NUMBER = MAX_SAFE_INTEGER
# Year 3000; keeps calendar arithmetic far from datetime's year-9999 ceiling.
MAX_TIMESTAMP_MS = 32_503_680_000_000
MAX_INTERVAL_COUNT = 1000
# The reset intervals Autumn knows; "one_off" never resets.
INTERVALS = (
    "one_off",
    "minute",
    "hour",
    "day",
    "week",
    "month",
    "quarter",
    "semi_annual",
    "year",
)

FEATURE_TYPES = ("boolean", "metered", "credit_system", "ai_credit_system")
ROLLOVER_DURATIONS = ("month", "forever")
# Fields a client may send meaning another one; strict mode names the real field.
RENAMED = {"included": "included_grant"}
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")


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

    def string(
        self,
        key: str,
        *,
        required: bool = False,
        max_length: int = MAX_ID_LENGTH,
        nullable: bool = False,
        empty_is_absent: bool = False,
    ) -> str | None:
        if (nullable and self._body.get(key, 0) is None) or (
            empty_is_absent and self._body.get(key) == ""
        ):
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
        if _CONTROL_CHARACTER.search(value):
            raise invalid_inputs(f"{name} must not contain control characters")
        return value

    def number(self, key: str, *, required: bool = False, nullable: bool = False) -> Number | None:
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
        # As JavaScript's JSON.parse reads it (Autumn's zod then takes any finite
        # double): an int beyond 2^53 becomes the nearest double, and one beyond
        # the double range is Infinity, which z.number() refuses.
        double = as_double(value)
        if double is None:
            raise invalid_inputs(
                f"{name} must be a finite number (at most about 1.8e308 in magnitude)"
            )
        return double

    def first_of(self, *keys: str) -> Number | None:
        """A number that may be sent under several names: the first name present wins.

        Autumn reads ``included_grant ?? granted_balance`` and ``remaining ??
        current_balance`` this way; every name sent is still type-checked.
        """
        values = [self.number(key) for key in keys]
        return next((v for v in values if v is not None), None)

    def integer(self, key: str, *, minimum: int, maximum: int) -> int | None:
        value = self.number(key)
        if value is None:
            return None
        name = self._name(key)
        if isinstance(value, float) and not value.is_integer():
            raise invalid_inputs(f"{name} must be a whole number, got {value}")
        if not minimum <= value <= maximum:
            raise invalid_inputs(f"{name} must be between {minimum} and {maximum}, got {value}")
        return int(value)

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

    @property
    def strict(self) -> bool:
        return self._strict

    def array(self, key: str, *, max_items: int = 100) -> list[Any] | None:
        value = self._get(key, False)
        if value is None:
            return None
        if not isinstance(value, list) or len(value) > max_items:
            raise invalid_inputs(f"{self._name(key)} must be an array of at most {max_items} items")
        return value

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

    def skip(self, key: str) -> None:
        """Accept ``key`` unread (a field the real schema knows but this server ignores)."""
        self._seen.add(key)

    def finish(self) -> None:
        """In strict mode, refuse fields this schema does not know."""
        if not self._strict:
            return
        unknown = sorted(k for k in self._body if k not in self._seen)
        if not unknown:
            return
        hints = [f"send {RENAMED[k]!r} instead of {k!r}" for k in unknown if k in RENAMED]
        names = ", ".join(self._name(k) for k in unknown[:5])
        raise invalid_inputs(f"unknown field(s): {names}" + "".join(f"; {h}" for h in hints))


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
    included_grant: Number | None
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
    customer_entitlement_id: str | None
    next_reset_at: int | None
    expires_at: int | None


@dataclass(frozen=True, slots=True)
class CreateFeatureParams:
    id: str
    name: str
    type: str
    consumable: bool
    event_names: list[str]
    credit_schema: tuple[CreditCost, ...] = ()
    # An ai_credit_system's default_markup, provider_markups and model_markups.
    ai_markups: dict[str, Any] | None = None


def _required_id(fields: _Fields, key: str) -> str:
    value = fields.string(key, required=True)
    assert value is not None
    return value


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
    maximum = rollover.number("max", nullable=True)
    percentage = rollover.number("max_percentage", nullable=True)
    duration = rollover.choice("duration", ROLLOVER_DURATIONS) or "month"
    length = rollover.number("length", required=True)
    assert length is not None
    rollover.finish()
    return RolloverParams(max=maximum, max_percentage=percentage, duration=duration, length=length)


def parse_create_balance(body: dict[str, Any], *, strict: bool = False) -> CreateBalanceParams:
    """The schema of ``POST /v1/balances.create`` (its rules are checked later)."""
    fields = _Fields(body, strict=strict)
    params = CreateBalanceParams(
        customer_id=_required_id(fields, "customer_id"),
        feature_id=_required_id(fields, "feature_id"),
        entity_id=fields.string("entity_id"),
        included_grant=fields.first_of("included_grant", "granted_balance"),
        unlimited=bool(fields.boolean("unlimited")),
        reset=_reset(fields),
        rollover=_rollover(fields),
        expires_at=fields.timestamp("expires_at"),
        next_reset_at=fields.timestamp("next_reset_at"),
        # Autumn ignores an empty balance_id ("if (params.balance_id)").
        balance_id=fields.string("balance_id", empty_is_absent=True),
    )
    fields.finish()
    return params


def parse_update_balance(body: dict[str, Any], *, strict: bool = False) -> UpdateBalanceParams:
    """The schema of ``POST /v1/balances.update``.

    Autumn's schema declares ``remaining`` exclusive with ``add_to_balance``
    and with ``usage``, but its route drops those checks, so every
    combination is accepted here too; ``operations.update_balance`` says
    how they combine.
    """
    fields = _Fields(body, strict=strict)
    params = UpdateBalanceParams(
        customer_id=_required_id(fields, "customer_id"),
        feature_id=_required_id(fields, "feature_id"),
        entity_id=fields.string("entity_id"),
        remaining=fields.first_of("remaining", "current_balance"),
        add_to_balance=fields.number("add_to_balance"),
        usage=fields.number("usage"),
        interval=fields.choice("interval", INTERVALS),
        included_grant=fields.number("included_grant"),
        balance_id=fields.string("balance_id"),
        customer_entitlement_id=fields.string("customer_entitlement_id"),
        next_reset_at=fields.timestamp("next_reset_at"),
        expires_at=fields.timestamp("expires_at"),
    )
    fields.finish()
    return params


def _credit_schema(fields: _Fields) -> tuple[CreditCost, ...]:
    """``[{metered_feature_id, credit_cost}]``: credits per unit of each metered feature."""
    value = fields.array("credit_schema")
    if value is None:
        return ()
    items = []
    for i, raw in enumerate(value):
        where = f"credit_schema[{i}]"
        if not isinstance(raw, dict):
            raise invalid_inputs(f"{where} must be an object, got {json_type_name(raw)}")
        item = _Fields(raw, f"{where}.", strict=fields.strict)
        metered = _required_id(item, "metered_feature_id")
        cost = item.number("credit_cost", required=True)
        assert cost is not None
        item.finish()
        items.append(CreditCost(metered_feature_id=metered, credit_cost=cost))
    return tuple(items)


def parse_create_feature(body: dict[str, Any], *, strict: bool = False) -> CreateFeatureParams:
    """``features.create``: ``{id | feature_id, name?, type, consumable?, event_names?,
    credit_schema?}`` (a credit system needs ``credit_schema``, as Autumn's does)."""
    fields = _Fields(body, strict=strict)
    feature_id = next((i for i in (fields.string("id"), fields.string("feature_id")) if i), None)
    if feature_id is None:
        raise invalid_inputs("id is required")
    name = fields.string("name", max_length=MAX_TEXT_LENGTH) or feature_id
    feature_type = fields.choice("type", FEATURE_TYPES, required=True)
    assert feature_type is not None
    consumable = fields.boolean("consumable")
    event_names = fields.string_list("event_names") or []
    credit_schema = _credit_schema(fields)
    for key in ("default_markup", "provider_markups", "model_markups"):
        fields.skip(key)
    fields.finish()
    ai_markups = parse_ai_markups(body, feature_type)
    if feature_type == "boolean" and consumable:
        raise invalid_inputs("consumable cannot be true for a boolean feature")
    if feature_type in ("credit_system", "ai_credit_system") and consumable is False:
        raise invalid_inputs("consumable: credit system features must be consumable")
    if credit_schema and feature_type != "credit_system":
        raise invalid_inputs("credit_schema is only for features of type credit_system")
    if consumable is None:
        # Metered features are usage-like (they reset) unless said otherwise.
        consumable = feature_type != "boolean"
    return CreateFeatureParams(
        id=feature_id,
        name=name,
        type=feature_type,
        consumable=consumable,
        event_names=event_names,
        credit_schema=credit_schema,
        ai_markups=ai_markups,
    )


# The field reader the usage operations' parsers (``usage.py``) share.
Fields = _Fields
