"""The example service, run for real against the local Autumn server."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
from aiohttp import web

from autumn_core import AutumnCore
from autumn_local import LocalAutumn

EXAMPLE = Path(__file__).parents[2] / "examples" / "aiohttp_service.py"


def _load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("aiohttp_service_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


async def _api_calls_remaining(server: LocalAutumn, http: aiohttp.ClientSession) -> Any:
    async with http.post(
        f"{server.url}/v1/customers.get",
        json={"customer_id": "cus_123"},
        headers={"Authorization": f"Bearer {server.secret_key}"},
    ) as response:
        assert response.status == 200
        return (await response.json())["balances"]["api_calls"]["remaining"]


async def test_grant_is_applied_once_per_order(local_autumn: LocalAutumn) -> None:
    example = _load_example()
    core = AutumnCore(secret_key=local_autumn.secret_key, server_url=local_autumn.url)
    runner = web.AppRunner(example.create_app(core))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    service = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with aiohttp.ClientSession() as http:
            await _grant(local_autumn, http)  # the customer needs a balance to add to
            before = await _api_calls_remaining(local_autumn, http)
            first = await _post(
                http, f"{service}/customers/cus_123/credits", {"amount": 100, "order_id": "ord_1"}
            )
            again = await _post(
                http, f"{service}/customers/cus_123/credits", {"amount": 100, "order_id": "ord_1"}
            )
            unknown = await _post(
                http, f"{service}/customers/cus_nobody/credits", {"amount": 1, "order_id": "ord_2"}
            )
            invalid = await _post(
                http,
                f"{service}/customers/cus_123/credits",
                {"amount": "lots", "order_id": "ord_3"},
            )
            after = await _api_calls_remaining(local_autumn, http)
    finally:
        await runner.cleanup()
    assert first == (200, {"granted": 100})
    assert again == (200, {"granted": 100, "replayed": True})
    assert unknown == (404, {"error": "customer_not_found"})
    assert invalid == (400, {"error": "invalid add_to_balance"})
    assert after == before + 100


async def _grant(server: LocalAutumn, http: aiohttp.ClientSession) -> None:
    async with http.post(
        f"{server.url}/v1/balances.create",
        json={"customer_id": "cus_123", "feature_id": "api_calls", "included_grant": 10},
        headers={"Authorization": f"Bearer {server.secret_key}"},
    ) as response:
        assert response.status == 200, await response.text()


async def _post(http: aiohttp.ClientSession, url: str, body: Any) -> tuple[int, Any]:
    async with http.post(url, json=body) as response:
        return response.status, await response.json()
