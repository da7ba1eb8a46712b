"""The blocking twins of check, track, delete, finalize and the customer/entity reads,
against a scripted server in a background thread: each returns what the async method
returns and raises what it raises."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from autumn_core import AutumnDefaultError, RetryConfig
from autumn_funcs import AutumnSync, TrackResponse, balances_check
from tests.blocking.server_thread import ServerThread
from tests.scripted_server import ScriptedServer, autumn_error, json_reply
from tests.sdk.answers import CHECK_ALLOWED, CUSTOMER, ENTITY, TRACK_QUEUED


@pytest.fixture
def scripted_thread(servers: ServerThread) -> Iterator[ScriptedServer]:
    server = servers.run(ScriptedServer().start())
    yield server
    servers.run(server.stop())


@pytest.fixture
def client(scripted_thread: ScriptedServer) -> Iterator[AutumnSync]:
    with AutumnSync(
        "am_sk_test_twins",
        server_url=scripted_thread.url,
        retry_config=RetryConfig(strategy="none"),
    ) as client:
        yield client


def test_each_twin_returns_the_answer(client: AutumnSync, scripted_thread: ScriptedServer) -> None:
    scripted_thread.then(json_reply(200, CHECK_ALLOWED), json_reply(202, TRACK_QUEUED))
    scripted_thread.then(json_reply(200, {"success": True}), json_reply(200, {"success": True}))
    scripted_thread.then(json_reply(200, CUSTOMER), json_reply(200, CUSTOMER))
    scripted_thread.then(json_reply(200, ENTITY))

    checked = client.balances.check(customer_id="cus_123", feature_id="messages")
    tracked = client.balances.track(customer_id="cus_123", feature_id="m", value=3, async_=True)
    deleted = client.balances.delete(customer_id="cus_123", feature_id="messages")
    finalized = client.balances.finalize(lock_id="job_1", action="release")
    customer = client.customers.get(customer_id="cus_123")
    created = client.customers.get_or_create({"customer_id": "cus_123"})
    entity = client.entities.get(entity_id="seat_42")

    assert checked.allowed is True
    assert tracked == TrackResponse(customer_id="cus_123", value=3, balance=None)
    assert deleted.success and finalized.success
    assert customer.balances["messages"].usage == 100 and created == customer
    assert entity.balances["messages"].remaining == 72
    assert [r.path.rpartition("/")[2] for r in scripted_thread.requests] == [
        "balances.check",
        "balances.track",
        "balances.delete",
        "balances.finalize",
        "customers.get",
        "customers.get_or_create",
        "entities.get",
    ]


def test_a_twin_raises_the_servers_error(
    client: AutumnSync, scripted_thread: ScriptedServer
) -> None:
    scripted_thread.then(autumn_error(404, "customer_not_found"))
    with pytest.raises(AutumnDefaultError) as caught:
        client.customers.get(customer_id="cus_404")
    assert caught.value.code == "customer_not_found"


def test_call_runs_a_standalone_function(
    client: AutumnSync, scripted_thread: ScriptedServer
) -> None:
    scripted_thread.then(json_reply(200, CHECK_ALLOWED))
    res = client.call(balances_check, {"customer_id": "cus_123", "feature_id": "messages"})
    assert res.ok and res.value.allowed
