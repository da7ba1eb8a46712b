"""`balances_check`: may a customer use a feature now? (POST /v1/balances.check)"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict, cast

import attrs

from autumn_core import AutumnCore, AutumnSDKError, Result
from autumn_core.seam import Operation, run_operation, tolerate_unknown_fields
from autumn_funcs._balance_view import Balance, Flag
from autumn_funcs._lock import Lock, LockDict
from autumn_funcs._options_arg import OptionsArg
from autumn_funcs._typing_backports import Required


@attrs.frozen(kw_only=True)
class CheckParams:
    """The body of balances.check. Only fields you set are sent.

    >>> CheckParams(customer_id="cus_123", feature_id="api_calls", required_balance=5)

    `required_balance` is what the call needs (Autumn's default: 1). With
    `send_event=True` Autumn checks and records that much usage in one atomic step,
    with `properties` attached to the event: the call then changes the balance.
    `lock` holds the units instead, until `balances_finalize`. `with_preview=True`
    adds what the customer could buy to the answer when access is denied.
    """

    customer_id: str
    feature_id: str
    entity_id: str | None = None
    required_balance: float | None = None
    properties: dict[str, Any] | None = None
    send_event: bool | None = None
    lock: Lock | None = None
    with_preview: bool | None = None


class _CheckOptionalKeys(TypedDict, total=False):
    # The keys CheckParamsDict and CheckFields share: written once.
    entity_id: str | None
    required_balance: float | None
    properties: dict[str, Any] | None
    send_event: bool | None
    lock: Lock | LockDict | None
    with_preview: bool | None


class CheckParamsDict(_CheckOptionalKeys, total=False):
    """`CheckParams` as a dict: `{"customer_id": "cus_123", "feature_id": "api_calls"}`."""

    customer_id: Required[str]
    feature_id: Required[str]


class CheckFields(_CheckOptionalKeys, total=False):
    """The keywords of `autumn.balances.check(customer_id=..., ...)`: the keys of
    `CheckParamsDict`, none required to a type checker (see `CreateBalanceFields`)."""

    customer_id: str
    feature_id: str


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class CheckPreview:
    """What a denied customer could buy (asked with `with_preview=True`). `scenario`:
    `"usage_limit"` or `"feature_flag"`; `products` as the JSON objects Autumn sends."""

    scenario: str
    title: str
    message: str
    feature_id: str
    feature_name: str
    products: list[dict[str, Any]] = attrs.field(factory=list[dict[str, Any]])


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class CheckResponse:
    """Whether the customer may go ahead, and the balance it was decided on.

    `balance` is the feature's balance (None for a boolean feature, or when the
    customer has none); `flag` is the boolean feature's flag (None otherwise);
    `balances` also holds related features, such as the credit system a metered
    feature draws from.
    """

    allowed: bool
    customer_id: str
    entity_id: str | None = None
    required_balance: float | None = None
    balance: Balance | None
    balances: dict[str, Balance | None] = attrs.field(factory=dict[str, Balance | None])
    flag: Flag | None
    preview: CheckPreview | None = None


# A plain check only reads: it sends no Idempotency-Key, so that a retry after a
# lost answer gets the answer (a repeated key would get 409). With `send_event` or
# `lock` it changes the balance: then it is a write, with one key on every attempt,
# so that a retry never consumes twice.
CHECK = Operation("check", "/v1/balances.check", CheckParams, CheckResponse, writes=False)
CHECK_AND_CONSUME = attrs.evolve(CHECK, writes=True)


def _consumes(params: object) -> bool:
    """Whether the check records usage or holds it (`send_event`, `lock`)."""
    if type(params) is dict or isinstance(params, Mapping):
        fields = cast("Mapping[str, object]", params)
        return fields.get("send_event") is True or fields.get("lock") is not None
    if isinstance(params, CheckParams):
        return params.send_event is True or params.lock is not None
    return False  # not params at all: refused by name when structured


async def balances_check(
    core: AutumnCore,
    params: CheckParams | CheckParamsDict,
    options: OptionsArg = None,
) -> Result[CheckResponse, AutumnSDKError]:
    """Check whether a customer may use a feature. Returns `Ok(CheckResponse)` or
    `Err(error)`; never raises for a failure.

    >>> res = await balances_check(core, {"customer_id": "cus_123", "feature_id": "api_calls"})
    >>> if res.ok and res.value.allowed:
    ...     ...  # serve the request

    A plain check is a read (no Idempotency-Key; `options.idempotency_key` is
    refused). With `send_event=True` or a `lock` it is a write and sends one.
    """
    operation = CHECK_AND_CONSUME if _consumes(params) else CHECK
    return await run_operation(core, operation, params, options)
