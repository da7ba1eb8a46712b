"""`balances_batch_track`: up to 1,000 usage events in one request
(POST /v1/balances.batch_track)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict

import attrs

from autumn_core import AutumnCore, AutumnSDKError, Result, SDKValidationError
from autumn_core.seam import (
    CheckedParams,
    Operation,
    apply_rules,
    run_operation,
    tolerate_unknown_fields,
)
from autumn_funcs._balances_track import TRACK, TrackParams, TrackParamsDict
from autumn_funcs._options_arg import OptionsArg
from autumn_funcs._typing_backports import Required

# Autumn's schema for both batch routes: `z.array(...).min(1).max(1000)`.
MAX_BATCH_EVENTS = 1000


def check_batch_size(count: int) -> None:
    """Refuse an empty batch or one over Autumn's 1,000 items, by field, before any I/O."""
    if not 1 <= count <= MAX_BATCH_EVENTS:
        reason = f"expected 1 to {MAX_BATCH_EVENTS} events, got {count}"
        raise SDKValidationError(
            f"invalid events: {reason}", field="events", problems=[("events", reason)]
        )


@attrs.frozen(kw_only=True)
class BatchTrackParams:
    """The events of one balances.batch_track request, 1 to 1,000 of them.

    >>> BatchTrackParams(events=[{"customer_id": "cus_1", "feature_id": "api_calls"},
    ...                          {"customer_id": "cus_2", "event_name": "chat_message"}])

    The wire body is the array of events itself. Each event is a `TrackParams`,
    checked as `balances_track` checks it; a bad one is refused before any I/O
    by its index and field (`events.3.feature_id`). Autumn checks every event
    before it applies any, then applies them later in a worker: the answer is
    `{"success": true}`, no balances. Give each event its own `idempotency_key`
    (a body key, claimed per event): a batch sent again after a lost answer is
    then applied once. `UsageRecorder` does that for you.
    """

    events: list[TrackParams]

    @staticmethod
    def _rules(events: list[Any]) -> None:
        check_batch_size(len(events))  # events are models, or from a dict their objects

    __attrs_post_init__ = apply_rules


class BatchTrackParamsDict(TypedDict, total=False):
    """`BatchTrackParams` as a dict: `{"events": [{"customer_id": ..., ...}, ...]}`."""

    events: Required[list[TrackParams | TrackParamsDict]]


class BatchTrackFields(TypedDict, total=False):
    """The keywords of `autumn.balances.batch_track(events=[...])`."""

    events: list[TrackParams | TrackParamsDict]


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class BatchTrackResponse:
    """Autumn's answer to a batch: every event passed its checks and was queued."""

    success: bool


# A write: one Idempotency-Key for the request, the same on every attempt. Its
# answer is always `{"success": true}`, so a retry refused as a duplicate of an
# accepted attempt is that success.
BATCH_TRACK = Operation(
    "batchTrack",
    "/v1/balances.batch_track",
    BatchTrackParams,
    BatchTrackResponse,
    fixed_response=BatchTrackResponse(success=True),
    body_field="events",
)


def checked_batch(events: Sequence[CheckedParams]) -> CheckedParams:
    """The body of one batch made of events checked one by one when they were
    given (`TRACK.check(event)`, as `balances_track` checks it): 1 to 1,000 of
    them, refused by field otherwise. `run_operation(core, BATCH_TRACK, ...)`
    sends it as `balances_batch_track` sends a batch, without checking each
    event a second time; `UsageRecorder` sends its batches so.
    """
    check_batch_size(len(events))
    for index, event in enumerate(events):
        if event.operation_id != TRACK.operation_id:
            reason = f"expected an event checked for {TRACK.operation_id}, got {event.operation_id}"
            raise SDKValidationError(
                f"invalid events.{index}: {reason}",
                field=f"events.{index}",
                problems=[(f"events.{index}", reason)],
            )
    return CheckedParams(BATCH_TRACK.operation_id, [event.fields for event in events])


async def balances_batch_track(
    core: AutumnCore,
    params: BatchTrackParams | BatchTrackParamsDict,
    options: OptionsArg = None,
) -> Result[BatchTrackResponse, AutumnSDKError]:
    """Record up to 1,000 usage events in one request. Returns `Ok(BatchTrackResponse)` or
    `Err(error)`; never raises for a failure.

    >>> res = await balances_batch_track(core, {"events": [
    ...     {"customer_id": "cus_1", "feature_id": "api_calls", "idempotency_key": "req_1"},
    ...     {"customer_id": "cus_2", "feature_id": "api_calls", "idempotency_key": "req_2"},
    ... ]})
    >>> res.ok
    True
    """
    return await run_operation(core, BATCH_TRACK, params, options)
