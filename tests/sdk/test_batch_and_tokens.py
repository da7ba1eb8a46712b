"""balances_batch_track, balances_batch_track_tokens and balances_track_tokens against a
scripted server: the body is the array of events itself (as Autumn's zod schema reads
it), one Idempotency-Key per request, the same on a retry; a bad event, an empty batch
or one over 1,000 refused before any I/O by index and field; the facade and the
blocking client reach the same routes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from autumn_core import AutumnCore, AutumnError, SDKValidationError
from autumn_funcs import (
    Autumn,
    BatchTrackParams,
    BatchTrackResponse,
    TrackParams,
    TrackTokensParams,
    balances_batch_track,
    balances_batch_track_tokens,
    balances_track_tokens,
)
from tests.scripted_server import ScriptedServer, autumn_error, drop_connection, json_reply
from tests.sdk.answers import TRACK
from tests.sdk.conftest import header

MakeCore = Callable[..., AutumnCore]

EVENT = {"customer_id": "cus_1", "feature_id": "messages", "idempotency_key": "ev_1"}
TOKENS = {"customer_id": "cus_1", "model_id": "openai/gpt-4o", "input_tokens": 10,
          "output_tokens": 5}  # fmt: skip


async def test_a_batch_sends_the_array_itself_with_one_key(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    scripted.then(json_reply(200, {"success": True}))
    second = TrackParams(customer_id="cus_2", event_name="chat", value=2.0, async_=True)
    res = await balances_batch_track(core, {"events": [EVENT, second]})

    assert res.ok and res.value == BatchTrackResponse(success=True), res
    (request,) = scripted.requests
    assert (request.method, request.path) == ("POST", "/v1/balances.batch_track")
    assert request.body == (
        b'[{"customer_id":"cus_1","feature_id":"messages","idempotency_key":"ev_1"},'
        b'{"customer_id":"cus_2","event_name":"chat","value":2,"async":true}]'
    )
    assert header(request, "Idempotency-Key")


async def test_a_retried_batch_keeps_its_key(core: AutumnCore, scripted: ScriptedServer) -> None:
    scripted.then(drop_connection()).then(json_reply(200, {"success": True}))
    res = await balances_batch_track(core, BatchTrackParams(events=[TrackParams(**EVENT)]))

    assert res.ok, res
    first, second = scripted.requests
    assert header(first, "Idempotency-Key") == header(second, "Idempotency-Key")
    assert first.body == second.body


async def test_a_refused_batch_is_an_autumn_error_saying_nothing_was_applied(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    scripted.then(autumn_error(404, "feature_not_found", "Feature nope not found"))
    res = await balances_batch_track(core, {"events": [EVENT]})

    assert not res.ok and isinstance(res.error, AutumnError)
    assert (res.error.status_code, res.error.code) == (404, "feature_not_found")


@pytest.mark.parametrize(
    ("events", "field"),
    [
        ([], "events"),
        ([EVENT] * 1001, "events"),
        ("cus_1", "events"),
        ([EVENT, EVENT, {"customer_id": "cus_1"}], "events.2.feature_id"),
        ([EVENT, {**EVENT, "value": "3"}], "events.1.value"),
        ([{**EVENT, "customerId": "x"}], "events.0.customerId"),
        ([EVENT, 5], "events.1"),
    ],
)
async def test_a_bad_batch_is_refused_by_index_and_field_before_any_io(
    core: AutumnCore, scripted: ScriptedServer, events: Any, field: str
) -> None:
    res = await balances_batch_track(core, {"events": events})

    assert not res.ok and isinstance(res.error, SDKValidationError), res
    assert res.error.field == field
    assert scripted.requests == []


async def test_a_full_batch_of_1000_is_sent(core: AutumnCore, scripted: ScriptedServer) -> None:
    scripted.then(json_reply(200, {"success": True}))
    events = [{**EVENT, "idempotency_key": f"ev_{i}"} for i in range(1000)]
    res = await balances_batch_track(core, {"events": events})

    assert res.ok, res
    assert len(scripted.requests[0].json()) == 1000


async def test_a_batch_has_no_room_for_extra_body(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    res = await balances_batch_track(core, {"events": [EVENT]}, {"extra_body": {"x": 1}})

    assert not res.ok and isinstance(res.error, SDKValidationError)
    assert res.error.field == "options.extra_body"
    assert scripted.requests == []


async def test_track_tokens_sends_its_fields_and_reads_a_track_answer(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    scripted.then(json_reply(200, TRACK))
    params = TrackTokensParams(
        customer_id="cus_1",
        feature_id="ai_credits",
        model_id="anthropic/claude-sonnet-4",
        input_tokens=1000,
        output_tokens=500,
        cache_read_tokens=0,
        reasoning_tokens=7,
        async_=False,
        idempotency_key="req_9",
    )
    res = await balances_track_tokens(core, params)

    assert res.ok, res
    (request,) = scripted.requests
    assert request.path == "/v1/balances.track_tokens"
    assert request.json() == {
        "customer_id": "cus_1",
        "feature_id": "ai_credits",
        "model_id": "anthropic/claude-sonnet-4",
        "input_tokens": 1000,
        "output_tokens": 500,
        "cache_read_tokens": 0,
        "reasoning_tokens": 7,
        "idempotency_key": "req_9",
        "async": False,
    }
    assert header(request, "Idempotency-Key")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"input_tokens": 1.5}, "input_tokens"),
        ({"output_tokens": -1}, "output_tokens"),
        ({"reasoning_tokens": 2**53}, "reasoning_tokens"),
        ({"cache_write_tokens": True}, "cache_write_tokens"),
        ({"model_id": None}, "model_id"),
        ({"timestamp": 0}, "timestamp"),
    ],
)
async def test_bad_token_counts_are_refused_before_any_io(
    core: AutumnCore, scripted: ScriptedServer, change: dict[str, Any], field: str
) -> None:
    res = await balances_track_tokens(core, {**TOKENS, **change})  # type: ignore[typeddict-item]

    assert not res.ok and isinstance(res.error, SDKValidationError), res
    assert res.error.field == field
    assert scripted.requests == []


async def test_a_token_count_names_its_bound_and_the_largest_is_sent(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    """Autumn's `.int()` takes safe integers only: 2^53 is refused, 2^53-1 is sent."""
    scripted.then(json_reply(200, TRACK))
    refused = await balances_track_tokens(core, {**TOKENS, "input_tokens": 2**53})
    assert not refused.ok and "from 0 to 2^53-1" in str(refused.error), refused

    sent = await balances_track_tokens(core, {**TOKENS, "input_tokens": 2**53 - 1})
    assert sent.ok, sent
    assert scripted.requests[0].json()["input_tokens"] == 2**53 - 1


async def test_batch_track_tokens_sends_the_array(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    scripted.then(json_reply(200, {"success": True}))
    res = await balances_batch_track_tokens(core, {"events": [TOKENS, TOKENS]})
    bad = await balances_batch_track_tokens(
        core, {"events": [TOKENS, {**TOKENS, "input_tokens": -2}]}
    )

    assert res.ok, res
    (request,) = scripted.requests
    assert request.path == "/v1/balances.batch_track_tokens"
    assert json.loads(request.body) == [TOKENS, TOKENS]
    assert not bad.ok and bad.error.field == "events.1.input_tokens"


async def test_the_facade_takes_events_by_keyword_or_params(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    for _ in range(3):
        scripted.then(json_reply(200, {"success": True}))
    scripted.then(json_reply(200, TRACK))
    core = make_core()
    autumn = Autumn("am_sk_test_batch", server_url=core.server_url, retry_config=core.retry_config)

    assert await autumn.balances.batch_track(events=[EVENT]) == BatchTrackResponse(success=True)
    await autumn.balances.batch_track({"events": [EVENT]})
    await autumn.balances.batch_track_tokens(events=[TOKENS])
    await autumn.balances.track_tokens(**TOKENS)
    with pytest.raises(SDKValidationError, match="events"):
        await autumn.balances.batch_track(events=[])

    await autumn.aclose()
    paths = [request.path for request in scripted.requests]
    assert paths == [
        "/v1/balances.batch_track",
        "/v1/balances.batch_track",
        "/v1/balances.batch_track_tokens",
        "/v1/balances.track_tokens",
    ]
