"""The example service, run for real against the local Autumn server, faults included."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from autumn_core import AutumnCore, BackoffStrategy, RetryConfig
from autumn_local import LocalAutumn

EXAMPLE = Path(__file__).parents[2] / "examples" / "aiohttp_service.py"
FAST = RetryConfig(
    backoff=BackoffStrategy(initial_interval=1, max_interval=2), confirm_duplicate_after_ms=1
)


def _load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("aiohttp_service_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class Service:
    """The example app on 127.0.0.1, and a way to read the balance it changes."""

    def __init__(self, autumn: LocalAutumn, url: str, http: aiohttp.ClientSession) -> None:
        self.autumn = autumn
        self.url = url
        self.http = http

    async def post(self, customer: str, body: Any, *, raw: bytes | None = None) -> Any:
        url = f"{self.url}/customers/{customer}/credits"
        sent = {"data": raw} if raw is not None else {"json": body}
        async with self.http.post(url, **sent) as response:
            return response.status, await response.json(), response.headers.get("Retry-After")

    async def remaining(self) -> Any:
        async with self.http.post(
            f"{self.autumn.url}/v1/customers.get",
            json={"customer_id": "cus_123"},
            headers={"Authorization": f"Bearer {self.autumn.secret_key}"},
        ) as response:
            assert response.status == 200
            return (await response.json())["balances"]["api_calls"]["remaining"]


@pytest.fixture
async def service() -> AsyncIterator[Service]:
    example = _load_example()
    async with LocalAutumn(rate_limits=False) as autumn:
        core = AutumnCore(secret_key=autumn.secret_key, server_url=autumn.url, retry_config=FAST)
        runner = web.AppRunner(example.create_app(core))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        try:
            async with aiohttp.ClientSession() as http:
                async with http.post(
                    f"{autumn.url}/v1/balances.create",
                    json={
                        "customer_id": "cus_123",
                        "feature_id": "api_calls",
                        "included_grant": 10,
                    },
                    headers={"Authorization": f"Bearer {autumn.secret_key}"},
                ) as response:
                    assert response.status == 200, await response.text()
                yield Service(autumn, f"http://127.0.0.1:{runner.addresses[0][1]}", http)
        finally:
            await runner.cleanup()


async def test_a_customer_without_a_balance_is_granted_too(service: Service) -> None:
    # An update would answer 200 here and grant nothing: the example creates a balance.
    async with service.http.post(
        f"{service.autumn.url}/v1/customers.get_or_create",
        json={"customer_id": "cus_new"},
        headers={"Authorization": f"Bearer {service.autumn.secret_key}"},
    ) as response:
        assert response.status == 200
    status, reply, _ = await service.post("cus_new", {"amount": 40, "order_id": "ord_new"})
    assert (status, reply["deduplicated"]) == (200, False)
    assert service.autumn.customer("cus_new")["balances"]["api_calls"]["remaining"] == 40


async def test_an_order_is_granted_once_and_a_repeat_says_so(service: Service) -> None:
    before = await service.remaining()
    order = {"amount": 100, "order_id": "ord_1"}
    first = await service.post("cus_123", order)
    again = await service.post("cus_123", order)

    assert first[:2] == (200, {"granted": 100, "order_id": "ord_1", "deduplicated": False})
    assert again[:2] == (200, {"granted": 100, "order_id": "ord_1", "deduplicated": True})
    assert await service.remaining() == before + 100


@pytest.mark.parametrize(
    ("body", "raw", "named"),
    [
        ({"amount": 7}, None, "order_id"),  # once keyed "credits-None", and "replayed"
        ({"amount": 7, "order_id": None}, None, "order_id"),
        ({"amount": 7, "order_id": ""}, None, "order_id"),
        ({"amount": 7, "order_id": "ord 1\n"}, None, "order_id"),
        ({"order_id": "ord_2"}, None, "amount"),
        ({"amount": "lots", "order_id": "ord_2"}, None, "amount"),
        ({"amount": 0, "order_id": "ord_2"}, None, "amount"),
        ({"amount": -5, "order_id": "ord_2"}, None, "amount"),
        ({"amount": True, "order_id": "ord_2"}, None, "amount"),
        ({"amount": 2.5, "order_id": "ord_2"}, None, "amount"),
        (None, b"{not json", "JSON"),
        (None, b"[1, 2]", "JSON object"),
        (None, b"", "JSON"),
    ],
)
async def test_bad_input_is_a_400_that_names_the_problem(
    service: Service, body: Any, raw: bytes | None, named: str
) -> None:
    before = await service.remaining()
    status, reply, _ = await service.post("cus_123", body, raw=raw)
    assert status == 400 and reply["error"] == "invalid_request"
    assert named in reply["message"]
    assert await service.remaining() == before


async def test_orders_without_an_id_are_never_taken_for_each_other(service: Service) -> None:
    # Two different customers, no order id: each is refused, neither is "replayed".
    first = await service.post("cus_123", {"amount": 7})
    second = await service.post("cus_nobody", {"amount": 7})
    assert first[0] == second[0] == 400


async def test_an_unknown_customer_is_a_404_with_autumns_reason(service: Service) -> None:
    status, reply, _ = await service.post("cus_nobody", {"amount": 1, "order_id": "ord_9"})
    assert status == 404 and reply["error"] == "customer_not_found"
    assert "cus_nobody" in reply["message"]


async def test_a_lost_answer_is_still_reported_as_granted_once(service: Service) -> None:
    before = await service.remaining()
    service.autumn.faults.inject_next("lost-response")
    status, reply, _ = await service.post("cus_123", {"amount": 5, "order_id": "ord_lost"})
    # Applied by the lost attempt; the retry with the order's key found it done.
    assert status == 200 and reply["granted"] == 5 and reply["deduplicated"] is True
    assert await service.remaining() == before + 5


async def test_an_unknown_outcome_is_a_503_and_the_same_request_settles_it(
    service: Service,
) -> None:
    before = await service.remaining()
    order = {"amount": 3, "order_id": "ord_dark"}
    service.autumn.faults.inject_next("lost-response", "lost-response", "lost-response")
    status, reply, retry_after = await service.post("cus_123", order)
    assert status == 503 and reply["error"] == "outcome_unknown"
    assert reply["idempotency_key"] == "credits-cus_123-ord_dark" and retry_after

    status, reply, _ = await service.post("cus_123", order)  # the client sends it again
    assert status == 200 and reply["deduplicated"] is True
    assert await service.remaining() == before + 3  # applied once, by the first request


async def test_billing_unavailable_is_a_503_and_nothing_was_granted(service: Service) -> None:
    before = await service.remaining()
    service.autumn.faults.inject_next("503", "503", "503")
    status, reply, retry_after = await service.post("cus_123", {"amount": 2, "order_id": "o_x"})
    assert status == 503 and reply["error"] == "billing_unavailable" and retry_after
    assert await service.remaining() == before
