"""Credit systems: a metered feature drawing on credit pools at a credit cost.

Facts from Autumn's getRelevantFeatures / getCreditCost / getFeatureToUseForCheck
and its integration tests (track-credit-system, track-deductions,
check-credit-systems, check-send-event-credit-system, the test catalog's
action1 -> credits at 0.2).
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from autumn_local.rules.usage_deduction import deduct_usage, prepare_entries
from autumn_local.store.database import Balance, CreditCost, FeatureRow
from tests.local.conftest import NOW, Api

WORDS = {"customer_id": "cus_123", "feature_id": "words"}
CREDITS = {"customer_id": "cus_123", "feature_id": "credits"}


async def words_and_credits(api: Api, words: float = 100, credits: float = 200) -> None:
    (await api.create(**WORDS, included_grant=words)).ok()
    (await api.create(**CREDITS, included_grant=credits, reset={"interval": "month"})).ok()


async def test_the_features_own_balance_is_used_first(usage: Api) -> None:
    await words_and_credits(usage)
    answer = (await usage.track(**WORDS, value=40.5)).ok()
    assert [(d["feature_id"], d["value"]) for d in answer["deductions"]] == [("words", 40.5)]
    assert answer["balance"]["feature_id"] == "words"
    assert set(answer["balances"]) == {"words", "credits"}
    assert await usage.totals("credits") == (200, 200, 0)


async def test_the_rest_is_drawn_from_the_credit_system_at_its_cost(usage: Api) -> None:
    await words_and_credits(usage)
    (await usage.track(**WORDS, value=40.5)).ok()
    answer = (await usage.track(**WORDS, value=80)).ok()
    # 59.5 words from words, the other 20.5 as 10.25 credits.
    assert [(d["feature_id"], d["value"]) for d in answer["deductions"]] == [
        ("words", 59.5),
        ("credits", 10.25),
    ]
    assert answer["balance"]["feature_id"] == "words"  # it still took some words
    assert await usage.totals("credits") == (200, 189.75, 10.25)
    last = (await usage.track(**WORDS, value=50.75)).ok()
    assert last["balance"]["feature_id"] == "credits"  # only credits were used
    assert last["balance"]["remaining"] == 189.75 - 25.375


async def test_a_credit_system_can_be_tracked_directly(usage: Api) -> None:
    await words_and_credits(usage)
    answer = (await usage.track(**CREDITS, value=27.35)).ok()
    assert [(d["feature_id"], d["value"]) for d in answer["deductions"]] == [("credits", 27.35)]
    assert "balances" not in answer  # credits draws on nothing else
    assert await usage.totals("credits") == (200, 172.65, 27.35)


async def test_capped_at_what_the_pools_hold(usage: Api) -> None:
    await words_and_credits(usage, words=10, credits=10)
    answer = (await usage.track(**WORDS, value=100)).ok()
    assert [d["value"] for d in answer["deductions"]] == [10, 10]  # 10 words, 20 words' credits
    assert await usage.totals("words") == (10, 0, 10)
    assert await usage.totals("credits") == (10, 0, 10)


async def test_overflow_puts_the_rest_on_the_first_balance(usage: Api) -> None:
    await words_and_credits(usage, words=10, credits=10)
    (await usage.track(**WORDS, value=100, overage_behavior="overflow")).ok()
    # Both drained, then the 70 words still due land on words.
    assert await usage.totals("words") == (10, 0, 80)
    assert await usage.totals("credits") == (10, 0, 10)


async def test_an_unlimited_credit_pool_absorbs_everything(usage: Api) -> None:
    (await usage.create(**WORDS, included_grant=10)).ok()
    (await usage.create(**CREDITS, unlimited=True)).ok()
    answer = (await usage.track(**WORDS, value=6)).ok()
    assert [(d["feature_id"], d["value"]) for d in answer["deductions"]] == [("credits", 3)]
    assert answer["balance"]["feature_id"] == "credits"
    assert await usage.totals("words") == (10, 10, 0)


async def test_each_feature_of_an_event_draws_on_its_own_pool(usage: Api) -> None:
    await words_and_credits(usage, words=1, credits=100)
    (await usage.create(customer_id="cus_123", feature_id="credits_b", included_grant=100)).ok()
    answer = (await usage.track(customer_id="cus_123", event_name="generation", value=3)).ok()
    assert [(d["feature_id"], d["value"]) for d in answer["deductions"]] == [
        ("words", 1),
        ("credits", 1),  # 2 words at 0.5
        ("credits_b", 6),  # 3 tokens at 2
    ]


async def test_check_uses_the_pool_that_allows_and_asks_for_credits(usage: Api) -> None:
    await words_and_credits(usage, words=3, credits=200)
    own = (await usage.check(**WORDS, required_balance=3)).ok()
    assert (own["allowed"], own["required_balance"], own["balance"]["feature_id"]) == (
        True,
        3,
        "words",
    )
    pooled = (await usage.check(**WORDS, required_balance=5)).ok()
    assert (pooled["allowed"], pooled["required_balance"]) == (True, 2.5)
    assert pooled["balance"]["feature_id"] == "credits"
    short = (await usage.check(**WORDS, required_balance=1000)).ok()
    assert (short["allowed"], short["required_balance"]) == (False, 500)


async def test_check_judges_the_pool_in_credits_once_it_is_picked(usage: Api) -> None:
    # The pool is picked with the amount in words (neither 3 words nor 4 credits
    # cover 6), as getFeatureToUseForCheck does; it is then judged in credits:
    # 6 words at 0.5 are 3 credits, which 4 credits cover.
    await words_and_credits(usage, words=3, credits=4)
    answer = (await usage.check(**WORDS, required_balance=6)).ok()
    assert (answer["allowed"], answer["required_balance"]) == (True, 3)
    assert answer["balance"]["feature_id"] == "credits"


async def test_check_of_a_feature_nobody_holds_points_at_its_credit_system(usage: Api) -> None:
    answer = (await usage.check(**WORDS, required_balance=4)).ok()
    assert (answer["allowed"], answer["required_balance"], answer["balance"]) == (False, 2, None)


async def test_check_with_send_event_draws_across_both_and_shows_balances(usage: Api) -> None:
    await words_and_credits(usage, words=3, credits=200)
    answer = (await usage.check(**WORDS, required_balance=5, send_event=True)).ok()
    assert answer["allowed"] is True and answer["required_balance"] == 2.5
    # The balance shown is the first one the deduction took from.
    assert answer["balance"]["feature_id"] == "words"
    assert answer["balances"]["words"]["remaining"] == 0
    assert answer["balances"]["credits"]["remaining"] == 199


async def test_the_customer_view_shows_a_pool_like_any_balance(usage: Api) -> None:
    await words_and_credits(usage)
    (await usage.track(**WORDS, value=120)).ok()
    entry = await usage.balance("credits")
    assert entry is not None
    assert (entry["granted"], entry["remaining"], entry["usage"]) == (200, 190, 10)
    assert entry["breakdown"][0]["reset"]["interval"] == "month"


async def test_features_create_checks_the_schema(usage: Api) -> None:
    async def create(body: dict[str, Any]) -> Any:
        return await usage.post("/v1/features.create", {"type": "credit_system", **body})

    (await create({"id": "c1"})).error(400, "invalid_feature", mentions="At least one")
    twice = [{"metered_feature_id": "words", "credit_cost": 1}] * 2
    (await create({"id": "c2", "credit_schema": twice})).error(
        400, "invalid_feature", mentions="multiple"
    )
    on_pool = [{"metered_feature_id": "credits", "credit_cost": 1}]
    (await create({"id": "c3", "credit_schema": on_pool})).error(
        400, "invalid_feature", mentions="another credit system"
    )
    on_seats = [{"metered_feature_id": "seats", "credit_cost": 1}]
    (await create({"id": "c4", "credit_schema": on_seats})).error(
        400, "invalid_feature", mentions="continuous"
    )
    (await create({"id": "c5", "credit_schema": [{"metered_feature_id": "words"}]})).error(
        400, "invalid_inputs", mentions="credit_schema[0].credit_cost"
    )
    (await create({"id": "c6", "consumable": False, "credit_schema": on_seats})).error(
        400, "invalid_inputs", mentions="consumable"
    )
    (
        await usage.post(
            "/v1/features.create", {"id": "m", "type": "metered", "credit_schema": on_pool}
        )
    ).error(400, "invalid_inputs", mentions="credit_schema")
    later = [{"metered_feature_id": "not_yet", "credit_cost": 3}]
    view = (await create({"id": "c7", "credit_schema": later})).ok()
    assert (view["consumable"], view["credit_schema"]) == (True, later)


async def test_the_feature_view_has_a_schema_only_for_credit_systems(usage: Api) -> None:
    features = {f["id"]: f for f in (await usage.post("/v1/features.list", {})).ok()["list"]}
    assert features["credits"]["credit_schema"] == [
        {"metered_feature_id": "words", "credit_cost": 0.5}
    ]
    assert "credit_schema" not in features["words"]
    assert features["words"]["event_names"] == ["generation"]


# -- the deduction itself, property-tested ------------------------------------

COSTS = {"credits": 0.5, "credits_b": 2.0}
FEATURES = {
    "words": FeatureRow("words", "words", "metered", True, (), False),
    "credits": FeatureRow(
        "credits", "credits", "credit_system", True, (), False, (CreditCost("words", 0.5),)
    ),
    "credits_b": FeatureRow(
        "credits_b", "credits_b", "credit_system", True, (), False, (CreditCost("words", 2),)
    ),
}
amounts = st.integers(min_value=-20, max_value=60)


def balance(pk: int, feature_id: str, amount: int, interval: str) -> Balance:
    return Balance(
        pk=pk,
        id=f"b{pk}",
        balance_id=None,
        customer_id="c",
        entity_id="",
        feature_id=feature_id,
        allowance=max(amount, 0),
        adjustment=0,
        balance=amount,
        unlimited=False,
        interval=interval,
        interval_count=1,
        next_reset_at=None if interval == "one_off" else NOW + pk,
        expires_at=None,
        rollover=None,
        created_at=NOW + pk,
    )


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["words", "credits", "credits_b"]),
            amounts,
            st.sampled_from(["one_off", "day", "month"]),
        ),
        min_size=1,
        max_size=6,
    ),
    st.integers(min_value=0, max_value=200),
    st.sampled_from(["cap", "overflow", "reject"]),
)
@settings(max_examples=300, deadline=None)
def test_deductions_conserve_the_value_and_respect_the_order(
    specs: list[tuple[str, int, str]], value: int, overage: str
) -> None:
    balances = [balance(i, f, a, iv) for i, (f, a, iv) in enumerate(specs, start=1)]
    before = {b.pk: b.balance for b in balances}
    cost = {b.pk: COSTS.get(b.feature_id, 1.0) for b in balances}
    entries = prepare_entries(balances, FEATURES, "words", None, overage)
    ordered = [e.balance for e in entries]
    # The feature's own balances come before every credit system's.
    pooled = [b.feature_id != "words" for b in ordered]
    assert pooled == sorted(pooled)

    remaining, mutations = deduct_usage(entries, value, overage, NOW)

    def units(b: Balance) -> float:
        return (before[b.pk] - b.balance) / cost[b.pk]

    taken = sum(units(b) for b in ordered)
    available = sum(max(before[b.pk], 0) / cost[b.pk] for b in ordered)
    # Conservation: what the balances lost, in words, is what the log says,
    # and with what could not be taken it adds up to the value.
    assert math.isclose(taken, sum(m.value_delta for m in mutations), abs_tol=1e-9)
    assert math.isclose(taken + remaining, value, abs_tol=1e-9)
    if overage == "overflow":
        assert remaining == 0
    else:
        # cap takes what fits; reject's rest > 0 is its refusal.
        assert math.isclose(taken, min(value, available), abs_tol=1e-9)
    # Order: a balance gives only once every balance before it is empty (or
    # was already negative), and only the first may end below zero.
    for i, b in enumerate(ordered):
        if units(b) > 1e-12:
            for earlier in ordered[:i]:
                assert earlier.balance <= 1e-9 or earlier.balance == before[earlier.pk] < 0
    for b in ordered[1:]:
        assert b.balance >= min(before[b.pk], 0) - 1e-9
