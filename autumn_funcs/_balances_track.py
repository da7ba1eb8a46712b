"""`balances_track`: record usage of a feature, or of an event (POST /v1/balances.track)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any, Literal, TypeAlias, TypedDict, cast

import attrs

from autumn_core import AutumnCore, AutumnSDKError, Ok, Result, SDKValidationError
from autumn_core.seam import (
    WIRE_NAME,
    Operation,
    apply_rules,
    run_operation,
    tolerate_unknown_fields,
)
from autumn_funcs._balance_view import Balance, BalanceReset
from autumn_funcs._lock import Lock, LockDict
from autumn_funcs._options_arg import OptionsArg
from autumn_funcs._typing_backports import Required


class OverageBehavior(str, Enum):
    """What a track does with usage beyond the balance (plain strings work too).

    `CAP` (Autumn's default) deducts what fits and stops at 0; `OVERFLOW` deducts
    it all, so the balance may go negative.
    """

    CAP = "cap"
    OVERFLOW = "overflow"


OverageBehaviorValue: TypeAlias = Literal["cap", "overflow"]


def problem(field: str, reason: str) -> SDKValidationError:
    """The error of one field, as a model's own rule raises it."""
    return SDKValidationError(f"invalid {field}: {reason}", field=field, problems=[(field, reason)])


def check_timestamp(stamp: object) -> None:
    """Autumn's rule for an event's date: Unix milliseconds, a whole number > 0."""
    if stamp is not None and (type(stamp) is not int or stamp <= 0):
        raise problem("timestamp", f"expected Unix milliseconds, a whole number > 0; {stamp!r}")


@attrs.frozen(kw_only=True)
class TrackParams:
    """The body of balances.track. Only fields you set are sent.

    >>> TrackParams(customer_id="cus_123", feature_id="api_calls", value=3)
    >>> TrackParams(customer_id="cus_123", event_name="chat_message", properties={"model": "x"})

    Name the feature (`feature_id`) or the event (`event_name`, which every feature
    listing it counts, credit systems included), not both. `value` is the usage
    (Autumn's default: 1); a negative value gives credits back. `timestamp` (Unix
    ms, not in the future) dates the event. `overage_behavior` is `"cap"` unless
    set. `async_` (`async` on the wire) queues the event: Autumn accepts it at once
    and answers with the event and no balance.

    `idempotency_key` is the event's own key, sent in the body: Autumn records an
    event once per key for 24 hours, whichever call or process sends it (a
    duplicate is refused with 409 `duplicate_idempotency_key`). Use your own
    request or job id. It is independent of the Idempotency-Key header the SDK
    sends with every track (fresh per call, or `options.idempotency_key`), which
    makes the retries of one call safe; Autumn claims the two separately.
    """

    customer_id: str
    feature_id: str | None = None
    entity_id: str | None = None
    event_name: str | None = None
    value: float | None = None
    properties: dict[str, Any] | None = None
    timestamp: int | None = None
    overage_behavior: OverageBehavior | None = None
    async_: bool | None = attrs.field(default=None, metadata={WIRE_NAME: "async"})
    lock: Lock | None = None
    idempotency_key: str | None = None

    @staticmethod
    def _rules(feature_id: str | None, event_name: str | None, timestamp: int | None) -> None:
        # Autumn's own rules, refused here by name instead of by a 400 after a round trip.
        if (feature_id is None) == (event_name is None):
            which = "both" if feature_id is not None else "neither"
            raise problem("feature_id", f"set feature_id or event_name, not {which}")
        if event_name == "":
            raise problem("event_name", "must not be empty")
        check_timestamp(timestamp)

    __attrs_post_init__ = apply_rules


class _TrackOptionalKeys(TypedDict, total=False):
    # The keys TrackParamsDict and TrackFields share: written once.
    feature_id: str | None
    entity_id: str | None
    event_name: str | None
    value: float | None
    properties: dict[str, Any] | None
    timestamp: int | None
    overage_behavior: OverageBehavior | OverageBehaviorValue | None
    async_: bool | None
    lock: Lock | LockDict | None
    idempotency_key: str | None


class TrackParamsDict(_TrackOptionalKeys, total=False):
    """`TrackParams` as a dict: `{"customer_id": "cus_123", "feature_id": "api_calls"}`."""

    customer_id: Required[str]


class TrackFields(_TrackOptionalKeys, total=False):
    """The keywords of `autumn.balances.track(customer_id=..., ...)`: the keys of
    `TrackParamsDict`, none required to a type checker (see `CreateBalanceFields`)."""

    customer_id: str


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class TrackDeduction:
    """What the event took from one balance (`balance_id`: a breakdown id or a rollover's).
    `value` is positive for usage, negative for credit given back."""

    balance_id: str
    feature_id: str
    plan_id: str | None
    reset: BalanceReset | None
    value: float


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class TrackResponse:
    """The usage recorded and the balances it left.

    `balance` is the tracked feature's balance after the event: None when the event
    was queued (`async_`, or accepted while Autumn was degraded) or when an
    `event_name` counts for several features; `balances` holds each feature the
    event touched, `deductions` each balance it drew from.
    """

    customer_id: str
    entity_id: str | None = None
    event_name: str | None = None
    value: float
    balance: Balance | None
    balances: dict[str, Balance | None] = attrs.field(factory=dict[str, Balance | None])
    deductions: list[TrackDeduction] = attrs.field(factory=list[TrackDeduction])


# A write: one Idempotency-Key on every attempt. `no_content`: servers before
# mid-2026 answered an `async` track with 204 and no body (see _queued).
TRACK: Operation[TrackParams, TrackResponse | None] = Operation(
    "track", "/v1/balances.track", TrackParams, TrackResponse, no_content=True
)


def _queued(params: TrackParams | Mapping[str, Any]) -> TrackResponse:
    """Autumn's answer to a queued track (202: the event echoed, no balance), for a server
    that answered 204 instead: one answer type, whichever server."""
    fields = attrs.asdict(params, recurse=False) if isinstance(params, TrackParams) else params
    value = fields.get("value")
    return TrackResponse(
        customer_id=fields["customer_id"],
        entity_id=fields.get("entity_id"),
        event_name=fields.get("event_name"),
        value=1 if value is None else value,
        balance=None,
    )


async def balances_track(
    core: AutumnCore,
    params: TrackParams | TrackParamsDict,
    options: OptionsArg = None,
) -> Result[TrackResponse, AutumnSDKError]:
    """Record usage. Returns `Ok(TrackResponse)` or `Err(error)`; never raises for a failure.

    >>> res = await balances_track(core, {"customer_id": "cus_123", "feature_id": "api_calls"})
    >>> if res.ok and res.value.balance is not None:
    ...     print(res.value.balance.remaining)
    """
    res = await run_operation(core, TRACK, params, options)
    if res.ok and res.value is None:  # valid params, or the call would have failed
        return Ok(_queued(params))
    return cast("Result[TrackResponse, AutumnSDKError]", res)
