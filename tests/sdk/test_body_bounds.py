"""An error answer's body is kept up to MAX_ERROR_BODY_BYTES once decoded, and the error
says whether more was left: at the bound exactly, one byte over, plain (streamed,
no length) or gzip/deflate/x-gzip encoded, several gzip members, an encoding the SDK
did not ask for. Real answers from an aiohttp app on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gzip
import random
import string
import zlib
from collections.abc import Callable

import pytest
from aiohttp import web

from autumn_core import AutumnCore, AutumnDefaultError, ResponseValidationError, RetryConfig
from autumn_core._errors import MAX_ERROR_BODY_BYTES
from autumn_funcs import balances_create
from tests.scripted_server import Reply, ScriptedServer
from tests.sdk.conftest import CREATE_EXAMPLE, error_of

MakeCore = Callable[..., AutumnCore]
LIMIT = MAX_ERROR_BODY_BYTES


def deflated(data: bytes) -> bytes:
    return zlib.compress(data)


def streamed(body: bytes, encoding: str | None = None) -> Reply:
    """A 502 page sent in chunks, with no Content-Length (the length is unknown)."""

    async def reply(request: web.Request) -> web.StreamResponse:
        headers = {"Content-Type": "text/html"}
        if encoding is not None:
            headers["Content-Encoding"] = encoding
        response = web.StreamResponse(status=502, headers=headers)
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(body), 10_000):
            await response.write(body[start : start + 10_000])
            await asyncio.sleep(0.002)  # so that the client reads it in several chunks
        await response.write_eof()
        return response

    return reply


ENCODERS: dict[str | None, Callable[[bytes], bytes]] = {
    None: lambda data: data,
    "identity": lambda data: data,
    "gzip": gzip.compress,
    "x-gzip": gzip.compress,
    "deflate": deflated,
}


@pytest.mark.parametrize("encoding", list(ENCODERS))
@pytest.mark.parametrize("size", [LIMIT, LIMIT + 1])
async def test_an_error_body_is_kept_to_the_bound_and_says_if_cut(
    make_core: MakeCore, scripted: ScriptedServer, encoding: str | None, size: int
) -> None:
    # Letters drawn at random compress little: the body arrives, and decodes, in pieces.
    letters = random.Random(size).choices(string.ascii_letters.encode(), k=size - 3)
    page = b"<p>" + bytes(letters)
    error = await error_of(make_core, scripted, streamed(ENCODERS[encoding](page), encoding))
    assert error.body == page[:LIMIT].decode()
    assert error.body_truncated is (size > LIMIT)
    assert ("[body truncated to 65536 bytes once decoded]" in str(error)) is (size > LIMIT)


async def test_a_gzip_body_of_several_members_is_read_whole(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    error = await error_of(
        make_core,
        scripted,
        streamed(gzip.compress(b"<p>first") + gzip.compress(b" second"), "gzip"),
    )
    assert (error.body, error.body_truncated) == ("<p>first second", False)


async def test_bytes_after_a_deflate_stream_are_ignored(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    error = await error_of(
        make_core, scripted, streamed(deflated(b"<p>page") + b"trailing", "deflate")
    )
    assert (error.body, error.body_truncated) == ("<p>page", False)


async def test_an_encoding_not_asked_for_is_named_within_40_characters(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    encoding = "br" + "-x" * 30
    error = await error_of(make_core, scripted, streamed(b"<p>page", encoding))
    assert f"[body not read: content-encoding {encoding[:40]!r} is not one the SDK asked for]" in (
        str(error)
    )
    assert error.body == ""


async def test_an_undecodable_error_answer_says_so_with_nothing_cut(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    error = await error_of(make_core, scripted, streamed(b"not gzip at all", "gzip"))
    assert (error.body, error.body_truncated, error.attempts) == ("", False, 1)
    assert "[body not read: the gzip body does not decode]" in str(error)


@pytest.mark.parametrize(
    ("status", "kind"), [(200, ResponseValidationError), (300, AutumnDefaultError)]
)
async def test_an_undecodable_answer_is_an_invalid_success_only_when_2xx(
    make_core: MakeCore, scripted: ScriptedServer, status: int, kind: type[Exception]
) -> None:
    async def reply(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, body=b"{}", headers={"Content-Encoding": "br"})

    scripted.then(reply)
    res = await balances_create(make_core(retry_config=RetryConfig(max_retries=0)), CREATE_EXAMPLE)
    assert type(res.error) is kind
    assert res.error.attempts == 1  # type: ignore[union-attr]
    assert res.error.body == ""  # type: ignore[union-attr]  # nothing of it could be read


@pytest.mark.parametrize("extra", [0, 20])
async def test_compressed_bytes_beyond_the_bound_end_the_read(
    make_core: MakeCore, scripted: ScriptedServer, extra: int
) -> None:
    # A short page, then empty gzip members (20 bytes each, nothing once decoded):
    # at the bound exactly, the body is whole; beyond it, the reading stops there.
    empty = gzip.compress(b"", mtime=0)
    page = b"<p>" + b"a" * (LIMIT - 3000 * len(empty) - 26)
    first = gzip.compress(page, compresslevel=0, mtime=0)  # stored: its length is known
    body = first + empty * (3000 + extra // len(empty))
    assert len(body) == LIMIT + extra
    error = await error_of(make_core, scripted, streamed(body, "gzip"))
    assert (error.body, error.body_truncated) == (page.decode(), extra > 0)
