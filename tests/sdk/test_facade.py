"""The raising `Autumn` facade of the seed's first example."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from autumn_core import (
    APIConnectionError,
    AutumnCore,
    AutumnDefaultError,
    RetryConfig,
    SDKValidationError,
)
from autumn_funcs import (
    Autumn,
    CreateBalanceParams,
    CreateBalanceResponse,
    Reset,
    ResetInterval,
    UpdateBalanceResponse,
)
from tests.scripted_server import ScriptedServer, autumn_error
from tests.sdk.conftest import CREATE_EXAMPLE, SECRET, UPDATE_EXAMPLE, header
from tests.sdk.test_wire import CREATE_BYTES, UPDATE_BYTES

NO_RETRY = RetryConfig(strategy="none")


@pytest.fixture
async def autumn(scripted: ScriptedServer) -> AsyncIterator[Autumn]:
    async with Autumn(SECRET, server_url=scripted.url) as client:
        yield client


async def test_dict_model_and_keyword_forms_return_the_model(
    autumn: Autumn, scripted: ScriptedServer
) -> None:
    created = [
        await autumn.balances.create(CREATE_EXAMPLE),
        await autumn.balances.create(
            CreateBalanceParams(
                customer_id="cus_123",
                feature_id="api_calls",
                included_grant=1000,
                reset=Reset(interval=ResetInterval.MONTH),
            )
        ),
        await autumn.balances.create(
            customer_id="cus_123",
            feature_id="api_calls",
            included_grant=1000,
            reset={"interval": "month"},
        ),
    ]
    updated = [
        await autumn.balances.update(UPDATE_EXAMPLE),
        await autumn.balances.update(customer_id="cus_123", feature_id="api_calls", remaining=5),
    ]

    assert created == [CreateBalanceResponse(success=True)] * 3
    assert updated == [UpdateBalanceResponse(success=True)] * 2
    assert [r.body for r in scripted.requests] == [CREATE_BYTES] * 3 + [UPDATE_BYTES] * 2


async def test_options_pass_through(autumn: Autumn, scripted: ScriptedServer) -> None:
    await autumn.balances.update(UPDATE_EXAMPLE, options={"idempotency_key": "facade-1"})
    assert header(scripted.requests[0], "Idempotency-Key") == "facade-1"


async def test_server_error_raises_the_typed_error(
    autumn: Autumn, scripted: ScriptedServer
) -> None:
    scripted.then(autumn_error(404, "customer_not_found", "Customer cus_9 not found"))
    with pytest.raises(AutumnDefaultError) as caught:
        await autumn.balances.create({**CREATE_EXAMPLE, "customer_id": "cus_9"})
    assert caught.value.status_code == 404
    assert caught.value.code == "customer_not_found"
    assert caught.value.idempotency_key == header(scripted.requests[0], "Idempotency-Key")


async def test_bad_input_raises_before_any_request(
    autumn: Autumn, scripted: ScriptedServer
) -> None:
    with pytest.raises(SDKValidationError) as caught:
        await autumn.balances.create(
            customer_id="cus_123", feature_id="api_calls", included_grant="x"
        )
    assert caught.value.field == "included_grant"
    with pytest.raises(SDKValidationError) as caught:
        await autumn.balances.update(UPDATE_EXAMPLE, remaining=6)
    assert caught.value.field == "params"
    with pytest.raises(SDKValidationError):
        await autumn.balances.update()
    assert scripted.requests == []


async def test_connection_failure_raises(refused_url: str) -> None:
    async with Autumn(SECRET, server_url=refused_url) as autumn:
        with pytest.raises(APIConnectionError):
            await autumn.balances.create(CREATE_EXAMPLE, options={"retries": NO_RETRY})


def test_facade_is_a_core_with_the_same_constructor() -> None:
    autumn = Autumn(SECRET, server_url="http://127.0.0.1:9", x_api_version="2.1")
    assert isinstance(autumn, AutumnCore)
    assert SECRET not in repr(autumn)
