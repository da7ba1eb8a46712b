"""Two ``serve`` processes on one SQLite file: the database, not a process, decides.

Each Idempotency-Key is sent four times at once, twice to each server: the
key is checked and claimed inside the write transaction, so exactly one of
the four is applied, whichever server it reached.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp

from tests.local.processes import serve

KEYS = 300
AUTH = {"Authorization": "Bearer am_sk_test_local", "x-api-version": "2.1"}
BALANCE = {"customer_id": "cus_123", "feature_id": "api_calls"}


async def _post(
    http: aiohttp.ClientSession, url: str, body: dict[str, Any], key: str | None = None
) -> tuple[int, Any]:
    headers = dict(AUTH) if key is None else {**AUTH, "Idempotency-Key": key}
    async with http.post(url, json=body, headers=headers) as resp:
        return resp.status, await resp.json()


async def test_two_servers_on_one_file_apply_each_key_once(tmp_path: Path) -> None:
    db = str(tmp_path / "shared.db")
    flags = ("--db", db, "--port", "0", "--no-rate-limits")
    async with (
        serve(*flags) as a,
        serve(*flags) as b,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http,
    ):
        create = {**BALANCE, "included_grant": 0}
        assert (await _post(http, f"{a.url}/v1/balances.create", create))[0] == 200

        sends = [(url, f"key-{n}") for n in range(KEYS) for url in (a.url, b.url, a.url, b.url)]
        replies = await asyncio.gather(
            *(
                _post(http, f"{url}/v1/balances.update", {**BALANCE, "add_to_balance": 1}, key)
                for url, key in sends
            )
        )
        by_key: dict[str, list[tuple[int, Any]]] = {}
        for (_, key), reply in zip(sends, replies, strict=True):
            by_key.setdefault(key, []).append(reply)
        applied_twice = [k for k, rs in by_key.items() if [s for s, _ in rs].count(200) > 1]
        assert applied_twice == []
        for key, rs in by_key.items():
            assert sorted(s for s, _ in rs) == [200, 409, 409, 409], (key, rs)
            assert all(body["code"] == "duplicate_idempotency_key" for s, body in rs if s == 409), (
                rs
            )

        for server in (a, b):
            status, customer = await _post(
                http, f"{server.url}/v1/customers.get", {"customer_id": "cus_123"}
            )
            assert status == 200
            assert customer["balances"]["api_calls"]["remaining"] == KEYS


async def test_a_feature_created_on_one_server_is_known_to_the_other(tmp_path: Path) -> None:
    db = str(tmp_path / "shared.db")
    async with (
        serve("--db", db, "--port", "0") as a,
        serve("--db", db, "--port", "0") as b,
        aiohttp.ClientSession() as http,
    ):
        status, _ = await _post(
            http, f"{a.url}/v1/features.create", {"id": "credits", "type": "metered"}
        )
        assert status == 200
        status, body = await _post(
            http,
            f"{b.url}/v1/balances.create",
            {"customer_id": "cus_123", "feature_id": "credits", "included_grant": 5},
        )
        assert status == 200, body
