"""``kill -9`` while a new database is being seeded, then a restart: the seed is whole.

The seed and the mark that says "seeded" commit in one transaction, so a seed
cut short leaves nothing behind and the next start applies it again, whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import sys
from pathlib import Path

import aiohttp
import pytest

from autumn_local import LocalAutumn
from tests.local.processes import serve, server_env

# Enough rows that seeding takes about half a second: the kill lands inside it.
CUSTOMERS = 20_000
CONFIG = {
    "customers": [{"id": f"cus_cfg_{i}"} for i in range(CUSTOMERS)],
    "balances": [
        {"customer_id": f"cus_cfg_{i}", "feature_id": "api_calls", "included_grant": 10}
        for i in range(CUSTOMERS)
    ],
}


def _count(db: Path, table: str) -> int:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        try:
            return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        except sqlite3.OperationalError:  # the table does not exist yet
            return 0


def _wal_size(db: Path) -> int:
    try:
        return os.stat(f"{db}-wal").st_size
    except FileNotFoundError:
        return 0


async def _kill_while_seeding(db: Path, config: Path, wal_bytes: int) -> None:
    """Start ``serve`` on a new file and SIGKILL it once the seed has written ``wal_bytes``."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "autumn_local",
        "serve",
        "--db",
        str(db),
        "--config",
        str(config),
        "--port",
        "0",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env=server_env(),
    )
    try:
        # A bounded wait (30 s): the uncommitted seed spills into the WAL as it grows.
        for _ in range(15_000):
            if _wal_size(db) >= wal_bytes:
                break
            assert proc.returncode is None, "serve exited before it was killed"
            await asyncio.sleep(0.002)
        else:
            raise AssertionError("the seed never reached the WAL")
        proc.send_signal(signal.SIGKILL)
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.parametrize("wal_bytes", [256 * 1024, 2 * 1024 * 1024])
async def test_kill_during_seeding_then_restart_seeds_whole(tmp_path: Path, wal_bytes: int) -> None:
    db = tmp_path / "autumn.db"
    config = tmp_path / "big.json"
    config.write_text(json.dumps(CONFIG))

    await _kill_while_seeding(db, config, wal_bytes)
    # The precondition of the test: the kill landed inside the seed.
    assert _count(db, "customers") == 0, "the seed had already committed; kill earlier"

    async with serve("--db", str(db), "--config", str(config), "--port", "0") as server:
        async with aiohttp.ClientSession(
            headers={"Authorization": "Bearer am_sk_test_local"}
        ) as http:
            async with http.post(f"{server.url}/v1/features.list", json={}) as resp:
                features = [f["id"] for f in (await resp.json())["list"]]
            assert features == ["api_calls", "seats", "premium"]
            for customer in ("cus_123", f"cus_cfg_{CUSTOMERS - 1}"):
                async with http.post(
                    f"{server.url}/v1/customers.get", json={"customer_id": customer}
                ) as resp:
                    assert resp.status == 200, customer
                    body = await resp.json()
            # The last customer is the last row of the seed: its balance is there.
            assert body["balances"]["api_calls"]["granted"] == 10
        server.proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(server.proc.wait(), 30) == 0
    assert _count(db, "customers") == CUSTOMERS + 1
    assert _count(db, "balances") == CUSTOMERS


async def test_a_seed_cut_short_by_an_older_version_is_applied_on_start(tmp_path: Path) -> None:
    """Older versions kept no mark: tables without a feature or customer were never seeded."""
    db = tmp_path / "autumn.db"
    async with LocalAutumn(db_path=db):
        pass
    with contextlib.closing(sqlite3.connect(db)) as conn:
        for table in ("balances", "customers", "features"):
            conn.execute(f"DELETE FROM {table}")
        conn.execute("DROP TABLE server_meta")
        conn.commit()

    config = {"balances": [{"customer_id": "cus_123", "feature_id": "seats", "included_grant": 3}]}
    async with LocalAutumn(db_path=db, config=config):
        pass
    assert (_count(db, "features"), _count(db, "customers"), _count(db, "balances")) == (3, 1, 1)


async def test_a_database_seeded_by_an_older_version_is_not_seeded_again(tmp_path: Path) -> None:
    db = tmp_path / "autumn.db"
    config = {"balances": [{"customer_id": "cus_123", "feature_id": "seats", "included_grant": 3}]}
    async with LocalAutumn(db_path=db, config=config):
        pass
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("DROP TABLE server_meta")
        conn.commit()
    async with LocalAutumn(db_path=db, config=config):
        pass
    assert _count(db, "balances") == 1
