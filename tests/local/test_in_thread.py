"""``LocalAutumn.in_thread()`` and ``LocalAutumn.customer`` / ``entity``.

A server in a thread keeps answering while the caller's thread blocks (a sync
client, FastAPI's TestClient); a server on the caller's loop cannot.
"""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
from typing import Any

import aiohttp
import pytest

from autumn_local import LocalAutumn, LocalAutumnThread

CREATE = {"customer_id": "cus_123", "feature_id": "api_calls", "included_grant": 100}
ENTITIES = {"entities": [{"id": "seat_1", "customer_id": "cus_123", "name": "Seat 1"}]}


def blocking_post(server: LocalAutumn, path: str, body: dict[str, Any], timeout: float = 10) -> Any:
    """A synchronous client: blocks the calling thread (and its event loop, if any)."""
    request = urllib.request.Request(
        server.url + path,
        data=json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {server.secret_key}",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def test_a_blocking_client_is_answered_from_sync_code() -> None:
    threads_before = threading.active_count()
    with LocalAutumn(config=ENTITIES).in_thread() as server:
        assert server.running and server.url.startswith("http://127.0.0.1:")
        assert blocking_post(server, "/v1/balances.create", CREATE) == {"success": True}
        view = server.customer("cus_123")
        assert view["balances"]["api_calls"]["remaining"] == 100
        server.clock.advance(days=1)
        server.set_faults("503=1,retry-after=0")
        with pytest.raises(urllib.error.HTTPError) as refused:
            blocking_post(server, "/v1/balances.create", CREATE)
        assert refused.value.code == 503
        refused.value.close()  # an HTTPError holds the response's socket
        server.set_faults(None)
    assert not server.running
    assert threading.active_count() == threads_before


async def test_a_blocking_call_on_the_tests_loop_is_answered() -> None:
    """What FastAPI's TestClient does inside a test: block the loop until answered."""
    async with LocalAutumn().in_thread() as server:
        assert blocking_post(server, "/v1/customers.get", {"customer_id": "cus_123"})["id"] == (
            "cus_123"
        )
    assert not server.running


async def test_the_same_blocking_call_hangs_a_server_on_the_tests_loop() -> None:
    """Why in_thread exists: the server cannot answer while its loop is blocked."""
    async with LocalAutumn() as server:
        with pytest.raises((TimeoutError, urllib.error.URLError)):
            blocking_post(server, "/v1/customers.get", {"customer_id": "cus_123"}, timeout=0.5)


def test_start_errors_are_raised_by_with() -> None:
    with LocalAutumn().in_thread() as first:
        taken = LocalAutumn(port=first.port).in_thread()
        with pytest.raises(OSError), taken:
            pass
        taken.stop()  # idempotent after a failed start


def test_start_and_stop_without_with_and_no_second_start() -> None:
    runner = LocalAutumn().in_thread()
    assert isinstance(runner, LocalAutumnThread)
    server = runner.start()
    try:
        assert server.customer("cus_123")["id"] == "cus_123"
        with pytest.raises(RuntimeError, match="already started"):
            runner.start()
    finally:
        runner.stop()
    runner.stop()
    assert not server.running


async def _over_http(server: LocalAutumn, path: str, body: dict[str, Any]) -> Any:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            server.url + path,
            json=body,
            headers={"Authorization": f"Bearer {server.secret_key}", "x-api-version": "2.1"},
        ) as response,
    ):
        assert response.status == 200
        return await response.json()


async def test_customer_and_entity_are_what_the_api_answers() -> None:
    async with LocalAutumn(config=ENTITIES) as server:
        await _over_http(server, "/v1/balances.create", CREATE)
        await _over_http(server, "/v1/balances.create", {**CREATE, "entity_id": "seat_1"})
        assert server.customer("cus_123") == await _over_http(
            server, "/v1/customers.get", {"customer_id": "cus_123"}
        )
        assert server.entity("cus_123", "seat_1") == await _over_http(
            server, "/v1/entities.get", {"customer_id": "cus_123", "entity_id": "seat_1"}
        )


async def test_customer_reads_are_answered_on_the_servers_thread() -> None:
    async with LocalAutumn().in_thread() as server:
        await _over_http(server, "/v1/balances.create", CREATE)
        views = await asyncio.gather(
            *(asyncio.to_thread(server.customer, "cus_123") for _ in range(20))
        )
        assert {v["balances"]["api_calls"]["granted"] for v in views} == {100}


async def test_customer_reads_say_what_is_wrong() -> None:
    async with LocalAutumn(config=ENTITIES) as server:
        with pytest.raises(LookupError, match="cus_nope"):
            server.customer("cus_nope")
        with pytest.raises(LookupError, match="seat_9"):
            server.entity("cus_123", "seat_9")
        with pytest.raises(ValueError, match="customer_id"):
            server.customer("")
    with pytest.raises(RuntimeError, match="not started"):
        server.customer("cus_123")


async def test_a_customer_read_applies_a_due_reset_as_the_api_does() -> None:
    async with LocalAutumn() as server:
        await _over_http(server, "/v1/balances.create", {**CREATE, "reset": {"interval": "day"}})
        await _over_http(
            server,
            "/v1/balances.update",
            {"customer_id": "cus_123", "feature_id": "api_calls", "remaining": 1},
        )
        assert server.customer("cus_123")["balances"]["api_calls"]["remaining"] == 1
        server.clock.advance(days=2)
        assert server.customer("cus_123")["balances"]["api_calls"]["remaining"] == 100
