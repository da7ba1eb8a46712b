"""Fixtures for the local server's contract tests: a server and a plain HTTP client.

These tests talk to LocalAutumn over real HTTP on 127.0.0.1 with a bare
aiohttp session -- never through the SDK -- so they check the wire contract
itself.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

# Also provided by the pytest11 entry point once the package is installed;
# importing it here keeps the suite runnable from a plain checkout.
from autumn_local.pytest_plugin import local_autumn  # noqa: F401
from autumn_local.run.server import LocalAutumn

_UNSET: Any = object()


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]

    def error(self, status: int, code: str, *, mentions: str | None = None) -> Reply:
        """Assert an Autumn error with ``status`` and ``code`` (and a message naming a field)."""
        assert self.status == status, (self.status, self.body)
        assert isinstance(self.body, dict), self.body
        assert set(self.body) == {"message", "code", "env"}, self.body
        assert self.body["code"] == code, self.body
        assert self.body["env"] in ("sandbox", "live")
        assert isinstance(self.body["message"], str) and self.body["message"]
        if mentions is not None:
            assert mentions in self.body["message"], self.body["message"]
        return self

    def ok(self) -> Any:
        assert self.status == 200, (self.status, self.body)
        return self.body


class Api:
    """A thin JSON-over-HTTP caller for one LocalAutumn."""

    def __init__(self, http: aiohttp.ClientSession, server: LocalAutumn) -> None:
        self.http = http
        self.server = server

    async def post(
        self,
        path: str,
        body: Any = _UNSET,
        *,
        key: str | None = _UNSET,
        headers: dict[str, str] | None = None,
        data: bytes | None = None,
        method: str = "POST",
    ) -> Reply:
        sent: dict[str, str] = {"x-api-version": "2.1"}
        secret = self.server.secret_key if key is _UNSET else key
        if secret is not None:
            sent["Authorization"] = f"Bearer {secret}"
        if data is None and body is not _UNSET:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        # aiohttp warns (an error under this suite's filters) on big raw bytes.
        payload: Any = io.BytesIO(data) if data is not None and len(data) > 65536 else data
        async with self.http.request(
            method, self.server.url + path, data=payload, headers=sent
        ) as resp:
            raw = await resp.read()
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = raw
            return Reply(resp.status, parsed, dict(resp.headers))

    async def create(self, headers: dict[str, str] | None = None, **body: Any) -> Reply:
        return await self.post("/v1/balances.create", body, headers=headers)

    async def update(self, headers: dict[str, str] | None = None, **body: Any) -> Reply:
        return await self.post("/v1/balances.update", body, headers=headers)

    async def track(self, headers: dict[str, str] | None = None, **body: Any) -> Reply:
        return await self.post("/v1/balances.track", body, headers=headers)

    async def check(self, headers: dict[str, str] | None = None, **body: Any) -> Reply:
        return await self.post("/v1/balances.check", body, headers=headers)

    async def delete(self, headers: dict[str, str] | None = None, **body: Any) -> Reply:
        return await self.post("/v1/balances.delete", body, headers=headers)

    async def finalize(self, headers: dict[str, str] | None = None, **body: Any) -> Reply:
        return await self.post("/v1/balances.finalize", body, headers=headers)

    async def customer(self, customer_id: str = "cus_123") -> dict[str, Any]:
        reply = await self.post("/v1/customers.get", {"customer_id": customer_id})
        body: dict[str, Any] = reply.ok()
        return body

    async def balance(
        self, feature_id: str = "api_calls", customer_id: str = "cus_123"
    ) -> dict[str, Any] | None:
        balances: dict[str, Any] = (await self.customer(customer_id))["balances"]
        return balances.get(feature_id)

    async def totals(
        self, feature_id: str = "api_calls", customer_id: str = "cus_123"
    ) -> tuple[Any, Any, Any]:
        """(granted, remaining, usage) of one feature in the customer view."""
        entry = await self.balance(feature_id, customer_id)
        assert entry is not None, f"{customer_id} has no {feature_id} balance"
        return entry["granted"], entry["remaining"], entry["usage"]

    async def parts(
        self, feature_id: str = "api_calls", customer_id: str = "cus_123"
    ) -> dict[str, tuple[Any, Any, Any]]:
        """(included_grant, remaining, usage) of each breakdown entry, by id."""
        entry = await self.balance(feature_id, customer_id)
        assert entry is not None, f"{customer_id} has no {feature_id} balance"
        return {
            b["id"]: (b["included_grant"], b["remaining"], b["usage"]) for b in entry["breakdown"]
        }


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    # limit=0: the concurrency test opens many connections at once.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        yield session


@pytest.fixture
async def api(
    http: aiohttp.ClientSession,
    local_autumn: LocalAutumn,  # noqa: F811
) -> Api:
    return Api(http, local_autumn)


ENTITIES = {
    "entities": [
        {"id": "seat_1", "customer_id": "cus_123", "name": "Seat 1"},
        {"id": "seat_2", "customer_id": "cus_123"},
    ]
}


@pytest.fixture
async def ents(http: aiohttp.ClientSession) -> AsyncIterator[Api]:
    """A server whose cus_123 has entities seat_1 and seat_2."""
    async with LocalAutumn(config=ENTITIES) as server:
        yield Api(http, server)


@pytest.fixture
async def bulk(http: aiohttp.ClientSession) -> AsyncIterator[Api]:
    """A server without rate limits, for tests that create balances in bulk."""
    async with LocalAutumn(rate_limits=False, config=ENTITIES) as server:
        yield Api(http, server)


# Features for the usage tests: words (metered, sent by the "generation"
# event), credits (a credit system: 0.5 credits a word), tokens (metered,
# also sent by "generation", drawing on credits_b), credits_b (2 a token).
USAGE = {
    "features": [
        {"id": "words", "type": "metered", "event_names": ["generation"]},
        {
            "id": "credits",
            "type": "credit_system",
            "credit_schema": [{"metered_feature_id": "words", "credit_cost": 0.5}],
        },
        {"id": "tokens", "type": "metered", "event_names": ["generation"]},
        {
            "id": "credits_b",
            "type": "credit_system",
            "credit_schema": [{"metered_feature_id": "tokens", "credit_cost": 2}],
        },
    ],
    "entities": ENTITIES["entities"],
}


@pytest.fixture
async def usage(http: aiohttp.ClientSession) -> AsyncIterator[Api]:
    """A server with the USAGE features (and the seed's), its clock frozen at NOW."""
    async with LocalAutumn(rate_limits=False, config=USAGE) as server:
        server.clock.set_ms(NOW)
        yield Api(http, server)


MONTHLY = {
    "customer_id": "cus_123",
    "feature_id": "api_calls",
    "included_grant": 1000,
    "reset": {"interval": "month"},
}
KEY = {"customer_id": "cus_123", "feature_id": "api_calls"}
NOW = 1_767_225_600_000  # 2026-01-01T00:00:00Z
DAY = 86_400_000
