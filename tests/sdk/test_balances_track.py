"""balances_track against a scripted server: the exact request (`async_` sent as `async`,
the body's own idempotency_key beside the header's), the answers of a sync, a queued and
an old server's async track, and Autumn's rules on params refused by name before any I/O."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import pytest

from autumn_core import AutumnCore, AutumnDefaultError, SDKValidationError
from autumn_funcs import (
    BalanceReset,
    Lock,
    OverageBehavior,
    TrackDeduction,
    TrackParams,
    TrackResponse,
    balances_track,
)
from tests.scripted_server import ScriptedServer, autumn_error, json_reply, raw_reply
from tests.sdk.answers import TRACK, TRACK_QUEUED, fresh
from tests.sdk.conftest import header

MakeCore = Callable[..., AutumnCore]

SIMPLE = {"customer_id": "cus_123", "feature_id": "messages"}


async def test_a_track_sends_the_exact_body_and_a_key(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    scripted.then(json_reply(200, TRACK))
    res = await balances_track(core, {**SIMPLE, "value": 1})

    assert res.ok, res
    (request,) = scripted.requests
    assert (request.method, request.path) == ("POST", "/v1/balances.track")
    assert request.body == b'{"customer_id":"cus_123","feature_id":"messages","value":1}'
    assert header(request, "Idempotency-Key")


async def test_every_field_goes_on_the_wire_and_async_under_its_wire_name(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    scripted.then(json_reply(200, TRACK_QUEUED))
    params = TrackParams(
        customer_id="cus_123",
        entity_id="seat_1",
        event_name="chat_message",
        value=-2.5,
        properties={"model": "gpt"},
        timestamp=1771409161016,
        overage_behavior=OverageBehavior.OVERFLOW,
        async_=True,
        lock=Lock(lock_id="job_1", enabled=True),
        idempotency_key="evt_9",
    )
    scripted.then(json_reply(200, TRACK_QUEUED))
    assert (await balances_track(core, params)).ok
    plain = {"overage_behavior": "overflow", "lock": {"lock_id": "job_1", "enabled": True}}
    as_dict = {**attrs.asdict(params, recurse=False), **plain}  # what most callers pass
    assert (await balances_track(core, as_dict)).ok  # type: ignore[arg-type]

    sent = (
        b'{"customer_id":"cus_123","entity_id":"seat_1","event_name":"chat_message",'
        b'"value":-2.5,"properties":{"model":"gpt"},"timestamp":1771409161016,'
        b'"overage_behavior":"overflow","async":true,"lock":{"lock_id":"job_1","enabled":true},'
        b'"idempotency_key":"evt_9"}'
    )
    assert [r.body for r in scripted.requests] == [sent, sent]


async def test_the_body_key_and_the_header_key_are_sent_side_by_side(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    # The body key dedupes the event across calls; the header key the retries of one call.
    scripted.then(autumn_error(503, "unavailable"), json_reply(200, TRACK))
    res = await balances_track(make_core(), {**SIMPLE, "idempotency_key": "evt_9"})

    assert res.ok, res
    headers = [header(r, "Idempotency-Key") for r in scripted.requests]
    assert len(headers) == 2 and headers[0] == headers[1] and headers[0] != "evt_9"
    assert [r.json()["idempotency_key"] for r in scripted.requests] == ["evt_9", "evt_9"]


async def test_the_callers_header_key_is_sent_and_the_body_left_alone(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    scripted.then(json_reply(200, TRACK))
    res = await balances_track(core, SIMPLE, {"idempotency_key": "call-1"})

    assert res.ok, res
    assert header(scripted.requests[0], "Idempotency-Key") == "call-1"
    assert "idempotency_key" not in scripted.requests[0].json()


async def test_an_event_already_recorded_under_its_body_key_is_the_servers_409(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    scripted.then(
        autumn_error(
            409,
            "duplicate_idempotency_key",
            "Another request with idempotency key track:evt_9 has already been received",
        )
    )
    res = await balances_track(core, {**SIMPLE, "idempotency_key": "evt_9"})

    assert not res.ok
    assert isinstance(res.error, AutumnDefaultError)
    assert (res.error.status_code, res.error.code) == (409, "duplicate_idempotency_key")
    assert res.error.earlier_attempt_accepted is False  # another call's, not this call's retry
    assert len(scripted.requests) == 1


async def test_the_answer_is_read_with_balance_and_deductions(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    scripted.then(json_reply(200, TRACK))
    res = await balances_track(core, SIMPLE)

    assert res.ok, res
    value = res.value
    assert (value.customer_id, value.value, value.entity_id, value.event_name) == (
        "cus_123",
        1,
        None,
        None,
    )
    assert value.balance is not None and value.balance.remaining == 72
    assert value.deductions == [
        TrackDeduction(
            balance_id="cus_ent_3DdSDoyFmoA9Neecl2a2Gc507X2",
            feature_id="messages",
            plan_id="pro",
            reset=BalanceReset(interval="month", resets_at=1781288736881),
            value=1,
        )
    ]


async def test_an_event_for_several_features_answers_each_balance(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    answer = fresh(TRACK)
    answer["event_name"] = "chat_message"
    answer["balances"] = {"messages": answer["balance"], "credits": None}
    answer["balance"] = None
    answer["deductions"].append({**answer["deductions"][0], "feature_id": "credits", "value": -3})
    scripted.then(json_reply(200, answer))
    res = await balances_track(core, {"customer_id": "cus_123", "event_name": "chat_message"})

    assert res.ok, res
    assert res.value.balance is None
    assert res.value.balances["credits"] is None
    assert [d.value for d in res.value.deductions] == [1, -3]


async def test_a_queued_track_is_read_from_the_servers_202(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    scripted.then(json_reply(202, TRACK_QUEUED))
    res = await balances_track(core, {**SIMPLE, "value": 3, "async_": True})

    assert res.ok, res
    assert res.value == TrackResponse(customer_id="cus_123", value=3, balance=None)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {**SIMPLE, "value": 3, "async_": True},
            TrackResponse(customer_id="cus_123", value=3, balance=None),
        ),
        (
            TrackParams(customer_id="cus_123", entity_id="seat_1", event_name="chat", async_=True),
            TrackResponse(
                customer_id="cus_123", entity_id="seat_1", event_name="chat", value=1, balance=None
            ),
        ),
    ],
    ids=["dict", "model, default value"],
)
async def test_an_older_servers_204_gives_the_same_answer_as_its_202(
    core: AutumnCore, scripted: ScriptedServer, params: Any, expected: TrackResponse
) -> None:
    # Before mid-2026 Autumn answered an async track with 204 and no body.
    scripted.then(raw_reply(204, b"", content_type="application/json"))
    res = await balances_track(core, params)

    assert res.ok, res
    assert res.value == expected


async def test_an_empty_200_is_still_refused(core: AutumnCore, scripted: ScriptedServer) -> None:
    # The control of the test above: an empty 200 is still refused.
    scripted.then(raw_reply(200, b"", content_type="application/json"))
    res = await balances_track(core, SIMPLE)

    assert not res.ok


@pytest.mark.parametrize(
    ("params", "field", "reason"),
    [
        ({"customer_id": "cus_123"}, "feature_id", "not neither"),
        ({**SIMPLE, "event_name": "chat"}, "feature_id", "not both"),
        ({"customer_id": "cus_123", "event_name": ""}, "event_name", "empty"),
        ({**SIMPLE, "timestamp": 1.5}, "timestamp", "whole number"),
        ({**SIMPLE, "timestamp": 0}, "timestamp", "whole number"),
        ({**SIMPLE, "timestamp": "2026-01-01"}, "timestamp", "number"),
        ({**SIMPLE, "overage_behavior": "reject"}, "overage_behavior", "cap, overflow"),
        ({**SIMPLE, "value": float("inf")}, "value", "finite"),
        ({**SIMPLE, "async": True}, "async", "did you mean 'async_'"),
        ({**SIMPLE, "async_": "yes"}, "async_", "boolean"),
        ({**SIMPLE, "lock": {"lock_id": "l", "enabled": "true"}}, "lock.enabled", "True"),
    ],
)
async def test_bad_params_are_refused_by_name_before_any_io(
    core: AutumnCore, scripted: ScriptedServer, params: dict[str, Any], field: str, reason: str
) -> None:
    res = await balances_track(core, params)

    assert not res.ok
    assert isinstance(res.error, SDKValidationError)
    assert res.error.field == field, res.error
    assert reason in str(res.error)
    assert scripted.requests == []


def test_a_model_built_by_hand_is_checked_at_once() -> None:
    with pytest.raises(SDKValidationError, match="not both") as caught:
        TrackParams(customer_id="c", feature_id="f", event_name="e")
    assert caught.value.field == "feature_id"


def test_an_empty_event_name_is_refused_with_its_reason() -> None:
    with pytest.raises(SDKValidationError) as refused:
        TrackParams(customer_id="c", event_name="")
    assert (refused.value.field, refused.value.message) == (
        "event_name",
        "invalid event_name: must not be empty",
    )


async def test_a_timestamp_of_1_is_sent(core: AutumnCore, scripted: ScriptedServer) -> None:
    # Autumn's schema: Unix milliseconds, `.positive()`: 1 is the first it takes.
    scripted.then(json_reply(200, TRACK))
    assert (await balances_track(core, {**SIMPLE, "timestamp": 1})).ok
    assert scripted.requests[0].body.endswith(b'"timestamp":1}')


async def test_a_whole_float_timestamp_is_sent_as_an_integer(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    scripted.then(json_reply(200, TRACK))
    assert (await balances_track(core, {**SIMPLE, "timestamp": 1771409161016.0})).ok
    assert scripted.requests[0].body.endswith(b'"timestamp":1771409161016}')
