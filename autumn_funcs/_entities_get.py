"""`entities_get`: read an entity (a seat, a workspace) and its balances
(POST /v1/entities.get)."""

from __future__ import annotations

from typing import TypedDict

import attrs

from autumn_core import AutumnCore, AutumnSDKError, Result
from autumn_core.seam import Operation, run_operation, tolerate_unknown_fields
from autumn_funcs._balance_view import Balance, Flag
from autumn_funcs._customer_view import BillingControls, Invoice, Purchase, Subscription
from autumn_funcs._options_arg import OptionsArg
from autumn_funcs._typing_backports import Required


@attrs.frozen(kw_only=True)
class GetEntityParams:
    """The body of entities.get. Only fields you set are sent.

    >>> GetEntityParams(customer_id="cus_123", entity_id="seat_1")
    >>> GetEntityParams(entity_id="seat_1")

    Without `customer_id` Autumn finds the customer from the entity; when two customers
    have an entity with that id it answers 400 `entity_id_required`.
    """

    customer_id: str | None = None
    entity_id: str


class GetEntityParamsDict(TypedDict, total=False):
    """`GetEntityParams` as a dict: `{"customer_id": "cus_123", "entity_id": "seat_1"}`."""

    customer_id: str | None
    entity_id: Required[str]


class GetEntityFields(TypedDict, total=False):
    """The keywords of `autumn.entities.get(entity_id=..., ...)`: the keys of
    `GetEntityParamsDict`, none required to a type checker (see `CreateBalanceFields`)."""

    customer_id: str | None
    entity_id: str


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class Entity:
    """An entity with its balances: its own and its customer's, together (what a check
    or track with this `entity_id` draws from). `env`: `"sandbox"` or `"live"`;
    `invoices` only when asked for."""

    id: str | None
    name: str | None
    customer_id: str | None = None
    feature_id: str | None = None
    created_at: float
    env: str
    subscriptions: list[Subscription]
    purchases: list[Purchase]
    balances: dict[str, Balance]
    flags: dict[str, Flag]
    billing_controls: BillingControls | None = None
    invoices: list[Invoice] | None = None


# A read: no Idempotency-Key, so a retry after a lost answer gets the answer.
GET_ENTITY = Operation("getEntity", "/v1/entities.get", GetEntityParams, Entity, writes=False)


async def entities_get(
    core: AutumnCore,
    params: GetEntityParams | GetEntityParamsDict,
    options: OptionsArg = None,
) -> Result[Entity, AutumnSDKError]:
    """Read an entity, with its balances and flags. Returns `Ok(Entity)` or `Err(error)`;
    never raises for a failure.

    >>> res = await entities_get(core, {"customer_id": "cus_123", "entity_id": "seat_1"})
    """
    return await run_operation(core, GET_ENTITY, params, options)
