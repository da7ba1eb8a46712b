"""The secret key is not in any frame of a failed call's traceback, locals included.

Sentry, structlog and many loggers render tracebacks with each frame's local
variables (`traceback.TracebackException(..., capture_locals=True)`, which
takes the repr of every local). A connection refused and a timeout raise inside
aiohttp, several frames below the SDK: the error the caller gets holds that
exception as `__cause__`, with its traceback. No frame on that path may show
the key: the functions' Err, the facade's raise and AutumnSync's raise.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import traceback
from collections.abc import Iterator

import pytest

from autumn_core import AutumnCore, AutumnSDKError, RetryConfig
from autumn_funcs import Autumn, AutumnSync, CreateBalanceParamsDict, balances_create
from tests.resilience.conftest import SECRET, fast_retries
from tests.resilience.hostile import HostileServer
from tests.sdk.test_every_operation import EACH, OPERATIONS, valid_params

pytestmark = pytest.mark.resilience

GRANT: CreateBalanceParamsDict = {
    "customer_id": "cus_123",
    "feature_id": "api_calls",
    "included_grant": 100,
}
ONE_RETRY = fast_retries(max_retries=1, retry_connection_errors=True)


def with_locals(error: BaseException) -> str:
    """The traceback as a logger that captures locals renders it, causes included."""
    shown = traceback.TracebackException.from_exception(error, capture_locals=True)
    return "".join(shown.format())


def assert_no_secret_in_frames(error: BaseException) -> None:
    text = with_locals(error)
    assert SECRET not in text, _around(text)
    assert "Bearer am_sk" not in text, _around(text)
    assert error.__cause__ is not None and error.__cause__.__traceback__ is not None


def _around(text: str) -> str:
    at = max(text.find(SECRET), text.find("Bearer am_sk"))
    return text[max(0, at - 600) : at + 100]


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A port nothing listens on: every connection is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    yield f"http://127.0.0.1:{port}"


async def function_error(url: str, timeout_ms: float | None = None) -> AutumnSDKError:
    async with AutumnCore(
        SECRET, server_url=url, retry_config=ONE_RETRY, timeout_ms=timeout_ms
    ) as core:
        res = await balances_create(core, GRANT)
    assert not res.ok
    return res.error


async def facade_error(url: str, timeout_ms: float | None = None) -> AutumnSDKError:
    async with Autumn(SECRET, server_url=url, retry_config=ONE_RETRY, timeout_ms=timeout_ms) as a:
        with pytest.raises(AutumnSDKError) as raised:
            await a.balances.create(customer_id="cus_123", feature_id="api_calls", included_grant=1)
    return raised.value


def blocking_error(url: str, timeout_ms: float | None = None) -> AutumnSDKError:
    with (
        AutumnSync(SECRET, server_url=url, retry_config=ONE_RETRY, timeout_ms=timeout_ms) as a,
        pytest.raises(AutumnSDKError) as raised,
    ):
        a.balances.create(customer_id="cus_123", feature_id="api_calls", included_grant=1)
    return raised.value


async def test_connection_refused_functions(refused_url: str) -> None:
    assert_no_secret_in_frames(await function_error(refused_url))


async def test_connection_refused_facade(refused_url: str) -> None:
    assert_no_secret_in_frames(await facade_error(refused_url))


async def test_connection_refused_blocking(refused_url: str) -> None:
    error = await asyncio.to_thread(blocking_error, refused_url)
    assert_no_secret_in_frames(error)


async def test_timeout_functions(hostile: HostileServer) -> None:
    hostile.default = hostile.stall_before_headers()
    assert_no_secret_in_frames(await function_error(hostile.url, timeout_ms=50))


async def test_timeout_facade(hostile: HostileServer) -> None:
    hostile.default = hostile.stall_before_headers()
    assert_no_secret_in_frames(await facade_error(hostile.url, timeout_ms=50))


async def test_timeout_blocking(hostile: HostileServer) -> None:
    hostile.default = hostile.stall_before_headers()
    error = await asyncio.to_thread(blocking_error, hostile.url, timeout_ms=50)
    assert_no_secret_in_frames(error)


async def test_a_key_from_a_callable_is_not_in_frames_either(refused_url: str) -> None:
    async def key() -> str:
        return SECRET

    async with AutumnCore(
        key, server_url=refused_url, retry_config=RetryConfig(strategy="none")
    ) as c:
        res = await balances_create(c, GRANT)
    assert not res.ok
    assert_no_secret_in_frames(res.error)


def test_no_thread_left(refused_url: str) -> None:
    assert all(not t.name.startswith("AutumnSync") for t in threading.enumerate())


@EACH
async def test_every_operation_keeps_the_key_out_of_its_frames(refused_url: str, name: str) -> None:
    # The same path serves every operation; an operation that built its request its
    # own way would show here, whatever the one above proves for balances_create.
    async with AutumnCore(SECRET, server_url=refused_url, retry_config=ONE_RETRY) as core:
        res = await OPERATIONS[name](core, valid_params(name))
    assert not res.ok
    assert_no_secret_in_frames(res.error)
