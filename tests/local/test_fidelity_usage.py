"""Check, locks, track keys and delete as Autumn's server does them: one scenario per behaviour.

Written from Autumn's source (``balances/check/runCheckWithTrackV2.ts``,
``_luaScriptsV2/fullSubjectDeduction/deductFromSubjectBalances.lua``,
``utils/lock/fetchLockReceipt.ts``, ``misc/idempotency/withIdempotencyKey.ts``,
``track/runTrackWithRollout.ts``, ``deleteBalance/deleteBalance.ts``,
``utils/reapplyFeatureUsageDeduction.ts``, ``customers/getFullCusQuery.ts``) and
the facts of its integration tests (``balances/lock/check-with-lock-no-entitlement``,
``balances/delete/delete-balance``).
"""

from __future__ import annotations

from typing import Any

from tests.local.conftest import KEY, Api

WORDS = {"customer_id": "cus_123", "feature_id": "words"}
CREDITS = {"customer_id": "cus_123", "feature_id": "credits"}


def lock(lock_id: str) -> dict[str, Any]:
    return {"lock": {"enabled": True, "lock_id": lock_id}}


async def test_send_event_without_a_balance_answers_in_feature_units(usage: Api) -> None:
    # words draw on credits at 0.5 a word; the customer has neither.
    answer = (await usage.check(**WORDS, required_balance=10, send_event=True)).ok()
    assert (answer["allowed"], answer["balance"], answer["required_balance"]) == (False, None, 10)
    # A plain check converts: the credit system is what would be used.
    plain = (await usage.check(**WORDS, required_balance=10)).ok()
    assert (plain["allowed"], plain["required_balance"]) == (False, 5)
    # With a credit balance, send_event converts too (after deducting).
    (await usage.create(**CREDITS, included_grant=100)).ok()
    used = (await usage.check(**WORDS, required_balance=10, send_event=True)).ok()
    assert (used["allowed"], used["required_balance"]) == (True, 5)
    assert await usage.totals("credits") == (100, 95, 5)


async def test_a_lock_without_a_balance_keeps_no_receipt(usage: Api) -> None:
    # check-with-lock-no-entitlement: 0 required is allowed, and no receipt is saved.
    zero = (await usage.check(**WORDS, required_balance=0, **lock("l0"))).ok()
    assert zero["allowed"] is True
    (await usage.finalize(lock_id="l0", action="confirm")).error(
        400, "invalid_request", mentions="Lock not found for ID: l0"
    )
    refused = (await usage.check(**WORDS, required_balance=10, **lock("l1"))).ok()
    assert (refused["allowed"], refused["balance"]) == (False, None)
    # A track with a lock and nothing to draw on: applied (nothing), no receipt.
    (await usage.track(**WORDS, value=3, **lock("l2"))).ok()
    (await usage.finalize(lock_id="l2", action="release")).error(
        400, "invalid_request", mentions="Lock not found for ID: l2"
    )
    # The same lock_id can be used again: nothing holds it.
    (await usage.track(**WORDS, value=3, **lock("l2"))).ok()
    (await usage.check(**WORDS, required_balance=0, **lock("l0"))).ok()
    # Once there is a balance, the lock keeps a receipt and its id is taken.
    (await usage.create(**WORDS, included_grant=10)).ok()
    (await usage.track(**WORDS, value=3, **lock("l2"))).ok()
    (await usage.track(**WORDS, value=1, **lock("l2"))).error(409, "lock_already_exists")
    (await usage.finalize(lock_id="l2", action="release")).ok()
    assert await usage.totals("words") == (10, 10, 0)


async def test_a_409_track_keeps_its_body_idempotency_key(usage: Api) -> None:
    (await usage.create(**WORDS, included_grant=10)).ok()
    (await usage.track(**WORDS, value=2, **lock("held"))).ok()
    taken = await usage.track(**WORDS, value=1, idempotency_key="evt_1", **lock("held"))
    taken.error(409, "lock_already_exists")
    # The key stays claimed: the retry is a duplicate, even with a free lock_id.
    retry = await usage.track(**WORDS, value=1, idempotency_key="evt_1", **lock("free"))
    retry.error(409, "duplicate_idempotency_key", mentions="track:evt_1")
    # Nothing but the key was kept: 2 used, by the first lock.
    assert await usage.totals("words") == (10, 8, 2)
    # Other failures still release the key.
    (await usage.track(**WORDS, value=1, entity_id="seat_9", idempotency_key="evt_2")).error(
        404, "entity_not_found"
    )
    (await usage.track(**WORDS, value=1, idempotency_key="evt_2")).ok()


async def test_recalculating_a_customer_balance_lets_an_entity_balance_take_the_usage(
    ents: Api,
) -> None:
    (await ents.create(**KEY, included_grant=10, balance_id="top")).ok()
    (await ents.create(**KEY, entity_id="seat_1", included_grant=20, balance_id="seat")).ok()
    (await ents.track(**KEY, value=6)).ok()  # the customer level: top 10 -> 4
    (await ents.delete(**KEY, balance_id="top", recalculate_balances=True)).ok()
    # The entity's balance survived and takes the 6.
    seat = (
        await ents.post("/v1/entities.get", {"customer_id": "cus_123", "entity_id": "seat_1"})
    ).ok()
    entry = seat["balances"]["api_calls"]
    assert (entry["granted"], entry["remaining"], entry["usage"]) == (20, 14, 6)
    assert await ents.totals() == (20, 14, 6)


async def test_delete_with_an_unknown_entity_deletes_at_every_level(ents: Api) -> None:
    (await ents.create(**KEY, included_grant=10, balance_id="top")).ok()
    (await ents.create(**KEY, entity_id="seat_1", included_grant=20, balance_id="seat")).ok()
    (await ents.create(customer_id="cus_123", feature_id="premium")).ok()
    # getFullCusQuery finds no entity row and deleteBalance goes on without one.
    (await ents.delete(**KEY, entity_id="seat_9")).ok()
    assert await ents.balance() is None
    seat = (
        await ents.post("/v1/entities.get", {"customer_id": "cus_123", "entity_id": "seat_1"})
    ).ok()
    assert "api_calls" not in seat["balances"]
    assert "premium" in (await ents.customer())["flags"]  # another feature: untouched
    # Nothing left: the usual 404.
    (await ents.delete(**KEY, entity_id="seat_9")).error(
        404, "invalid_request", mentions="Balance not found for feature api_calls"
    )
