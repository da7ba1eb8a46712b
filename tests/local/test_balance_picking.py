"""Which balance balances.update acts on, with many balances per customer.

The picking reads only the rows it needs (by balance_id, or filtered by
interval in SQL); these tests hold it to the plain rule: among the unexpired
balances of the customer, feature and entity, the one with that balance_id
and/or interval, with the same errors in the same order.
"""

from __future__ import annotations

import random
import sqlite3
from typing import Any

from autumn_local.errors import ApiError, invalid_inputs
from autumn_local.operations import _pick_balance
from autumn_local.resets import INTERVALS
from autumn_local.store import BalanceRow, CustomerRow, EntityRow, FeatureRow, Store
from autumn_local.validation import UpdateBalanceParams
from tests.local.conftest import Api

NOW = 1_767_225_600_000  # 2026-01-01T00:00:00Z
DAY = 86_400_000
CUSTOMERS = ("cus_a", "cus_b")
FEATURES = ("api_calls", "seats")
ENTITIES = ("", "seat_1", "seat_2")


def reference_pick(store: Store, p: UpdateBalanceParams, now_ms: int) -> BalanceRow:
    """The rule, stated over every balance of the owner (the way it was first written)."""
    where = f"customer {p.customer_id!r}" + (
        f" entity {p.entity_id!r}" if p.entity_id is not None else ""
    )
    candidates = [
        b.at(now_ms)
        for b in store.balances_for(p.customer_id, p.feature_id, p.entity_id or "")
        if not b.expired(now_ms)
    ]
    if not candidates:
        raise ApiError(
            404, "balance_not_found", f"{where} has no balance for feature {p.feature_id!r}"
        )
    if p.balance_id is not None:
        candidates = [b for b in candidates if b.id == p.balance_id]
        if not candidates:
            raise ApiError(
                404,
                "balance_not_found",
                f"balance_id {p.balance_id!r} not found for {where} and feature {p.feature_id!r}",
            )
    if p.interval is not None:
        candidates = [b for b in candidates if (b.interval or "one_off") == p.interval]
        if not candidates:
            raise ApiError(
                404,
                "balance_not_found",
                f"{where} has no {p.feature_id!r} balance with interval {p.interval!r}",
            )
    if len(candidates) > 1:
        hint = "balance_id" if p.interval is not None else "balance_id or interval"
        raise invalid_inputs(
            f"{where} has {len(candidates)} balances for feature {p.feature_id!r}; "
            f"pick one with {hint}"
        )
    return candidates[0]


def all_balances(store: Store) -> list[BalanceRow]:
    return [b for c in CUSTOMERS for e in ENTITIES for b in store.balances_of(c, e)]


def outcome(pick: Any, store: Store, p: UpdateBalanceParams) -> Any:
    try:
        return pick(store, p, NOW)
    except ApiError as exc:
        return (exc.status, exc.code, exc.message)


def params(
    customer_id: str,
    feature_id: str,
    entity_id: str | None,
    balance_id: str | None,
    interval: str | None,
) -> UpdateBalanceParams:
    return UpdateBalanceParams(
        customer_id=customer_id,
        feature_id=feature_id,
        entity_id=entity_id,
        remaining=1,
        add_to_balance=None,
        usage=None,
        interval=interval,
        included_grant=None,
        balance_id=balance_id,
        next_reset_at=None,
        expires_at=None,
    )


def populated_store(seed: int) -> Store:
    rng = random.Random(seed)
    store = Store(None)
    with store.transaction():
        for f in FEATURES:
            store.insert_feature(
                FeatureRow(
                    id=f, name=f, type="metered", consumable=True, event_names=(), archived=False
                ),
                NOW,
            )
        for c in CUSTOMERS:
            store.insert_customer(CustomerRow(id=c, name=None, email=None, created_at=NOW))
            for e in ENTITIES[1:]:
                store.insert_entity(EntityRow(customer_id=c, id=e, name=None, created_at=NOW))
        for n in range(rng.randrange(0, 40)):
            customer_id = rng.choice(CUSTOMERS)
            # Some ids repeat across customers, as they may.
            balance_id = f"b{n}" if rng.random() < 0.7 else f"same{n % 3}"
            if store.balance_id_taken(customer_id, balance_id):
                continue
            interval = rng.choice((None, *INTERVALS))
            resets = interval not in (None, "one_off")
            store.insert_balance(
                BalanceRow(
                    pk=0,
                    id=balance_id,
                    customer_id=customer_id,
                    entity_id=rng.choice(ENTITIES),
                    feature_id=rng.choice(FEATURES),
                    granted=100,
                    usage=rng.randrange(0, 100),
                    unlimited=False,
                    interval=interval,
                    interval_count=1,
                    anchor_ms=NOW - 40 * DAY if resets else None,
                    # Some resets are past due, so the picked one must be rolled forward.
                    next_reset_at=NOW + rng.choice((-DAY, DAY)) if resets else None,
                    expires_at=(
                        None
                        if resets or rng.random() < 0.5
                        else NOW + rng.choice((-DAY, 0, 1, DAY))
                    ),
                    rollover=None,
                    created_at=NOW,
                )
            )
    return store


def test_picking_matches_the_rule_over_every_balance() -> None:
    compared = 0
    for seed in range(12):
        store = populated_store(seed)
        ids = [*sorted({b.id for b in all_balances(store)}), "missing"]
        for c in CUSTOMERS:
            for f in FEATURES:
                for e in (None, "seat_1", "seat_2"):
                    for balance_id in (None, *ids):
                        for interval in (None, *INTERVALS):
                            p = params(c, f, e, balance_id, interval)
                            assert outcome(_pick_balance, store, p) == outcome(
                                reference_pick, store, p
                            ), (seed, p)
                            compared += 1
        store.close()
    assert compared > 20_000


async def test_update_by_balance_id_among_many_balances(api: Api) -> None:
    await api.server.stop()
    from autumn_local import LocalAutumn

    config = {"entities": [{"id": "seat_1", "customer_id": "cus_123"}]}
    async with LocalAutumn(config=config) as server:
        api.server = server
        server.clock.set_ms(NOW)
        await api.post("/v1/customers.get_or_create", {"customer_id": "cus_2"})
        key = {"customer_id": "cus_123", "feature_id": "api_calls"}
        for n in range(150):
            reset = {"reset": {"interval": "month"}} if n % 2 else {}
            (await api.create(**key, included=100, balance_id=f"b{n}", **reset)).ok()
        (await api.create(**key, included=100, balance_id="later", expires_at=NOW + DAY)).ok()
        (
            await api.create(
                customer_id="cus_2", feature_id="api_calls", included=100, balance_id="theirs"
            )
        ).ok()
        (
            await api.create(
                customer_id="cus_123", feature_id="seats", included=100, balance_id="seat_count"
            )
        ).ok()
        (await api.create(**key, entity_id="seat_1", included=100, balance_id="on_entity")).ok()

        (await api.update(**key, balance_id="b77", remaining=7)).ok()
        (await api.update(**key, balance_id="b77", interval="month", usage=3)).ok()
        entry = await api.balance()
        assert entry is not None
        by_id = {b["id"]: b for b in entry["breakdown"]}
        assert (by_id["b77"]["remaining"], by_id["b77"]["usage"]) == (97, 3)
        assert all(b["remaining"] == 100 for i, b in by_id.items() if i != "b77")

        missing = "balance_id {!r} not found for customer 'cus_123' and feature 'api_calls'"
        for other in ("theirs", "seat_count", "on_entity", "nope"):
            reply = await api.update(**key, balance_id=other, remaining=1)
            reply.error(404, "balance_not_found")
            assert reply.body["message"] == missing.format(other)
        (await api.update(**key, entity_id="seat_1", balance_id="b1", remaining=1)).error(
            404, "balance_not_found", mentions="entity 'seat_1'"
        )
        (await api.update(**key, entity_id="seat_1", balance_id="on_entity", remaining=1)).ok()
        (await api.update(**key, balance_id="b77", interval="day", remaining=1)).error(
            404, "balance_not_found", mentions="with interval 'day'"
        )
        (await api.update(**key, balance_id="b76", interval="one_off", remaining=1)).ok()
        (await api.update(**key, interval="one_off", remaining=1)).error(
            400, "invalid_inputs", mentions="has 76 balances"
        )
        (await api.update(**key, interval="month", remaining=1)).error(
            400, "invalid_inputs", mentions="has 75 balances"
        )

        # An expired balance can no longer be picked, by id or otherwise.
        (await api.update(**key, balance_id="later", remaining=1)).ok()
        server.clock.set_ms(NOW + DAY)
        reply = await api.update(**key, balance_id="later", remaining=1)
        reply.error(404, "balance_not_found")
        assert reply.body["message"] == missing.format("later")


def test_a_database_with_the_old_index_opens_and_gets_the_new_one(tmp_path: Any) -> None:
    path = tmp_path / "old.db"
    Store(path).close()
    old = sqlite3.connect(path)
    old.executescript(
        "DROP INDEX balances_by_owner_interval;"
        "CREATE INDEX balances_by_owner ON balances (customer_id, feature_id, entity_id);"
    )
    old.close()
    store = Store(path)
    indexes = {
        name
        for (name,) in store._db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'balances'"
        )
    }
    store.close()
    assert "balances_by_owner_interval" in indexes
    assert "balances_by_owner" not in indexes
