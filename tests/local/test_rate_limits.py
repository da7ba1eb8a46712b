"""Autumn's rate limits: headers on every answer, plain-text 429s, windows on the server clock."""

from __future__ import annotations

import pytest

from autumn_local import LocalAutumn
from tests.local.conftest import KEY, NOW, Api

TEXT_429 = "Too many requests, please try again later."


async def test_balances_create_allows_25_per_second(api: Api) -> None:
    clock = api.server.clock
    clock.set_ms(NOW)
    for n in range(25):
        reply = await api.create(**KEY, included_grant=1)
        reply.ok()
        assert reply.headers["RateLimit-Policy"] == "25;w=1"
        assert reply.headers["RateLimit-Limit"] == "25"
        assert reply.headers["RateLimit-Remaining"] == str(24 - n)
        assert reply.headers["RateLimit-Reset"] == "1"
    refused = await api.create(**KEY, included_grant=1)
    assert refused.status == 429
    assert refused.body == TEXT_429.encode()  # not JSON
    assert refused.headers["Content-Type"].startswith("text/plain")
    assert refused.headers["Retry-After"] == "1"
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert await api.totals() == (25, 25, 0)  # the refused one changed nothing
    clock.advance(seconds=1)
    (await api.create(**KEY, included_grant=1)).ok()


async def test_error_answers_carry_the_headers_and_count(api: Api) -> None:
    api.server.clock.set_ms(NOW)
    reply = await api.create(customer_id="nobody", feature_id="api_calls", included_grant=1)
    reply.error(404, "customer_not_found")
    assert reply.headers["RateLimit-Remaining"] == "24"
    # Refused before the limit is counted: auth and version errors carry no headers.
    unauthorised = await api.post("/v1/balances.create", {}, key="am_sk_test_nope")
    assert "RateLimit-Limit" not in unauthorised.headers


async def test_balances_update_is_limited_per_customer(api: Api) -> None:
    api.server.clock.set_ms(NOW)
    (await api.create(**KEY, included_grant=1)).ok()
    reply = await api.update(**KEY, add_to_balance=1)
    assert reply.headers["RateLimit-Policy"] == "10000;w=1"
    assert reply.headers["RateLimit-Remaining"] == "9999"
    other = await api.update(customer_id="cus_other", feature_id="api_calls", add_to_balance=1)
    assert other.headers["RateLimit-Remaining"] == "9999"


async def test_entities_get_allows_50_per_second_per_customer(http) -> None:  # type: ignore[no-untyped-def]
    config = {"entities": [{"id": "seat_1", "customer_id": "cus_123"}]}
    async with LocalAutumn(config=config) as server:
        server.clock.set_ms(NOW)
        api = Api(http, server)
        body = {"customer_id": "cus_123", "entity_id": "seat_1"}
        for _ in range(50):
            (await api.post("/v1/entities.get", body)).ok()
        refused = await api.post("/v1/entities.get", body)
        assert (refused.status, refused.body) == (429, TEXT_429.encode())
        assert refused.headers["RateLimit-Policy"] == "50;w=1"
        # Another customer has its own window.
        other = await api.post("/v1/entities.get", {"customer_id": "cus_x", "entity_id": "e"})
        other.error(404, "entity_not_found")


async def test_the_customers_organisation_cap_answers_json(api: Api) -> None:
    server = api.server
    server.clock.set_ms(NOW)
    limits = (await api.post("/v1/customers.get", {"customer_id": "cus_123"})).headers
    assert limits["RateLimit-Policy"] == "10000;w=1"
    # Fill the organisation-wide window (240,000 a minute) as many customers would.
    from autumn_local.http.ratelimits import ROUTE_LIMITS

    for _ in range(240_000 - 1):  # the request above counted once
        server.rate_limiter.check(ROUTE_LIMITS["/v1/customers.get"][:1], "sandbox", None, NOW)
    refused = await api.post("/v1/customers.get", {"customer_id": "cus_123"})
    refused.error(429, "rate_limit_exceeded")
    assert refused.body["message"] == "Rate limit exceeded."
    assert "Retry-After" not in refused.headers
    assert refused.headers["RateLimit-Policy"] == "240000;w=60"


async def test_limits_can_be_turned_off(http) -> None:  # type: ignore[no-untyped-def]
    async with LocalAutumn(rate_limits=False) as server:
        server.clock.set_ms(NOW)
        api = Api(http, server)
        for _ in range(40):
            reply = await api.create(**KEY, included_grant=1)
            reply.ok()
            assert "RateLimit-Limit" not in reply.headers


@pytest.mark.parametrize("back", [True, False])
async def test_a_clock_moved_back_or_forward_opens_a_new_window(api: Api, back: bool) -> None:
    clock = api.server.clock
    clock.set_ms(NOW)
    for _ in range(25):
        (await api.create(**KEY, included_grant=1)).ok()
    clock.set_ms(NOW - 5000 if back else NOW + 5000)
    (await api.create(**KEY, included_grant=1)).ok()


async def test_a_rate_limited_request_claims_no_idempotency_key(api: Api) -> None:
    clock = api.server.clock
    clock.set_ms(NOW)
    for _ in range(25):
        (await api.create(**KEY, included_grant=1)).ok()
    key = {"Idempotency-Key": "after-the-limit"}
    assert (await api.create(headers=key, **KEY, included_grant=1)).status == 429
    clock.advance(seconds=1)
    (await api.create(headers=key, **KEY, included_grant=1)).ok()


async def test_the_usage_routes_limits(api: Api) -> None:
    api.server.clock.set_ms(NOW)
    (await api.create(**KEY, included_grant=10)).ok()
    for path in ("/v1/balances.check", "/v1/balances.track"):
        reply = await api.post(path, KEY)
        reply.ok()
        assert reply.headers["RateLimit-Policy"] == "10000;w=1"
        assert reply.headers["RateLimit-Remaining"] == "9999"
    # finalize counts in the track window of its (absent) customer.
    finalize = await api.finalize(lock_id="none", action="release")
    assert finalize.headers["RateLimit-Policy"] == "10000;w=1"
    # delete is under the general limit, with create.
    deleted = await api.delete(**KEY)
    deleted.ok()
    assert deleted.headers["RateLimit-Policy"] == "25;w=1"
    assert deleted.headers["RateLimit-Remaining"] == "23"
