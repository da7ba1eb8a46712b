"""Schema checks for the bodies of ``balances.check``, ``track``, ``delete`` and ``finalize``.

The fields and refinements of Autumn's ``CheckParamsSchema``,
``TrackParamsSchema``, ``DeleteBalanceParamsV0Schema`` and
``FinalizeLockParamsV0Schema`` (``shared/api/balances/``); every refusal is a
400 ``invalid_inputs`` naming the field, like the other schemas here
(``balances.py``). Internal fields Autumn accepts (``skip_event``,
``customer_data``, ``lock.hashed_key``...) are read or ignored, never refused.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from autumn_local.schemas.balances import (
    INTERVALS,
    MAX_ID_LENGTH,
    MAX_SAFE_NUMBER,
    MAX_TIMESTAMP_MS,
    Fields,
    Number,
)
from autumn_local.schemas.errors import invalid_inputs

__all__ = [
    "OVERAGE_BEHAVIORS",
    "CheckParams",
    "DeleteParams",
    "FinalizeParams",
    "LockParams",
    "TrackParams",
    "parse_check",
    "parse_delete",
    "parse_finalize",
    "parse_timestamp",
    "parse_track",
]

_INTERNAL = ("customer_data", "entity_data", "skip_event")


# What a track may ask for; "allow" is internal: recalculating balances after a
# delete deducts with it.
OVERAGE_BEHAVIORS = ("cap", "overflow", "reject")


@dataclass(frozen=True, slots=True)
class LockParams:
    lock_id: str
    expires_at: Number | None


@dataclass(frozen=True, slots=True)
class CheckParams:
    customer_id: str
    feature_id: str | None
    product_id: str | None
    entity_id: str | None
    required_balance: Number | None
    properties: dict[str, Any] | None
    send_event: bool
    lock: LockParams | None
    with_preview: bool


@dataclass(frozen=True, slots=True)
class TrackParams:
    customer_id: str
    feature_id: str | None
    event_name: str | None
    entity_id: str | None
    value: Number | None
    properties: dict[str, Any] | None
    idempotency_key: str | None
    timestamp: int | None
    overage_behavior: str
    run_async: bool
    lock: LockParams | None


@dataclass(frozen=True, slots=True)
class DeleteParams:
    customer_id: str
    entity_id: str | None
    feature_id: str | None
    balance_id: str | None
    recalculate_balances: bool
    interval: str | None


@dataclass(frozen=True, slots=True)
class FinalizeParams:
    lock_id: str
    action: str
    override_value: Number | None
    properties: dict[str, Any] | None


def _customer_id(fields: Fields) -> str:
    value = fields.string("customer_id", required=True)
    assert value is not None
    return value


def _properties(fields: Fields, body: dict[str, Any]) -> dict[str, Any] | None:
    if fields.object("properties") is None:
        return None
    properties: dict[str, Any] = body["properties"]
    return properties


def _lock(fields: Fields) -> LockParams | None:
    lock = fields.object("lock")
    if lock is None:
        return None
    lock_id = lock.string("lock_id", required=True)
    assert lock_id is not None
    if lock.boolean("enabled") is not True:
        raise invalid_inputs("lock.enabled must be true (omit lock to check without one)")
    lock.string("hashed_key")
    expires_at = lock.number("expires_at")
    if expires_at is not None and not 0 < expires_at <= MAX_TIMESTAMP_MS:
        # Autumn passes it on to Redis as an expiry time, which refuses one
        # that is negative or beyond its range: bounded as every timestamp here.
        raise invalid_inputs(
            f"lock.expires_at must be a Unix timestamp in milliseconds between 1 and "
            f"{MAX_TIMESTAMP_MS}"
        )
    lock.finish()
    return LockParams(lock_id=lock_id, expires_at=expires_at)


def _ignore_internal(fields: Fields) -> None:
    for key in _INTERNAL:
        fields.skip(key)


def parse_check(body: dict[str, Any], *, strict: bool = False) -> CheckParams:
    """``POST /v1/balances.check``: a feature (or a legacy product) and how much is needed."""
    fields = Fields(body, strict=strict)
    customer_id = _customer_id(fields)
    feature_id = fields.string("feature_id")
    product_id = fields.string("product_id")
    if (feature_id is None) == (product_id is None):
        raise invalid_inputs("Must provide either product_id or feature_id (feature_id, not both)")
    required = fields.number("required_balance")
    legacy_required = fields.number("required_quantity")
    params = CheckParams(
        customer_id=customer_id,
        feature_id=feature_id,
        product_id=product_id,
        entity_id=fields.string("entity_id"),
        required_balance=required if required is not None else legacy_required,
        properties=_properties(fields, body),
        send_event=bool(fields.boolean("send_event")),
        lock=_lock(fields),
        with_preview=bool(fields.boolean("with_preview")),
    )
    _ignore_internal(fields)
    fields.finish()
    return params


def parse_timestamp(fields: Fields, now_ms: int) -> int | None:
    value = fields.number("timestamp")
    if value is None:
        return None
    if isinstance(value, float) and not value.is_integer():
        raise invalid_inputs(f"timestamp must be a whole number of milliseconds, got {value}")
    if not 0 < value <= MAX_TIMESTAMP_MS:
        raise invalid_inputs("timestamp must be a positive Unix timestamp in milliseconds")
    if value > now_ms:
        raise invalid_inputs("timestamp cannot be in the future")
    return int(value)


# The fields of the usual track (a batch item sent by a usage recorder), all
# strings but `value`. A body of these alone, each well formed, is read by
# `_plain_track`; any other body takes the full path, with its errors.
_PLAIN_STRINGS = frozenset(
    ("customer_id", "feature_id", "event_name", "entity_id", "idempotency_key")
)
_PLAIN_FIELDS = _PLAIN_STRINGS | {"value"}
# A string `Fields.string` accepts: 1 to MAX_ID_LENGTH characters, none a control
# character (and not all whitespace, checked apart).
_PLAIN_STRING = re.compile(rf"[^\x00-\x1f\x7f]{{1,{MAX_ID_LENGTH}}}")


def _plain_track(body: dict[str, Any]) -> TrackParams | None:
    """``body`` read as `parse_track` reads it, when it holds only plain fields, each
    valid; else None, and `parse_track` reads it field by field (and names what
    is wrong). Up to 1,000 of these per batch: a third of a batch's time went to
    the general reader."""
    if not body.keys() <= _PLAIN_FIELDS:
        return None
    for key in _PLAIN_STRINGS.intersection(body):
        text = body[key]
        plain = type(text) is str and _PLAIN_STRING.fullmatch(text) and not text.isspace()
        if not plain and not (key == "idempotency_key" and text == ""):  # "": no key, as in Fields
            return None
    value: Any = body.get("value")
    if "value" in body and not (
        type(value) in (int, float) and abs(value) <= MAX_SAFE_NUMBER and math.isfinite(value)
    ):
        return None
    customer_id = body.get("customer_id")
    feature_id = body.get("feature_id")
    event_name = body.get("event_name")
    if customer_id is None or (feature_id is None) == (event_name is None):
        return None
    return TrackParams(
        customer_id=customer_id,
        feature_id=feature_id,
        event_name=event_name,
        entity_id=body.get("entity_id"),
        value=value,
        properties=None,
        idempotency_key=body.get("idempotency_key") or None,
        timestamp=None,
        overage_behavior="cap",
        run_async=False,
        lock=None,
    )


def parse_track(body: dict[str, Any], now_ms: int, *, strict: bool = False) -> TrackParams:
    """``POST /v1/balances.track``: ``feature_id`` or ``event_name``, and a value."""
    plain = _plain_track(body)
    if plain is not None:
        return plain
    fields = Fields(body, strict=strict)
    customer_id = _customer_id(fields)
    feature_id = fields.string("feature_id")
    event_name = fields.string("event_name")
    if (feature_id is None) == (event_name is None):
        raise invalid_inputs("Either feature_id or event_name must be provided (not both)")
    params = TrackParams(
        customer_id=customer_id,
        feature_id=feature_id,
        event_name=event_name,
        entity_id=fields.string("entity_id"),
        value=fields.number("value"),
        properties=_properties(fields, body),
        idempotency_key=fields.string("idempotency_key", empty_is_absent=True),
        timestamp=parse_timestamp(fields, now_ms),
        overage_behavior=fields.choice("overage_behavior", OVERAGE_BEHAVIORS) or "cap",
        run_async=bool(fields.boolean("async")),
        lock=_lock(fields),
    )
    _ignore_internal(fields)
    fields.finish()
    return params


def parse_delete(body: dict[str, Any], *, strict: bool = False) -> DeleteParams:
    """``POST /v1/balances.delete``: which of a customer's balances to remove."""
    fields = Fields(body, strict=strict)
    params = DeleteParams(
        customer_id=_customer_id(fields),
        entity_id=fields.string("entity_id"),
        feature_id=fields.string("feature_id"),
        balance_id=fields.string("balance_id"),
        recalculate_balances=bool(fields.boolean("recalculate_balances")),
        interval=fields.choice("interval", INTERVALS),
    )
    fields.finish()
    return params


def parse_finalize(body: dict[str, Any], *, strict: bool = False) -> FinalizeParams:
    """``POST /v1/balances.finalize``: confirm or release a lock."""
    fields = Fields(body, strict=strict)
    lock_id = fields.string("lock_id", required=True)
    action = fields.choice("action", ("confirm", "release"), required=True)
    assert lock_id is not None and action is not None
    override_value = fields.number("override_value")
    if action == "release" and override_value is not None:
        raise invalid_inputs("override_value cannot be provided when action is release")
    params = FinalizeParams(
        lock_id=lock_id,
        action=action,
        override_value=override_value,
        properties=_properties(fields, body),
    )
    fields.finish()
    return params
