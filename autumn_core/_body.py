"""Reading an answer's body within a bound on its size once decoded.

Requests go out with `Accept-Encoding: gzip, deflate` and aiohttp's own
decompression off (`auto_decompress=False`); the SDK decodes here, asking
zlib for no more than the bound. A bound on the compressed bytes alone would
mean nothing: a 500 KB gzip body can hold 500 MB.
"""

from __future__ import annotations

import zlib
from typing import Protocol

import aiohttp

ACCEPT_ENCODING = "gzip, deflate"
_CHUNK = 64 * 1024
_GZIP = 16 + zlib.MAX_WBITS


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...
    def decompress(self, data: bytes, max_length: int = ..., /) -> bytes: ...


class UndecodableBody(ValueError):
    """A body whose Content-Encoding the SDK cannot (or was not asked to) decode."""


async def read_bounded(response: aiohttp.ClientResponse, limit: int) -> tuple[bytes, bool]:
    """At most `limit` bytes of the decoded body, and whether more was left unread.

    Raises UndecodableBody for an encoding other than gzip and deflate, or bytes
    that do not decode."""
    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return await _read_plain(response, limit)
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise UndecodableBody(f"content-encoding {encoding[:40]!r} is not one the SDK asked for")
    try:
        return await _read_decoded(response, encoding, limit)
    except zlib.error:
        raise UndecodableBody(f"the {encoding} body does not decode") from None


async def _read_plain(response: aiohttp.ClientResponse, limit: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(_CHUNK):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(chunks)[:limit], True
    return b"".join(chunks), False


def _decompressor(encoding: str, first: bytes) -> _Decompressor:
    if encoding != "deflate":
        return zlib.decompressobj(_GZIP)
    # "deflate" should be zlib-wrapped (RFC 9110); some servers send it raw.
    wrapped = bool(first) and first[0] & 0x0F == 8
    return zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)


async def _read_decoded(
    response: aiohttp.ClientResponse, encoding: str, limit: int
) -> tuple[bytes, bool]:
    decoded: list[bytes] = []
    size = 0
    received = 0
    decompressor: _Decompressor | None = None
    async for chunk in response.content.iter_chunked(_CHUNK):
        received += len(chunk)
        if decompressor is None:
            decompressor = _decompressor(encoding, chunk)
        pending = chunk
        # Each turn consumes input: a gzip member is at least 18 bytes.
        while pending:
            # One byte more than the bound, to know whether the body exceeds it.
            out = decompressor.decompress(pending, limit + 1 - size)
            decoded.append(out)
            size += len(out)
            if size > limit:
                return b"".join(decoded)[:limit], True
            pending = decompressor.unused_data if decompressor.eof else b""
            if pending and encoding != "deflate":  # a gzip body may hold several members
                decompressor = zlib.decompressobj(_GZIP)
            elif pending:
                break  # bytes after the deflate stream: ignored
        if received > limit:  # compressed bytes beyond the bound cannot decode within it
            return b"".join(decoded), True
    return b"".join(decoded), False
