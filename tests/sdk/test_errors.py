"""Every error class, each reached through a real failure of a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import aiohttp
import pytest

from autumn_core import (
    APIConnectionError,
    Applied,
    AutumnCore,
    AutumnDefaultError,
    AutumnError,
    AutumnSDKError,
    Hooks,
    HTTPClientError,
    InvalidRequestError,
    RawResponse,
    RequestAbortedError,
    RequestOptions,
    RequestTimeoutError,
    ResponseValidationError,
    RetryConfig,
    UnexpectedClientError,
)
from autumn_funcs import CreateBalanceResponse, balances_create, balances_update
from tests.scripted_server import (
    ScriptedServer,
    autumn_error,
    drop_connection,
    hold,
    json_reply,
    raw_reply,
)
from tests.sdk.conftest import CREATE_EXAMPLE, SECRET, UPDATE_EXAMPLE, header

NO_RETRY = RetryConfig(strategy="none")


def sent_key(scripted: ScriptedServer) -> str | None:
    return header(scripted.requests[-1], "Idempotency-Key")


async def test_refused_port_is_a_connection_error(
    make_core: Callable[..., AutumnCore], refused_url: str
) -> None:
    core = make_core(server_url=refused_url, retry_config=NO_RETRY)
    res = await balances_create(core, CREATE_EXAMPLE)

    assert not res.ok
    assert isinstance(res.error, APIConnectionError)
    assert isinstance(res.error, HTTPClientError)
    assert res.error.attempts == 1
    assert res.error.idempotency_key
    assert isinstance(res.error.__cause__, aiohttp.ClientError)


async def test_dropped_connection_is_a_connection_error(
    make_core: Callable[..., AutumnCore], scripted: ScriptedServer
) -> None:
    scripted.then(drop_connection())
    core = make_core(retry_config=NO_RETRY)
    res = await balances_update(core, UPDATE_EXAMPLE)

    assert not res.ok
    assert isinstance(res.error, APIConnectionError)
    assert res.error.idempotency_key == sent_key(scripted)


async def test_core_timeout_gives_request_timeout_error(
    make_core: Callable[..., AutumnCore], scripted: ScriptedServer, release: asyncio.Event
) -> None:
    scripted.then(hold(release))
    core = make_core(timeout_ms=50, retry_config=NO_RETRY)
    res = await balances_create(core, CREATE_EXAMPLE)

    assert not res.ok
    assert isinstance(res.error, RequestTimeoutError)
    assert res.error.attempts == 1
    assert res.error.idempotency_key == sent_key(scripted)
    assert "50 ms" in res.error.message


async def test_per_call_timeout_overrides_the_core(
    make_core: Callable[..., AutumnCore], scripted: ScriptedServer, release: asyncio.Event
) -> None:
    scripted.then(hold(release))
    core = make_core(timeout_ms=60_000, retry_config=NO_RETRY)
    res = await balances_update(core, UPDATE_EXAMPLE, {"timeout_ms": 50})

    assert not res.ok
    assert isinstance(res.error, RequestTimeoutError)
    # The core is still usable, and the next call keeps the core's own timeout.
    assert (await balances_update(core, UPDATE_EXAMPLE)).ok


async def test_timeout_while_the_body_stalls(
    make_core: Callable[..., AutumnCore], scripted: ScriptedServer, release: asyncio.Event
) -> None:
    async def stall(request: aiohttp.web.Request) -> aiohttp.web.StreamResponse:
        response = aiohttp.web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = 100
        await response.prepare(request)
        await response.write(b'{"success"')
        await release.wait()
        return response

    scripted.then(stall)
    core = make_core(timeout_ms=100, retry_config=NO_RETRY)
    res = await balances_create(core, CREATE_EXAMPLE)
    assert not res.ok
    assert isinstance(res.error, RequestTimeoutError)


async def test_autumn_json_error_is_an_autumn_default_error(
    make_core: Callable[..., AutumnCore], scripted: ScriptedServer
) -> None:
    scripted.then(autumn_error(404, "customer_not_found", "Customer cus_999 not found"))
    core = make_core()
    res = await balances_create(core, {**CREATE_EXAMPLE, "customer_id": "cus_999"})

    assert not res.ok
    error = res.error
    assert isinstance(error, AutumnDefaultError)
    assert isinstance(error, AutumnError)
    assert error.status_code == 404
    assert error.code == "customer_not_found"
    assert error.env == "sandbox"
    assert "Customer cus_999 not found" in error.message
    assert "customer_not_found" in str(error)
    assert json.loads(error.body) == {
        "message": "Customer cus_999 not found",
        "code": "customer_not_found",
        "env": "sandbox",
    }
    assert error.content_type.startswith("application/json")
    assert error.headers["Content-Type"].startswith("application/json")
    # What is kept of the answer, never aiohttp's response (it holds the request).
    assert isinstance(error.raw_response, RawResponse)
    assert error.raw_response.status == 404
    assert error.raw_response.method == "POST"
    assert error.raw_response.url == f"{scripted.url}/v1/balances.create"
    assert error.raw_response.headers["Content-Type"].startswith("application/json")
    assert error.applied is Applied.NO
    assert error.attempts == 1
    assert error.idempotency_key == sent_key(scripted)
    assert not error.earlier_attempt_accepted


async def test_server_error_keeps_status_and_headers(
    make_core: Callable[..., AutumnCore], scripted: ScriptedServer
) -> None:
    scripted.then(autumn_error(500, "internal_error", "boom", headers={"X-Request-Id": "req_1"}))
    core = make_core(retry_config=NO_RETRY)
    res = await balances_update(core, UPDATE_EXAMPLE)

    assert not res.ok
    assert isinstance(res.error, AutumnDefaultError)
    assert res.error.status_code == 500
    assert res.error.code == "internal_error"
    assert res.error.headers["X-Request-Id"] == "req_1"


async def test_html_error_page_keeps_the_body(
    make_core: Callable[..., AutumnCore], scripted: ScriptedServer
) -> None:
    page = b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>"
    scripted.then(raw_reply(502, page))
    core = make_core(retry_config=NO_RETRY)
    res = await balances_create(core, CREATE_EXAMPLE)

    assert not res.ok
    error = res.error
    assert isinstance(error, AutumnDefaultError)
    assert error.status_code == 502
    assert error.code is None
    assert error.env is None
    assert error.body == page.decode()
    assert error.content_type.startswith("text/html")
    assert "502" in error.message


async def test_error_with_empty_body(
    make_core: Callable[..., AutumnCore], scripted: ScriptedServer
) -> None:
    scripted.then(raw_reply(403, b"", content_type="text/plain"))
    res = await balances_create(make_core(), CREATE_EXAMPLE)
    assert not res.ok
    assert isinstance(res.error, AutumnDefaultError)
    assert (res.error.status_code, res.error.code, res.error.body) == (403, None, "")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(b'{"success": tru', "application/json", id="invalid-json"),
        pytest.param(b"<html>ok</html>", "text/html", id="html"),
        pytest.param(b"", "application/json", id="empty"),
        pytest.param(b'{"ok": true}', "application/json", id="missing-field"),
        pytest.param(b'{"success": "yes"}', "application/json", id="wrong-type"),
        pytest.param(b"[true]", "application/json", id="array"),
        pytest.param(b"\xff\xfe", "application/json", id="not-utf8"),
    ],
)
async def test_bad_2xx_is_a_response_validation_error(
    make_core: Callable[..., AutumnCore], scripted: ScriptedServer, body: bytes, content_type: str
) -> None:
    scripted.then(raw_reply(200, body, content_type))
    res = await balances_create(make_core(), CREATE_EXAMPLE)

    assert not res.ok
    error = res.error
    assert isinstance(error, ResponseValidationError)
    assert error.status_code == 200
    assert error.attempts == 1
    assert error.idempotency_key == sent_key(scripted)
    assert error.body == body.decode("utf-8", errors="replace")


async def test_unknown_response_fields_are_tolerated(
    make_core: Callable[..., AutumnCore], scripted: ScriptedServer
) -> None:
    scripted.then(json_reply(200, {"success": True, "balance": {"id": "bal_1"}, "x": None}))
    res = await balances_create(make_core(), CREATE_EXAMPLE)
    assert res.ok
    assert res.value == CreateBalanceResponse(success=True)


async def test_abort_signal_set_mid_call(
    make_core: Callable[..., AutumnCore], scripted: ScriptedServer, release: asyncio.Event
) -> None:
    arrived = asyncio.Event()
    scripted.then(hold(release, arrived))
    core = make_core()
    abort = asyncio.Event()

    call = asyncio.create_task(
        balances_create(core, CREATE_EXAMPLE, RequestOptions(abort_signal=abort))
    )
    await arrived.wait()
    abort.set()
    res = await call

    assert not res.ok
    assert isinstance(res.error, RequestAbortedError)
    assert res.error.idempotency_key == sent_key(scripted)
    assert res.error.attempts == 1
    assert len(scripted.requests) == 1
    # The core is fine afterwards.
    assert (await balances_create(core, CREATE_EXAMPLE)).ok


async def test_abort_signal_already_set_sends_nothing(
    make_core: Callable[..., AutumnCore], scripted: ScriptedServer
) -> None:
    abort = asyncio.Event()
    abort.set()
    res = await balances_update(make_core(), UPDATE_EXAMPLE, {"abort_signal": abort})

    assert not res.ok
    assert isinstance(res.error, RequestAbortedError)
    assert res.error.idempotency_key
    assert scripted.requests == []


async def test_abort_during_a_retry_wait(
    make_core: Callable[..., AutumnCore], scripted: ScriptedServer
) -> None:
    abort = asyncio.Event()

    async def sleep_then_abort(_seconds: float) -> None:
        abort.set()
        await asyncio.Event().wait()  # a long backoff wait, cut short by the abort

    scripted.then(autumn_error(503, "unavailable"))
    core = make_core(retry_config=RetryConfig(sleep=sleep_then_abort))
    res = await balances_create(core, CREATE_EXAMPLE, {"abort_signal": abort})

    assert not res.ok
    assert isinstance(res.error, RequestAbortedError)
    assert res.error.attempts == 1
    assert len(scripted.requests) == 1


async def test_before_request_hook_raising_is_an_invalid_request_error(
    make_core: Callable[..., AutumnCore], scripted: ScriptedServer
) -> None:
    def refuse(_context: object, _request: object) -> None:
        raise PermissionError("outside business hours")

    core = make_core(hooks=Hooks(before_request=[refuse]))
    res = await balances_create(core, CREATE_EXAMPLE)

    assert not res.ok
    assert isinstance(res.error, InvalidRequestError)
    assert isinstance(res.error.__cause__, PermissionError)
    assert "outside business hours" in res.error.message
    assert res.error.idempotency_key
    assert res.error.attempts == 1
    assert scripted.requests == []


async def test_every_error_is_an_autumn_sdk_error_with_key_and_attempts(
    make_core: Callable[..., AutumnCore], scripted: ScriptedServer, refused_url: str
) -> None:
    scripted.then(
        autumn_error(400, "invalid_inputs"),
        raw_reply(500, b"oops", "text/plain"),
        json_reply(200, {}),
    )
    core = make_core(retry_config=NO_RETRY)
    errors = [
        (await balances_create(core, CREATE_EXAMPLE)),
        (await balances_create(core, CREATE_EXAMPLE)),
        (await balances_create(core, CREATE_EXAMPLE)),
        (await balances_create(core, CREATE_EXAMPLE, {"server_url": refused_url})),
    ]
    keys = set()
    for res in errors:
        assert not res.ok
        assert isinstance(res.error, AutumnSDKError)
        assert res.error.attempts == 1
        assert res.error.idempotency_key
        assert f"idempotency_key={res.error.idempotency_key}" in str(res.error)
        keys.add(res.error.idempotency_key)
    assert len(keys) == 4
    assert [header(r, "Idempotency-Key") for r in scripted.requests] == [
        res.error.idempotency_key for res in errors[:3] if not res.ok
    ]


async def test_a_closed_caller_session_is_an_unexpected_client_error(
    scripted: ScriptedServer,
) -> None:
    session = aiohttp.ClientSession()
    await session.close()
    core = AutumnCore(SECRET, server_url=scripted.url, session=session)
    res = await balances_create(core, CREATE_EXAMPLE)

    assert not res.ok
    assert isinstance(res.error, UnexpectedClientError)
    assert isinstance(res.error.__cause__, RuntimeError)
    assert res.error.attempts == 1  # not retried: nothing a retry could fix
    assert res.error.idempotency_key
    assert scripted.requests == []
