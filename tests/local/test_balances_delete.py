"""balances.delete: which balances go, and recalculate_balances.

Facts from Autumn's deleteBalance.ts and its integration tests (delete-balance
1 to 5, 2a to 2i).
"""

from __future__ import annotations

from tests.local.conftest import DAY, KEY, NOW, Api


async def a_and_b(api: Api) -> None:
    api.server.clock.set_ms(NOW)
    (await api.create(**KEY, included_grant=100, balance_id="a")).ok()
    api.server.clock.advance(ms=1)
    (await api.create(**KEY, included_grant=200, balance_id="b")).ok()


async def test_balance_id_deletes_only_that_balance(api: Api) -> None:
    await a_and_b(api)
    assert (await api.delete(**KEY, balance_id="a")).ok() == {"success": True}
    assert await api.parts() == {"b": (200, 200, 0)}


async def test_without_recalculation_other_balances_keep_their_numbers(api: Api) -> None:
    await a_and_b(api)
    (await api.update(**KEY, balance_id="a", remaining=60)).ok()
    (await api.delete(**KEY, balance_id="a")).ok()
    assert await api.totals() == (200, 200, 0)


async def test_recalculation_moves_the_deleted_usage_to_the_survivors(api: Api) -> None:
    await a_and_b(api)
    (await api.update(**KEY, balance_id="a", remaining=60)).ok()
    (await api.delete(**KEY, balance_id="a", recalculate_balances=True)).ok()
    assert await api.parts() == {"b": (200, 160, 40)}


async def test_recalculation_moves_usage_beyond_the_grant_too(api: Api) -> None:
    await a_and_b(api)
    (await api.update(**KEY, balance_id="a", usage=130)).ok()
    (await api.delete(**KEY, balance_id="a", recalculate_balances=True)).ok()
    assert await api.parts() == {"b": (200, 70, 130)}


async def test_with_no_survivor_the_usage_stays_as_overage(api: Api) -> None:
    api.server.clock.set_ms(NOW)
    (await api.create(**KEY, included_grant=100, balance_id="a", reset={"interval": "month"})).ok()
    (await api.update(**KEY, remaining=60)).ok()
    (await api.delete(**KEY, balance_id="a", recalculate_balances=True)).ok()
    entry = await api.balance()
    assert entry is not None
    assert (entry["granted"], entry["remaining"], entry["usage"]) == (0, 0, 40)
    assert entry["breakdown"][0]["id"] == "a"
    assert entry["next_reset_at"] is None
    api.server.clock.advance(days=40)  # it no longer resets
    assert await api.totals() == (0, 0, 40)


async def test_several_deleted_balances_leave_one_overage_carrier(api: Api) -> None:
    await a_and_b(api)
    (await api.update(**KEY, balance_id="a", remaining=60)).ok()
    (await api.update(**KEY, balance_id="b", remaining=170)).ok()
    (await api.delete(**KEY, recalculate_balances=True)).ok()
    parts = await api.parts()
    assert list(parts.values()) == [(0, 0, 70)]


async def test_recalculation_needs_a_feature_and_is_checked_first(api: Api) -> None:
    await a_and_b(api)
    (await api.delete(customer_id="nobody", balance_id="a", recalculate_balances=True)).error(
        400, "invalid_request", mentions="feature_id is required"
    )
    assert len(await api.parts()) == 2


async def test_without_a_feature_every_balance_of_the_customer_goes(ents: Api) -> None:
    (await ents.create(**KEY, included_grant=10)).ok()
    (
        await ents.create(
            customer_id="cus_123", feature_id="seats", included_grant=3, entity_id="seat_1"
        )
    ).ok()
    (await ents.create(customer_id="cus_123", feature_id="premium")).ok()
    (await ents.delete(customer_id="cus_123")).ok()
    customer = await ents.customer()
    assert (customer["balances"], customer["flags"]) == ({}, {})


async def test_interval_selects_balances(api: Api) -> None:
    api.server.clock.set_ms(NOW)
    (await api.create(**KEY, included_grant=10, balance_id="m", reset={"interval": "month"})).ok()
    (await api.create(**KEY, included_grant=10, balance_id="x", expires_at=NOW + DAY)).ok()
    (await api.delete(**KEY, interval="month")).ok()
    assert list(await api.parts()) == ["x"]
    (await api.delete(**KEY, interval="one_off")).ok()
    assert await api.balance() is None


async def test_an_entity_deletes_its_own_and_the_customer_level_balances(ents: Api) -> None:
    (await ents.create(**KEY, included_grant=10, balance_id="customer")).ok()
    (await ents.create(**KEY, included_grant=5, balance_id="one", entity_id="seat_1")).ok()
    (await ents.create(**KEY, included_grant=7, balance_id="two", entity_id="seat_2")).ok()
    (await ents.delete(**KEY, entity_id="seat_1")).ok()
    seat_2 = (
        await ents.post("/v1/entities.get", {"customer_id": "cus_123", "entity_id": "seat_2"})
    ).ok()
    assert [b["id"] for b in seat_2["balances"]["api_calls"]["breakdown"]] == ["two"]


async def test_nothing_to_delete_is_404(api: Api) -> None:
    (await api.delete(customer_id="cus_123", balance_id="nope")).error(
        404,
        "invalid_request",
        mentions="Balance not found for feature undefined and customer cus_123",
    )
    (await api.delete(**KEY)).error(404, "invalid_request", mentions="feature api_calls")
    (await api.delete(customer_id="nobody")).error(404, "customer_not_found")
    # An unknown entity is no refusal: nothing to delete at any level (see test_fidelity_delete).
    (await api.delete(customer_id="cus_123", entity_id="seat_9")).error(404, "invalid_request")
    (await api.delete(customer_id="cus_123", interval="fortnight")).error(
        400, "invalid_inputs", mentions="interval"
    )


async def test_recalculation_may_draw_on_a_credit_system(usage: Api) -> None:
    words = {"customer_id": "cus_123", "feature_id": "words"}
    (await usage.create(**words, included_grant=10, balance_id="gone")).ok()
    (await usage.create(**words, included_grant=5, balance_id="kept", expires_at=NOW + DAY)).ok()
    (await usage.create(customer_id="cus_123", feature_id="credits", included_grant=100)).ok()
    (await usage.update(**words, balance_id="gone", remaining=0)).ok()
    (await usage.delete(**words, balance_id="gone", recalculate_balances=True)).ok()
    # 10 words of usage: 5 from kept, 5 as 2.5 credits (overage allowed, pools in order).
    assert await usage.totals("words") == (5, 0, 5)
    assert await usage.totals("credits") == (100, 97.5, 2.5)
