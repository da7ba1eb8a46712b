"""Hooks around every attempt: before_request may change headers or refuse; after-hooks observe."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from autumn_core import (
    AutumnCore,
    AutumnDefaultError,
    AutumnSDKError,
    HookContext,
    Hooks,
    InvalidRequestError,
    PreparedRequest,
)
from autumn_funcs import balances_create, balances_update
from tests.scripted_server import ScriptedServer, autumn_error
from tests.sdk.conftest import CREATE_EXAMPLE, SECRET, UPDATE_EXAMPLE, header

MakeCore = Callable[..., AutumnCore]


async def test_before_request_adds_a_header_the_server_sees(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    seen: list[tuple[HookContext, str, bytes]] = []

    def sign(context: HookContext, request: PreparedRequest) -> None:
        request.headers["X-Signature"] = f"sig-{context.attempt}"
        seen.append((context, request.url, request.body))

    async def trace(_context: HookContext, request: PreparedRequest) -> None:
        request.headers["X-Trace-Id"] = "trace-1"

    core = make_core(hooks=Hooks(before_request=[sign, trace]))
    scripted.then(autumn_error(503, "unavailable"))
    assert (await balances_create(core, CREATE_EXAMPLE)).ok

    first, second = scripted.requests
    assert (header(first, "X-Signature"), header(second, "X-Signature")) == ("sig-1", "sig-2")
    assert header(second, "X-Trace-Id") == "trace-1"
    context, url, body = seen[0]
    assert context.operation_id == "createBalance"
    assert context.idempotency_key == header(first, "Idempotency-Key")
    assert context.base_url == scripted.url
    assert url == f"{scripted.url}/v1/balances.create"
    assert body == first.body


async def test_after_hooks_sync_and_async(make_core: MakeCore, scripted: ScriptedServer) -> None:
    events: list[tuple[str, int, Any]] = []

    def on_success(context: HookContext, response: aiohttp.ClientResponse) -> None:
        events.append(("success-sync", context.attempt, response.status))

    async def on_success_async(context: HookContext, response: aiohttp.ClientResponse) -> None:
        events.append(("success-async", context.attempt, response.status))

    def on_error(
        context: HookContext, response: aiohttp.ClientResponse | None, error: AutumnSDKError
    ) -> None:
        events.append(("error-sync", context.attempt, response and response.status))

    async def on_error_async(
        context: HookContext, response: aiohttp.ClientResponse | None, error: AutumnSDKError
    ) -> None:
        events.append(("error-async", context.attempt, type(error).__name__))

    hooks = Hooks(
        after_success=[on_success, on_success_async], after_error=[on_error, on_error_async]
    )
    core = make_core(hooks=hooks)
    scripted.then(autumn_error(502, "bad_gateway"))
    assert (await balances_update(core, UPDATE_EXAMPLE)).ok

    assert events == [
        ("error-sync", 1, 502),
        ("error-async", 1, "AutumnDefaultError"),
        ("success-sync", 2, 200),
        ("success-async", 2, 200),
    ]


async def test_after_error_without_a_response(make_core: MakeCore, refused_url: str) -> None:
    got: list[tuple[Any, AutumnSDKError]] = []
    hooks = Hooks(after_error=[lambda _c, response, error: got.append((response, error))])
    core = make_core(server_url=refused_url, hooks=hooks)
    res = await balances_create(core, CREATE_EXAMPLE, {"retries": None})
    assert not res.ok
    assert len(got) == res.error.attempts == 3
    assert all(response is None for response, _ in got)
    assert got[-1][1] is res.error


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_an_after_hook_raising_does_not_change_the_result(
    make_core: MakeCore,
    scripted: ScriptedServer,
    caplog: pytest.LogCaptureFixture,
    kind: str,
) -> None:
    def broken_sync(*_args: object) -> None:
        raise RuntimeError("metrics backend down")

    async def broken_async(*_args: object) -> None:
        raise RuntimeError("metrics backend down")

    broken = broken_sync if kind == "sync" else broken_async
    core = make_core(hooks=Hooks(after_success=[broken], after_error=[broken]))
    caplog.set_level(logging.WARNING, logger="autumn")

    ok = await balances_create(core, CREATE_EXAMPLE)
    scripted.then(autumn_error(404, "customer_not_found"))
    err = await balances_create(core, CREATE_EXAMPLE)

    assert ok.ok
    assert not err.ok
    assert isinstance(err.error, AutumnDefaultError)
    assert err.error.code == "customer_not_found"
    records = [r for r in caplog.records if r.name == "autumn"]
    assert len(records) == 2
    for record in records:  # with the hook's traceback, for whoever reads the log
        assert record.getMessage() == "an after-hook of the Autumn SDK failed; ignored"
        assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)


async def test_a_refusing_hook_stops_the_call_without_retries(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    calls = 0

    async def refuse(_context: HookContext, _request: PreparedRequest) -> None:
        nonlocal calls
        calls += 1
        raise ValueError("budget exceeded")

    core = make_core(hooks=Hooks(before_request=[refuse]))
    res = await balances_create(core, CREATE_EXAMPLE)
    assert not res.ok
    assert calls == 1
    assert scripted.requests == []
    assert isinstance(res.error, InvalidRequestError)
    assert res.error.message == "refused by a before_request hook: ValueError: budget exceeded"
    assert isinstance(res.error.__cause__, ValueError)
    assert res.error.applied == "no"


async def test_a_logged_request_shows_its_headers_but_the_secret_key(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    logged: list[str] = []

    def log(_context: HookContext, request: PreparedRequest) -> None:
        request.headers["X-Trace-Id"] = "trace-1"
        logged.append(repr(request))

    core = make_core(hooks=Hooks(before_request=[log]))
    assert (await balances_create(core, CREATE_EXAMPLE)).ok
    (shown,) = logged
    assert SECRET not in shown
    assert "'Authorization': '<hidden>'" in shown
    assert "'X-Trace-Id': 'trace-1'" in shown
    assert f"url='{scripted.url}/v1/balances.create'" in shown
