"""Promise 5, compressed: bodies are bounded by their size once decoded.

A hostile server on 127.0.0.1 answers with real gzip and deflate bombs (a
thousandth of their decoded size on the wire). What the error keeps is bounded
by the decoded size, and so is what the client holds while it reads (a few times
the bound, seen by tracemalloc here; `bench/bench_bombs.py` measures the whole
process). Well-formed compressed answers still decode.
"""

from __future__ import annotations

import asyncio
import json
import tracemalloc
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web

from autumn_core import (
    AutumnCore,
    AutumnDefaultError,
    ResponseValidationError,
)
from autumn_funcs import balances_create
from tests.resilience.conftest import (
    NO_RETRIES,
    SECRET,
    TRUNCATED_NOTE,
    assert_typed,
    fast_retries,
)
from tests.resilience.hostile import HostileServer, bomb, compressed, encoded_reply
from tests.scripted_server import Reply, raw_reply

pytestmark = pytest.mark.resilience

GRANT = {"customer_id": "cus_123", "feature_id": "api_calls", "included_grant": 100}
ENCODINGS = ("gzip", "deflate", "raw-deflate")
MiB = 1024 * 1024


async def call(url: str, retry: Any = NO_RETRIES) -> Any:
    async with AutumnCore(SECRET, server_url=url, retry_config=retry) as core:
        return await asyncio.wait_for(balances_create(core, GRANT), 30)


@pytest.mark.parametrize("encoding", ENCODINGS)
async def test_a_compressed_success_decodes(hostile: HostileServer, encoding: str) -> None:
    hostile.then(encoded_reply(200, compressed(b'{"success": true}', encoding), encoding))
    res = await call(hostile.url)
    assert res.ok and res.value.success is True
    assert hostile.requests[0].headers["Accept-Encoding"] == "gzip, deflate"


@pytest.mark.parametrize("encoding", ENCODINGS)
async def test_a_compressed_autumn_error_decodes(hostile: HostileServer, encoding: str) -> None:
    payload = {"message": "Customer cus_9 not found", "code": "customer_not_found", "env": "x"}
    body = compressed(json.dumps(payload).encode(), encoding)
    hostile.then(encoded_reply(404, body, encoding))
    res = await call(hostile.url)
    error = assert_typed(res.error, AutumnDefaultError, status=404, code="customer_not_found")
    assert json.loads(error.body) == payload and not error.body_truncated


@pytest.mark.parametrize("encoding", ENCODINGS)
async def test_an_error_bomb_keeps_64_kib_once_decoded(
    hostile: HostileServer, encoding: str
) -> None:
    # About 65 KB on the wire, 64 MiB decoded: what became a 64 MiB error.body.
    body = bomb(encoding, 64 * MiB)
    assert len(body) < 100_000
    hostile.then(encoded_reply(503, body, encoding, "text/plain"))
    res = await call(hostile.url)
    error = assert_typed(res.error, AutumnDefaultError, status=503, attempts=1)
    assert error.body_truncated and TRUNCATED_NOTE in error.message
    assert len(error.body.encode()) == 64 * 1024


@pytest.mark.parametrize("encoding", ENCODINGS)
async def test_a_success_bomb_is_refused_after_1_mib_once_decoded(
    hostile: HostileServer, encoding: str
) -> None:
    # About 65 KB on the wire, 64 MiB decoded (bench/bench_bombs.py sends 512 MiB).
    hostile.then(encoded_reply(200, bomb(encoding, 64 * MiB), encoding))
    res = await call(hostile.url)
    error = assert_typed(res.error, ResponseValidationError, attempts=1)
    assert "larger than 1048576 bytes once decoded" in error.message
    assert len(error.body.encode()) <= 64 * 1024


def in_two_writes(first: bytes, rest: bytes) -> Reply:
    """A gzip 200 sent as `first`, then, once the client has had time to read it, `rest`."""

    async def reply(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            status=200, headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}
        )
        await response.prepare(request)
        await response.write(first)
        await asyncio.sleep(0.2)
        await response.write(rest)
        await response.write_eof()
        return response

    return reply


def near_the_bound_then_a_bomb() -> Reply:
    """1 MiB less 100 bytes in the first write, 64 MiB more in the second."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    first = packer.compress(bytes(MiB - 100)) + packer.flush(zlib.Z_SYNC_FLUSH)
    block = bytes(MiB)
    rest = b"".join([*(packer.compress(block) for _ in range(64)), packer.flush()])
    return in_two_writes(first, rest)


@pytest.mark.parametrize(
    "reply",
    [
        lambda: encoded_reply(200, bomb("gzip", 64 * MiB), "gzip"),
        near_the_bound_then_a_bomb,
    ],
    ids=["bomb", "near-the-bound-then-a-bomb"],
)
async def test_reading_a_success_bomb_holds_a_few_times_its_bound_at_most(
    hostile: HostileServer, reply: Callable[[], Reply]
) -> None:
    # The decoded body is held up to its bound of 1 MiB (and one copy of it, joined):
    # a body 64 times larger never is, whatever the chunks it arrives in.
    async with AutumnCore(SECRET, server_url=hostile.url, retry_config=NO_RETRIES) as core:
        assert (await balances_create(core, GRANT)).ok  # readers built, connection open
        hostile.then(reply())
        tracemalloc.start()
        try:
            res = await balances_create(core, GRANT)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert "larger than 1048576 bytes once decoded" in res.error.message
    assert peak < 4 * MiB, f"{peak / MiB:.1f} MiB"


async def test_a_bomb_of_many_gzip_members_is_bounded_too(hostile: HostileServer) -> None:
    member = bomb("gzip", 8 * MiB)
    hostile.then(encoded_reply(500, member * 16, "gzip", "text/plain"))
    res = await call(hostile.url)
    error = assert_typed(res.error, AutumnDefaultError, status=500)
    assert error.body_truncated and len(error.body.encode()) == 64 * 1024


async def test_two_gzip_members_decode_as_one_body(hostile: HostileServer) -> None:
    body = compressed(b'{"success"', "gzip") + compressed(b": true}", "gzip")
    hostile.then(encoded_reply(200, body, "gzip"))
    res = await call(hostile.url)
    assert res.ok


@pytest.mark.parametrize(
    ("encoding", "body", "reason"),
    [
        ("br", b"\x1b\x00\x00", "content-encoding 'br' is not one the SDK asked for"),
        ("gzip", b"not gzip at all", "the gzip body does not decode"),
    ],
)
async def test_a_body_that_cannot_be_decoded_is_said_so(
    hostile: HostileServer, encoding: str, body: bytes, reason: str
) -> None:
    hostile.then(encoded_reply(200, body, encoding), encoded_reply(502, body, encoding))
    success = await call(hostile.url)
    assert reason in assert_typed(success.error, ResponseValidationError).message
    failure = await call(hostile.url)
    error = assert_typed(failure.error, AutumnDefaultError, status=502)
    assert reason in error.message and error.body == ""


async def test_a_503_nested_too_deep_to_parse_keeps_its_status_and_is_retried(
    hostile: HostileServer,
) -> None:
    nested = b"[" * 30_000 + b"]" * 30_000
    hostile.default = raw_reply(503, nested, "application/json")
    res = await call(hostile.url, fast_retries(max_retries=2))
    error = assert_typed(res.error, AutumnDefaultError, status=503, attempts=3)
    assert error.code is None and "not an Autumn error" in error.message


async def test_a_2xx_nested_too_deep_to_parse_is_not_json(hostile: HostileServer) -> None:
    hostile.then(encoded_reply(200, compressed(b'{"a":' * 30_000, "gzip"), "gzip"))
    res = await call(hostile.url)
    assert "not valid JSON" in assert_typed(res.error, ResponseValidationError).message
