"""The aiohttp exception an error keeps as its cause still says which request failed
(URL, method, the SDK's headers), without the Authorization header. A server on
127.0.0.1 that answers with a broken status line makes aiohttp raise one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from autumn_core import AutumnCore, RetryConfig
from autumn_funcs import balances_create
from tests.sdk.conftest import CREATE_EXAMPLE, SECRET


@pytest.fixture
async def broken_status_line() -> AsyncIterator[str]:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 abc Broken\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.close()
    await server.wait_closed()


def request_info_in(error: BaseException) -> aiohttp.RequestInfo:
    cause: BaseException | None = error
    while cause is not None:
        info = getattr(cause, "request_info", None)
        if isinstance(info, aiohttp.RequestInfo):
            return info
        cause = cause.__cause__ or cause.__context__
    raise AssertionError(f"no request_info in the chain of {error!r}")


async def test_the_cause_keeps_the_request_but_not_its_credentials(broken_status_line: str) -> None:
    url = f"{broken_status_line}/v1/balances.create"
    async with AutumnCore(
        SECRET, server_url=broken_status_line, retry_config=RetryConfig(max_retries=0)
    ) as core:
        # A header of the caller's that repeats the key (a proxy's, say) loses it too.
        res = await balances_create(core, CREATE_EXAMPLE, {"headers": {"X-Proxy-Key": SECRET}})
    assert not res.ok
    info = request_info_in(res.error)
    assert (str(info.url), info.method, str(info.real_url)) == (url, "POST", url)
    assert "Authorization" not in info.headers
    assert info.headers["Idempotency-Key"] == res.error.idempotency_key
    assert SECRET not in repr(info)
    assert "X-Proxy-Key" in info.headers


async def test_the_cause_keeps_what_the_http_stack_said(broken_status_line: str) -> None:
    # Scrubbed of credentials, the cause still reads as aiohttp raised it: its status,
    # message and arguments, for a log line or a debugger.
    async with AutumnCore(
        SECRET, server_url=broken_status_line, retry_config=RetryConfig(max_retries=0)
    ) as core:
        res = await balances_create(core, CREATE_EXAMPLE)
    assert not res.ok
    cause = res.error.__cause__
    assert isinstance(cause, aiohttp.ClientResponseError)
    assert (cause.status, cause.history) == (400, ())
    assert cause.message.startswith("Bad status line") and "abc Broken" in cause.message
    assert cause.args == (cause.request_info, ())
    assert str(cause).startswith('400, message="Bad status line')
