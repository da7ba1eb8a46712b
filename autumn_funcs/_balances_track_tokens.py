"""`balances_track_tokens`: record an AI model's token usage against an AI credit system
(POST /v1/balances.track_tokens)."""

from __future__ import annotations

from typing import Any, TypedDict

import attrs

from autumn_core import AutumnCore, AutumnSDKError, Result
from autumn_core.seam import WIRE_NAME, Operation, apply_rules, run_operation
from autumn_funcs._balances_track import (
    OverageBehavior,
    OverageBehaviorValue,
    TrackResponse,
    check_timestamp,
    problem,
)
from autumn_funcs._options_arg import OptionsArg
from autumn_funcs._typing_backports import Required

_MAX_SAFE = 2**53 - 1  # Autumn's schema: z.number().int().nonnegative(), a JavaScript number

_TOKEN_COUNTS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "audio_input_tokens",
    "audio_output_tokens",
    "reasoning_tokens",
)


def check_token_counts(counts: tuple[object, ...]) -> None:
    """Each token count set (in the order of `_TOKEN_COUNTS`) is a whole number from 0 to
    2^53-1 (Autumn refuses 1.5, -1, and 2^53: its schema's `.int()` takes safe integers
    only)."""
    for name, count in zip(_TOKEN_COUNTS, counts, strict=True):
        if count is not None and (type(count) is not int or not 0 <= count <= _MAX_SAFE):
            reason = f"expected a whole number of tokens from 0 to 2^53-1, got {count!r}"
            raise problem(name, reason)


@attrs.frozen(kw_only=True)
class TrackTokensParams:
    """The body of balances.track_tokens. Only fields you set are sent.

    >>> TrackTokensParams(customer_id="cus_123", model_id="anthropic/claude-sonnet-4",
    ...                   input_tokens=1000, output_tokens=500)

    Autumn prices the tokens with the model's prices (`model_id` is
    `provider/model`, as models.dev names it) and the credit system's markup, and
    tracks that many credits against the customer's AI credit system:
    `feature_id`, or the only one the customer has when it is left out. The
    token counts are whole numbers from 0; the pools are exclusive (input tokens
    exclude cached and audio ones). `timestamp`, `overage_behavior`, `async_`
    and the event's own `idempotency_key` are as in `TrackParams`.
    """

    customer_id: str
    entity_id: str | None = None
    feature_id: str | None = None
    model_id: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    audio_input_tokens: int | None = None
    audio_output_tokens: int | None = None
    reasoning_tokens: int | None = None
    properties: dict[str, Any] | None = None
    idempotency_key: str | None = None
    timestamp: int | None = None
    overage_behavior: OverageBehavior | None = None
    async_: bool | None = attrs.field(default=None, metadata={WIRE_NAME: "async"})

    @staticmethod
    def _rules(
        input_tokens: int,
        output_tokens: int,
        cache_read_tokens: int | None,
        cache_write_tokens: int | None,
        audio_input_tokens: int | None,
        audio_output_tokens: int | None,
        reasoning_tokens: int | None,
        timestamp: int | None,
    ) -> None:
        check_token_counts(
            (
                input_tokens,
                output_tokens,
                cache_read_tokens,
                cache_write_tokens,
                audio_input_tokens,
                audio_output_tokens,
                reasoning_tokens,
            )
        )
        check_timestamp(timestamp)

    __attrs_post_init__ = apply_rules


class _TrackTokensOptionalKeys(TypedDict, total=False):
    # The keys TrackTokensParamsDict and TrackTokensFields share: written once.
    entity_id: str | None
    feature_id: str | None
    cache_read_tokens: int | None
    cache_write_tokens: int | None
    audio_input_tokens: int | None
    audio_output_tokens: int | None
    reasoning_tokens: int | None
    properties: dict[str, Any] | None
    idempotency_key: str | None
    timestamp: int | None
    overage_behavior: OverageBehavior | OverageBehaviorValue | None
    async_: bool | None


class TrackTokensParamsDict(_TrackTokensOptionalKeys, total=False):
    """`TrackTokensParams` as a dict."""

    customer_id: Required[str]
    model_id: Required[str]
    input_tokens: Required[int]
    output_tokens: Required[int]


class TrackTokensFields(_TrackTokensOptionalKeys, total=False):
    """The keywords of `autumn.balances.track_tokens(customer_id=..., ...)`: the keys of
    `TrackTokensParamsDict`, none required to a type checker (see `CreateBalanceFields`)."""

    customer_id: str
    model_id: str
    input_tokens: int
    output_tokens: int


# A write: one Idempotency-Key on every attempt. The answer is a track's: the
# credits tracked (`value`) and the credit system's balance after them.
TRACK_TOKENS = Operation(
    "trackTokens", "/v1/balances.track_tokens", TrackTokensParams, TrackResponse
)


async def balances_track_tokens(
    core: AutumnCore,
    params: TrackTokensParams | TrackTokensParamsDict,
    options: OptionsArg = None,
) -> Result[TrackResponse, AutumnSDKError]:
    """Record token usage. Returns `Ok(TrackResponse)` or `Err(error)`; never raises for a
    failure.

    >>> res = await balances_track_tokens(core, {
    ...     "customer_id": "cus_123", "model_id": "openai/gpt-4o",
    ...     "input_tokens": 1000, "output_tokens": 500})
    >>> if res.ok and res.value.balance is not None:
    ...     print(res.value.value, res.value.balance.remaining)  # credits tracked, left
    """
    return await run_operation(core, TRACK_TOKENS, params, options)
