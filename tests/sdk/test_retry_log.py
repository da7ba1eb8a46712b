"""The one INFO line per retry that production logs get: the operation, the attempt,
why it failed, what happens next and when, and the key to trace the call by."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from autumn_core import AutumnCore
from autumn_funcs import balances_create, customers_get
from tests.scripted_server import ScriptedServer, autumn_error, drop_connection, json_reply
from tests.sdk.answers import CUSTOMER
from tests.sdk.conftest import CREATE_EXAMPLE, SECRET, autumn_lines

MakeCore = Callable[..., AutumnCore]


async def test_a_write_retried_then_confirmed_as_a_duplicate(
    make_core: MakeCore, scripted: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    duplicate = autumn_error(409, "duplicate_idempotency_key")
    scripted.then(drop_connection(), duplicate, duplicate)
    with caplog.at_level(logging.INFO, logger="autumn"):
        res = await balances_create(make_core(), CREATE_EXAMPLE)
    assert res.ok and res.deduplicated
    key = scripted.requests[0].headers["Idempotency-Key"]
    first, second = autumn_lines(caplog, logging.INFO)
    assert re.fullmatch(
        rf"createBalance: attempt 1 failed \(APIConnectionError: connection failed: .+\); "
        rf"retrying in \d+\.\d{{3}} s; idempotency key {key}",
        first,
    ), first
    assert re.fullmatch(
        rf"createBalance: attempt 2 failed \(409 duplicate_idempotency_key\); "
        rf"confirming the duplicate in \d+\.\d{{3}} s; idempotency key {key}",
        second,
    ), second


async def test_a_read_says_it_has_no_key(
    make_core: MakeCore, scripted: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    scripted.then(
        autumn_error(503, "service_unavailable", headers={"Retry-After": "1"}),
        json_reply(200, CUSTOMER),
    )
    with caplog.at_level(logging.INFO, logger="autumn"):
        res = await customers_get(make_core(), {"customer_id": "cus_123"})
    assert res.ok
    (line,) = autumn_lines(caplog, logging.INFO)
    assert line == (
        "getCustomer: attempt 1 failed (503 service_unavailable); retrying in 1.000 s "
        "(from Retry-After); idempotency key none (a read)"
    )


async def test_a_long_reason_is_cut_at_200_characters(
    scripted: ScriptedServer, retries: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    # A session of the caller's whose connection layer fails the first attempt with a
    # long message (a proxy's error page, say): the line keeps its first 200 characters.
    text = "the proxy refused the connection: " + "x" * 400
    failures = [aiohttp.ClientConnectionError(text)]

    async def on_request_start(*_args: object) -> None:
        if failures:
            raise failures.pop()

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        core = AutumnCore(SECRET, server_url=scripted.url, session=session, retry_config=retries())
        with caplog.at_level(logging.INFO, logger="autumn"):
            res = await balances_create(core, CREATE_EXAMPLE)
        await core.aclose()
    assert res.ok, res
    (line,) = autumn_lines(caplog, logging.INFO)
    reason = f"APIConnectionError: connection failed: ClientConnectionError: {text}"[:200]
    assert line.startswith(f"createBalance: attempt 1 failed ({reason}); retrying in "), line
