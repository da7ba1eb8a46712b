"""What one attempt reports about itself when it goes wrong: the error a request
aiohttp refuses to send becomes, the debug line of a failed attempt, and what a
2xx answer that cannot be read gives the after_error hook and the attempt's span."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from autumn_core import (
    Applied,
    AutumnCore,
    HookContext,
    Hooks,
    InvalidRequestError,
    PreparedRequest,
    ResponseValidationError,
    RetryConfig,
)
from autumn_funcs import balances_create
from tests.scripted_server import ScriptedServer, drop_connection, json_reply, raw_reply
from tests.sdk.conftest import CREATE_EXAMPLE, SECRET

MakeCore = Callable[..., AutumnCore]
NO_RETRIES = RetryConfig(max_retries=0)


async def test_a_header_aiohttp_refuses_to_send_is_an_invalid_request_in_doubt(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    def inject(_context: HookContext, request: PreparedRequest) -> None:
        request.headers["X-Trace"] = "a\r\nInjected: 1"

    core = make_core(hooks=Hooks(before_request=[inject]), retry_config=NO_RETRIES)
    res = await balances_create(core, CREATE_EXAMPLE)

    error = res.error
    assert isinstance(error, InvalidRequestError)
    assert error.message.startswith("request could not be sent: ValueError: ")
    assert isinstance(error.__cause__, ValueError)
    # aiohttp's ValueError does not say whether the request had left: a write says
    # it may have been applied, and its advice (resend with the key) is safe.
    assert error.applied is Applied.UNKNOWN
    assert scripted.requests == []


async def test_a_url_the_session_refuses_is_an_invalid_request_not_applied(
    scripted: ScriptedServer,
) -> None:
    # aiohttp raises InvalidURL before it sends anything (here from the session's own
    # trace callback, as for a proxy setting it cannot use): the write went nowhere.
    async def on_request_start(*_args: object) -> None:
        raise aiohttp.InvalidURL("http://[bad")

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        core = AutumnCore(SECRET, server_url=scripted.url, session=session, retry_config=NO_RETRIES)
        res = await balances_create(core, CREATE_EXAMPLE)
        await core.aclose()

    error = res.error
    assert isinstance(error, InvalidRequestError)
    assert error.message == "request could not be sent: InvalidURL: http://[bad"
    assert error.applied is Applied.NO
    assert scripted.requests == []


async def test_a_failed_attempt_is_logged_at_debug_with_its_error_type(
    make_core: MakeCore, scripted: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    scripted.then(drop_connection())
    with caplog.at_level(logging.DEBUG, logger="autumn"):
        res = await balances_create(make_core(retry_config=NO_RETRIES), CREATE_EXAMPLE)
    assert not res.ok
    (line,) = [
        r.getMessage() for r in caplog.records if r.name == "autumn" and r.levelno == logging.DEBUG
    ]
    assert line.startswith(f"POST {scripted.url}/v1/balances.create -> APIConnectionError ")
    assert "(createBalance, attempt 1, " in line


def unreadable_200() -> Callable[[web.Request], Any]:
    return raw_reply(200, b"<html>not json</html>")


async def test_the_after_error_hook_gets_the_2xx_answer_that_could_not_be_read(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    seen: list[tuple[int | None, str]] = []

    def after_error(
        _context: HookContext, response: aiohttp.ClientResponse | None, error: Exception
    ) -> None:
        seen.append((None if response is None else response.status, type(error).__name__))

    scripted.then(unreadable_200())
    core = make_core(hooks=Hooks(after_error=[after_error]), retry_config=NO_RETRIES)
    res = await balances_create(core, CREATE_EXAMPLE)

    assert isinstance(res.error, ResponseValidationError)
    assert seen == [(200, "ResponseValidationError")]


@pytest.fixture
def telemetry() -> Iterator[Any]:
    pytest.importorskip("opentelemetry.sdk", reason="the span test needs opentelemetry-sdk")
    from tests.sdk.otel_memory import Telemetry

    t = Telemetry()
    yield t
    t.shutdown()


async def test_the_span_of_a_2xx_that_could_not_be_read_has_its_status(
    make_core: MakeCore, scripted: ScriptedServer, telemetry: Any
) -> None:
    from tests.sdk.otel_memory import attrs_of

    scripted.then(unreadable_200())
    core = telemetry.instrument(make_core(retry_config=NO_RETRIES))
    res = await balances_create(core, CREATE_EXAMPLE)

    assert isinstance(res.error, ResponseValidationError)
    (attempt,) = telemetry.attempt_spans()
    assert attrs_of(attempt)["http.response.status_code"] == 200
    assert attrs_of(attempt)["error.type"] == "ResponseValidationError"


async def test_a_2xx_that_does_not_fit_says_why_word_for_word(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    scripted.then(
        raw_reply(200, b"", "application/json"),
        raw_reply(200, b"<html>", "text/html"),
        json_reply(200, {"success": "yes"}),
        json_reply(200, [1]),
    )
    core = make_core(retry_config=NO_RETRIES)
    reasons = [
        "empty body",
        "not valid JSON (text/html): Expecting value: line 1 column 1 (char 0)",
        "invalid response: success: expected a boolean, got string",
        "invalid response: expected an object, got array",
    ]
    for reason in reasons:
        res = await balances_create(core, CREATE_EXAMPLE)
        assert isinstance(res.error, ResponseValidationError)
        assert res.error.args[0] == f"200 answer does not fit the response model: {reason}"
