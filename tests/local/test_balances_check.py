"""balances.check: allowed, the balance and flag shown, send_event, with_preview.

Facts from Autumn's handleCheck / getCheckResponseV2 / runCheckWithTrackV2 /
apiBalanceToAllowed and its integration tests (check-basic,
check-send-event-credit-system).
"""

from __future__ import annotations

from autumn_local.http.ratelimits import CHECK_ORG_FAIL_OPEN
from tests.local.conftest import NOW, Api

WORDS = {"customer_id": "cus_123", "feature_id": "words"}


async def test_allowed_when_the_remaining_balance_covers_the_requirement(usage: Api) -> None:
    (await usage.create(**WORDS, included_grant=5)).ok()
    answer = (await usage.check(**WORDS)).ok()
    assert list(answer) == ["allowed", "customer_id", "required_balance", "balance", "flag"]
    assert (answer["allowed"], answer["required_balance"], answer["flag"]) == (True, 1, None)
    assert answer["balance"] == await usage.balance("words")
    assert (await usage.check(**WORDS, required_balance=5)).ok()["allowed"] is True
    assert (await usage.check(**WORDS, required_balance=5.5)).ok()["allowed"] is False
    assert await usage.totals("words") == (5, 5, 0)  # a check consumes nothing


async def test_an_exhausted_balance_is_not_allowed_but_shown(usage: Api) -> None:
    (await usage.create(**WORDS, included_grant=5)).ok()
    (await usage.track(**WORDS, value=5)).ok()
    answer = (await usage.check(**WORDS)).ok()
    assert answer["allowed"] is False
    assert (answer["balance"]["remaining"], answer["balance"]["usage"]) == (0, 5)
    # A requirement of 0 or less is always allowed.
    assert (await usage.check(**WORDS, required_balance=0)).ok()["allowed"] is True
    assert (await usage.check(**WORDS, required_balance=-1)).ok()["allowed"] is True


async def test_no_balance_is_not_allowed(usage: Api) -> None:
    answer = (await usage.check(customer_id="cus_123", feature_id="api_calls")).ok()
    assert answer == {
        "allowed": False,
        "customer_id": "cus_123",
        "required_balance": 1,
        "balance": None,
        "flag": None,
    }


async def test_a_boolean_feature_is_allowed_by_its_flag(usage: Api) -> None:
    premium = {"customer_id": "cus_123", "feature_id": "premium"}
    assert (await usage.check(**premium)).ok()["allowed"] is False
    (await usage.create(**premium)).ok()
    answer = (await usage.check(**premium, required_balance=100)).ok()
    assert (answer["allowed"], answer["balance"]) == (True, None)
    assert answer["flag"] == (await usage.customer())["flags"]["premium"]


async def test_an_unlimited_balance_is_always_allowed(usage: Api) -> None:
    (await usage.create(**WORDS, unlimited=True)).ok()
    answer = (await usage.check(**WORDS, required_balance=10**9)).ok()
    assert answer["allowed"] is True and answer["balance"]["unlimited"] is True


async def test_send_event_checks_and_consumes_atomically(usage: Api) -> None:
    (await usage.create(**WORDS, included_grant=5)).ok()
    answer = (await usage.check(**WORDS, required_balance=3, send_event=True)).ok()
    assert answer["allowed"] is True
    assert answer["balance"]["remaining"] == 2  # the balance after the deduction
    assert answer["balances"]["words"] == answer["balance"]  # words has a credit system
    assert answer["balances"]["credits"] is None
    refused = (await usage.check(**WORDS, required_balance=3, send_event=True)).ok()
    assert refused["allowed"] is False and "balances" not in refused
    assert refused["balance"]["remaining"] == 2  # all or nothing
    assert await usage.totals("words") == (5, 2, 3)


async def test_send_event_without_a_balance_consumes_nothing(usage: Api) -> None:
    answer = (await usage.check(**WORDS, send_event=True)).ok()
    assert (answer["allowed"], answer["balance"]) == (False, None)


async def test_send_event_is_refused_for_a_boolean_feature(usage: Api) -> None:
    premium = {"customer_id": "cus_123", "feature_id": "premium"}
    (await usage.create(**premium)).ok()
    (await usage.check(**premium, send_event=True)).error(
        400, "invalid_request", mentions="boolean features"
    )


async def test_send_event_on_a_continuous_use_feature_never_goes_over(usage: Api) -> None:
    seats = {"customer_id": "cus_123", "feature_id": "seats"}
    (await usage.create(**seats, included_grant=2)).ok()
    assert (await usage.check(**seats, required_balance=2, send_event=True)).ok()["allowed"]
    assert not (await usage.check(**seats, send_event=True)).ok()["allowed"]
    assert await usage.totals("seats") == (2, 0, 2)


async def test_with_preview(usage: Api) -> None:
    (await usage.create(**WORDS, included_grant=1)).ok()
    allowed = (await usage.check(**WORDS, with_preview=True)).ok()
    assert list(allowed)[-1] == "preview" and allowed["preview"] is None
    short = (await usage.check(**WORDS, required_balance=2, with_preview=True)).ok()
    assert short["preview"] == {
        "scenario": "usage_limit",
        "title": "Feature Unavailable",
        "feature_id": "words",
        "feature_name": "words",
        "message": "You have reached the usage limit for words."
        " Please contact us to increase your limit.",
        "products": [],
        "upgrade_product_id": None,
    }
    missing = (
        await usage.check(customer_id="cus_123", feature_id="premium", with_preview=True)
    ).ok()
    assert missing["preview"]["scenario"] == "feature_flag"
    assert missing["preview"]["message"] == (
        "Premium is not available for your account. Please contact us to enable it."
    )


async def test_a_customer_check_is_not_allowed_by_its_entities_balances(usage: Api) -> None:
    api_calls = {"customer_id": "cus_123", "feature_id": "api_calls"}
    (await usage.create(**api_calls, entity_id="seat_1", included_grant=5)).ok()
    answer = (await usage.check(**api_calls)).ok()
    assert answer["allowed"] is False
    assert answer["balance"]["granted"] == 5  # but the customer's totals show them
    entity = (await usage.check(**api_calls, entity_id="seat_1")).ok()
    assert (entity["allowed"], entity["entity_id"]) == (True, "seat_1")


async def test_refused_requests(usage: Api) -> None:
    (await usage.check(customer_id="nobody", feature_id="nothing")).error(404, "feature_not_found")
    (await usage.check(customer_id="nobody", feature_id="words")).error(404, "customer_not_found")
    (await usage.check(**WORDS, entity_id="seat_9")).error(404, "entity_not_found")
    (await usage.check(customer_id="cus_123")).error(400, "invalid_inputs", mentions="feature_id")
    (await usage.check(**WORDS, product_id="pro")).error(400, "invalid_inputs")
    (await usage.check(customer_id="cus_123", product_id="pro")).error(404, "product_not_found")
    (await usage.check(**WORDS, required_balance="1")).error(
        400, "invalid_inputs", mentions="required_balance"
    )


async def test_legacy_required_quantity(usage: Api) -> None:
    (await usage.create(**WORDS, included_grant=2)).ok()
    answer = (await usage.check(**WORDS, required_quantity=3)).ok()
    assert (answer["allowed"], answer["required_balance"]) == (False, 3)


async def test_over_the_organisations_check_cap_check_fails_open(usage: Api) -> None:
    server = usage.server
    server.rate_limiter.enabled = True
    for _ in range(240_000):
        server.rate_limiter.check((CHECK_ORG_FAIL_OPEN,), "sandbox", None, NOW)
    reply = await usage.check(customer_id="nobody", feature_id="nothing", required_balance=7)
    assert (reply.status, reply.body) == (
        202,
        {
            "allowed": True,
            "customer_id": "nobody",
            "required_balance": 7,
            "balance": None,
            "flag": None,
        },
    )
    # The customers routes share that window and refuse instead.
    (await usage.post("/v1/customers.get", {"customer_id": "cus_123"})).error(
        429, "rate_limit_exceeded"
    )
