"""`balances_create`: grant a customer a balance of a feature (POST /v1/balances.create)."""

from __future__ import annotations

from enum import Enum
from typing import Literal, TypeAlias, TypedDict

import attrs

from autumn_core import AutumnCore, AutumnSDKError, Result, SDKValidationError
from autumn_core.seam import Operation, apply_rules, run_operation, tolerate_unknown_fields
from autumn_funcs._options_arg import OptionsArg
from autumn_funcs._reset_interval import ResetInterval, ResetIntervalValue
from autumn_funcs._typing_backports import Required


@attrs.frozen(kw_only=True)
class Reset:
    """When a balance returns to its granted amount; `interval_count` defaults to 1 server-side."""

    interval: ResetInterval
    interval_count: float | None = None


class RolloverDuration(str, Enum):
    """How long rolled-over balance lasts (plain strings work too)."""

    MONTH = "month"
    FOREVER = "forever"


RolloverDurationValue: TypeAlias = Literal["month", "forever"]


@attrs.frozen(kw_only=True)
class Rollover:
    """What is left at a reset carries over (API versions after 2.1)."""

    length: float
    max: float | None = None
    max_percentage: float | None = None
    duration: RolloverDuration | None = None


@attrs.frozen(kw_only=True)
class CreateBalanceParams:
    """The body of balances.create. Only fields you set are sent.

    >>> CreateBalanceParams(customer_id="cus_123", feature_id="api_calls", included_grant=1000,
    ...                     reset=Reset(interval=ResetInterval.MONTH))

    `included_grant` is the amount granted. `included` (the name in Autumn's
    SDK docs) and `granted_balance` (the server's internal alias) are accepted
    for it and sent as `included_grant`: Autumn's server silently drops an
    `included` field, which would create a balance without a grant. Set only one.
    """

    customer_id: str
    feature_id: str
    entity_id: str | None = None
    included_grant: float | None = None
    unlimited: bool | None = None
    reset: Reset | None = None
    expires_at: float | None = None
    rollover: Rollover | None = None
    next_reset_at: float | None = None
    balance_id: str | None = None
    included: float | None = None
    granted_balance: float | None = None

    @staticmethod
    def _rules(
        included_grant: float | None, included: float | None, granted_balance: float | None
    ) -> dict[str, float | None] | None:
        if included is None and granted_balance is None:
            return None  # the usual case: the grant, if any, under its wire name
        amounts = {
            "included_grant": included_grant,
            "included": included,
            "granted_balance": granted_balance,
        }
        given = [name for name, amount in amounts.items() if amount is not None]
        if len(given) > 1:
            raise SDKValidationError(
                f"invalid params: {' and '.join(given)} name the same grant; set only one "
                "(included_grant is the name on the wire)",
                field=given[1],
                problems=[
                    (name, "names the same grant as " + given[0] + "; set only one")
                    for name in given[1:]
                ],
            )
        # Normalised once, so the model shows what is sent.
        grant = included if included is not None else granted_balance
        return {"included_grant": grant, "included": None, "granted_balance": None}

    __attrs_post_init__ = apply_rules


# The same params as dicts, for a type checker: a typo in a key, a wrong type or a
# missing required key is an editor error. tests/sdk/test_params_dicts.py checks
# that each one has the keys and types of its model, so they cannot drift apart.


class ResetDict(TypedDict, total=False):
    """`Reset` as a dict: `{"interval": "month"}`."""

    interval: Required[ResetInterval | ResetIntervalValue]
    interval_count: float | None


class RolloverDict(TypedDict, total=False):
    """`Rollover` as a dict: `{"length": 1, "duration": "month"}`."""

    length: Required[float]
    max: float | None
    max_percentage: float | None
    duration: RolloverDuration | RolloverDurationValue | None


class _CreateBalanceOptionalKeys(TypedDict, total=False):
    # The keys CreateBalanceParamsDict and CreateBalanceFields share: written once.
    entity_id: str | None
    included_grant: float | None
    unlimited: bool | None
    reset: Reset | ResetDict | None
    expires_at: float | None
    rollover: Rollover | RolloverDict | None
    next_reset_at: float | None
    balance_id: str | None
    included: float | None
    granted_balance: float | None


class CreateBalanceParamsDict(_CreateBalanceOptionalKeys, total=False):
    """`CreateBalanceParams` as a dict, the form `balances_create` takes besides the model.

    >>> params: CreateBalanceParamsDict = {"customer_id": "cus_123", "feature_id": "api_calls",
    ...                                    "included_grant": 1000, "reset": {"interval": "month"}}
    """

    customer_id: Required[str]
    feature_id: Required[str]


class CreateBalanceFields(_CreateBalanceOptionalKeys, total=False):
    """The keywords of `autumn.balances.create(customer_id=..., ...)`: the keys of
    `CreateBalanceParamsDict`, none of them required to a type checker, since the same
    method takes a whole params object instead. A missing `customer_id` is still an
    SDKValidationError naming it, before any I/O."""

    customer_id: str
    feature_id: str


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class CreateBalanceResponse:
    success: bool


CREATE_BALANCE = Operation(
    "createBalance",
    "/v1/balances.create",
    CreateBalanceParams,
    CreateBalanceResponse,
    fixed_response=CreateBalanceResponse(success=True),
)


async def balances_create(
    core: AutumnCore,
    params: CreateBalanceParams | CreateBalanceParamsDict,
    options: OptionsArg = None,
) -> Result[CreateBalanceResponse, AutumnSDKError]:
    """Create a balance for a customer feature. Returns `Ok(CreateBalanceResponse)` or
    `Err(error)`; never raises for a failure.

    >>> res = await balances_create(core, {"customer_id": "cus_123", "feature_id": "api_calls",
    ...                                    "included_grant": 1000, "reset": {"interval": "month"}})
    >>> if res.ok: print(res.value)   # CreateBalanceResponse(success=True)
    ... else: print(res.error)        # e.g. AutumnDefaultError: 404 customer_not_found: ...
    """
    return await run_operation(core, CREATE_BALANCE, params, options)
