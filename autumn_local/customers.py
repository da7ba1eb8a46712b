"""``customers.get``, ``customers.get_or_create`` and ``entities.get`` as Autumn's server does them.

From Autumn's ``shared/api/common/customerId.ts`` and ``customerData.ts``,
``customers/actions/createWithDefaults/``, ``CusService.insertOrClaimEmail``,
``updateCustomerData.ts`` and ``entities/handlers/handleGetEntity/``:

- A customer id named by these two calls is letters, digits, ``_``, ``-`` and
  ``:`` only (400 ``invalid_inputs`` otherwise; check and track accept any
  string). An email must look like one (400 ``invalid_inputs``).
- ``get_or_create`` with ``customer_id: null`` needs an email (400
  ``invalid_request``): it returns the customer created without an id with
  that email (any case), or creates one whose ``id`` is null. With an id it
  finds that customer; when there is none and an id-less customer has the
  email, that customer is given the id; else a new customer is created.
- A new customer keeps ``name``, ``email``, ``fingerprint``, ``metadata`` and
  ``send_email_receipts``. On an existing one, an empty name or email is
  filled (never overwritten) and ``send_email_receipts`` is set when sent;
  nothing else changes.
- ``expand`` (an array, or for ``customers.get`` also a comma-separated
  string) adds fields to the customer view; see ``views.customer_view``.
- ``entities.get`` without ``customer_id`` finds the customer from the
  entity: none is 500 (Autumn's InternalError), several is 400
  ``entity_id_required``; a customer or entity not found is 404
  ``entity_not_found``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from autumn_local.errors import ApiError, invalid_inputs, invalid_request
from autumn_local.ids import new_customer_key
from autumn_local.store import CustomerRow, EntityRow, Store
from autumn_local.validation import MAX_TEXT_LENGTH, Fields, json_type_name

__all__ = [
    "CUSTOMER_EXPAND",
    "CustomerData",
    "GetCustomerParams",
    "GetOrCreateParams",
    "customer_id_problem",
    "find_entity",
    "get_or_create",
    "parse_get",
    "parse_get_entity",
    "parse_get_or_create",
    "require_customer",
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


def parse_get(body: dict[str, Any], *, strict: bool = False) -> GetCustomerParams:
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


def require_customer(store: Store, customer_id: str) -> CustomerRow:
    customer = store.customer(customer_id)
    if customer is None:
        raise ApiError(404, "customer_not_found", f"Customer {customer_id} not found")
    return customer


def _new_customer(customer_id: str | None, data: CustomerData, now_ms: int) -> CustomerRow:
    """Autumn's ``initCustomer``."""
    return CustomerRow(
        id=new_customer_key() if customer_id is None else customer_id,
        name=data.name or "",
        email=data.email or "",
        created_at=now_ms,
        fingerprint=data.fingerprint,
        metadata=json.dumps(data.metadata or {}),
        send_email_receipts=bool(data.send_email_receipts),
        has_id=customer_id is not None,
    )


def _create(store: Store, p: GetOrCreateParams, now_ms: int) -> CustomerRow:
    """``createCustomerWithDefaults``: create, or return / claim the id-less customer."""
    if p.customer_id is None and not p.data.email:
        raise invalid_request("Either customer ID or email is required")
    existing = store.customer_without_id(p.data.email) if p.data.email else None
    if existing is None:
        created = _new_customer(p.customer_id, p.data, now_ms)
        store.insert_customer(created)
        return created
    if p.customer_id is None:
        return existing
    store.give_customer_id(existing.id, p.customer_id)
    claimed = store.customer(p.customer_id)
    assert claimed is not None
    return claimed


def _filled_in(customer: CustomerRow, data: CustomerData) -> CustomerRow | None:
    """``updateCustomerData``: the customer with what the call may change, or None."""
    changes: dict[str, Any] = {}
    if not customer.name and data.name:
        changes["name"] = data.name
    if not customer.email and data.email:
        changes["email"] = data.email
    if data.send_email_receipts is not None and data.send_email_receipts != bool(
        customer.send_email_receipts
    ):
        changes["send_email_receipts"] = data.send_email_receipts
    if not changes:
        return None
    fields = {name: getattr(customer, name) for name in CustomerRow.__dataclass_fields__}
    return CustomerRow(**(fields | changes))


def get_or_create(store: Store, p: GetOrCreateParams, now_ms: int) -> CustomerRow:
    """The customer the call names, created first when there is none."""
    customer = None if p.customer_id is None else store.customer(p.customer_id)
    if customer is None:
        customer = _create(store, p, now_ms)
    updated = _filled_in(customer, p.data)
    if updated is None:
        return customer
    store.update_customer(updated)
    return updated


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


def _entity_customer(store: Store, entity_id: str) -> str:
    """``findCustomerForEntity``: the one customer with an entity of that id."""
    found = store.entities_named(entity_id)
    if len(found) > 1:
        raise ApiError(
            400,
            "entity_id_required",
            f"More than one customer has an entity with ID '{entity_id}'. Include"
            " customer_id in the request so we know which one to use.",
        )
    if not found:
        raise ApiError(500, "internal_error", f"No entities found for entityId {entity_id}")
    return found[0].customer_id


def find_entity(store: Store, p: GetEntityParams) -> tuple[CustomerRow, EntityRow]:
    """The entity ``entities.get`` shows, with its customer."""
    customer_id = p.customer_id or _entity_customer(store, p.entity_id)
    customer = store.customer(customer_id)
    entity = store.entity(customer_id, p.entity_id)
    if customer is None or entity is None:
        # Autumn looks the subject up in one go: a missing customer is a missing entity.
        raise ApiError(404, "entity_not_found", f"Entity {p.entity_id} not found")
    return customer, entity
