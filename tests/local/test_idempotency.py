"""Idempotency-Key: claimed before running, 24 h window, released on failure, per secret key."""

from __future__ import annotations

import asyncio

from autumn_local import LocalAutumn
from tests.local.conftest import MONTHLY, Api

KEY = {"customer_id": "cus_123", "feature_id": "api_calls"}
HOUR = 3_600_000


def idem(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


async def test_duplicate_is_refused_and_not_applied(api: Api) -> None:
    (await api.create(**MONTHLY)).ok()
    (await api.update(headers=idem("k1"), **KEY, add_to_balance=10)).ok()
    (await api.update(headers=idem("k1"), **KEY, add_to_balance=10)).error(
        409, "duplicate_idempotency_key"
    )
    entry = await api.balance()
    assert entry is not None and entry["granted"] == 1010
    # A different key is a different call.
    (await api.update(headers=idem("k2"), **KEY, add_to_balance=10)).ok()


async def test_duplicate_is_refused_even_with_a_different_body(api: Api) -> None:
    (await api.create(headers=idem("c1"), **MONTHLY)).ok()
    (await api.create(headers=idem("c1"), customer_id="oops")).error(
        409, "duplicate_idempotency_key"
    )


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


async def test_failed_request_releases_its_key(api: Api) -> None:
    (await api.update(headers=idem("f"), **KEY, remaining=1)).error(404, "balance_not_found")
    (await api.create(headers=idem("f"), **MONTHLY, unlimited=True)).error(400, "invalid_inputs")
    (await api.create(headers=idem("f"), **MONTHLY)).ok()
    (await api.create(headers=idem("f"), **MONTHLY)).error(409, "duplicate_idempotency_key")


async def test_a_409_keeps_its_key(api: Api) -> None:
    (await api.create(**MONTHLY, balance_id="b")).ok()
    (await api.create(headers=idem("dup"), **MONTHLY, balance_id="b")).error(409, "invalid_request")
    (await api.create(headers=idem("dup"), **MONTHLY, balance_id="other")).error(
        409, "duplicate_idempotency_key"
    )


async def test_auth_failures_touch_no_key(api: Api) -> None:
    reply = await api.post("/v1/balances.create", MONTHLY, key="am_sk_test_bad", headers=idem("a"))
    reply.error(401, "invalid_secret_key")
    (await api.create(headers=idem("a"), **MONTHLY)).ok()


async def test_keys_are_scoped_per_secret_key(http) -> None:  # type: ignore[no-untyped-def]
    config = {"secret_keys": ["am_sk_test_second"]}
    async with LocalAutumn(config=config) as server:
        api = Api(http, server)
        (await api.create(headers=idem("shared"), **MONTHLY)).ok()
        other = await api.post(
            "/v1/balances.create", MONTHLY, key="am_sk_test_second", headers=idem("shared")
        )
        other.ok()
        again = await api.post(
            "/v1/balances.create", MONTHLY, key="am_sk_test_second", headers=idem("shared")
        )
        again.error(409, "duplicate_idempotency_key")


async def test_concurrent_duplicates_apply_once(api: Api) -> None:
    (await api.create(**MONTHLY)).ok()
    replies = await asyncio.gather(
        *(api.update(headers=idem("race"), **KEY, add_to_balance=1) for _ in range(50))
    )
    statuses = sorted(r.status for r in replies)
    assert statuses == [200] + [409] * 49
    entry = await api.balance()
    assert entry is not None and entry["granted"] == 1001


async def test_bad_idempotency_key_headers(api: Api) -> None:
    (await api.create(headers=idem(" "), **MONTHLY)).error(
        400, "invalid_inputs", mentions="Idempotency-Key"
    )
    (await api.create(headers=idem("k" * 256), **MONTHLY)).error(
        400, "invalid_inputs", mentions="Idempotency-Key"
    )
    (await api.create(headers=idem("k" * 255), **MONTHLY)).ok()


async def test_reads_ignore_idempotency_keys(api: Api) -> None:
    for _ in range(2):
        reply = await api.post("/v1/customers.get", {"customer_id": "cus_123"}, headers=idem("r"))
        reply.ok()
