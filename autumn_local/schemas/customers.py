"""Request bodies of ``customers.get``, ``customers.get_or_create`` and ``entities.get``.

As Autumn's ``shared/api/common/customerId.ts`` and ``customerData.ts``,
``customers/crud/createCustomerParams.ts`` / ``getCustomerParams.ts`` and
``entities/crud/getEntityParams.ts`` read them:

- A customer id named by the two customer calls is letters, digits, ``_``,
  ``-`` and ``:`` only (400 ``invalid_inputs`` otherwise; check and track
  accept any string). ``get_or_create`` takes ``customer_id: null``.
- An email must look like one (zod's ``unicodeEmail``): 400 ``invalid_inputs``.
- ``expand`` is an array of Autumn's CustomerExpand values (for
  ``customers.get`` also a comma-separated string).
- ``entities.get`` needs only ``entity_id``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from autumn_local.schemas.balances import MAX_TEXT_LENGTH, Fields, json_type_name
from autumn_local.schemas.errors import invalid_inputs

__all__ = [
    "CUSTOMER_EXPAND",
    "CustomerData",
    "GetCustomerParams",
    "GetEntityParams",
    "GetOrCreateParams",
    "customer_id_problem",
    "parse_get_customer",
    "parse_get_entity",
    "parse_get_or_create",
]

# Autumn's CustomerExpand enum, in its order.
CUSTOMER_EXPAND = (
    "invoices",
    "invoice_previews",
    "trials_used",
    "rewards",
    "entities",
    "referrals",
    "payment_method",
    "subscriptions.plan",
    "purchases.plan",
    "balances.feature",
    "flags.feature",
    "billing_controls.auto_topups.purchase_limit",
)
# Fields of Autumn's CustomerData (and the get_or_create body) that only
# matter with plans or Stripe: accepted, not kept.
_ACCEPTED_UNREAD = (
    "stripe_id",
    "create_in_stripe",
    "auto_enable_plan_id",
    "processors",
    "currency",
    "billing_controls",
    "config",
    "internal_options",
    "entity_id",
    "entity_data",
    "with_autumn_id",
    "skip_cache",
)
_ALLOWED = "Use only letters, numbers, underscores, hyphens, and colons."
_ID_CHARACTERS = re.compile(r"[a-zA-Z0-9_:-]+")
_NOT_ID_CHARACTER = re.compile(r"[^a-zA-Z0-9_:-]")
# zod's ``z.regexes.unicodeEmail``, which Autumn's CustomerEmailSchema uses.
_EMAIL = re.compile(r'[^\s@"]{1,64}@[^\s@]{1,255}')


def customer_id_problem(value: str) -> str | None:
    """Why ``value`` is not a customer id Autumn accepts here (``CustomerIdSchema``), or None."""
    if _ID_CHARACTERS.fullmatch(value):
        return None
    if value == "":
        return "can't be an empty string"
    for character, what in (("@", "@ symbol"), (" ", "spaces"), (".", "periods")):
        if character in value:
            return f"cannot contain {what}. {_ALLOWED}"
    found = _NOT_ID_CHARACTER.search(value)
    return f"cannot contain {found.group() if found else value!r}. {_ALLOWED}"


@dataclass(frozen=True, slots=True)
class CustomerData:
    """What a get_or_create body says about the customer."""

    name: str | None
    email: str | None
    fingerprint: str | None
    metadata: dict[str, Any] | None
    send_email_receipts: bool | None


@dataclass(frozen=True, slots=True)
class GetCustomerParams:
    customer_id: str
    expand: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GetOrCreateParams:
    customer_id: str | None
    data: CustomerData
    expand: tuple[str, ...]


def _customer_id(fields: Fields, *, nullable: bool) -> str | None:
    value = fields.string("customer_id", required=True, nullable=nullable)
    if value is not None:
        problem = customer_id_problem(value)
        if problem is not None:
            raise invalid_inputs(f"customer_id {problem}")
    return value


def _expand(body: dict[str, Any], fields: Fields, *, comma_string: bool) -> tuple[str, ...]:
    fields.skip("expand")
    value = body.get("expand")
    if value is None and "expand" not in body:
        return ()
    if comma_string and isinstance(value, str):
        value = [part.strip() for part in value.split(",")]
    if not isinstance(value, list):
        raise invalid_inputs(f"expand must be an array, got {json_type_name(value)}")
    for i, item in enumerate(value):
        if item not in CUSTOMER_EXPAND:
            raise invalid_inputs(
                f"expand[{i}] must be one of {', '.join(CUSTOMER_EXPAND)}; got {item!r}"
            )
    return tuple(value)


def _metadata(body: dict[str, Any], fields: Fields) -> dict[str, Any] | None:
    fields.skip("metadata")
    value = body.get("metadata")
    if value is not None and not isinstance(value, dict):
        raise invalid_inputs(f"metadata must be an object, got {json_type_name(value)}")
    return value


def _customer_data(body: dict[str, Any], fields: Fields) -> CustomerData:
    email = fields.string("email", max_length=MAX_TEXT_LENGTH, nullable=True)
    if email is not None and not _EMAIL.fullmatch(email):
        raise invalid_inputs("email: not a valid email address")
    return CustomerData(
        name=fields.string("name", max_length=MAX_TEXT_LENGTH, nullable=True),
        email=email,
        fingerprint=fields.string("fingerprint", max_length=MAX_TEXT_LENGTH, nullable=True),
        metadata=_metadata(body, fields),
        send_email_receipts=fields.boolean("send_email_receipts"),
    )


def parse_get_customer(body: dict[str, Any], *, strict: bool = False) -> GetCustomerParams:
    """``customers.get``: ``{customer_id, expand?}``."""
    fields = Fields(body, strict=strict)
    customer_id = _customer_id(fields, nullable=False)
    assert customer_id is not None
    params = GetCustomerParams(customer_id, _expand(body, fields, comma_string=True))
    for key in ("with_autumn_id", "skip_cache"):
        fields.skip(key)
    fields.finish()
    return params


def parse_get_or_create(body: dict[str, Any], *, strict: bool = False) -> GetOrCreateParams:
    """``customers.get_or_create``: ``{customer_id (may be null), CustomerData..., expand?}``."""
    fields = Fields(body, strict=strict)
    params = GetOrCreateParams(
        customer_id=_customer_id(fields, nullable=True),
        data=_customer_data(body, fields),
        expand=_expand(body, fields, comma_string=False),
    )
    for key in _ACCEPTED_UNREAD:
        fields.skip(key)
    fields.finish()
    return params


@dataclass(frozen=True, slots=True)
class GetEntityParams:
    customer_id: str | None
    entity_id: str


def parse_get_entity(body: dict[str, Any], *, strict: bool = False) -> GetEntityParams:
    """``entities.get``: ``{customer_id?, entity_id}`` (``GetEntityParamsV0Schema``)."""
    fields = Fields(body, strict=strict)
    customer_id = fields.string("customer_id")
    entity_id = fields.string("entity_id", required=True)
    assert entity_id is not None
    fields.finish()
    return GetEntityParams(customer_id, entity_id)
