"""balances_delete and balances_finalize against a scripted server: exact bodies, the
Idempotency-Key of a write, the fixed answer, and Autumn's rules refused by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from autumn_core import AutumnCore, AutumnDefaultError, SDKValidationError
from autumn_funcs import (
    DeleteBalanceParams,
    DeleteBalanceResponse,
    FinalizeLockAction,
    FinalizeLockParams,
    FinalizeLockResponse,
    ResetInterval,
    balances_delete,
    balances_finalize,
)
from tests.scripted_server import ScriptedServer, autumn_error, json_reply
from tests.sdk.conftest import header

MakeCore = Callable[..., AutumnCore]


async def test_delete_sends_the_exact_body_with_a_key(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    params = DeleteBalanceParams(
        customer_id="cus_123",
        entity_id="seat_1",
        feature_id="api_calls",
        balance_id="promo_1",
        recalculate_balances=True,
        interval=ResetInterval.MONTH,
    )
    res = await balances_delete(core, params)

    assert res.ok, res
    assert res.value == DeleteBalanceResponse(success=True)
    (request,) = scripted.requests
    assert (request.method, request.path) == ("POST", "/v1/balances.delete")
    assert request.body == (
        b'{"customer_id":"cus_123","entity_id":"seat_1","feature_id":"api_calls",'
        b'"balance_id":"promo_1","recalculate_balances":true,"interval":"month"}'
    )
    assert header(request, "Idempotency-Key")


@pytest.mark.parametrize(
    "params",
    [
        {"customer_id": "cus_123", "feature_id": "api_calls"},
        {"customer_id": "cus_123", "balance_id": "promo_1"},
        {"customer_id": "cus_123", "feature_id": "api_calls", "interval": "one_off"},
    ],
)
async def test_delete_by_feature_or_by_balance_id(
    core: AutumnCore, scripted: ScriptedServer, params: dict[str, Any]
) -> None:
    assert (await balances_delete(core, params)).ok
    assert scripted.requests[0].json() == params


@pytest.mark.parametrize(
    ("params", "field", "reason"),
    [
        ({"customer_id": "cus_123"}, "feature_id", "every balance of the customer"),
        ({"customer_id": "cus_123", "interval": "month"}, "feature_id", "every balance"),
        (
            {"customer_id": "cus_123", "balance_id": "b", "recalculate_balances": True},
            "feature_id",
            "recalculate_balances needs feature_id",
        ),
        ({"customer_id": "cus_123", "feature_id": "f", "interval": "monthly"}, "interval", "one_"),
        ({"feature_id": "f"}, "customer_id", "required"),
    ],
)
async def test_delete_refuses_bad_params_by_name_before_any_io(
    core: AutumnCore, scripted: ScriptedServer, params: dict[str, Any], field: str, reason: str
) -> None:
    res = await balances_delete(core, params)

    assert not res.ok
    assert isinstance(res.error, SDKValidationError)
    assert res.error.field == field, res.error
    assert reason in str(res.error)
    assert scripted.requests == []


async def test_delete_of_a_paid_balance_is_the_servers_409(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    scripted.then(autumn_error(409, "invalid_request", "Cannot delete paid balance"))
    res = await balances_delete(core, {"customer_id": "cus_123", "feature_id": "seats"})

    assert not res.ok
    assert isinstance(res.error, AutumnDefaultError)
    assert res.error.status_code == 409


@pytest.mark.parametrize(
    ("params", "body"),
    [
        (
            {"lock_id": "job_1", "action": "confirm", "override_value": 3, "properties": {"a": 1}},
            b'{"lock_id":"job_1","action":"confirm","override_value":3,"properties":{"a":1}}',
        ),
        (
            FinalizeLockParams(lock_id="job_1", action=FinalizeLockAction.RELEASE),
            b'{"lock_id":"job_1","action":"release"}',
        ),
    ],
    ids=["confirm", "release"],
)
async def test_finalize_sends_the_exact_body_with_a_key(
    core: AutumnCore, scripted: ScriptedServer, params: Any, body: bytes
) -> None:
    res = await balances_finalize(core, params)

    assert res.ok, res
    assert res.value == FinalizeLockResponse(success=True)
    (request,) = scripted.requests
    assert (request.path, request.body) == ("/v1/balances.finalize", body)
    assert header(request, "Idempotency-Key")


async def test_finalize_retries_with_one_key(make_core: MakeCore, scripted: ScriptedServer) -> None:
    scripted.then(autumn_error(503, "unavailable"), json_reply(202, {"success": True}))
    res = await balances_finalize(make_core(), {"lock_id": "job_1", "action": "confirm"})

    assert res.ok, res
    keys = [header(r, "Idempotency-Key") for r in scripted.requests]
    assert len(keys) == 2 and keys[0] is not None and keys[0] == keys[1]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lock_id": "job_1", "action": "release", "override_value": 0}, "override_value"),
        ({"lock_id": "job_1", "action": "commit"}, "action"),
        ({"lock_id": "job_1"}, "action"),
        ({"lock_id": "job_1", "action": "confirm", "override_value": "3"}, "override_value"),
    ],
)
async def test_finalize_refuses_bad_params_by_name_before_any_io(
    core: AutumnCore, scripted: ScriptedServer, params: dict[str, Any], field: str
) -> None:
    res = await balances_finalize(core, params)

    assert not res.ok
    assert isinstance(res.error, SDKValidationError)
    assert res.error.field == field, res.error
    assert scripted.requests == []


async def test_an_unknown_lock_is_the_servers_error(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    scripted.then(autumn_error(400, "invalid_request", "Lock not found for ID: nope"))
    res = await balances_finalize(core, {"lock_id": "nope", "action": "confirm"})

    assert not res.ok
    assert isinstance(res.error, AutumnDefaultError)
    assert (res.error.status_code, res.error.code) == (400, "invalid_request")
