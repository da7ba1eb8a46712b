"""The usage recorder's chaos test: 100,000 events into the local server through a
proxy that loses answers after the batch was applied, resets connections and
answers 429 and 503, while the recording process is killed with SIGKILL five times
and restarted on its spool. Exit criterion: the server's usage equals the events
recorded, exactly (none lost, none doubled), and the last run's stats add up.

About a minute on a loaded 2-core machine; `-s` prints the figures.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sys
from pathlib import Path

import pytest

from autumn_core import AutumnCore
from autumn_funcs import balances_create, customers_get_or_create
from autumn_local import LocalAutumn
from tests.recorder.chaos_child import CUSTOMERS
from tests.recorder.fault_proxy import FaultProxy

REPO = Path(__file__).resolve().parents[2]
EVENTS = 100_000
CHUNK = 2_000
KILLS = 5

pytestmark = pytest.mark.resilience


async def _grant(url: str, key: str) -> None:
    async with AutumnCore(key, server_url=url) as core:
        for customer in CUSTOMERS:
            assert (await customers_get_or_create(core, {"customer_id": customer})).ok
            grant = await balances_create(
                core, {"customer_id": customer, "feature_id": "api_calls", "included_grant": 10**9}
            )
            assert grant.ok


async def _spawn(url: str, spool: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.recorder.chaos_child", url, str(spool), str(CHUNK),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip


async def _line(child: asyncio.subprocess.Process) -> tuple[str, str]:
    assert child.stdout is not None
    text = (await asyncio.wait_for(child.stdout.readline(), 600)).decode().strip()
    word, _, rest = text.partition(" ")
    assert word in ("recorded", "stats"), f"the recording process said {text!r}"
    return word, rest


async def _say(child: asyncio.subprocess.Process, word: str) -> None:
    assert child.stdin is not None
    child.stdin.write(f"{word}\n".encode())
    await child.stdin.drain()


async def _killed_run(url: str, spool: Path, chunks: int, draw: random.Random) -> int:
    """One recording process, killed with SIGKILL while it delivers; what it recorded."""
    child = await _spawn(url, spool)
    try:
        for _ in range(chunks - 1):
            await _line(child)
            await _say(child, "more")
        _, recorded = await _line(child)
        await asyncio.sleep(draw.uniform(0.0, 0.3))  # batches in flight, answers on the way
        os.kill(child.pid, signal.SIGKILL)
        await child.wait()
        return int(recorded)
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()


async def _last_run(url: str, spool: Path, remaining: int) -> tuple[int, dict[str, int]]:
    child = await _spawn(url, spool)
    try:
        while True:
            _, recorded = await _line(child)
            if int(recorded) >= remaining:
                break
            await _say(child, "more")
        await _say(child, "close")
        _, stats = await _line(child)
        await child.wait()
        return int(recorded), json.loads(stats)
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()


async def test_chaos_no_event_lost_or_doubled(tmp_path: Path) -> None:
    draw = random.Random(21)
    spool = tmp_path / "usage-spool.db"
    async with LocalAutumn(db_path=tmp_path / "autumn.db", rate_limits=False) as server:
        await _grant(server.url, server.secret_key)
        proxy = await FaultProxy(server.url).start()
        try:
            recorded = 0
            for _ in range(KILLS):
                recorded += await _killed_run(proxy.url, spool, draw.randint(2, 6), draw)
            last, stats = await _last_run(proxy.url, spool, EVENTS - recorded)
            recorded += last
        finally:
            await proxy.stop()
        usage = sum(server.customer(c)["balances"]["api_calls"]["usage"] for c in CUSTOMERS)

    print(f"\nchaos: {recorded:,} events recorded, {usage:,} applied; faults {dict(proxy.counts)};"
          f" {KILLS} SIGKILLs; last run {stats}")  # fmt: skip
    assert recorded >= EVENTS
    assert usage == recorded  # none lost, none doubled
    assert stats["pending"] == stats["refused"] == stats["dropped"] == 0
    assert stats["recovered"] + stats["recorded"] == stats["delivered"]
    assert stats["recovered"] > 0  # the last kill left events for the last run
    assert all(proxy.counts[fault] > 0 for fault in ("lost", "reset", "429", "503"))
