"""Slow request bodies cannot take every place under the connection cap.

A connection whose request head arrived but whose body is still owed counts
as a request in progress, but it is the client, not the server, that is
behind: at the cap, such a connection (the one that sent nothing for the
longest) is displaced like an idle one, so a well-behaved client keeps being
served. A request whose body arrived is never displaced.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from autumn_local import LocalAutumn
from tests.local.test_connection_limits import flood, good_client_answers


async def test_slow_bodies_beyond_the_cap_leave_a_good_client_served(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with LocalAutumn(max_connections=100, body_timeout=30) as server:
        async with flood(server.port) as f:
            await f.slow_bodies(120)
            assert await good_client_answers(server.url, 20) == [200] * 20
        stats = server.connection_stats
    assert stats["closed_at_cap"] >= 20
    assert stats["peak"] <= 100
    # A displaced body is the client's loss, not a server error.
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_slow_body_displaced_first_is_the_one_silent_longest() -> None:
    async with LocalAutumn(max_connections=4, body_timeout=30) as server:
        async with flood(server.port) as f:
            await f.slow_bodies(4)
            assert await good_client_answers(server.url, 1) == [200]
        assert server.connection_stats["closed_at_cap"] == 1


@pytest.mark.parametrize("first", ["idle", "slow body"])
async def test_at_the_cap_the_connection_quiet_longer_is_displaced(first: str) -> None:
    # Neither kind goes first: an idle connection and a body that stopped coming
    # are both the client's lag, and the one that has been quiet longer goes.
    async with LocalAutumn(max_connections=2, body_timeout=30) as server:
        async with flood(server.port) as f:
            for kind in (first, "slow body" if first == "idle" else "idle"):
                if kind == "idle":
                    await f.idle(1)
                else:
                    await f.slow_bodies(1, drip=False)
                await asyncio.sleep(0.2)  # its handler has started; it has been quiet since
            assert await good_client_answers(server.url, 1) == [200]
            await asyncio.wait(f.tasks, timeout=10, return_when=asyncio.FIRST_COMPLETED)
            assert f.closed == [0]  # the one opened first
        assert server.connection_stats["closed_at_cap"] == 1
