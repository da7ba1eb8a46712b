"""`balances_update`: set, add to or adjust a customer's balance (POST /v1/balances.update)."""

from __future__ import annotations

from typing import TypedDict

import attrs

from autumn_core import AutumnCore, AutumnSDKError, Result
from autumn_core.seam import Operation, run_operation, tolerate_unknown_fields
from autumn_funcs._options_arg import OptionsArg
from autumn_funcs._reset_interval import ResetInterval, ResetIntervalValue
from autumn_funcs._typing_backports import Required


@attrs.frozen(kw_only=True)
class UpdateBalanceParams:
    """The body of balances.update. Only fields you set are sent.

    `remaining` sets the balance exactly, `add_to_balance` adds (negative
    subtracts); `interval` or `balance_id` picks one balance when the customer
    has several of the feature.

    >>> UpdateBalanceParams(customer_id="cus_123", feature_id="api_calls", remaining=5)
    """

    customer_id: str
    feature_id: str
    entity_id: str | None = None
    remaining: float | None = None
    add_to_balance: float | None = None
    interval: ResetInterval | None = None
    # Fields of API versions after 2.1.
    usage: float | None = None
    included_grant: float | None = None
    balance_id: str | None = None
    next_reset_at: float | None = None
    expires_at: float | None = None


# The same params as dicts, for a type checker (see CreateBalanceParamsDict);
# tests/sdk/test_params_dicts.py keeps them in step with the model.


class _UpdateBalanceOptionalKeys(TypedDict, total=False):
    # The keys UpdateBalanceParamsDict and UpdateBalanceFields share: written once.
    entity_id: str | None
    remaining: float | None
    add_to_balance: float | None
    interval: ResetInterval | ResetIntervalValue | None
    usage: float | None
    included_grant: float | None
    balance_id: str | None
    next_reset_at: float | None
    expires_at: float | None


class UpdateBalanceParamsDict(_UpdateBalanceOptionalKeys, total=False):
    """`UpdateBalanceParams` as a dict, the form `balances_update` takes besides the model.

    >>> params: UpdateBalanceParamsDict = {"customer_id": "cus_123", "feature_id": "api_calls",
    ...                                    "add_to_balance": 100}
    """

    customer_id: Required[str]
    feature_id: Required[str]


class UpdateBalanceFields(_UpdateBalanceOptionalKeys, total=False):
    """The keywords of `autumn.balances.update(customer_id=..., ...)`: the keys of
    `UpdateBalanceParamsDict`, none of them required to a type checker (see
    `CreateBalanceFields`)."""

    customer_id: str
    feature_id: str


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class UpdateBalanceResponse:
    success: bool


UPDATE_BALANCE = Operation(
    "updateBalance",
    "/v1/balances.update",
    UpdateBalanceParams,
    UpdateBalanceResponse,
    fixed_response=UpdateBalanceResponse(success=True),
)


async def balances_update(
    core: AutumnCore,
    params: UpdateBalanceParams | UpdateBalanceParamsDict,
    options: OptionsArg = None,
) -> Result[UpdateBalanceResponse, AutumnSDKError]:
    """Update a customer balance. Returns `Ok(UpdateBalanceResponse)` or `Err(error)`;
    never raises for a failure.

    >>> res = await balances_update(core, {"customer_id": "cus_123", "feature_id": "api_calls",
    ...                                    "add_to_balance": 100})
    """
    return await run_operation(core, UPDATE_BALANCE, params, options)
