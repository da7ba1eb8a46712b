"""Customers and entities as Autumn's server finds and creates them.

From Autumn's ``customers/actions/createWithDefaults/``,
``CusService.insertOrClaimEmail``, ``cusUtils/initCustomer.ts``,
``actions/updateCustomerData.ts`` and ``entities/handlers/handleGetEntity/``:

- ``get_or_create`` with ``customer_id: null`` needs an email (400
  ``invalid_request``): it returns the customer created without an id with
  that email (any case), or creates one whose ``id`` is null. With an id it
  finds that customer; when there is none and an id-less customer has the
  email, that customer is given the id; else a new customer is created.
- A new customer keeps ``name``, ``email``, ``fingerprint``, ``metadata`` and
  ``send_email_receipts``. On an existing one, an empty name or email is
  filled (never overwritten) and ``send_email_receipts`` is set when sent;
  nothing else changes.
- ``entities.get`` without ``customer_id`` finds the customer from the
  entity: none is 500 (Autumn's InternalError), several is 400
  ``entity_id_required``; a customer or entity not found is 404
  ``entity_not_found``.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from autumn_local.schemas.customers import CustomerData, GetEntityParams, GetOrCreateParams
from autumn_local.schemas.errors import ApiError, invalid_request
from autumn_local.store.database import CustomerRow, EntityRow, Store
from autumn_local.store.ids import new_customer_key

__all__ = ["find_entity", "get_or_create", "require_customer"]


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
    return dataclasses.replace(customer, **changes)


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
