"""`customers_get_or_create`: read a customer, creating it first if it does not exist
(POST /v1/customers.get_or_create)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict, cast

import attrs

from autumn_core import AutumnCore, AutumnSDKError, Result
from autumn_core.seam import Operation, run_operation
from autumn_funcs._customer_view import Customer, CustomerExpand, CustomerExpandValue
from autumn_funcs._options_arg import OptionsArg
from autumn_funcs._typing_backports import Required


@attrs.frozen(kw_only=True)
class CustomerConfigParams:
    """Per-customer settings: `disable_pooled_balance` stops entities from drawing on the
    customer's balances; `disable_overage_billing` stops overage charges in Stripe."""

    disable_pooled_balance: bool | None = None
    disable_overage_billing: bool | None = None


@attrs.frozen(kw_only=True)
class GetOrCreateCustomerParams:
    """The body of customers.get_or_create. Only fields you set are sent, except
    `customer_id`, which is required and may be None.

    >>> GetOrCreateCustomerParams(customer_id="cus_123", name="Ada", email="ada@example.com")

    `customer_id` (letters, digits, `_`, `-` and `:` only) finds the customer, or names
    the one created. None needs an `email`: Autumn returns the customer created without
    an id with that email (any case), or creates one whose `id` is None. A later call
    with an id and that email gives that customer the id.

    The other fields describe the customer to create. On an existing customer Autumn
    only fills an empty `name` or `email` (never overwrites one) and sets
    `send_email_receipts` when sent; the rest is not updated. `billing_controls` is
    sent as given, in Autumn's shape (`{"spend_limits": [...], "usage_limits": [...],
    ...}`), and checked by Autumn.
    """

    customer_id: str | None
    name: str | None = None
    email: str | None = None
    fingerprint: str | None = None
    metadata: dict[str, Any] | None = None
    stripe_id: str | None = None
    create_in_stripe: bool | None = None
    auto_enable_plan_id: str | None = None
    send_email_receipts: bool | None = None
    currency: str | None = None
    billing_controls: dict[str, Any] | None = None
    config: CustomerConfigParams | None = None
    expand: list[CustomerExpand] | None = None


class CustomerConfigParamsDict(TypedDict, total=False):
    """`CustomerConfigParams` as a dict: `{"disable_pooled_balance": True}`."""

    disable_pooled_balance: bool | None
    disable_overage_billing: bool | None


class _GetOrCreateCustomerOptionalKeys(TypedDict, total=False):
    # The keys GetOrCreateCustomerParamsDict and GetOrCreateCustomerFields share: written once.
    name: str | None
    email: str | None
    fingerprint: str | None
    metadata: dict[str, Any] | None
    stripe_id: str | None
    create_in_stripe: bool | None
    auto_enable_plan_id: str | None
    send_email_receipts: bool | None
    currency: str | None
    billing_controls: dict[str, Any] | None
    config: CustomerConfigParams | CustomerConfigParamsDict | None
    expand: list[CustomerExpand | CustomerExpandValue] | None


class GetOrCreateCustomerParamsDict(_GetOrCreateCustomerOptionalKeys, total=False):
    """`GetOrCreateCustomerParams` as a dict: `{"customer_id": "cus_123", "name": "Ada"}`."""

    customer_id: Required[str | None]


class GetOrCreateCustomerFields(_GetOrCreateCustomerOptionalKeys, total=False):
    """The keywords of `autumn.customers.get_or_create(customer_id=..., ...)`: the keys of
    `GetOrCreateCustomerParamsDict`, none required to a type checker (see
    `CreateBalanceFields`)."""

    customer_id: str | None


# The call is idempotent by its customer_id, or without one by its email (the
# customer created without an id with that email is returned): a repeat returns
# the customer the first call created. It sends no Idempotency-Key, so that a
# retry after a lost answer gets the customer instead of Autumn's 409 for a
# reused key -- unless the caller gives one.
GET_OR_CREATE_CUSTOMER = Operation(
    "getOrCreateCustomer",
    "/v1/customers.get_or_create",
    GetOrCreateCustomerParams,
    Customer,
    writes=False,
)
GET_OR_CREATE_CUSTOMER_KEYED = attrs.evolve(GET_OR_CREATE_CUSTOMER, writes=True)


def _field(thing: object, name: str) -> object:
    if isinstance(thing, Mapping):
        return cast("Mapping[str, object]", thing).get(name)
    return getattr(thing, name, None)


async def customers_get_or_create(
    core: AutumnCore,
    params: GetOrCreateCustomerParams | GetOrCreateCustomerParamsDict,
    options: OptionsArg = None,
) -> Result[Customer, AutumnSDKError]:
    """Read a customer, creating it if it does not exist. Returns `Ok(Customer)` or
    `Err(error)`; never raises for a failure.

    >>> res = await customers_get_or_create(core, {"customer_id": "cus_123", "name": "Ada"})

    No Idempotency-Key is sent (the `customer_id`, or without one the `email`, makes
    repeats safe), unless you give one in `options.idempotency_key`.
    """
    keyed = options is not None and _field(options, "idempotency_key") is not None
    operation = GET_OR_CREATE_CUSTOMER_KEYED if keyed else GET_OR_CREATE_CUSTOMER
    return await run_operation(core, operation, params, options)
