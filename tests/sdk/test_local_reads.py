"""The customer and entity reads end to end against the local server, which shares no
code with the SDK: the views it answers parse into the SDK's models, and read balances
as a service needs them (totals, the balance ids an update picks from, flags)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from autumn_core import AutumnDefaultError
from autumn_funcs import Autumn, customers_get, customers_get_or_create, entities_get
from autumn_local import LocalAutumn

SEATS = {"entities": [{"id": "seat_1", "customer_id": "cus_123", "name": "Seat one"}]}


@pytest.fixture
async def server() -> AsyncIterator[LocalAutumn]:
    async with LocalAutumn(config=SEATS, rate_limits=False) as local:
        yield local


@pytest.fixture
async def autumn(server: LocalAutumn) -> AsyncIterator[Autumn]:
    async with Autumn(server.secret_key, server_url=server.url) as client:
        yield client


async def test_get_or_create_creates_once_and_then_reads(autumn: Autumn) -> None:
    first = await customers_get_or_create(autumn, {"customer_id": "cus_new", "name": "Ada"})
    again = await customers_get_or_create(autumn, {"customer_id": "cus_new", "name": "Ada"})
    read = await customers_get(autumn, {"customer_id": "cus_new"})

    assert first.ok and again.ok and read.ok, (first, again, read)
    assert (first.value.id, first.value.name) == ("cus_new", "Ada")
    assert first.value.balances == {} and first.value.flags == {}
    assert again.value.created_at == first.value.created_at == read.value.created_at


async def test_two_grants_read_as_totals_with_the_ids_an_update_picks_from(
    autumn: Autumn,
) -> None:
    await autumn.balances.create(
        customer_id="cus_123",
        feature_id="api_calls",
        included_grant=1000,
        reset={"interval": "month"},
    )
    await autumn.balances.create(
        customer_id="cus_123", feature_id="api_calls", included_grant=50, balance_id="promo"
    )
    customer = await autumn.customers.get(customer_id="cus_123")
    api_calls = customer.balances["api_calls"]

    assert (api_calls.granted, api_calls.remaining, api_calls.usage) == (1050, 1050, 0)
    by_interval = {b.reset.interval: b for b in api_calls.breakdown if b.reset is not None}
    assert set(by_interval) == {"month", "one_off"}
    assert by_interval["one_off"].id == "promo"
    assert by_interval["month"].reset is not None and by_interval["month"].reset.resets_at
    assert api_calls.next_reset_at == by_interval["month"].reset.resets_at

    # The id read back picks the balance an update changes.
    await autumn.balances.update(
        customer_id="cus_123", feature_id="api_calls", balance_id=by_interval["month"].id, usage=10
    )
    after = (await autumn.customers.get(customer_id="cus_123")).balances["api_calls"]
    assert {b.id: b.remaining for b in after.breakdown} == {
        by_interval["month"].id: 990,
        "promo": 50,
    }


async def test_a_boolean_feature_reads_as_a_flag(autumn: Autumn) -> None:
    await autumn.balances.create(customer_id="cus_123", feature_id="premium")
    customer = await autumn.customers.get(customer_id="cus_123")

    assert "premium" not in customer.balances
    flag = customer.flags["premium"]
    assert (flag.feature_id, flag.plan_id, flag.expires_at) == ("premium", None, None)


async def test_an_unlimited_balance_reads_as_unlimited(autumn: Autumn) -> None:
    await autumn.balances.create(customer_id="cus_123", feature_id="api_calls", unlimited=True)
    balance = (await autumn.customers.get(customer_id="cus_123")).balances["api_calls"]

    assert balance.unlimited is True
    assert (balance.granted, balance.remaining, balance.next_reset_at) == (0, 0, None)


async def test_the_entity_view_holds_its_own_and_its_customers_balances(autumn: Autumn) -> None:
    await autumn.balances.create(
        customer_id="cus_123", feature_id="api_calls", entity_id="seat_1", included_grant=5
    )
    await autumn.balances.create(customer_id="cus_123", feature_id="api_calls", included_grant=100)
    res = await entities_get(autumn, {"customer_id": "cus_123", "entity_id": "seat_1"})

    assert res.ok, res
    entity = res.value
    assert (entity.id, entity.name, entity.customer_id) == ("seat_1", "Seat one", "cus_123")
    assert entity.balances["api_calls"].granted == 105
    assert sorted(b.included_grant for b in entity.balances["api_calls"].breakdown) == [5, 100]
    customer = await autumn.customers.get(customer_id="cus_123")
    # The customer's totals count the entity's balance, its breakdown does not.
    assert customer.balances["api_calls"].granted == 105
    assert [b.included_grant for b in customer.balances["api_calls"].breakdown] == [100]


async def test_unknown_customers_and_entities_are_the_servers_404s(autumn: Autumn) -> None:
    customer = await customers_get(autumn, {"customer_id": "cus_404"})
    entity = await entities_get(autumn, {"customer_id": "cus_123", "entity_id": "seat_404"})

    assert not customer.ok and isinstance(customer.error, AutumnDefaultError)
    assert (customer.error.status_code, customer.error.code) == (404, "customer_not_found")
    assert not entity.ok and isinstance(entity.error, AutumnDefaultError)
    assert (entity.error.status_code, entity.error.code) == (404, "entity_not_found")


async def test_a_keyed_get_or_create_is_applied_once(autumn: Autumn) -> None:
    # With the caller's key the call is a write: the server refuses the key's second use.
    first = await customers_get_or_create(
        autumn, {"customer_id": "cus_k"}, {"idempotency_key": "signup-1"}
    )
    second = await customers_get_or_create(
        autumn, {"customer_id": "cus_k"}, {"idempotency_key": "signup-1"}
    )

    assert first.ok, first
    assert not second.ok and isinstance(second.error, AutumnDefaultError)
    assert (second.error.status_code, second.error.code) == (409, "duplicate_idempotency_key")
