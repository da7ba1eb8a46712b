"""`balances_finalize`: confirm or release what a `lock` held (POST /v1/balances.finalize)."""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal, TypeAlias, TypedDict

import attrs

from autumn_core import AutumnCore, AutumnSDKError, Result, SDKValidationError
from autumn_core.seam import Operation, apply_rules, run_operation, tolerate_unknown_fields
from autumn_funcs._options_arg import OptionsArg
from autumn_funcs._typing_backports import Required


class FinalizeLockAction(str, Enum):
    """`CONFIRM` keeps the usage a lock held, `RELEASE` gives it back (plain strings work too)."""

    CONFIRM = "confirm"
    RELEASE = "release"


FinalizeLockActionValue: TypeAlias = Literal["confirm", "release"]


@attrs.frozen(kw_only=True)
class FinalizeLockParams:
    """The body of balances.finalize. Only fields you set are sent.

    >>> FinalizeLockParams(lock_id="job_42", action="confirm", override_value=3)

    `lock_id` is the one given to check or track. On confirm, `override_value`
    records that much usage instead of what was held; `properties` go with the event.
    """

    lock_id: str
    action: FinalizeLockAction
    override_value: float | None = None
    properties: dict[str, Any] | None = None

    @staticmethod
    def _rules(action: FinalizeLockAction, override_value: float | None) -> None:
        if action == FinalizeLockAction.RELEASE and override_value is not None:
            reason = "only a confirm takes it, not a release (Autumn answers 400)"
            raise SDKValidationError(
                f"invalid override_value: {reason}",
                field="override_value",
                problems=[("override_value", reason)],
            )

    __attrs_post_init__ = apply_rules


class FinalizeLockParamsDict(TypedDict, total=False):
    """`FinalizeLockParams` as a dict: `{"lock_id": "job_42", "action": "release"}`."""

    lock_id: Required[str]
    action: Required[FinalizeLockAction | FinalizeLockActionValue]
    override_value: float | None
    properties: dict[str, Any] | None


class FinalizeLockFields(TypedDict, total=False):
    """The keywords of `autumn.balances.finalize(lock_id=..., ...)`: the keys of
    `FinalizeLockParamsDict`, none required to a type checker (see `CreateBalanceFields`)."""

    lock_id: str
    action: FinalizeLockAction | FinalizeLockActionValue
    override_value: float | None
    properties: dict[str, Any] | None


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class FinalizeLockResponse:
    success: bool


FINALIZE_LOCK = Operation(
    "finalizeLock",
    "/v1/balances.finalize",
    FinalizeLockParams,
    FinalizeLockResponse,
    fixed_response=FinalizeLockResponse(success=True),
)


async def balances_finalize(
    core: AutumnCore,
    params: FinalizeLockParams | FinalizeLockParamsDict,
    options: OptionsArg = None,
) -> Result[FinalizeLockResponse, AutumnSDKError]:
    """Confirm or release a lock. Returns `Ok(FinalizeLockResponse)` or `Err(error)`;
    never raises for a failure.

    >>> res = await balances_finalize(core, {"lock_id": "job_42", "action": "confirm"})
    """
    return await run_operation(core, FINALIZE_LOCK, params, options)
