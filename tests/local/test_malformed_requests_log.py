"""Malformed HTTP requests are answered 400 and logged in one line, throttled.

aiohttp logs each request it cannot parse with a full traceback at ERROR
(half a kilobyte or more each): a client sending garbage could fill the disk.
LocalAutumn logs the first one in one line, then sums them up at most once a
minute.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from autumn_local import LocalAutumn

GARBAGE = b"GET /v1/customers.get HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"


async def send_garbage(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(GARBAGE)
        return await asyncio.wait_for(reader.read(1024), 5)
    finally:
        writer.close()


async def test_a_thousand_malformed_requests_log_one_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with LocalAutumn() as server:
        for _ in range(10):
            answers = await asyncio.gather(*(send_garbage(server.port) for _ in range(100)))
            assert all(b" 400 Bad Request" in a.split(b"\r\n")[0] for a in answers), answers[0]
    shown = [r for r in caplog.records if r.levelno >= logging.INFO]
    text = "\n".join(logging.Formatter().format(r) for r in shown)
    assert "Traceback" not in text, text[:1000]
    assert len(shown) == 1, text[:2000]
    assert "malformed" in shown[0].getMessage()
    assert len(text) < 500, text
