"""1,000 concurrent writes land exactly; a file database survives a restart."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import aiohttp

from autumn_local import LocalAutumn
from tests.local.conftest import MONTHLY, Api

KEY = {"customer_id": "cus_123", "feature_id": "api_calls"}


async def test_thousand_concurrent_add_to_balance(api: Api) -> None:
    (await api.create(**MONTHLY)).ok()
    replies = await asyncio.gather(*(api.update(**KEY, add_to_balance=1) for _ in range(1000)))
    assert {r.status for r in replies} == {200}
    assert await api.totals() == (1000, 2000, -1000)


async def test_data_survives_restart(http: aiohttp.ClientSession, tmp_path: Path) -> None:
    db = tmp_path / "nested" / "autumn.db"
    async with LocalAutumn(db_path=db) as server:
        api = Api(http, server)
        (await api.create(**MONTHLY, balance_id="kept")).ok()
        (await api.update(**KEY, remaining=7, headers={"Idempotency-Key": "once"})).ok()
        credits = {
            "id": "credits",
            "type": "credit_system",
            "credit_schema": [{"metered_feature_id": "api_calls", "credit_cost": 2}],
        }
        (await api.post("/v1/features.create", credits)).ok()
        (
            await api.post(
                "/v1/customers.get_or_create", {"customer_id": "cus_new", "email": "a@example.com"}
            )
        ).ok()
    assert db.exists()

    async with LocalAutumn(db_path=db) as server:
        api = Api(http, server)
        entry = await api.balance()
        assert entry is not None
        assert entry["remaining"] == 7 and entry["breakdown"][0]["id"] == "kept"
        assert (await api.customer("cus_new"))["email"] == "a@example.com"
        features = (await api.post("/v1/features.list", {})).ok()["list"]
        assert [f["id"] for f in features] == ["api_calls", "seats", "premium", "credits"]
        assert features[-1]["credit_schema"] == credits["credit_schema"]
        # Idempotency claims persist too.
        (await api.update(**KEY, remaining=1, headers={"Idempotency-Key": "once"})).error(
            409, "duplicate_idempotency_key"
        )
        # The seed is not applied twice.
        assert len((await api.post("/v1/features.list", {})).ok()["list"]) == 4


async def test_file_database_uses_wal(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "autumn.db"
    async with LocalAutumn(db_path=db):
        pass
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_a_database_from_before_credit_systems_and_locks_opens(
    http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    import sqlite3

    db = tmp_path / "before.db"
    async with LocalAutumn(db_path=db) as server:
        api = Api(http, server)
        server.clock.set_ms(1_767_225_600_000)
        (
            await api.create(
                **KEY,
                included_grant=100,
                reset={"interval": "day"},
                rollover={"max": 50, "length": 1},
            )
        ).ok()
        (await api.update(**KEY, remaining=30)).ok()
        server.clock.advance(days=1, ms=1)
        assert await api.totals() == (130, 130, 0)  # 30 rolled over
    old = sqlite3.connect(db)
    old.executescript(
        """
        ALTER TABLE features DROP COLUMN credit_schema;
        ALTER TABLE rollovers DROP COLUMN id;
        DROP TABLE lock_receipts;
        """
    )
    old.close()
    async with LocalAutumn(db_path=db) as server:
        api = Api(http, server)
        server.clock.set_ms(1_767_225_600_000 + 86_400_001)
        answer = (await api.track(**KEY, value=40)).ok()
        rollover, main = answer["deductions"]
        assert rollover["balance_id"].startswith("roll_") and rollover["value"] == 30
        assert main["value"] == 10
        (await api.check(**KEY, lock={"enabled": True, "lock_id": "l1"})).ok()
        (await api.finalize(lock_id="l1", action="release")).ok()
        features = (await api.post("/v1/features.list", {})).ok()["list"]
        assert [f["id"] for f in features] == ["api_calls", "seats", "premium"]
