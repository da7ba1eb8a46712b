"""Promise 5: hostile answers end in the documented error, promptly.

"Promptly" is checked without timing anything: each call runs under a generous
asyncio.wait_for bound (a hang fails the test instead of the CI job) and the
scripted server counts exactly one request, so nothing was followed or retried.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from autumn_core import (
    APIConnectionError,
    Applied,
    AutumnCore,
    AutumnDefaultError,
    HTTPClientError,
    RequestTimeoutError,
    ResponseValidationError,
    UnexpectedClientError,
)
from autumn_funcs import balances_create, balances_update
from tests.resilience.conftest import NO_RETRIES, SECRET, TRUNCATED_NOTE, assert_typed
from tests.resilience.hostile import (
    HostileServer,
    RawServer,
    big_body,
    redirect_loop,
    truncated_body,
)
from tests.scripted_server import json_reply, raw_reply

pytestmark = pytest.mark.resilience

GRANT = {"customer_id": "cus_123", "feature_id": "api_calls", "included_grant": 100}
HANG_BOUND_S = 10  # never reached by a passing test; turns a hang into a failure
HTML_PAGE = b"<html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>"


async def call(
    url: str,
    *,
    timeout_ms: float | None = None,
    operation: Any = balances_create,
    params: Any = GRANT,
) -> Any:
    async with AutumnCore(
        SECRET, server_url=url, retry_config=NO_RETRIES, timeout_ms=timeout_ms
    ) as core:
        return await asyncio.wait_for(operation(core, params), HANG_BOUND_S)


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"", "application/json", "empty body"),
        (HTML_PAGE, "text/html", "not valid JSON (text/html"),
        (b'{"success": tru', "application/json", "not valid JSON"),
        (b'{"success": true, "note": "\xff\xfe"}', "application/json", "not valid JSON"),
        (b"[]", "application/json", "expected an object, got array"),
        (b"null", "application/json", "expected an object, got null"),
        (b'"success"', "application/json", "expected an object, got string"),
        (b"{}", "application/json", "success: required field missing"),
        (b'{"ok": true}', "application/json", "success: required field missing"),
        (b'{"success": "true"}', "application/json", "success: expected a boolean, got string"),
        (b'{"success": 1}', "application/json", "success: expected a boolean, got number"),
    ],
)
@pytest.mark.parametrize("status", [200, 201])
async def test_unusable_2xx_is_a_response_validation_error(
    hostile: HostileServer, status: int, body: bytes, content_type: str, reason: str
) -> None:
    hostile.then(raw_reply(status, body, content_type))
    res = await call(hostile.url)
    error = assert_typed(res.error, ResponseValidationError, attempts=1)
    assert error.status_code == status
    assert reason in error.message, error.message
    assert len(hostile.requests) == 1


async def test_2xx_with_extra_fields_is_accepted(hostile: HostileServer) -> None:
    hostile.then(json_reply(200, {"success": True, "balance_id": "b1", "new": {"x": [1]}}))
    res = await call(hostile.url)
    assert res.ok and res.value.success is True


async def test_204_without_a_body_is_a_response_validation_error(hostile: HostileServer) -> None:
    hostile.then(raw_reply(204, b"", "application/json"))
    res = await call(
        hostile.url,
        operation=balances_update,
        params={"customer_id": "cus_123", "feature_id": "api_calls", "add_to_balance": 1},
    )
    assert "empty body" in assert_typed(res.error, ResponseValidationError).message


@pytest.mark.parametrize(
    ("status", "body", "content_type", "shown"),
    [
        (502, HTML_PAGE, "text/html", "not an Autumn error (text/html"),
        (500, b"", "text/plain", "and an empty body"),
        (503, b'{"message": "half', "application/json", "not an Autumn error"),
        (400, b'["invalid_inputs"]', "application/json", "not an Autumn error"),
        (404, b'{"code": 404, "message": ["x"]}', "application/json", "not an Autumn error"),
        (500, b"\xff\xfe\xfd broken \x80", "text/plain", "broken"),
    ],
)
async def test_error_status_with_a_non_autumn_body(
    hostile: HostileServer, status: int, body: bytes, content_type: str, shown: str
) -> None:
    hostile.then(raw_reply(status, body, content_type))
    res = await call(hostile.url)
    error = assert_typed(res.error, AutumnDefaultError, status=status, attempts=1)
    assert error.code is None and not error.body_truncated
    assert shown in error.message, error.message
    assert error.body == body.decode("utf-8", errors="replace")


@pytest.mark.parametrize("chunked", [False, True])
async def test_huge_error_body_is_bounded_and_says_so(
    hostile: HostileServer, chunked: bool
) -> None:
    hostile.then(big_body(500, 8 * 1024 * 1024, chunked=chunked))
    res = await call(hostile.url)
    error = assert_typed(res.error, AutumnDefaultError, status=500, attempts=1)
    assert error.body_truncated
    assert len(error.body.encode()) == 64 * 1024
    assert TRUNCATED_NOTE in error.message


async def test_huge_autumn_error_body_is_bounded(hostile: HostileServer) -> None:
    hostile.then(
        raw_reply(
            400,
            b'{"message": "' + b"m" * 200_000 + b'", "code": "invalid_inputs", "env": "sandbox"}',
            "application/json",
        )
    )
    res = await call(hostile.url)
    error = assert_typed(res.error, AutumnDefaultError, status=400)
    assert error.body_truncated and TRUNCATED_NOTE in error.message
    assert len(error.body.encode()) <= 64 * 1024


@pytest.mark.parametrize("chunked", [False, True])
async def test_huge_2xx_body_is_refused_unread(hostile: HostileServer, chunked: bool) -> None:
    hostile.then(big_body(200, 16 * 1024 * 1024, chunked=chunked, content_type="application/json"))
    res = await call(hostile.url)
    error = assert_typed(res.error, ResponseValidationError, attempts=1)
    assert "body larger than 1048576 bytes" in error.message
    assert len(error.body.encode()) <= 64 * 1024


async def test_stall_mid_body_ends_at_the_timeout(hostile: HostileServer) -> None:
    hostile.then(hostile.stall_mid_body())
    res = await call(hostile.url, timeout_ms=100)
    error = assert_typed(res.error, RequestTimeoutError, attempts=1)
    assert "100 ms" in error.message


async def test_stall_before_headers_ends_at_the_timeout(hostile: HostileServer) -> None:
    hostile.then(hostile.stall_before_headers())
    res = await call(hostile.url, timeout_ms=100)
    assert_typed(res.error, RequestTimeoutError, attempts=1)


async def test_truncated_body_is_a_connection_error(hostile: HostileServer) -> None:
    hostile.then(truncated_body())
    res = await call(hostile.url)
    assert_typed(res.error, APIConnectionError, attempts=1)


@pytest.mark.parametrize("status", [300, 301, 302, 303, 307, 308])
async def test_redirect_loop_is_not_followed(hostile: HostileServer, status: int) -> None:
    hostile.default = redirect_loop(status)
    res = await call(hostile.url)
    error = assert_typed(res.error, AutumnDefaultError, status=status, attempts=1)
    assert "unexpected redirect" in error.message
    assert error.applied is Applied.NO  # not followed: the write went nowhere else
    assert len(hostile.requests) == 1


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (b"", APIConnectionError),  # closed without a byte
        (b"HELLO THERE\r\n\r\n", UnexpectedClientError),  # not HTTP at all
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", APIConnectionError),  # body never sent
        (b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n", UnexpectedClientError),
        (b"HTTP/1.1 999999 Weird\r\nContent-Length: 0\r\n\r\n", UnexpectedClientError),
    ],
    ids=["closed", "not-http", "short-body", "huge-header", "bad-status"],
)
async def test_garbage_on_the_wire_is_an_http_client_error(
    answer: bytes, kind: type[HTTPClientError]
) -> None:
    # A malformed answer is the HTTP stack's parse error: UnexpectedClientError, cause kept.
    async with RawServer(answer) as raw:
        res = await call(raw.url, timeout_ms=2_000)
    assert_typed(res.error, kind, attempts=1)
    assert res.error.__cause__ is not None
    # The request went out before the answer proved unreadable: the write may be applied.
    assert res.error.applied is Applied.UNKNOWN
