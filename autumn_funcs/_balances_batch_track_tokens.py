"""`balances_batch_track_tokens`: up to 1,000 token usage events in one request
(POST /v1/balances.batch_track_tokens)."""

from __future__ import annotations

from typing import Any, TypedDict

import attrs

from autumn_core import AutumnCore, AutumnSDKError, Result
from autumn_core.seam import Operation, apply_rules, run_operation
from autumn_funcs._balances_batch_track import BatchTrackResponse, check_batch_size
from autumn_funcs._balances_track_tokens import TrackTokensParams, TrackTokensParamsDict
from autumn_funcs._options_arg import OptionsArg
from autumn_funcs._typing_backports import Required


@attrs.frozen(kw_only=True)
class BatchTrackTokensParams:
    """The token events of one balances.batch_track_tokens request, 1 to 1,000 of them.

    >>> BatchTrackTokensParams(events=[{"customer_id": "cus_1", "model_id": "openai/gpt-4o",
    ...                                 "input_tokens": 1000, "output_tokens": 200}])

    The wire body is the array itself. Each event is a `TrackTokensParams`, checked
    before any I/O and refused by index and field (`events.0.input_tokens`).
    Autumn prices and checks every event before it queues any, and answers
    `{"success": true}`; give each event its own `idempotency_key` so a batch
    sent again is applied once.
    """

    events: list[TrackTokensParams]

    @staticmethod
    def _rules(events: list[Any]) -> None:
        check_batch_size(len(events))  # events are models, or from a dict their objects

    __attrs_post_init__ = apply_rules


class BatchTrackTokensParamsDict(TypedDict, total=False):
    """`BatchTrackTokensParams` as a dict: `{"events": [{...}, ...]}`."""

    events: Required[list[TrackTokensParams | TrackTokensParamsDict]]


class BatchTrackTokensFields(TypedDict, total=False):
    """The keywords of `autumn.balances.batch_track_tokens(events=[...])`."""

    events: list[TrackTokensParams | TrackTokensParamsDict]


# A write with one Idempotency-Key; its answer is always `{"success": true}`.
BATCH_TRACK_TOKENS = Operation(
    "batchTrackTokens",
    "/v1/balances.batch_track_tokens",
    BatchTrackTokensParams,
    BatchTrackResponse,
    fixed_response=BatchTrackResponse(success=True),
    body_field="events",
)


async def balances_batch_track_tokens(
    core: AutumnCore,
    params: BatchTrackTokensParams | BatchTrackTokensParamsDict,
    options: OptionsArg = None,
) -> Result[BatchTrackResponse, AutumnSDKError]:
    """Record up to 1,000 token usage events in one request. Returns
    `Ok(BatchTrackResponse)` or `Err(error)`; never raises for a failure.

    >>> res = await balances_batch_track_tokens(core, {"events": [
    ...     {"customer_id": "cus_1", "model_id": "openai/gpt-4o", "input_tokens": 900,
    ...      "output_tokens": 100, "idempotency_key": "req_1"}]})
    """
    return await run_operation(core, BATCH_TRACK_TOKENS, params, options)
