"""The FastAPI example, run with FastAPI's own TestClient against the local server on
a thread of its own, faults included."""

from __future__ import annotations

import importlib.util
import json
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi.testclient import TestClient

from autumn_core import AutumnCore, BackoffStrategy, RetryConfig
from autumn_local import LocalAutumn
from tests.blocking.server_thread import post

EXAMPLE = Path(__file__).parents[2] / "examples" / "fastapi_service.py"
FAST = RetryConfig(
    backoff=BackoffStrategy(initial_interval=1, max_interval=2), confirm_duplicate_after_ms=1
)


def _load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fastapi_service_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _grant(server: LocalAutumn, amount: int) -> None:
    request = urllib.request.Request(
        f"{server.url}/v1/balances.create",
        data=json.dumps(
            {"customer_id": "cus_123", "feature_id": "api_calls", "included_grant": amount}
        ).encode(),
        headers={
            "Authorization": f"Bearer {server.secret_key}",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 200


class Service:
    """The example app behind a TestClient, and the server whose balance it changes."""

    def __init__(self, server: LocalAutumn, client: TestClient) -> None:
        self.server = server
        self.client = client

    def credits(self, body: Any, customer: str = "cus_123") -> tuple[int, Any, str | None]:
        reply = self.client.post(f"/customers/{customer}/credits", json=body)
        return reply.status_code, reply.json(), reply.headers.get("Retry-After")

    def check(self, feature: str = "api_calls", **query: Any) -> tuple[int, Any]:
        reply = self.client.get(f"/customers/cus_123/features/{feature}", params=query)
        return reply.status_code, reply.json()

    def usage(self, body: Any, customer: str = "cus_123") -> tuple[int, Any, str | None]:
        reply = self.client.post(f"/customers/{customer}/usage", json=body)
        return reply.status_code, reply.json(), reply.headers.get("Retry-After")

    def remaining(self) -> Any:
        return self.server.customer("cus_123")["balances"]["api_calls"]["remaining"]


@pytest.fixture
def service(local_autumn_thread: LocalAutumn) -> Iterator[Service]:
    server = local_autumn_thread
    _grant(server, 10)
    core = AutumnCore(secret_key=server.secret_key, server_url=server.url, retry_config=FAST)
    with TestClient(_load_example().create_app(core)) as client:
        yield Service(server, client)


def test_an_order_is_granted_once_and_a_repeat_says_so(service: Service) -> None:
    order = {"amount": 100, "order_id": "ord_1"}
    assert service.credits(order)[:2] == (
        200,
        {"granted": 100, "order_id": "ord_1", "deduplicated": False},
    )
    assert service.credits(order)[:2] == (
        200,
        {"granted": 100, "order_id": "ord_1", "deduplicated": True},
    )
    assert service.remaining() == 110


def test_a_customer_without_a_balance_is_granted_too(service: Service) -> None:
    # An update would answer 200 here and grant nothing: the example creates a balance.
    post(service.server, "/v1/customers.get_or_create", {"customer_id": "cus_new"})
    status, reply, _ = service.credits({"amount": 40, "order_id": "ord_new"}, "cus_new")
    assert (status, reply["deduplicated"]) == (200, False)
    assert service.server.customer("cus_new")["balances"]["api_calls"]["remaining"] == 40


@pytest.mark.parametrize(
    ("body", "customer", "named"),
    [
        ({"amount": 7}, "cus_123", "order_id"),
        ({"amount": 7, "order_id": None}, "cus_123", "order_id"),
        ({"amount": 7, "order_id": ""}, "cus_123", "order_id"),
        ({"amount": 7, "order_id": "ord 1\n"}, "cus_123", "order_id"),
        ({"order_id": "ord_2"}, "cus_123", "amount"),
        ({"amount": "7", "order_id": "ord_2"}, "cus_123", "amount"),
        ({"amount": 0, "order_id": "ord_2"}, "cus_123", "amount"),
        ({"amount": 2.5, "order_id": "ord_2"}, "cus_123", "amount"),
        ({"amount": 1_000_001, "order_id": "ord_2"}, "cus_123", "amount"),
        ([1, 2], "cus_123", "body"),
        ({"amount": 7, "order_id": "ord_2"}, "cus 123", "customer_id"),
    ],
)
def test_a_malformed_grant_is_a_422_naming_the_field_and_nothing_is_sent(
    service: Service, body: Any, customer: str, named: str
) -> None:
    status, reply, _ = service.credits(body, customer)
    assert status == 422
    assert named in {str(part) for problem in reply["detail"] for part in problem["loc"]}
    assert service.remaining() == 10


def test_an_unknown_customer_is_a_404_with_autumns_reason(service: Service) -> None:
    status, reply, _ = service.credits({"amount": 1, "order_id": "ord_9"}, "cus_nobody")
    assert status == 404 and reply["error"] == "customer_not_found"
    assert "cus_nobody" in reply["message"]


def test_a_lost_answer_is_still_reported_as_granted_once(service: Service) -> None:
    service.server.faults.inject_next("lost-response")
    status, reply, _ = service.credits({"amount": 5, "order_id": "ord_lost"})
    # Applied by the lost attempt; the retry with the order's key found it done.
    assert status == 200 and reply["deduplicated"] is True
    assert service.remaining() == 15


def test_an_unknown_outcome_is_a_503_and_the_same_request_settles_it(service: Service) -> None:
    order = {"amount": 3, "order_id": "ord_dark"}
    service.server.faults.inject_next("lost-response", "lost-response", "lost-response")
    status, reply, retry_after = service.credits(order)
    assert status == 503 and reply["error"] == "outcome_unknown" and retry_after
    assert reply["idempotency_key"] == "credits-cus_123-ord_dark"

    status, reply, _ = service.credits(order)  # the client sends it again
    assert status == 200 and reply["deduplicated"] is True
    assert service.remaining() == 13  # applied once, by the first request


def test_billing_unavailable_is_a_503_and_nothing_was_granted(service: Service) -> None:
    service.server.faults.inject_next("503", "503", "503")
    status, reply, retry_after = service.credits({"amount": 2, "order_id": "o_x"})
    assert status == 503 and reply["error"] == "billing_unavailable" and retry_after
    assert service.remaining() == 10


def test_check_allows_within_the_balance_and_takes_nothing(service: Service) -> None:
    assert service.check() == (200, {"allowed": True, "remaining": 10})
    assert service.check(required=11) == (200, {"allowed": False, "remaining": 10})
    assert service.remaining() == 10


def test_check_fails_closed_when_billing_does_not_answer(service: Service) -> None:
    service.server.faults.inject_next("503", "503", "503")
    status, reply = service.check()
    assert status == 503 and reply["error"] == "billing_unavailable"


def test_check_refuses_a_malformed_query(service: Service) -> None:
    assert service.check(required=-1)[0] == 422
    assert service.check(required="lots")[0] == 422


def test_an_event_is_recorded_once_and_a_replay_says_so(service: Service) -> None:
    event = {"feature_id": "api_calls", "value": 2, "event_id": "req_1"}
    status, reply, _ = service.usage(event)
    assert (status, reply) == (
        200,
        {"recorded": 2, "event_id": "req_1", "remaining": 8, "deduplicated": False},
    )
    status, reply, _ = service.usage(event)  # the same event again, a new call
    assert (status, reply) == (200, {"recorded": 2, "event_id": "req_1", "deduplicated": True})
    assert service.remaining() == 8


def test_an_event_with_no_answer_is_a_503_and_the_same_request_settles_it(
    service: Service,
) -> None:
    event = {"feature_id": "api_calls", "value": 1, "event_id": "req_dark"}
    service.server.faults.inject_next("lost-response", "lost-response", "lost-response")
    status, reply, retry_after = service.usage(event)
    assert status == 503 and reply["error"] == "outcome_unknown" and retry_after
    assert "event_id" in reply["message"]

    status, reply, _ = service.usage(event)
    assert status == 200 and reply["deduplicated"] is True
    assert service.remaining() == 9  # recorded once


@pytest.mark.parametrize(
    "body",
    [
        {"feature_id": "api_calls", "value": 1},
        {"feature_id": "api_calls", "value": 0, "event_id": "e1"},
        {"feature_id": "api_calls", "value": "one", "event_id": "e1"},
        {"value": 1, "event_id": "e1"},
    ],
)
def test_a_malformed_event_is_a_422_and_nothing_is_recorded(service: Service, body: Any) -> None:
    assert service.usage(body)[0] == 422
    assert service.remaining() == 10
