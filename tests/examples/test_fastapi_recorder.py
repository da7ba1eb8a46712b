"""The metering example (examples/fastapi_recorder.py) with FastAPI's TestClient against
the local server on a thread of its own: every message sent is metered once, a
customer without messages is refused before any work, and shutting the app down
delivers what was queued."""

from __future__ import annotations

import importlib.util
import json
import sys
import urllib.request
from pathlib import Path
from types import ModuleType
from typing import Any

from fastapi.testclient import TestClient

from autumn_core import AutumnCore, BackoffStrategy, RetryConfig
from autumn_local import LocalAutumn

EXAMPLE = Path(__file__).parents[2] / "examples" / "fastapi_recorder.py"
FAST = RetryConfig(backoff=BackoffStrategy(initial_interval=1, max_interval=2))


def _load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fastapi_recorder_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _post(server: LocalAutumn, path: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(
        f"{server.url}{path}",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {server.secret_key}",
                 "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request) as response:
        assert response.status == 200


def _messages(server: LocalAutumn, customer: str) -> Any:
    return server.customer(customer)["balances"]["api_calls"]


def _app(server: LocalAutumn, **settings: Any) -> TestClient:
    core = AutumnCore(secret_key=server.secret_key, server_url=server.url, retry_config=FAST)
    return TestClient(_load_example().create_app(core, **{"flush_interval": 0.05, **settings}))


def test_every_message_is_metered_once_and_shutdown_delivers_the_queue(
    local_autumn_thread: LocalAutumn, tmp_path: Path
) -> None:
    server = local_autumn_thread
    _post(server, "/v1/customers.get_or_create", {"customer_id": "cus_m"})
    _post(server, "/v1/balances.create",
          {"customer_id": "cus_m", "feature_id": "api_calls", "included_grant": 100})  # fmt: skip
    with _app(server, spool=tmp_path / "usage.db", flush_interval=3600) as client:
        for n in range(30):
            reply = client.post(
                "/customers/cus_m/messages", json={"text": "hi", "request_id": f"r{n}"}
            )
            assert reply.status_code == 200 and reply.json() == {"reply": "ih"}
        # The same request retried by its client: metered once.
        client.post("/customers/cus_m/messages", json={"text": "hi", "request_id": "r0"})
        stats = client.get("/usage-recorder").json()
        assert stats["recorded"] == 31 and stats["pending"] == 31  # flush_interval: not yet
    assert _messages(server, "cus_m")["usage"] == 30  # the lifespan's close sent them


def test_a_customer_without_messages_is_refused_before_the_work(
    local_autumn_thread: LocalAutumn,
) -> None:
    server = local_autumn_thread
    _post(server, "/v1/customers.get_or_create", {"customer_id": "cus_none"})
    _post(server, "/v1/balances.create",
          {"customer_id": "cus_none", "feature_id": "api_calls", "included_grant": 1})  # fmt: skip
    with _app(server) as client:
        first = client.post("/customers/cus_none/messages", json={"text": "a", "request_id": "a"})
        stats = client.get("/usage-recorder").json()
        while stats["pending"]:
            stats = client.get("/usage-recorder").json()
        second = client.post("/customers/cus_none/messages", json={"text": "b", "request_id": "b"})
        last = client.get("/usage-recorder").json()

    assert first.status_code == 200
    assert second.status_code == 402 and second.json() == {"error": "no_calls_left"}
    assert last["recorded"] == 1 and last["delivered"] == 1  # "b" was never metered
    assert _messages(server, "cus_none")["usage"] == 1
