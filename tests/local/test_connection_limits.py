"""Slow, idle and flooding connections cannot starve a well-behaved client.

Raw sockets play the hostile clients: connections that never send a byte,
heads sent one byte at a time (slowloris), bodies that never finish, and
floods beyond the server's open-file limit. The server runs as a real
``serve`` process where the test needs its own file-descriptor limit or its
log; in-process otherwise. Every timeout here is a fraction of a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import resource
import signal
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from autumn_local import LocalAutumn
from tests.local.processes import Served, serve

HEAD = (
    b"POST /v1/customers.get HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Authorization: Bearer am_sk_test_local\r\nContent-Type: application/json\r\n"
)
BODY = b'{"customer_id": "cus_123"}'
GOOD_REQUEST = HEAD + b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY
SHORT = ("--header-timeout", "0.3", "--body-timeout", "0.3", "--keepalive-timeout", "0.3")


@contextlib.contextmanager
def open_files(at_least: int) -> Iterator[None]:
    """Raise this process's soft open-file limit for a flood (never above the hard one)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = at_least if hard == resource.RLIM_INFINITY else min(at_least, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


class Flood:
    """Connections held open from this process; each knows when the server closed it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.writers: list[asyncio.StreamWriter] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.closed_by_server = 0
        self.closed: list[int] = []  # which connections (in the order opened) the server closed

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writers.append(writer)
        return reader, writer

    def _watch(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, drip: bytes
    ) -> None:
        index = len(self.tasks)
        self.tasks.append(asyncio.create_task(self._until_closed(index, reader, writer, drip)))

    async def _until_closed(
        self, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, drip: bytes
    ) -> None:
        """Send ``drip`` a byte every 50 ms (if any) until the server closes the connection."""
        try:
            for i in range(400):  # at most 20 s
                if drip:
                    writer.write(drip[i % len(drip) : i % len(drip) + 1])
                with contextlib.suppress(asyncio.TimeoutError):
                    if await asyncio.wait_for(reader.read(1024), 0.05) == b"":
                        break
        except (ConnectionError, OSError):
            pass
        else:
            if not reader.at_eof():
                return
        self.closed_by_server += 1
        self.closed.append(index)

    async def idle(self, count: int) -> None:
        for _ in range(count):
            reader, writer = await self._open()
            self._watch(reader, writer, b"")

    async def slow_heads(self, count: int, *, drip: bool = True) -> None:
        for _ in range(count):
            reader, writer = await self._open()
            if not drip:
                writer.write(HEAD)  # half a head, then nothing
            self._watch(reader, writer, HEAD if drip else b"")

    async def slow_bodies(self, count: int, *, drip: bool = True) -> None:
        for _ in range(count):
            reader, writer = await self._open()
            writer.write(HEAD + b"Content-Length: 1000\r\n\r\n{")
            self._watch(reader, writer, b" " if drip else b"")

    async def kept_alive(self, count: int) -> None:
        """Connections that got one answer and then stay idle."""
        for _ in range(count):
            reader, writer = await self._open()
            writer.write(GOOD_REQUEST)
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), head
            length = re.search(rb"Content-Length: (\d+)", head)
            assert length is not None, head
            await reader.readexactly(int(length.group(1)))
            self._watch(reader, writer, b"")

    async def wait(self) -> int:
        await asyncio.gather(*self.tasks)
        return self.closed_by_server

    def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for writer in self.writers:
            writer.transport.abort()


@contextlib.asynccontextmanager
async def flood(port: int) -> AsyncIterator[Flood]:
    hostile = Flood(port)
    try:
        yield hostile
    finally:
        hostile.close()
        await asyncio.gather(*hostile.tasks, return_exceptions=True)


async def good_client_answers(url: str, count: int) -> list[int]:
    """``count`` requests, each on a new connection, each given 10 s at most."""
    statuses = []
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(force_close=True),
        timeout=aiohttp.ClientTimeout(total=10),
        headers={"Authorization": "Bearer am_sk_test_local"},
    ) as http:
        for _ in range(count):
            async with http.post(
                f"{url}/v1/customers.get", json={"customer_id": "cus_123"}
            ) as resp:
                await resp.read()
                statuses.append(resp.status)
    return statuses


async def stop(server: Served) -> str:
    """SIGTERM the server; its last line (connection counts)."""
    server.proc.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(server.proc.wait(), 30) == 0
    assert server.proc.stdout is not None
    return (await server.proc.stdout.read()).decode()


def closes(stopped: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r"'(\w+)': (\d+)", stopped.split("connections:")[1])}


async def test_idle_slow_head_and_slow_body_connections_are_closed() -> None:
    async with (
        serve("--port", "0", *SHORT) as server,
        flood(int(server.url.rsplit(":", 1)[1])) as f,
    ):
        await f.idle(20)
        await f.kept_alive(10)
        await f.slow_heads(20)  # a byte every 50 ms: data keeps coming, the head never ends
        await f.slow_bodies(20)
        # Meanwhile a well-behaved client is answered.
        assert await good_client_answers(server.url, 5) == [200] * 5
        assert await asyncio.wait_for(f.wait(), 30) == 70
        stopped = await stop(server)
        log = server.stderr()
    counts = closes(stopped)
    assert counts["closed_idle"] >= 30, stopped
    assert counts["closed_slow_header"] == 20, stopped
    assert counts["closed_slow_body"] == 20, stopped
    # Logged once per kind, not once per connection; idle expiry is not news.
    assert log.count("request head") == 1, log
    assert log.count("request body") == 1, log
    assert len(log) < 2000, log


async def test_a_flood_beyond_the_open_file_limit_leaves_a_good_client_served() -> None:
    """With 512 descriptors, 600 connections: the cap keeps the server able to accept.

    Timeouts are long here, so only the cap can make room: the good client's
    new connections displace the longest-waiting idle or half-sent ones.
    """
    prelude = (
        "import resource\n"
        "_, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (512, hard))"
    )
    with open_files(2048):
        async with serve("--port", "0", prelude=prelude) as server:
            assert "lowered to fit the open-file limit" in server.banner
            cap = int(re.search(r"at most (\d+) connections", server.banner).group(1))  # type: ignore[union-attr]
            assert cap < 512 - 3 * 128
            async with flood(int(server.url.rsplit(":", 1)[1])) as f:
                await f.idle(300)
                await f.slow_heads(300, drip=False)
                assert await good_client_answers(server.url, 20) == [200] * 20
                stopped = await stop(server)
            log = server.stderr()
    assert int(re.search(r"at most (\d+) open at once", stopped).group(1)) <= cap  # type: ignore[union-attr]
    assert closes(stopped)["closed_at_cap"] >= 600 - cap, stopped
    assert "Traceback" not in log and "Too many open files" not in log, log[:2000]
    assert log.count("the cap") == 1, log
    assert len(log) < 2000, log


async def test_at_the_cap_a_new_connection_displaces_the_longest_idle_one() -> None:
    async with LocalAutumn(max_connections=20) as server, flood(server.port) as f:
        await f.idle(20)
        assert await good_client_answers(server.url, 3) == [200] * 3
        stats = server.connection_stats
        assert stats["max_connections"] == 20
        assert stats["peak"] == 20
        # One displaced: each answered connection closes and leaves its place free.
        assert stats["closed_at_cap"] == 1
        await asyncio.wait_for(f.tasks[0], 10)
        assert f.closed == [0]  # the one that had waited longest


async def test_when_every_connection_is_busy_a_new_one_is_refused() -> None:
    # Every balances call is held for 2 s by the injected delay: 16 busy connections.
    async with (
        LocalAutumn(max_connections=16, faults="delay=1,delay-ms=2000") as server,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http,
    ):
        body = {"customer_id": "cus_123", "feature_id": "api_calls", "add_to_balance": 1}
        headers = {"Authorization": "Bearer am_sk_test_local"}
        busy = [
            asyncio.create_task(
                http.post(f"{server.url}/v1/balances.update", json=body, headers=headers)
            )
            for _ in range(16)
        ]
        for _ in range(1000):  # until all 16 have a request in progress (bounded)
            stats = server.connection_stats
            if stats["open"] == 16 and stats["waiting"] == 0:
                break
            await asyncio.sleep(0.005)
        async with flood(server.port) as f:
            await f.idle(1)
            assert await asyncio.wait_for(f.wait(), 10) == 1
        assert server.connection_stats["refused_at_cap"] == 1
        for response in await asyncio.gather(*busy):
            assert response.status == 200  # the busy ones were not touched
            response.release()


async def test_new_and_kept_alive_connections_close_after_keepalive_timeout() -> None:
    async with (
        LocalAutumn(keepalive_timeout=0.2, header_timeout=5) as server,
        flood(server.port) as f,
    ):
        await f.kept_alive(1)
        await f.idle(1)
        assert await asyncio.wait_for(f.wait(), 10) == 2
        assert server.connection_stats["closed_idle"] == 2


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("header_timeout", 0),
        ("body_timeout", -1),
        ("keepalive_timeout", float("inf")),
        ("max_connections", 0),
        ("max_connections", 1.5),
    ],
)
def test_limits_are_checked(option: str, value: object) -> None:
    with pytest.raises(ValueError, match=option):
        LocalAutumn(**{option: value})  # type: ignore[arg-type]
