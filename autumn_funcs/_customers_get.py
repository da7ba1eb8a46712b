"""`customers_get`: read a customer and its balances (POST /v1/customers.get)."""

from __future__ import annotations

from typing import TypedDict

import attrs

from autumn_core import AutumnCore, AutumnSDKError, Result
from autumn_core.seam import Operation, run_operation
from autumn_funcs._customer_view import Customer, CustomerExpand, CustomerExpandValue
from autumn_funcs._options_arg import OptionsArg
from autumn_funcs._typing_backports import Required


@attrs.frozen(kw_only=True)
class GetCustomerParams:
    """The body of customers.get. Only fields you set are sent.

    >>> GetCustomerParams(customer_id="cus_123", expand=[CustomerExpand.ENTITIES])
    """

    customer_id: str
    expand: list[CustomerExpand] | None = None


class GetCustomerParamsDict(TypedDict, total=False):
    """`GetCustomerParams` as a dict: `{"customer_id": "cus_123"}`."""

    customer_id: Required[str]
    expand: list[CustomerExpand | CustomerExpandValue] | None


class GetCustomerFields(TypedDict, total=False):
    """The keywords of `autumn.customers.get(customer_id=..., ...)`: the keys of
    `GetCustomerParamsDict`, none required to a type checker (see `CreateBalanceFields`)."""

    customer_id: str
    expand: list[CustomerExpand | CustomerExpandValue] | None


# A read: no Idempotency-Key, so a retry after a lost answer gets the answer.
GET_CUSTOMER = Operation(
    "getCustomer", "/v1/customers.get", GetCustomerParams, Customer, writes=False
)


async def customers_get(
    core: AutumnCore,
    params: GetCustomerParams | GetCustomerParamsDict,
    options: OptionsArg = None,
) -> Result[Customer, AutumnSDKError]:
    """Read a customer, with its balances and flags. Returns `Ok(Customer)` or `Err(error)`
    (404 `customer_not_found` for an unknown id); never raises for a failure.

    >>> res = await customers_get(core, {"customer_id": "cus_123"})
    >>> if res.ok: print(res.value.balances["api_calls"].remaining)
    """
    return await run_operation(core, GET_CUSTOMER, params, options)
