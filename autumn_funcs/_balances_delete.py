"""`balances_delete`: delete a customer's balances of a feature (POST /v1/balances.delete)."""

from __future__ import annotations

from typing import TypedDict

import attrs

from autumn_core import AutumnCore, AutumnSDKError, Result, SDKValidationError
from autumn_core.seam import Operation, apply_rules, run_operation, tolerate_unknown_fields
from autumn_funcs._options_arg import OptionsArg
from autumn_funcs._reset_interval import ResetInterval, ResetIntervalValue
from autumn_funcs._typing_backports import Required


@attrs.frozen(kw_only=True)
class DeleteBalanceParams:
    """The body of balances.delete. Only fields you set are sent.

    >>> DeleteBalanceParams(customer_id="cus_123", feature_id="api_calls", interval="month")

    Deletes every balance that matches: of `feature_id`, narrowed to one by
    `balance_id` (a breakdown `id` of the customer view) or to one reset
    `interval`, and to the entity `entity_id`. `recalculate_balances=True` (needs
    `feature_id`) moves the usage of the deleted balances onto the feature's other
    balances. Paid and pooled balances cannot be deleted (409).

    Autumn itself would take a call with neither `feature_id` nor `balance_id` as
    "every balance of the customer"; here an unset field is simply left out, so
    such a call is refused before any I/O rather than risk that by accident.
    """

    customer_id: str
    entity_id: str | None = None
    feature_id: str | None = None
    balance_id: str | None = None
    recalculate_balances: bool | None = None
    interval: ResetInterval | None = None

    @staticmethod
    def _rules(
        feature_id: str | None, balance_id: str | None, recalculate_balances: bool | None
    ) -> None:
        if feature_id is None and balance_id is None:
            reason = (
                "set feature_id or balance_id: without either, Autumn deletes every "
                "balance of the customer"
            )
        elif recalculate_balances and feature_id is None:
            reason = "recalculate_balances needs feature_id (Autumn answers 400 without it)"
        else:
            return
        raise SDKValidationError(
            f"invalid feature_id: {reason}", field="feature_id", problems=[("feature_id", reason)]
        )

    __attrs_post_init__ = apply_rules


class _DeleteBalanceOptionalKeys(TypedDict, total=False):
    # The keys DeleteBalanceParamsDict and DeleteBalanceFields share: written once.
    entity_id: str | None
    feature_id: str | None
    balance_id: str | None
    recalculate_balances: bool | None
    interval: ResetInterval | ResetIntervalValue | None


class DeleteBalanceParamsDict(_DeleteBalanceOptionalKeys, total=False):
    """`DeleteBalanceParams` as a dict: `{"customer_id": "cus_123", "feature_id": "api_calls"}`."""

    customer_id: Required[str]


class DeleteBalanceFields(_DeleteBalanceOptionalKeys, total=False):
    """The keywords of `autumn.balances.delete(customer_id=..., ...)`: the keys of
    `DeleteBalanceParamsDict`, none required to a type checker (see `CreateBalanceFields`)."""

    customer_id: str


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class DeleteBalanceResponse:
    success: bool


DELETE_BALANCE = Operation(
    "deleteBalance",
    "/v1/balances.delete",
    DeleteBalanceParams,
    DeleteBalanceResponse,
    fixed_response=DeleteBalanceResponse(success=True),
)


async def balances_delete(
    core: AutumnCore,
    params: DeleteBalanceParams | DeleteBalanceParamsDict,
    options: OptionsArg = None,
) -> Result[DeleteBalanceResponse, AutumnSDKError]:
    """Delete balances. Returns `Ok(DeleteBalanceResponse)` or `Err(error)`; never raises
    for a failure.

    >>> res = await balances_delete(core, {"customer_id": "cus_123", "balance_id": "promo_1"})
    """
    return await run_operation(core, DELETE_BALANCE, params, options)
