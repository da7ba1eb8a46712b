"""`balances_update`: set, add to or adjust a customer's balance (POST /v1/balances.update)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypedDict, cast

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
# Autumn runs an update's steps one by one and keeps those applied when a later one
# fails (server/src/internal/balances/updateBalance/v2/updateBalanceV2.ts): with more
# than one step, a failed attempt may leave some applied and the key freed.
UPDATE_BALANCE_IN_STEPS = attrs.evolve(UPDATE_BALANCE, atomic=False)
# The fields of each step, in the order Autumn runs them.
_STEPS = (
    ("add_to_balance", "remaining", "current_balance"),
    ("usage",),
    ("included_grant",),
    ("next_reset_at",),
    ("expires_at",),
)


def _steps(params: object) -> int:
    """How many of Autumn's update steps the params ask for."""
    if isinstance(params, Mapping):
        fields = cast("Mapping[str, object]", params)
        present = {name for name, value in fields.items() if value is not None}
    elif isinstance(params, UpdateBalanceParams):
        present = {
            a.name for a in attrs.fields(UpdateBalanceParams) if getattr(params, a.name) is not None
        }
    else:
        return 0  # not params at all: refused by name when structured
    return sum(1 for step in _STEPS if present.intersection(step))


async def balances_update(
    core: AutumnCore,
    params: UpdateBalanceParams | UpdateBalanceParamsDict,
    options: OptionsArg = None,
) -> Result[UpdateBalanceResponse, AutumnSDKError]:
    """Update a customer balance. Returns `Ok(UpdateBalanceResponse)` or `Err(error)`;
    never raises for a failure.

    One field is one step, applied once whatever the retries. Several fields are
    several steps to the server, not one transaction: an error after which some
    may be applied says so (`applied` "unknown", `may_be_partial`), and the call
    is not resent (see docs/update-steps.md).

    >>> res = await balances_update(core, {"customer_id": "cus_123", "feature_id": "api_calls",
    ...                                    "add_to_balance": 100})
    """
    operation = UPDATE_BALANCE_IN_STEPS if _steps(params) > 1 else UPDATE_BALANCE
    return await run_operation(core, operation, params, options)
