"""`close()` of the blocking client while a call waits: a read reports `applied` "no"
(it changes nothing), a write that was sent "unknown", each saying why."""

from __future__ import annotations

import threading

import pytest

from autumn_core import Applied, RequestAbortedError
from autumn_funcs import AutumnSync
from tests.scripted_server import ScriptedServer

KEY = "am_sk_test_close_mid_call"
CLOSED = "this AutumnSync was closed while the call was in flight, so the call was cancelled; "


def closed_mid_call(url: str, arrived: threading.Event, call: str) -> BaseException:
    client = AutumnSync(KEY, server_url=url, timeout_ms=60_000)
    outcome: list[BaseException] = []

    def caller() -> None:
        try:
            eval(call, {"autumn": client})
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=caller)
    thread.start()
    assert arrived.wait(10)
    client.close()
    thread.join(10)
    (error,) = outcome
    assert isinstance(error, RequestAbortedError)
    return error


def test_close_during_a_read_says_not_applied(
    stalled: tuple[ScriptedServer, threading.Event],
) -> None:
    server, arrived = stalled
    error = closed_mid_call(server.url, arrived, 'autumn.customers.get(customer_id="cus_1")')
    assert error.applied is Applied.NO
    assert "idempotency_key" not in str(error)
    assert error.message == CLOSED + "it changed nothing"


@pytest.mark.parametrize(
    ("steps", "partial"),
    [({"add_to_balance": 1}, False), ({"add_to_balance": 1, "usage": 2}, True)],
)
def test_close_during_a_write_says_maybe_applied(
    stalled: tuple[ScriptedServer, threading.Event], steps: dict[str, int], partial: bool
) -> None:
    """Partly, for an update of several steps: its advice is then not to resend."""
    server, arrived = stalled
    call = f'autumn.balances.update(customer_id="c", feature_id="f", **{steps!r})'
    error = closed_mid_call(server.url, arrived, call)
    assert error.applied is Applied.UNKNOWN and error.may_be_partial is partial
    assert error.message == CLOSED + "it may or may not have been applied"
