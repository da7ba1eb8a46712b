"""One AutumnSync shared by many threads at once: one loop thread, every result right."""

from __future__ import annotations

import threading

from autumn_core import Ok
from autumn_funcs import AutumnSync, CreateBalanceResponse, UpdateBalanceResponse, balances_update
from autumn_local import LocalAutumn
from tests.blocking.server_thread import balance, post

THREADS = 32
TOP_UPS = 5


def test_32_threads_share_one_client(client: AutumnSync, local_server: LocalAutumn) -> None:
    customers = [f"cus_thread_{n}" for n in range(THREADS)]
    for customer in customers:
        post(local_server, "/v1/customers.get_or_create", {"customer_id": customer})
    start = threading.Barrier(THREADS)
    results: dict[int, list[object]] = {}
    loop_threads: set[str] = set()

    def work(n: int) -> None:
        customer = customers[n]
        seen: list[object] = []
        start.wait()  # all at once, so the calls overlap on the client's loop
        seen.append(
            client.balances.create(customer_id=customer, feature_id="api_calls", included_grant=n)
        )
        for k in range(1, TOP_UPS + 1):
            params = {"customer_id": customer, "feature_id": "api_calls", "add_to_balance": k}
            if k % 2:
                seen.append(client.balances.update(params))
            else:
                seen.append(client.call(balances_update, params))
        # No seats balance to match: Autumn answers 200 and changes nothing.
        seen.append(client.balances.update(customer_id=customer, feature_id="seats", remaining=1))
        loop_threads.update(t.name for t in threading.enumerate() if t.name == "AutumnSync-loop")
        results[n] = seen

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(results) == list(range(THREADS))
    top_ups = sum(range(1, TOP_UPS + 1))
    for n, seen in results.items():
        created, *updates, no_op = seen
        assert created == CreateBalanceResponse(success=True)
        for k, update in enumerate(updates, 1):
            expected = UpdateBalanceResponse(success=True)
            assert update == (expected if k % 2 else Ok(expected)), (n, k, update)
        assert no_op == UpdateBalanceResponse(success=True)
        # Each thread's calls, and only they, reached its customer.
        state = balance(local_server, customers[n])
        assert (state["remaining"], len(state["breakdown"])) == (n + top_ups, 1), (n, state)
    assert loop_threads == {"AutumnSync-loop"}
    assert len([t for t in threading.enumerate() if t.name == "AutumnSync-loop"]) == 1
