"""Mistakes a user makes, each refused with a message that says what to do instead.

Never a raise from a call: every one of these is an `Err` (a constructor
argument is refused when the core is built, before any call).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from autumn_core import (
    AutumnCore,
    BackoffStrategy,
    InvalidRequestError,
    RequestOptions,
    RetryConfig,
    SDKValidationError,
)
from autumn_funcs import (
    AutumnSync,
    CreateBalanceParams,
    balances_create,
    balances_update,
)
from tests.blocking.server_thread import ServerThread
from tests.scripted_server import ScriptedServer
from tests.sdk.conftest import CREATE_EXAMPLE, SECRET, UPDATE_EXAMPLE, header

MakeCore = Callable[..., AutumnCore]


async def refused(call: Any, scripted: ScriptedServer) -> SDKValidationError:
    res = await call
    assert not res.ok, res
    assert isinstance(res.error, SDKValidationError), res.error
    assert scripted.requests == []
    return res.error


# -- headers the SDK owns ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "instead"),
    [
        ("Idempotency-Key", "idempotency_key option"),
        ("idempotency-key", "idempotency_key option"),
        ("Authorization", "secret_key"),
        ("AUTHORIZATION", "secret_key"),
        ("x-api-version", "x_api_version"),
        ("X-Api-Version", "x_api_version"),
    ],
)
async def test_options_headers_may_not_set_the_sdks_own_headers(
    core: AutumnCore, scripted: ScriptedServer, name: str, instead: str
) -> None:
    error = await refused(
        balances_create(core, CREATE_EXAMPLE, {"headers": {name: "mine"}}), scripted
    )
    assert error.field == "options.headers"
    assert repr(name) in error.message and instead in error.message
    assert "mine" not in error.message


async def test_other_headers_replace_the_sdks_in_any_case(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    options = {"headers": {"user-agent": "checkout/1.0", "X-Request-Source": "cart"}}
    assert (await balances_create(core, CREATE_EXAMPLE, options)).ok
    (request,) = scripted.requests
    sent = [name.lower() for name in request.headers]
    assert sent.count("user-agent") == 1
    assert header(request, "User-Agent") == "checkout/1.0"
    assert header(request, "X-Request-Source") == "cart"


# -- extra_body: fields newer than the SDK -------------------------------------------


async def test_extra_body_is_merged_into_the_json_body(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    extra = {"metadata": {"source": "promo", "tags": ["a", 1, None]}, "new_flag": True}
    assert (await balances_create(core, CREATE_EXAMPLE, {"extra_body": extra})).ok
    assert scripted.requests[0].json() == {**CREATE_EXAMPLE, **extra}


@pytest.mark.parametrize("field", ["feature_id", "included", "balance_id"])
async def test_extra_body_may_not_override_a_modelled_field(
    core: AutumnCore, scripted: ScriptedServer, field: str
) -> None:
    error = await refused(
        balances_create(core, CREATE_EXAMPLE, {"extra_body": {field: "x"}}), scripted
    )
    assert error.field == f"options.extra_body.{field}"
    assert error.message == (
        f"invalid options.extra_body.{field}: {field} is a field of CreateBalanceParams; "
        "set it in params (extra_body is for fields this SDK does not know)"
    )


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        (["not", "an", "object"], "expected an object, got array"),
        ({"when": object()}, "when: expected a JSON value"),
        ({"ratio": float("nan")}, "ratio: expected a finite number"),
        ({1: "x"}, "expected string keys"),
    ],
)
async def test_extra_body_must_be_a_json_object(
    core: AutumnCore, scripted: ScriptedServer, extra: Any, reason: str
) -> None:
    error = await refused(balances_create(core, CREATE_EXAMPLE, {"extra_body": extra}), scripted)
    assert error.field == "options.extra_body" and reason in error.message


def test_extra_body_in_request_options_is_a_copy() -> None:
    extra = {"a": 1}
    options = RequestOptions(extra_body=extra)
    extra["a"] = 2
    assert options.extra_body == {"a": 1}


# -- the core and its settings -------------------------------------------------------


async def test_max_retries_is_a_shortcut_for_the_retry_policy(
    scripted: ScriptedServer,
) -> None:
    core = AutumnCore(SECRET, server_url=scripted.url, max_retries=5)
    assert core.retry_config == RetryConfig(max_retries=5)
    assert AutumnCore(SECRET, max_retries=0).retry_config.max_retries == 0
    await core.aclose()


def test_max_retries_with_retry_config_is_refused() -> None:
    with pytest.raises(SDKValidationError) as raised:
        AutumnCore(SECRET, max_retries=3, retry_config=RetryConfig())
    assert raised.value.field == "max_retries"
    assert "RetryConfig(max_retries=...)" in raised.value.message


@pytest.mark.parametrize("value", [-1, 2.5, "3", True])
def test_a_bad_max_retries_is_refused_by_name(value: Any) -> None:
    with pytest.raises(SDKValidationError) as raised:
        AutumnCore(SECRET, max_retries=value)
    assert raised.value.field == "max_retries"


def test_the_blocking_client_takes_the_same_shortcuts() -> None:
    with AutumnSync(SECRET, max_retries=4, total_timeout_ms=2_000) as autumn:
        assert "AutumnSync(" in repr(autumn)
    with pytest.raises(SDKValidationError):
        AutumnSync(SECRET, max_retries=1, retry_config=RetryConfig())


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_retries": "2"}, "RetryConfig.max_retries"),
        ({"strategy": "exponential"}, "RetryConfig.strategy"),
        ({"retry_codes": 503}, "RetryConfig.retry_codes"),
        ({"retry_codes": ["5xy"]}, "RetryConfig.retry_codes"),
        ({"backoff": {"initial_interval": 1}}, "RetryConfig.backoff"),
        ({"retry_connection_errors": "yes"}, "RetryConfig.retry_connection_errors"),
        ({"sleep": 5}, "RetryConfig.sleep"),
        ({"confirm_duplicate_after_ms": -1}, "RetryConfig.confirm_duplicate_after_ms"),
        ({"confirm_duplicate_after_ms": float("inf")}, "RetryConfig.confirm_duplicate_after_ms"),
    ],
)
def test_a_bad_retry_config_value_names_its_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(SDKValidationError) as raised:
        RetryConfig(**kwargs)
    assert raised.value.field == field
    assert raised.value.message.startswith(f"invalid {field}: ")


def test_a_bad_backoff_value_names_its_field() -> None:
    with pytest.raises(SDKValidationError) as raised:
        BackoffStrategy(max_interval=-5)
    assert raised.value.field == "BackoffStrategy.max_interval"


@pytest.mark.parametrize(
    "url",
    [
        "https://api.useautumn.com/v1",
        "https://api.useautumn.com/v1/",
        "http://proxy:8080/autumn/V1",
    ],
)
async def test_a_server_url_ending_in_v1_is_refused_with_the_url_to_use(
    core: AutumnCore, scripted: ScriptedServer, url: str
) -> None:
    with pytest.raises(SDKValidationError) as raised:
        AutumnCore(SECRET, server_url=url)
    assert raised.value.field == "server_url"
    fixed = url.rstrip("/")[:-3]
    assert f"use {fixed!r}" in raised.value.message and "/v1/v1" not in fixed
    error = await refused(balances_create(core, CREATE_EXAMPLE, {"server_url": url}), scripted)
    assert error.field == "options.server_url"


async def test_a_sync_secret_key_callable_is_told_to_be_async(scripted: ScriptedServer) -> None:
    def get_key() -> str:
        return SECRET

    async with AutumnCore(get_key, server_url=scripted.url) as core:  # type: ignore[arg-type]
        res = await balances_create(core, CREATE_EXAMPLE)
    assert isinstance(res.error, SDKValidationError)
    assert res.error.field == "secret_key"
    assert res.error.message == (
        "secret_key: the callable returned a str, not an awaitable; it must be async "
        "(`async def get_key() -> str`), or pass the key itself as a string"
    )
    assert SECRET not in str(res.error)
    assert scripted.requests == []


async def test_a_function_given_the_blocking_client_says_how_to_use_it() -> None:
    with AutumnSync(SECRET, server_url="http://127.0.0.1:9") as autumn:
        res = await balances_update(autumn, UPDATE_EXAMPLE)  # type: ignore[arg-type]
    assert isinstance(res.error, SDKValidationError)
    assert "autumn.call(balances_create" in res.error.message


async def test_another_operations_params_name_the_expected_type(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    params = CreateBalanceParams(customer_id="cus_123", feature_id="api_calls")
    error = await refused(balances_update(core, params), scripted)  # type: ignore[arg-type]
    assert "expected UpdateBalanceParams or a dict of its fields, got CreateBalanceParams" in (
        error.message
    )


@pytest.mark.parametrize(
    ("field", "meant"),
    [("feature", "feature_id"), ("customer", "customer_id"), ("custmer_id", "customer_id")],
)
async def test_a_near_miss_field_gets_a_did_you_mean(
    core: AutumnCore, scripted: ScriptedServer, field: str, meant: str
) -> None:
    params = {**CREATE_EXAMPLE, field: "x"}
    error = await refused(balances_create(core, params), scripted)
    assert (field, f"unknown field (did you mean {meant!r}?)") in error.problems


# "limit" is only somewhat like "unlimited": a guess would point at the opposite field.
@pytest.mark.parametrize("field", ["zzz", "limit"])
async def test_an_unknown_field_far_from_any_gets_no_guess(
    core: AutumnCore, scripted: ScriptedServer, field: str
) -> None:
    error = await refused(balances_create(core, {**CREATE_EXAMPLE, field: 1}), scripted)
    assert (field, "unknown field") in error.problems


# -- one core, one event loop --------------------------------------------------------


def test_a_core_used_from_a_second_event_loop_says_to_create_it_inside_the_loop() -> None:
    """A module-level core used by two event loops, as two asyncio.run() calls do."""
    first_loop, second_loop = asyncio.new_event_loop(), asyncio.new_event_loop()
    with ServerThread() as servers:
        scripted = servers.run(ScriptedServer().start())
        core = AutumnCore(SECRET, server_url=scripted.url)  # "module level"
        try:
            first = first_loop.run_until_complete(balances_create(core, CREATE_EXAMPLE))
            second = second_loop.run_until_complete(balances_create(core, CREATE_EXAMPLE))
        finally:
            first_loop.run_until_complete(core.aclose())  # its pool belongs to the first
            first_loop.close()
            second_loop.close()
            servers.run(scripted.stop())
    assert first.ok
    assert isinstance(second.error, InvalidRequestError)
    message = second.error.message
    assert "another event loop" in message
    assert "lifespan" in message and "cleanup_ctx" in message
    assert len(scripted.requests) == 1


def test_a_session_of_yours_from_another_loop_is_refused_clearly() -> None:
    import aiohttp

    async def make_session() -> aiohttp.ClientSession:
        return aiohttp.ClientSession()

    with ServerThread() as servers:
        scripted = servers.run(ScriptedServer().start())
        session = servers.run(make_session())
        core = AutumnCore(SECRET, server_url=scripted.url, session=session)
        res = asyncio.run(balances_create(core, CREATE_EXAMPLE))
        servers.run(session.close())
        servers.run(scripted.stop())
    assert isinstance(res.error, InvalidRequestError)
    assert "another event loop" in res.error.message
    assert scripted.requests == []


# -- option values, each refused by name with what is expected ------------------------


@pytest.mark.parametrize("key", ["k", "k" * 255])
async def test_an_idempotency_key_of_1_to_255_characters_is_sent(
    core: AutumnCore, scripted: ScriptedServer, key: str
) -> None:
    assert (await balances_create(core, CREATE_EXAMPLE, {"idempotency_key": key})).ok
    assert header(scripted.requests[0], "Idempotency-Key") == key


@pytest.mark.parametrize("key", ["", "k" * 256, "clé"])
async def test_another_idempotency_key_is_refused_saying_what_is_expected(
    core: AutumnCore, scripted: ScriptedServer, key: str
) -> None:
    error = await refused(balances_create(core, CREATE_EXAMPLE, {"idempotency_key": key}), scripted)
    assert error.field == "options.idempotency_key"
    assert error.message == (
        "invalid options.idempotency_key: expected 1 to 255 printable ASCII characters"
    )


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (42, "expected a mapping of header names to values, got 42"),
        ({"X-Note": "café"}, "header 'X-Note': names and values must be printable ASCII"),
    ],
)
async def test_bad_headers_are_refused_saying_what_is_expected(
    core: AutumnCore, scripted: ScriptedServer, headers: object, message: str
) -> None:
    error = await refused(balances_create(core, CREATE_EXAMPLE, {"headers": headers}), scripted)
    assert error.field == "options.headers"
    assert error.message == f"invalid options.headers: {message}"


async def test_a_read_given_an_idempotency_key_says_reads_send_none(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    from autumn_funcs import customers_get

    call = customers_get(core, {"customer_id": "cus_123"}, {"idempotency_key": "k1"})
    error = await refused(call, scripted)
    assert error.message == (
        "invalid options.idempotency_key: getCustomer is a read, and reads send no Idempotency-Key"
    )
