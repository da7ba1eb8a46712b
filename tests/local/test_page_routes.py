"""The page's routes without a browser: who may use them, and who serves them."""

from __future__ import annotations

import contextlib

import aiohttp
import pytest

from autumn_local import LocalAutumn
from tests.local.processes import serve


async def test_its_routes_answer_this_machine_only() -> None:
    change = {"spec": "503=1"}
    async with LocalAutumn(page=True) as server, aiohttp.ClientSession() as http:
        faults = f"{server.url}/_local/faults"
        # A cross-site form can send neither the header nor JSON with it.
        assert (await http.post(faults, json=change)).status == 403
        page_header = {"X-Autumn-Local": "page"}
        foreign = {**page_header, "Origin": "http://evil.example"}
        assert (await http.post(faults, json=change, headers=foreign)).status == 403
        # A DNS-rebound name: the browser thinks it talks to evil.example.
        rebound = await http.get(f"{server.url}/_local/state", headers={"Host": "evil.example"})
        assert rebound.status == 403
        assert server.faults.spec.rates == {}
        # The page itself: same origin, with the header.
        own = {**page_header, "Origin": server.url}
        answer = await http.post(faults, json=change, headers=own)
        assert answer.status == 200 and (await answer.json())["faults"]["rates"] == {"503": 1}
        bad = await http.post(faults, json={"inject_next": "503"}, headers=own)
        assert bad.status == 400 and "inject_next" in (await bad.json())["message"]
        bad = await http.post(f"{server.url}/_local/clock", json={"advance_ms": "1d"}, headers=own)
        assert bad.status == 400 and "advance_ms" in (await bad.json())["message"]


async def test_the_request_log_says_what_each_request_came_to() -> None:
    key = {"Authorization": "Bearer am_sk_test_local", "Idempotency-Key": "order-42"}
    track = {"customer_id": "cus_123", "feature_id": "messages", "value": 2}
    async with LocalAutumn(page=True) as server, aiohttp.ClientSession() as http:
        server.faults.inject_next("503", "reset")
        for _ in range(2):
            with contextlib.suppress(aiohttp.ClientError):  # the reset: no answer
                await http.post(f"{server.url}/v1/balances.track", json=track, headers=key)
        refused = await http.post(f"{server.url}/v1/balances.track", json=track)
        assert refused.status == 401
        async with http.get(f"{server.url}/_local/state") as got:
            requests = (await got.json())["requests"]
    no_answer, unavailable, unauthorized = requests[1], requests[2], requests[0]
    assert (unavailable["status"], unavailable["code"]) == (503, "service_unavailable")
    assert unavailable["idempotency_key"] == "order-42"
    assert unavailable["customer_id"] == "cus_123" and unavailable["feature_id"] == "messages"
    assert unavailable["changed"] == "nothing (refused)"
    assert no_answer["status"] is None
    assert no_answer["changed"].startswith("no answer sent")
    assert unauthorized["status"] == 401 and unauthorized["idempotency_key"] is None


async def test_serve_serves_the_page_and_no_page_turns_it_off() -> None:
    async with serve("--port", "0") as served, aiohttp.ClientSession() as http:
        assert f"page:        {served.url}/" in served.banner
        page = await http.get(f"{served.url}/")
        assert page.status == 200 and page.content_type == "text/html"
        assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    async with serve("--port", "0", "--no-page") as served, aiohttp.ClientSession() as http:
        assert "page:" not in served.banner
        answer = await http.get(f"{served.url}/")
        assert answer.status == 404
        assert (await answer.json())["code"] == "not_found"
        assert (await http.get(f"{served.url}/_local/state")).status == 404


async def test_a_local_autumn_from_python_serves_no_page_unless_asked() -> None:
    async with LocalAutumn() as plain, aiohttp.ClientSession() as http:
        answer = await http.get(f"{plain.url}/")
        assert answer.status == 404
        assert (await answer.json())["code"] == "not_found"


async def test_a_batch_is_one_request_of_many_events() -> None:
    auth = {"Authorization": "Bearer am_sk_test_local"}
    events = [{"customer_id": "cus_123", "feature_id": "api_calls", "value": 1}] * 3
    async with LocalAutumn(page=True) as server, aiohttp.ClientSession() as http:
        sent = await http.post(f"{server.url}/v1/balances.batch_track", json=events, headers=auth)
        assert sent.status < 300, await sent.text()
        async with http.get(f"{server.url}/_local/state") as got:
            (batch,) = (await got.json())["requests"]
    assert (batch["route"], batch["customer_id"], batch["feature_id"]) == (
        "balances.batch_track",
        "cus_123",
        "api_calls",
    )
    assert batch["changed"] == "events=3"


async def test_a_customer_created_without_an_id_shows_by_its_email() -> None:
    auth = {"Authorization": "Bearer am_sk_test_local"}
    customer = {"customer_id": None, "email": "ada@example.com", "name": "Ada"}
    async with LocalAutumn(page=True) as server, aiohttp.ClientSession() as http:
        made = await http.post(
            f"{server.url}/v1/customers.get_or_create", json=customer, headers=auth
        )
        assert made.status == 200, await made.text()
        async with http.get(f"{server.url}/_local/state") as got:
            customers = (await got.json())["customers"]
    (shown,) = [c for c in customers if c["email"] == "ada@example.com"]
    assert (shown["id"], shown["name"], shown["balances"]) == (None, "Ada", [])


async def test_a_traced_request_shows_the_trace_it_continues() -> None:
    pytest.importorskip("opentelemetry.sdk", reason="needs opentelemetry-sdk")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from autumn_core import AutumnCore
    from autumn_core.otel import instrument
    from autumn_funcs import balances_track

    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    track = {"customer_id": "cus_123", "feature_id": "api_calls", "value": 1}
    async with (
        LocalAutumn(page=True) as server,
        AutumnCore(server.secret_key, server_url=server.url) as core,
        aiohttp.ClientSession() as http,
    ):
        instrument(core, tracer_provider=provider)
        await balances_track(core, track)
        async with http.get(f"{server.url}/_local/state") as got:
            (shown,) = (await got.json())["requests"]
    (call,) = [s for s in spans.get_finished_spans() if s.name.startswith("autumn ")]
    assert shown["trace_id"] == f"{call.context.trace_id:032x}"
    provider.shutdown()
