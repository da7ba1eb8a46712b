"""Idempotency-Key: on every route, claimed before the body is validated, 24 h, per environment."""

from __future__ import annotations

import asyncio

import pytest

from autumn_local import LocalAutumn
from tests.local.conftest import KEY, MONTHLY, Api

HOUR = 3_600_000
ROUTES = {
    "/v1/balances.create": MONTHLY,
    "/v1/balances.update": {**KEY, "add_to_balance": 1},
    "/v1/customers.get": {"customer_id": "cus_123"},
    "/v1/customers.get_or_create": {"customer_id": "cus_new"},
    "/v1/features.list": {},
    "/v1/balances.check": KEY,
    "/v1/balances.track": KEY,
}


def idem(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


async def test_a_duplicate_is_refused_with_autumns_message_and_not_applied(api: Api) -> None:
    (await api.create(**MONTHLY)).ok()
    (await api.update(headers=idem("k1"), **KEY, add_to_balance=10)).ok()
    reply = await api.update(headers=idem("k1"), **KEY, add_to_balance=10)
    reply.error(409, "duplicate_idempotency_key")
    assert reply.body["message"].startswith(
        "Another request with idempotency key k1 has already been received"
    )
    assert await api.totals() == (1000, 1010, -10)
    (await api.update(headers=idem("k2"), **KEY, add_to_balance=10)).ok()


@pytest.mark.parametrize("path", sorted(ROUTES))
async def test_every_route_checks_the_key_reads_included(api: Api, path: str) -> None:
    (await api.post(path, ROUTES[path], headers=idem("once"))).ok()
    (await api.post(path, ROUTES[path], headers=idem("once"))).error(
        409, "duplicate_idempotency_key"
    )


async def test_the_key_is_checked_before_the_body(api: Api) -> None:
    (await api.create(headers=idem("c1"), **MONTHLY)).ok()
    # Bodies are not compared, and a broken body meets the 409 first.
    (await api.create(headers=idem("c1"), customer_id="oops")).error(
        409, "duplicate_idempotency_key"
    )
    (await api.post("/v1/balances.create", data=b"{", headers=idem("c1"))).error(
        409, "duplicate_idempotency_key"
    )


async def test_an_empty_key_is_no_key_and_long_keys_are_fine(api: Api) -> None:
    for _ in range(2):
        (await api.create(headers=idem(""), **MONTHLY)).ok()
    (await api.create(headers=idem("k" * 4000), **MONTHLY)).ok()
    (await api.create(headers=idem("k" * 4000), **MONTHLY)).error(409, "duplicate_idempotency_key")


async def test_window_is_24_hours_of_server_clock(api: Api) -> None:
    clock = api.server.clock
    clock.set_ms(1_767_225_600_000)
    (await api.create(**MONTHLY)).ok()
    (await api.update(headers=idem("w"), **KEY, add_to_balance=1)).ok()
    clock.advance(ms=24 * HOUR - 1)
    (await api.update(headers=idem("w"), **KEY, add_to_balance=1)).error(
        409, "duplicate_idempotency_key"
    )
    clock.advance(ms=1)
    (await api.update(headers=idem("w"), **KEY, add_to_balance=1)).ok()
    (await api.update(headers=idem("w"), **KEY, add_to_balance=1)).error(
        409, "duplicate_idempotency_key"
    )


async def test_a_failed_request_releases_its_key(api: Api) -> None:
    (await api.update(headers=idem("f"), customer_id="nobody", feature_id="api_calls")).error(
        404, "customer_not_found"
    )
    (await api.create(headers=idem("f"), customer_id="cus_123", feature_id="api_calls")).error(
        500, "invalid_inputs"
    )
    (await api.create(headers=idem("f"), **MONTHLY, included=1, remaining="x")).ok()
    (await api.create(headers=idem("f"), **MONTHLY)).error(409, "duplicate_idempotency_key")


async def test_a_read_that_failed_releases_its_key(api: Api) -> None:
    (await api.post("/v1/customers.get", {"customer_id": "x"}, headers=idem("r"))).error(
        404, "customer_not_found"
    )
    (await api.post("/v1/customers.get", {"customer_id": "cus_123"}, headers=idem("r"))).ok()


async def test_a_409_keeps_its_key(api: Api) -> None:
    (await api.create(**MONTHLY, balance_id="b")).ok()
    (await api.create(headers=idem("dup"), **MONTHLY, balance_id="b")).error(409, "invalid_request")
    (await api.create(headers=idem("dup"), **MONTHLY, balance_id="other")).error(
        409, "duplicate_idempotency_key"
    )


async def test_a_partly_applied_update_releases_its_key(api: Api) -> None:
    (await api.create(**KEY, included_grant=10)).ok()
    far = api.server.clock.now_ms() + 86_400_000
    (await api.update(headers=idem("p"), **KEY, remaining=3, next_reset_at=far)).error(
        400, "invalid_request"
    )
    (await api.update(headers=idem("p"), **KEY, remaining=4)).ok()
    assert await api.totals() == (10, 4, 6)


async def test_auth_failures_touch_no_key(api: Api) -> None:
    reply = await api.post("/v1/balances.create", MONTHLY, key="am_sk_test_bad", headers=idem("a"))
    reply.error(401, "invalid_secret_key")
    (await api.create(headers=idem("a"), **MONTHLY)).ok()


async def test_keys_are_scoped_per_environment_not_per_secret_key(http) -> None:  # type: ignore[no-untyped-def]
    config = {"secret_keys": ["am_sk_test_second", "am_sk_live_third"]}
    async with LocalAutumn(config=config) as server:
        api = Api(http, server)
        (await api.create(headers=idem("shared"), **MONTHLY)).ok()
        same_env = await api.post(
            "/v1/balances.create", MONTHLY, key="am_sk_test_second", headers=idem("shared")
        )
        same_env.error(409, "duplicate_idempotency_key")
        other_env = await api.post(
            "/v1/balances.create", MONTHLY, key="am_sk_live_third", headers=idem("shared")
        )
        other_env.ok()


async def test_concurrent_duplicates_apply_once(api: Api) -> None:
    (await api.create(**MONTHLY)).ok()
    replies = await asyncio.gather(
        *(api.update(headers=idem("race"), **KEY, add_to_balance=1) for _ in range(50))
    )
    statuses = sorted(r.status for r in replies)
    assert statuses == [200] + [409] * 49
    assert await api.totals() == (1000, 1001, -1)


async def test_delete_and_finalize_check_the_key_too(api: Api) -> None:
    (await api.create(**MONTHLY)).ok()
    (await api.check(**KEY, lock={"enabled": True, "lock_id": "l1"})).ok()
    (await api.finalize(headers=idem("f"), lock_id="l1", action="confirm")).ok()
    (await api.finalize(headers=idem("f"), lock_id="l1", action="confirm")).error(
        409, "duplicate_idempotency_key"
    )
    (await api.delete(headers=idem("d"), **KEY)).ok()
    (await api.delete(headers=idem("d"), **KEY)).error(409, "duplicate_idempotency_key")
    # A failed delete releases its key.
    (await api.delete(headers=idem("d2"), **KEY)).error(404, "invalid_request")
    (await api.create(**MONTHLY)).ok()
    (await api.delete(headers=idem("d2"), **KEY)).ok()
