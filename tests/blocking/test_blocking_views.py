"""The blocking views example, called from many threads as a WSGI server would, against
the local Autumn server."""

from __future__ import annotations

import importlib.util
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from autumn_local import LocalAutumn
from tests.blocking.server_thread import balance, post

EXAMPLE = Path(__file__).parents[2] / "examples" / "blocking_views.py"


@pytest.fixture
def views(local_server: LocalAutumn, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.setenv("AUTUMN_SECRET_KEY", local_server.secret_key)
    monkeypatch.setenv("AUTUMN_SERVER_URL", local_server.url)
    spec = importlib.util.spec_from_file_location("blocking_views_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    module.close_autumn()
    del sys.modules[spec.name]


def in_threads(*calls: tuple[Any, ...]) -> list[tuple[int, dict[str, Any]]]:
    """Run each (view, *args) in its own thread, all at once; their replies in order."""
    replies: list[Any] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def serve(i: int) -> None:
        view, *args = calls[i]
        start.wait()
        replies[i] = view(*args)

    threads = [threading.Thread(target=serve, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return replies


def test_views_from_many_threads_apply_each_request_once(
    views: ModuleType, local_server: LocalAutumn
) -> None:
    customers = [f"cus_view_{n}" for n in range(4)]
    for customer in customers:
        post(local_server, "/v1/customers.get_or_create", {"customer_id": customer})

    # Every trial requested twice at once (a double click): started once each.
    trials = in_threads(*[(views.start_trial, c) for c in customers for _ in range(2)])
    assert sorted(trials, key=str) == sorted(
        [(200, {"trial": "started"}), (200, {"trial": "started", "deduplicated": True})] * 4,
        key=str,
    )

    # Eight orders, each sent twice at once: each granted once.
    orders: list[tuple[str, dict[str, Any]]] = [
        (customers[n % 4], {"amount": 10 * (n + 1), "order_id": f"ord_{n}"}) for n in range(8)
    ]
    grants = in_threads(*[(views.grant_credits, c, p) for c, p in orders for _ in range(2)])
    for (_, payload), first, second in zip(orders, grants[::2], grants[1::2], strict=True):
        assert sorted([first, second], key=str) == sorted(
            [
                (200, {"granted": payload["amount"]}),
                (200, {"granted": payload["amount"], "deduplicated": True}),
            ],
            key=str,
        )
    for n, customer in enumerate(customers):
        granted = sum(p["amount"] for c, p in orders if c == customer)
        assert balance(local_server, customer)["remaining"] == 100 + granted, n

    # One client served every thread.
    assert len([t for t in threading.enumerate() if t.name == "AutumnSync-loop"]) == 1


def test_views_answer_errors_with_a_status(views: ModuleType) -> None:
    status, reply = views.grant_credits("cus_nobody", {"amount": 1, "order_id": "o1"})
    assert (status, reply["error"]) == (404, "customer_not_found")
    assert views.grant_credits("cus_123", {"order_id": "o2"}) == (
        400,
        {"error": "amount: required, a whole number above 0"},
    )
    # Without an order id there is no key to make the grant idempotent: refused, never
    # keyed "credits-None" and then "replayed" for every other such request.
    for customer in ("cus_123", "cus_nobody"):
        status, reply = views.grant_credits(customer, {"amount": 7})
        assert status == 400 and reply["error"].startswith("order_id")
    status, reply = views.start_trial("cus_nobody")
    assert (status, reply["error"]) == (404, "customer_not_found")


def test_the_client_is_created_once_and_again_after_close(views: ModuleType) -> None:
    first = views.autumn()
    assert views.autumn() is first
    views.close_autumn()
    assert first.closed
    assert views.autumn() is not first  # a worker that closed it and goes on gets a new one
