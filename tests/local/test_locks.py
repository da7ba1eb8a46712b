"""Locks on check / track and balances.finalize.

Facts from Autumn's lock receipt and unwind scripts, finalizeLock/ and its
integration tests (lock/basic: release, additional-deduct, refund;
check-with-lock-errors, -expiry, -no-entitlement).
"""

from __future__ import annotations

from typing import Any

import aiohttp

from autumn_local import LocalAutumn
from tests.local.conftest import NOW, Api

KEY = {"customer_id": "cus_123", "feature_id": "api_calls"}
HOUR = 3_600_000


def lock(lock_id: str, **extra: Any) -> dict[str, Any]:
    return {"lock": {"enabled": True, "lock_id": lock_id, **extra}}


async def hourly_and_monthly(api: Api) -> None:
    """5 resetting hourly, then 10 monthly: 15 in all, the hourly used first."""
    api.server.clock.set_ms(NOW)
    (
        await api.create(**KEY, included_grant=5, balance_id="hourly", reset={"interval": "hour"})
    ).ok()
    (
        await api.create(
            **KEY, included_grant=10, balance_id="monthly", reset={"interval": "month"}
        )
    ).ok()


async def test_a_lock_deducts_now_and_release_gives_it_all_back(api: Api) -> None:
    await hourly_and_monthly(api)
    (await api.track(**KEY, value=5)).ok()
    answer = (await api.check(**KEY, required_balance=8, **lock("l1"))).ok()
    assert answer["allowed"] is True and answer["balance"]["remaining"] == 2
    assert (await api.finalize(lock_id="l1", action="release")).ok() == {"success": True}
    assert await api.totals() == (15, 10, 5)  # the earlier track stays


async def test_confirm_keeps_the_deduction_and_ends_the_lock(api: Api) -> None:
    await hourly_and_monthly(api)
    (await api.check(**KEY, required_balance=8, **lock("l1"))).ok()
    (await api.finalize(lock_id="l1", action="confirm")).ok()
    assert await api.totals() == (15, 7, 8)
    (await api.finalize(lock_id="l1", action="release")).error(
        400, "invalid_request", mentions="Lock not found for ID: l1"
    )
    assert await api.totals() == (15, 7, 8)


async def test_a_smaller_override_undoes_the_newest_changes_first(api: Api) -> None:
    await hourly_and_monthly(api)
    (await api.check(**KEY, required_balance=8, **lock("l1"))).ok()  # 5 hourly, 3 monthly
    (await api.finalize(lock_id="l1", action="confirm", override_value=4)).ok()
    assert await api.parts() == {"hourly": (5, 1, 4), "monthly": (10, 10, 0)}


async def test_a_larger_override_deducts_the_difference(api: Api) -> None:
    await hourly_and_monthly(api)
    (await api.check(**KEY, required_balance=8, **lock("l1"))).ok()
    (await api.finalize(lock_id="l1", action="confirm", override_value=11)).ok()
    assert await api.totals() == (15, 4, 11)


async def test_a_negative_lock_is_a_credit_that_release_takes_back(api: Api) -> None:
    await hourly_and_monthly(api)
    (await api.track(**KEY, value=10)).ok()
    (await api.check(**KEY, required_balance=-5, **lock("l1"))).ok()
    assert await api.totals() == (15, 10, 5)
    (await api.finalize(lock_id="l1", action="confirm", override_value=-8)).ok()
    assert await api.totals() == (15, 13, 2)


async def test_a_taken_lock_id_is_409_and_changes_nothing(api: Api) -> None:
    await hourly_and_monthly(api)
    (await api.check(**KEY, required_balance=5, **lock("l1"))).ok()
    (await api.check(**KEY, required_balance=5, **lock("l1"))).error(409, "lock_already_exists")
    (await api.track(**KEY, value=1, **lock("l1"))).error(409, "lock_already_exists")
    assert await api.totals() == (15, 10, 5)


async def test_a_refused_check_makes_no_lock(api: Api) -> None:
    await hourly_and_monthly(api)
    answer = (await api.check(**KEY, required_balance=16, **lock("l1"))).ok()
    assert answer["allowed"] is False
    (await api.finalize(lock_id="l1", action="release")).error(400, "invalid_request")
    assert await api.totals() == (15, 15, 0)


async def test_a_lock_expires_released_at_its_expires_at(api: Api) -> None:
    await hourly_and_monthly(api)
    (await api.check(**KEY, required_balance=3, **lock("l1", expires_at=NOW + 60_000))).ok()
    assert await api.totals() == (15, 12, 3)
    api.server.clock.advance(ms=60_001)
    assert await api.totals() == (15, 15, 0)
    (await api.finalize(lock_id="l1", action="confirm")).error(400, "invalid_request")


async def test_a_receipt_without_expiry_is_forgotten_after_a_day(api: Api) -> None:
    api.server.clock.set_ms(NOW)
    (await api.create(**KEY, included_grant=10)).ok()
    (await api.check(**KEY, required_balance=3, **lock("l1"))).ok()
    api.server.clock.advance(hours=24)
    (await api.finalize(lock_id="l1", action="release")).error(400, "invalid_request")
    assert await api.totals() == (10, 7, 3)  # the deduction is kept


async def test_a_track_lock_is_not_released_at_its_expires_at(api: Api) -> None:
    api.server.clock.set_ms(NOW)
    (await api.create(**KEY, included_grant=10)).ok()
    (await api.track(**KEY, value=3, **lock("t1", expires_at=NOW + 60_000))).ok()
    api.server.clock.advance(ms=60_001)
    assert await api.totals() == (10, 7, 3)
    (await api.finalize(lock_id="t1", action="release")).ok()  # alive for an hour more
    assert await api.totals() == (10, 10, 0)


async def test_refused_locks(api: Api) -> None:
    api.server.clock.set_ms(NOW)
    (await api.create(customer_id="cus_123", feature_id="seats", included_grant=5)).ok()
    (await api.check(customer_id="cus_123", feature_id="seats", **lock("s1"))).error(
        400, "invalid_request", mentions="allocated"
    )
    (await api.check(**KEY, **lock("l2", expires_at=NOW + 25 * HOUR))).error(
        400, "invalid_request", mentions="1 day"
    )
    (await api.check(**KEY, lock={"enabled": False, "lock_id": "l3"})).error(
        400, "invalid_inputs", mentions="lock.enabled"
    )
    (await api.check(**KEY, lock={"enabled": True})).error(
        400, "invalid_inputs", mentions="lock.lock_id"
    )
    (await api.finalize(lock_id="l4", action="release", override_value=1)).error(
        400, "invalid_inputs", mentions="override_value"
    )
    (await api.finalize(lock_id="l4", action="keep")).error(
        400, "invalid_inputs", mentions="action"
    )


async def test_locks_belong_to_an_environment(http: aiohttp.ClientSession) -> None:
    async with LocalAutumn(config={"secret_keys": ["am_sk_live_other"]}) as server:
        api = Api(http, server)
        server.clock.set_ms(NOW)
        (await api.create(**KEY, included_grant=10)).ok()
        (await api.check(**KEY, required_balance=3, **lock("l1"))).ok()
        release = {"lock_id": "l1", "action": "release"}
        live = await api.post("/v1/balances.finalize", release, key="am_sk_live_other")
        live.error(400, "invalid_request", mentions="Lock not found")
        (await api.finalize(**release)).ok()
        assert await api.totals() == (10, 10, 0)


async def test_an_expiry_settled_late_lands_before_the_reset_after_it(api: Api) -> None:
    api.server.clock.set_ms(NOW)
    (await api.create(**KEY, included_grant=10, reset={"interval": "hour"})).ok()
    (await api.check(**KEY, required_balance=4, **lock("l1", expires_at=NOW + 60_000))).ok()
    # Nothing reads the balance until after both the expiry and the hourly reset.
    api.server.clock.advance(hours=2)
    assert await api.totals() == (10, 10, 0)  # released, then reset: never above the grant
