"""Bad input is refused before any I/O, with an SDKValidationError naming the field."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

import pytest

from autumn_core import AutumnCore, RequestOptions, SDKValidationError
from autumn_funcs import CreateBalanceParams, Reset, balances_create, balances_update
from tests.scripted_server import ScriptedServer

BASE = {"customer_id": "cus_123", "feature_id": "api_calls"}


async def refused(call: Any, scripted: ScriptedServer) -> SDKValidationError:
    """Await a call that must fail validation; the server must have seen nothing."""
    res = await call
    assert not res.ok, res
    assert isinstance(res.error, SDKValidationError), res.error
    assert scripted.requests == []
    return res.error


CREATE_CASES = [
    pytest.param({"feature_id": "api_calls"}, "customer_id", "required", id="missing-customer"),
    pytest.param({"customer_id": "cus_123"}, "feature_id", "required", id="missing-feature"),
    pytest.param({**BASE, "customer_id": 123}, "customer_id", "string", id="number-for-string"),
    pytest.param({**BASE, "customer_id": None}, "customer_id", "string", id="null-for-string"),
    pytest.param(
        {**BASE, "included_grant": "1000"}, "included_grant", "number", id="string-for-number"
    ),
    pytest.param(
        {**BASE, "included_grant": True}, "included_grant", "number", id="bool-for-number"
    ),
    pytest.param({**BASE, "included_grant": math.nan}, "included_grant", "finite", id="nan"),
    pytest.param({**BASE, "included_grant": math.inf}, "included_grant", "finite", id="inf"),
    pytest.param({**BASE, "expires_at": -math.inf}, "expires_at", "finite", id="minus-inf"),
    pytest.param({**BASE, "unlimited": 1}, "unlimited", "boolean", id="number-for-bool"),
    pytest.param({**BASE, "unlimited": "true"}, "unlimited", "boolean", id="string-for-bool"),
    pytest.param({**BASE, "reset": "month"}, "reset", "object", id="reset-not-object"),
    pytest.param({**BASE, "reset": ["month"]}, "reset", "object", id="reset-array"),
    pytest.param({**BASE, "reset": {}}, "reset.interval", "required", id="reset-no-interval"),
    pytest.param(
        {**BASE, "reset": {"interval": "fortnight"}}, "reset.interval", "month", id="bad-enum"
    ),
    pytest.param({**BASE, "reset": {"interval": 30}}, "reset.interval", "month", id="enum-number"),
    pytest.param(
        {**BASE, "reset": {"interval": "month", "interval_count": "2"}},
        "reset.interval_count",
        "number",
        id="nested-type",
    ),
    pytest.param(
        {**BASE, "rollover": {"length": 1, "duration": "year"}},
        "rollover.duration",
        "forever",
        id="rollover-enum",
    ),
    pytest.param({**BASE, "rollover": {}}, "rollover.length", "required", id="rollover-length"),
    pytest.param({**BASE, "includedGrant": 5}, "includedGrant", "unknown", id="unknown-field"),
    pytest.param({**BASE, 7: "x"}, "7", "unknown", id="non-string-key"),
]


@pytest.mark.parametrize(("params", "field", "reason"), CREATE_CASES)
async def test_create_params_refused_before_io(
    core: AutumnCore, scripted: ScriptedServer, params: Any, field: str, reason: str
) -> None:
    error = await refused(balances_create(core, params), scripted)
    assert error.field == field
    assert field in error.message
    assert reason in error.message
    assert error.idempotency_key is None
    assert error.attempts == 0


UPDATE_CASES = [
    pytest.param({"customer_id": "c", "remaining": 5}, "feature_id", id="missing-feature"),
    pytest.param({**BASE, "remaining": "5"}, "remaining", id="string-for-number"),
    pytest.param({**BASE, "add_to_balance": False}, "add_to_balance", id="bool-for-number"),
    pytest.param({**BASE, "remaining": math.nan}, "remaining", id="nan"),
    pytest.param({**BASE, "usage": math.inf}, "usage", id="inf"),
    pytest.param({**BASE, "interval": "fortnightly"}, "interval", id="bad-enum"),
    pytest.param({**BASE, "balance_id": 5}, "balance_id", id="number-for-string"),
    pytest.param({**BASE, "included": 5}, "included", id="create-only-field"),
]


@pytest.mark.parametrize(("params", "field"), UPDATE_CASES)
async def test_update_params_refused_before_io(
    core: AutumnCore, scripted: ScriptedServer, params: Any, field: str
) -> None:
    error = await refused(balances_update(core, params), scripted)
    assert error.field == field


@pytest.mark.parametrize(
    ("params", "camel", "snake"),
    [
        ({**BASE, "entityId": "ent_1"}, "entityId", "entity_id"),
        ({**BASE, "nextResetAt": 1}, "nextResetAt", "next_reset_at"),
        (
            {**BASE, "reset": {"interval": "day", "intervalCount": 2}},
            "reset.intervalCount",
            "interval_count",
        ),
    ],
)
async def test_camel_case_field_gets_a_did_you_mean_hint(
    core: AutumnCore, scripted: ScriptedServer, params: Any, camel: str, snake: str
) -> None:
    error = await refused(balances_create(core, params), scripted)
    assert error.field == camel
    assert f"did you mean '{snake}'" in error.message


async def test_every_problem_is_listed_first_one_named(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    error = await refused(
        balances_create(core, {"featureId": "api_calls", "included_grant": "x"}), scripted
    )
    fields = {field for field, _reason in error.problems}
    assert {"customer_id", "feature_id", "included_grant", "featureId"} <= fields
    assert error.field in fields


@pytest.mark.parametrize("params", [None, "cus_123", 42, ["cus_123"], ("a", "b")])
async def test_params_that_are_not_an_object(
    core: AutumnCore, scripted: ScriptedServer, params: Any
) -> None:
    error = await refused(balances_create(core, params), scripted)
    assert error.field == "params"
    error = await refused(balances_update(core, params), scripted)
    assert error.field == "params"


async def test_hand_built_model_is_checked_too(core: AutumnCore, scripted: ScriptedServer) -> None:
    # attrs does not check types at construction; the SDK must before sending.
    bad_type = CreateBalanceParams(customer_id=123, feature_id="f")  # type: ignore[arg-type]
    bad_enum = CreateBalanceParams(
        customer_id="c",
        feature_id="f",
        reset=Reset(interval="fortnight"),  # type: ignore[arg-type]
    )
    nan = CreateBalanceParams(customer_id="c", feature_id="f", included_grant=math.nan)

    assert (await refused(balances_create(core, bad_type), scripted)).field == "customer_id"
    assert (await refused(balances_create(core, bad_enum), scripted)).field == "reset.interval"
    assert (await refused(balances_create(core, nan), scripted)).field == "included_grant"


OPTION_CASES = [
    pytest.param({"timeout": 1000}, "options.timeout", id="unknown-option"),
    pytest.param({"timeoutMs": 1000}, "options.timeoutMs", id="camel-option"),
    pytest.param({"timeout_ms": 0}, "options.timeout_ms", id="timeout-zero"),
    pytest.param({"timeout_ms": -5}, "options.timeout_ms", id="timeout-negative"),
    pytest.param({"timeout_ms": math.nan}, "options.timeout_ms", id="timeout-nan"),
    pytest.param({"timeout_ms": "100"}, "options.timeout_ms", id="timeout-string"),
    pytest.param({"idempotency_key": ""}, "options.idempotency_key", id="key-empty"),
    pytest.param({"idempotency_key": "a\r\nb"}, "options.idempotency_key", id="key-crlf"),
    pytest.param({"idempotency_key": "k" * 256}, "options.idempotency_key", id="key-long"),
    pytest.param({"idempotency_key": "clé"}, "options.idempotency_key", id="key-non-ascii"),
    pytest.param({"idempotency_key": 42}, "options.idempotency_key", id="key-number"),
    pytest.param({"retry_codes": ["50"]}, "options.retry_codes", id="retry-code"),
    pytest.param({"retry_codes": "5XX"}, "options.retry_codes", id="retry-codes-string"),
    pytest.param({"headers": {"X-A": "1\n2"}}, "options.headers", id="header-newline"),
    pytest.param({"server_url": "ftp://x"}, "options.server_url", id="server-url"),
    pytest.param({"retries": 3}, "options.retries", id="retries-int"),
    pytest.param({"abort_signal": True}, "options.abort_signal", id="abort-signal"),
    pytest.param("fast", "options", id="not-a-dict"),
]


@pytest.mark.parametrize(("options", "field"), OPTION_CASES)
async def test_bad_options_refused_before_io(
    core: AutumnCore, scripted: ScriptedServer, options: Any, field: str
) -> None:
    error = await refused(balances_create(core, BASE, options), scripted)
    assert error.field == field


def test_request_options_checks_at_construction() -> None:
    with pytest.raises(SDKValidationError) as caught:
        RequestOptions(timeout_ms=0)
    assert caught.value.field == "options.timeout_ms"
    with pytest.raises(SDKValidationError) as caught:
        RequestOptions(idempotency_key="two\nlines")
    assert caught.value.field == "options.idempotency_key"


async def test_valid_options_pass(core: AutumnCore, scripted: ScriptedServer) -> None:
    options = RequestOptions(
        timeout_ms=5_000,
        idempotency_key="order-1",
        retry_codes=["5XX", 429],
        headers={"X-A": "1"},
        abort_signal=asyncio.Event(),
    )
    assert (await balances_create(core, BASE, options)).ok
    assert len(scripted.requests) == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"server_url": "ftp://api.example"}, "server_url"),
        ({"server_url": "not a url"}, "server_url"),
        ({"server_url": "http://"}, "server_url"),
        ({"timeout_ms": 0}, "timeout_ms"),
        ({"timeout_ms": float("inf")}, "timeout_ms"),
        ({"x_api_version": ""}, "x_api_version"),
        ({"x_api_version": "2.1\r\nX-Evil: 1"}, "x_api_version"),
        ({"retry_config": {"strategy": "none"}}, "retry_config"),
        ({"hooks": [print]}, "hooks"),
        ({"session": object()}, "session"),
        ({"user_agent": "my-app\r\nX-Evil: 1"}, "user_agent"),
    ],
)
def test_bad_core_configuration_is_refused(
    make_core: Callable[..., AutumnCore], kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(SDKValidationError) as caught:
        make_core(**kwargs)
    assert caught.value.field == field


@pytest.mark.parametrize("key", ["", "am_sk_test with space", "am_sk_test_\n", 12345])
def test_bad_secret_key_is_refused_without_echoing_it(
    make_core: Callable[..., AutumnCore], key: Any
) -> None:
    with pytest.raises(SDKValidationError) as caught:
        make_core(secret_key=key)
    assert caught.value.field == "secret_key"
    if key:
        assert str(key).strip() not in str(caught.value)
