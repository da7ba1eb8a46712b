"""The raising facade's check, track, delete, finalize and customer/entity reads: each
takes a params object or keywords, returns the standalone function's value and raises
its error."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from autumn_core import AutumnDefaultError, SDKValidationError
from autumn_funcs import (
    Autumn,
    CheckParams,
    Customer,
    DeleteBalanceResponse,
    Entity,
    FinalizeLockResponse,
    TrackResponse,
)
from tests.scripted_server import ScriptedServer, autumn_error, json_reply, raw_reply
from tests.sdk.answers import CHECK_ALLOWED, CUSTOMER, ENTITY, TRACK, fresh
from tests.sdk.conftest import SECRET, header


@pytest.fixture
async def autumn(scripted: ScriptedServer) -> AsyncIterator[Autumn]:
    async with Autumn(SECRET, server_url=scripted.url) as client:
        yield client


async def test_check_in_each_form_returns_the_answer(
    autumn: Autumn, scripted: ScriptedServer
) -> None:
    denied = fresh(CHECK_ALLOWED)
    denied["allowed"] = False
    scripted.then(json_reply(200, CHECK_ALLOWED), json_reply(200, CHECK_ALLOWED))
    scripted.then(json_reply(200, denied))
    answers = [
        await autumn.balances.check(customer_id="cus_123", feature_id="messages"),
        await autumn.balances.check({"customer_id": "cus_123", "feature_id": "messages"}),
        await autumn.balances.check(CheckParams(customer_id="cus_123", feature_id="messages")),
    ]

    # A denial is an answer, not an error.
    assert [a.allowed for a in answers] == [True, True, False]
    assert len({r.body for r in scripted.requests}) == 1


async def test_track_takes_async_as_a_keyword_and_returns_the_answer(
    autumn: Autumn, scripted: ScriptedServer
) -> None:
    scripted.then(json_reply(200, TRACK), raw_reply(204, b""))
    tracked = await autumn.balances.track(customer_id="cus_123", feature_id="messages", value=2)
    queued = await autumn.balances.track(customer_id="cus_123", feature_id="messages", async_=True)

    assert tracked.balance is not None and tracked.balance.remaining == 72
    assert queued == TrackResponse(customer_id="cus_123", value=1, balance=None)
    assert scripted.requests[1].json()["async"] is True


async def test_delete_and_finalize_return_their_fixed_answers(
    autumn: Autumn, scripted: ScriptedServer
) -> None:
    deleted = await autumn.balances.delete(customer_id="cus_123", balance_id="promo_1")
    finalized = await autumn.balances.finalize(
        {"lock_id": "job_1", "action": "confirm"}, options={"idempotency_key": "fin-1"}
    )

    assert deleted == DeleteBalanceResponse(success=True)
    assert finalized == FinalizeLockResponse(success=True)
    assert header(scripted.requests[1], "Idempotency-Key") == "fin-1"


async def test_reads_return_the_customer_and_the_entity(
    autumn: Autumn, scripted: ScriptedServer
) -> None:
    scripted.then(json_reply(200, CUSTOMER), json_reply(200, CUSTOMER), json_reply(200, ENTITY))
    customer = await autumn.customers.get(customer_id="cus_123", expand=["balances.feature"])
    created = await autumn.customers.get_or_create(customer_id="cus_123", name="Patrick")
    entity = await autumn.entities.get(customer_id="cus_123", entity_id="seat_42")

    assert isinstance(customer, Customer) and customer == created
    assert isinstance(entity, Entity) and entity.id == "seat_42"
    assert [r.path for r in scripted.requests] == [
        "/v1/customers.get",
        "/v1/customers.get_or_create",
        "/v1/entities.get",
    ]


async def test_errors_raise(autumn: Autumn, scripted: ScriptedServer) -> None:
    scripted.then(autumn_error(404, "customer_not_found"), autumn_error(404, "entity_not_found"))
    with pytest.raises(AutumnDefaultError) as customer:
        await autumn.customers.get(customer_id="cus_404")
    with pytest.raises(AutumnDefaultError) as entity:
        await autumn.entities.get(entity_id="seat_404")

    assert (customer.value.code, entity.value.code) == ("customer_not_found", "entity_not_found")


async def test_bad_input_raises_before_any_request(
    autumn: Autumn, scripted: ScriptedServer
) -> None:
    with pytest.raises(SDKValidationError) as both:
        await autumn.balances.track(customer_id="c", feature_id="f", event_name="e")
    with pytest.raises(SDKValidationError) as mixed:
        await autumn.balances.check({"customer_id": "c", "feature_id": "f"}, customer_id="c")
    with pytest.raises(SDKValidationError) as release:
        await autumn.balances.finalize(lock_id="l", action="release", override_value=1)

    assert (both.value.field, mixed.value.field, release.value.field) == (
        "feature_id",
        "params",
        "override_value",
    )
    assert scripted.requests == []
