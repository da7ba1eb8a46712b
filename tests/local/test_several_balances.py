"""balances.update with several balances of one feature: order, spreading, selectors.

Autumn never refuses an update for matching several balances: it works on
all of them in a fixed order, drains them in that order, and puts what is
left on the first one.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import aiohttp
from hypothesis import given, settings
from hypothesis import strategies as st

from autumn_local import LocalAutumn
from autumn_local.rules.update_spread import deduct
from autumn_local.store.database import Balance
from tests.local.conftest import DAY, KEY, NOW, Api

MONTH = {"interval": "month"}


async def three_of_ten(api: Api) -> None:
    """Balances a, b, c of 10 each, used in that order (all one-off, oldest first)."""
    api.server.clock.set_ms(NOW)
    for name in "abc":
        (await api.create(**KEY, included_grant=10, balance_id=name)).ok()
        api.server.clock.advance(ms=1)


async def test_breakdown_and_deduction_follow_autumns_order(api: Api) -> None:
    clock = api.server.clock
    clock.set_ms(NOW)
    for balance_id, extra in [
        ("lifetime", {}),
        ("month_old", {"reset": MONTH}),
        ("daily", {"reset": {"interval": "day"}}),
        ("month_new", {"reset": MONTH}),
        ("expiring", {"expires_at": NOW + 10 * DAY}),
    ]:
        (await api.create(**KEY, included_grant=10, balance_id=balance_id, **extra)).ok()
        clock.advance(ms=1)
    order = ["daily", "month_old", "month_new", "expiring", "lifetime"]
    assert list(await api.parts()) == order
    # A deduction drains them in that same order.
    (await api.update(**KEY, add_to_balance=-35)).ok()
    parts = await api.parts()
    assert [parts[i][1] for i in order] == [0, 0, 0, 5, 10]


async def test_a_deduction_drains_in_order_and_leaves_the_rest_on_the_first(api: Api) -> None:
    await three_of_ten(api)
    (await api.update(**KEY, add_to_balance=-25)).ok()
    assert await api.parts() == {"a": (10, 0, 10), "b": (10, 0, 10), "c": (10, 5, 5)}
    (await api.update(**KEY, add_to_balance=-10)).ok()
    assert await api.parts() == {"a": (10, 0, 15), "b": (10, 0, 10), "c": (10, 0, 10)}
    assert await api.totals() == (30, 0, 35)


async def test_an_addition_refills_negatives_then_gives_the_rest_to_the_first(api: Api) -> None:
    await three_of_ten(api)
    (await api.update(**KEY, balance_id="b", remaining=-4)).ok()
    (await api.update(**KEY, balance_id="c", remaining=-6)).ok()
    (await api.update(**KEY, add_to_balance=7)).ok()
    # b is refilled to 0 first (4), then c gets the 3 left over, in order.
    assert await api.parts() == {"a": (10, 10, 0), "b": (10, 0, 10), "c": (10, 0, 13)}
    (await api.update(**KEY, add_to_balance=10)).ok()
    # c is refilled to 0 (3), the remaining 7 go to a.
    assert await api.parts() == {"a": (10, 17, -7), "b": (10, 0, 10), "c": (10, 0, 10)}


async def test_remaining_is_a_deduction_of_the_difference(api: Api) -> None:
    await three_of_ten(api)
    (await api.update(**KEY, remaining=12)).ok()  # a deduction of 18
    assert await api.parts() == {"a": (10, 0, 10), "b": (10, 2, 8), "c": (10, 10, 0)}
    (await api.update(**KEY, remaining=40)).ok()  # an addition of 28: all on a
    assert await api.parts() == {"a": (10, 28, -18), "b": (10, 2, 8), "c": (10, 10, 0)}
    assert await api.totals() == (30, 40, -10)


async def test_usage_sets_the_total_usage(api: Api) -> None:
    await three_of_ten(api)
    (await api.update(**KEY, usage=12)).ok()
    assert await api.parts() == {"a": (10, 0, 10), "b": (10, 8, 2), "c": (10, 10, 0)}
    assert await api.totals() == (30, 18, 12)


async def test_included_grant_adjusts_the_first_balance(api: Api) -> None:
    await three_of_ten(api)
    (await api.update(**KEY, included_grant=50)).ok()
    assert await api.parts() == {"a": (30, 10, 20), "b": (10, 10, 0), "c": (10, 10, 0)}
    assert await api.totals() == (50, 30, 20)


async def test_selectors_narrow_the_balances(api: Api) -> None:
    api.server.clock.set_ms(NOW)
    (await api.create(**KEY, included_grant=10, reset=MONTH, balance_id="m1")).ok()
    (await api.create(**KEY, included_grant=10, reset=MONTH, balance_id="m2")).ok()
    (await api.create(**KEY, included_grant=10, reset={"interval": "day"}, balance_id="d")).ok()
    (await api.create(**KEY, included_grant=10, balance_id="once")).ok()
    (await api.update(**KEY, interval="month", add_to_balance=-15)).ok()
    (await api.update(**KEY, interval="one_off", remaining=4)).ok()
    (await api.update(**KEY, balance_id="d", usage=1)).ok()
    assert await api.parts() == {
        "d": (10, 9, 1),
        "m1": (10, 0, 10),
        "m2": (10, 5, 5),
        "once": (10, 4, 6),
    }
    # Both selectors at once must both match.
    (await api.update(**KEY, balance_id="m2", interval="day", remaining=50)).ok()
    assert (await api.parts())["m2"] == (10, 5, 5)


async def test_balance_id_also_matches_autumns_own_id(api: Api) -> None:
    (await api.create(**KEY, included_grant=10)).ok()
    (await api.create(**KEY, included_grant=10, balance_id="named")).ok()
    [own_id] = [i for i in await api.parts() if i != "named"]
    (await api.update(**KEY, balance_id=own_id, remaining=1)).ok()
    (await api.update(**KEY, customer_entitlement_id=own_id, add_to_balance=1)).ok()
    assert (await api.parts())[own_id] == (10, 2, 8)
    assert (await api.parts())["named"] == (10, 10, 0)


async def test_no_match_is_a_no_op_for_amounts_and_a_404_for_the_rest(api: Api) -> None:
    (await api.create(**KEY, included_grant=10, balance_id="b")).ok()
    none = {**KEY, "balance_id": "missing"}
    for fields in ({"remaining": 1}, {"add_to_balance": 5}, {"usage": 3}):
        (await api.update(**none, **fields)).ok()
    assert await api.totals() == (10, 10, 0)
    reply = await api.update(**none, included_grant=5)
    reply.error(404, "invalid_request")
    assert reply.body["message"] == "No balances to update for feature api_calls, customer cus_123"
    far = api.server.clock.now_ms() + DAY
    for field in ("next_reset_at", "expires_at"):
        reply = await api.update(**none, **{field: far})
        reply.error(404, "invalid_request")
        assert reply.body["message"] == "No balances found for feature api_calls, customer cus_123"
    # A feature the customer has no balance of at all is the same.
    (await api.update(customer_id="cus_123", feature_id="seats", add_to_balance=1)).ok()
    (await api.update(customer_id="cus_123", feature_id="seats", included_grant=1)).error(
        404, "invalid_request"
    )


async def test_an_expired_balance_is_no_longer_matched(api: Api) -> None:
    clock = api.server.clock
    clock.set_ms(NOW)
    (await api.create(**KEY, included_grant=100, balance_id="main")).ok()
    (await api.create(**KEY, included_grant=50, expires_at=NOW + DAY, balance_id="promo")).ok()
    (await api.update(**KEY, add_to_balance=-10)).ok()  # promo expires first: it goes first
    assert await api.parts() == {"promo": (50, 40, 10), "main": (100, 100, 0)}
    clock.set_ms(NOW + DAY)
    assert await api.parts() == {"main": (100, 100, 0)}
    (await api.update(**KEY, balance_id="promo", included_grant=1)).error(404, "invalid_request")


async def test_next_reset_at_and_expires_at_pick_the_soonest(api: Api) -> None:
    api.server.clock.set_ms(NOW)
    (await api.create(**KEY, included_grant=1, reset=MONTH, balance_id="month")).ok()
    (await api.create(**KEY, included_grant=1, reset={"interval": "week"}, balance_id="week")).ok()
    (await api.update(**KEY, next_reset_at=NOW + DAY)).ok()
    resets = {b["id"]: b["reset"]["resets_at"] for b in (await api.balance() or {})["breakdown"]}
    assert resets == {"week": NOW + DAY, "month": NOW + 31 * DAY}
    (await api.update(**KEY, expires_at=NOW + 40 * DAY)).ok()
    (await api.update(**KEY, expires_at=NOW + 50 * DAY)).ok()
    expiry = {b["id"]: b["expires_at"] for b in (await api.balance() or {})["breakdown"]}
    # Both times the soonest-expiring one: the first update gave "week" an
    # expiry, which made it the soonest for the second.
    assert expiry == {"week": NOW + 50 * DAY, "month": None}


async def test_with_entity_id_the_entity_and_customer_balances_are_candidates(ents: Api) -> None:
    api = ents
    api.server.clock.set_ms(NOW)
    (await api.create(**KEY, included_grant=10, balance_id="customer")).ok()
    (await api.create(**KEY, entity_id="seat_1", included_grant=10, balance_id="seat1")).ok()
    (await api.create(**KEY, entity_id="seat_2", included_grant=10, balance_id="seat2")).ok()
    # The entity's own balance comes first, then the customer's; seat_2's is not a candidate.
    (await api.update(**KEY, entity_id="seat_1", add_to_balance=-15)).ok()
    entity = (
        await api.post("/v1/entities.get", {"customer_id": "cus_123", "entity_id": "seat_1"})
    ).ok()
    parts = {b["id"]: b["remaining"] for b in entity["balances"]["api_calls"]["breakdown"]}
    assert parts == {"seat1": 0, "customer": 5}
    seat_2 = (
        await api.post("/v1/entities.get", {"customer_id": "cus_123", "entity_id": "seat_2"})
    ).ok()
    assert {b["id"]: b["remaining"] for b in seat_2["balances"]["api_calls"]["breakdown"]} == {
        "seat2": 10,
        "customer": 5,
    }
    # Without entity_id only customer-level balances are candidates.
    (await api.update(**KEY, add_to_balance=-100)).ok()
    assert (await api.parts())["customer"] == (10, 0, 105)
    (await api.update(**KEY, balance_id="seat2", remaining=0)).ok()  # not a candidate: no-op
    seat_2 = (
        await api.post("/v1/entities.get", {"customer_id": "cus_123", "entity_id": "seat_2"})
    ).ok()
    assert seat_2["balances"]["api_calls"]["breakdown"][0]["remaining"] == 10


async def test_an_unlimited_balance_absorbs_the_whole_change(api: Api) -> None:
    api.server.clock.set_ms(NOW)
    (await api.create(**KEY, included_grant=10, balance_id="finite")).ok()
    (await api.create(**KEY, unlimited=True)).ok()
    (await api.update(**KEY, add_to_balance=-25)).ok()
    entry = await api.balance()
    assert entry is not None
    assert (entry["granted"], entry["remaining"], entry["usage"], entry["unlimited"]) == (
        0,
        0,
        25,
        True,
    )
    [part] = entry["breakdown"]
    assert part["id"].startswith("cus_ent_") and part["usage"] == 25
    # The finite balance was untouched: it shows again once the unlimited one is gone.
    (await api.update(**KEY, expires_at=NOW + 1)).ok()  # the unlimited one sorts first
    api.server.clock.set_ms(NOW + 1)
    assert await api.parts() == {"finite": (10, 10, 0)}


def _balance(pk: int, amount: float) -> Balance:
    return Balance(
        pk=pk,
        id=f"cus_ent_{pk}",
        balance_id=None,
        customer_id="c",
        entity_id="",
        feature_id="f",
        allowance=0,
        adjustment=0,
        balance=amount,
        unlimited=False,
        interval="one_off",
        interval_count=1,
        next_reset_at=None,
        expires_at=None,
        rollover=None,
        created_at=pk,
    )


amounts = st.integers(-1000, 1000)


@settings(max_examples=300, deadline=None)
@given(start=st.lists(amounts, min_size=1, max_size=6), change=amounts)
def test_spreading_keeps_the_total_and_the_order(start: list[int], change: int) -> None:
    balances = [_balance(i, a) for i, a in enumerate(start)]
    deduct(balances, change, NOW)
    after = [b.balance for b in balances]
    assert sum(after) == sum(start) - change
    if change >= 0:
        assert all(a <= s for a, s in zip(after, start, strict=True))
        # Only the first may end below 0 beyond where it started ...
        assert all(a >= min(s, 0) for a, s in zip(after[1:], start[1:], strict=True))
        # ... and a later balance is touched only once every earlier one is empty.
        for k, (a, s) in enumerate(zip(after, start, strict=True)):
            if a != s and k > 0:
                assert all(x <= 0 for x in after[:k])
    else:
        assert all(a >= s for a, s in zip(after, start, strict=True))
        # Balances at or above 0 gain nothing, except the first.
        assert all(a == s for a, s in zip(after[1:], start[1:], strict=True) if s >= 0)
        for k, (a, s) in enumerate(zip(after, start, strict=True)):
            if a != s and k > 0:
                assert all(x >= 0 for x in after[1:k])


async def test_a_database_of_the_first_layout_opens_migrated(
    http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO meta VALUES ('schema_version', '1');
        CREATE TABLE features (id TEXT PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL,
            consumable INTEGER NOT NULL, event_names TEXT NOT NULL DEFAULT '[]',
            archived INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL);
        CREATE TABLE customers (id TEXT PRIMARY KEY, name TEXT, email TEXT,
            created_at INTEGER NOT NULL);
        CREATE TABLE balances (pk INTEGER PRIMARY KEY, id TEXT NOT NULL,
            customer_id TEXT NOT NULL, entity_id TEXT NOT NULL DEFAULT '',
            feature_id TEXT NOT NULL, granted NUMERIC NOT NULL, usage NUMERIC NOT NULL,
            unlimited INTEGER NOT NULL, interval TEXT, interval_count INTEGER NOT NULL DEFAULT 1,
            anchor_ms INTEGER, next_reset_at INTEGER, expires_at INTEGER, rollover TEXT,
            created_at INTEGER NOT NULL, UNIQUE (customer_id, id));
        CREATE INDEX balances_by_owner_interval ON balances
            (customer_id, feature_id, entity_id, interval);
        INSERT INTO features VALUES ('api_calls', 'API Calls', 'metered', 1, '[]', 0, 1);
        INSERT INTO customers VALUES ('cus_123', NULL, NULL, 1);
        INSERT INTO balances VALUES (1, 'promo', 'cus_123', '', 'api_calls', 150, 40, 0,
            'month', 1, 1, 32503680000000, NULL, NULL, 1);
        INSERT INTO balances VALUES (2, 'cus_ent_abc', 'cus_123', '', 'api_calls', 10, 0, 0,
            NULL, 1, NULL, NULL, NULL, NULL, 2);
        """
    )
    old.close()

    async with LocalAutumn(db_path=path) as server:
        api = Api(http, server)
        entry = await api.balance()
    assert entry is not None
    by_id = {b["id"]: b for b in entry["breakdown"]}
    assert (by_id["promo"]["included_grant"], by_id["promo"]["remaining"]) == (150, 110)
    assert by_id["promo"]["reset"]["interval"] == "month"
    assert by_id["cus_ent_abc"]["reset"] == {"interval": "one_off", "resets_at": None}
    with contextlib.closing(sqlite3.connect(path)) as db:
        tables = {n for (n,) in db.execute("SELECT name FROM sqlite_master")}
    assert "meta" not in tables and "balances_by_owner_interval" not in tables
