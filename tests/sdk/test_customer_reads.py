"""customers_get, customers_get_or_create and entities_get against a scripted server: the
exact request, no Idempotency-Key where repeating the call is harmless, and the customer
and entity views read into models."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from autumn_core import AutumnCore, ResponseValidationError, SDKValidationError
from autumn_funcs import (
    AutoTopup,
    AutoTopupPurchaseLimit,
    BillingControls,
    CustomerConfig,
    CustomerExpand,
    GetCustomerParams,
    GetOrCreateCustomerParams,
    Subscription,
    customers_get,
    customers_get_or_create,
    entities_get,
)
from tests.scripted_server import ScriptedServer, autumn_error, json_reply
from tests.sdk.answers import CUSTOMER, ENTITY, fresh
from tests.sdk.conftest import header

MakeCore = Callable[..., AutumnCore]


async def test_get_sends_the_exact_body_and_no_key(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    scripted.then(json_reply(200, CUSTOMER))
    params = GetCustomerParams(
        customer_id="cus_123", expand=[CustomerExpand.ENTITIES, CustomerExpand.BALANCES_FEATURE]
    )
    res = await customers_get(core, params)

    assert res.ok, res
    (request,) = scripted.requests
    assert (request.method, request.path) == ("POST", "/v1/customers.get")
    assert request.body == b'{"customer_id":"cus_123","expand":["entities","balances.feature"]}'
    assert header(request, "Idempotency-Key") is None


async def test_get_reads_the_customer_view(core: AutumnCore, scripted: ScriptedServer) -> None:
    scripted.then(json_reply(200, CUSTOMER))
    res = await customers_get(core, {"customer_id": "cus_123"})

    assert res.ok, res
    customer = res.value
    assert (customer.id, customer.name, customer.env, customer.created_at) == (
        "cus_123",
        "Patrick",
        "sandbox",
        1771409161016,
    )
    messages = customer.balances["messages"]
    assert (messages.granted, messages.remaining, messages.usage) == (100, 0, 100)
    assert messages.breakdown[0].id == "cus_ent_39qmLooixXLAqMywgXywjAz96rV"
    assert customer.flags["advanced_workflows"].plan_id == "pro_plan"
    assert customer.subscriptions[0] == Subscription(
        id="cus_prod_2xY",
        plan_id="pro_plan",
        auto_enable=True,
        add_on=False,
        status="active",
        past_due=False,
        canceled_at=None,
        expires_at=None,
        trial_ends_at=None,
        started_at=1771431921437,
        current_period_start=1771431921437,
        current_period_end=1771999921437,
        quantity=1,
    )
    assert customer.billing_controls == BillingControls()
    assert customer.config == CustomerConfig(
        disable_pooled_balance=False, disable_overage_billing=False
    )
    assert customer.processors == {"stripe": {"id": "cus_U0BKxpq1mFhuJO"}}
    # Fields of `expand` not asked for are None, not empty.
    assert (customer.invoices, customer.entities, customer.trials_used) == (None, None, None)


async def test_the_expanded_parts_and_billing_controls_are_read(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    answer = fresh(CUSTOMER)
    answer["billing_controls"] = {
        "auto_topups": [
            {
                "feature_id": "credits",
                "threshold": 10,
                "quantity": 100,
                "purchase_limit": {
                    "interval": "month",
                    "interval_count": 1,
                    "limit": 3,
                    "count": 1,
                    "next_reset_at": 1800000000000,
                },
                "source": "plan",
            }
        ],
        "usage_limits": [
            {
                "feature_id": "messages",
                "limit": 1000,
                "interval": "day",
                "filter": {"properties": {"model": "gpt", "tier": 2, "beta": True}},
            }
        ],
        "spend_limits": [{"feature_id": "messages", "enabled": True, "overage_limit": 50}],
        "usage_alerts": [{"threshold": 80, "threshold_type": "usage_percentage"}],
        "overage_allowed": [{"feature_id": "messages", "enabled": True}],
    }
    answer["entities"] = [
        {"id": "seat_1", "name": None, "created_at": 1, "env": "sandbox", "customer_id": "cus_123"}
    ]
    answer["invoices"] = [
        {
            "plan_ids": ["pro_plan"],
            "stripe_id": "in_1",
            "status": "paid",
            "total": 20,
            "currency": "usd",
            "created_at": 2,
        }
    ]
    answer["trials_used"] = [{"plan_id": "pro_plan", "customer_id": "cus_123"}]
    answer["subscriptions"][0]["plan"] = {"id": "pro_plan", "name": "Pro", "items": []}
    answer["licenses"] = [
        {
            "license_plan_id": "seat",
            "parent_plan_id": "pro_plan",
            "license_plan_name": "Seat",
            "granted": 5,
            "usage": 2,
            "remaining": 3,
            "paid_quantity": 5,
        }
    ]
    answer["rewards"] = None
    scripted.then(json_reply(200, answer))
    res = await customers_get(core, {"customer_id": "cus_123", "expand": ["entities", "invoices"]})

    assert res.ok, res
    customer = res.value
    controls = customer.billing_controls
    assert controls.auto_topups == [
        AutoTopup(
            feature_id="credits",
            threshold=10,
            quantity=100,
            purchase_limit=AutoTopupPurchaseLimit(
                interval="month", interval_count=1, limit=3, count=1, next_reset_at=1800000000000
            ),
            source="plan",
        )
    ]
    limit = controls.usage_limits[0]
    assert limit.enabled is True  # the schema's default when left out
    assert limit.filter is not None
    assert limit.filter.properties == {"model": "gpt", "tier": 2, "beta": True}
    assert controls.spend_limits[0].overage_limit == 50
    assert controls.usage_alerts[0].feature_id is None
    assert controls.overage_allowed[0].enabled is True
    assert customer.entities is not None and customer.entities[0].id == "seat_1"
    assert customer.invoices is not None and customer.invoices[0].processor_type == "stripe"
    assert customer.trials_used is not None and customer.trials_used[0].fingerprint is None
    assert customer.subscriptions[0].plan == {"id": "pro_plan", "name": "Pro", "items": []}
    assert customer.licenses[0].remaining == 3


async def test_a_customer_without_an_id_and_unknown_fields_are_read(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    answer = fresh(CUSTOMER)
    answer["id"] = None
    answer["autumn_id"] = "cus_internal"
    answer["balances"]["messages"]["object"] = "balance"
    answer["something_new"] = [1, 2]
    scripted.then(json_reply(200, answer))
    res = await customers_get(core, {"customer_id": "cus_internal"})

    assert res.ok, res
    assert res.value.id is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda a: a.pop("send_email_receipts"), "send_email_receipts"),
        (lambda a: a.update(email=5), "email"),
        (lambda a: a["subscriptions"][0].pop("id"), "subscriptions.0.id"),
        (lambda a: a.update(metadata=None), "metadata"),
        (lambda a: a["balances"].update(messages=None), "balances.messages"),
    ],
)
async def test_a_view_off_the_schema_is_a_response_validation_error(
    core: AutumnCore, scripted: ScriptedServer, change: Callable[[dict[str, Any]], Any], field: str
) -> None:
    answer = fresh(CUSTOMER)
    change(answer)
    scripted.then(json_reply(200, answer))
    res = await customers_get(core, {"customer_id": "cus_123"})

    assert not res.ok
    assert isinstance(res.error, ResponseValidationError)
    assert field in str(res.error)


async def test_get_is_retried_without_a_key(make_core: MakeCore, scripted: ScriptedServer) -> None:
    scripted.then(autumn_error(503, "unavailable"), json_reply(200, CUSTOMER))
    res = await customers_get(make_core(), {"customer_id": "cus_123"})

    assert res.ok, res
    assert [header(r, "Idempotency-Key") for r in scripted.requests] == [None, None]


async def test_get_refuses_a_callers_key_and_bad_expand_before_any_io(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    keyed = await customers_get(core, {"customer_id": "cus_123"}, {"idempotency_key": "k"})
    expand = await customers_get(core, {"customer_id": "cus_123", "expand": ["balance.feature"]})

    assert not keyed.ok and isinstance(keyed.error, SDKValidationError)
    assert keyed.error.field == "options.idempotency_key"
    assert not expand.ok and isinstance(expand.error, SDKValidationError)
    assert expand.error.field == "expand.0"
    assert scripted.requests == []


async def test_get_or_create_with_an_id_is_retried_without_a_key(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    # The id makes a repeat harmless: the retry gets the customer the first attempt made,
    # where a reused key would get 409 and no customer.
    scripted.then(autumn_error(503, "unavailable"), json_reply(200, CUSTOMER))
    params = {"customer_id": "cus_123", "name": "Patrick", "metadata": {"plan": "pro"}}
    res = await customers_get_or_create(make_core(), params)

    assert res.ok, res
    assert [header(r, "Idempotency-Key") for r in scripted.requests] == [None, None]
    assert scripted.requests[0].path == "/v1/customers.get_or_create"
    assert scripted.requests[0].body == (
        b'{"customer_id":"cus_123","name":"Patrick","metadata":{"plan":"pro"}}'
    )


async def test_get_or_create_without_an_id_sends_no_key(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    # Autumn finds a customer created without an id by its email: a retry returns
    # it, where a reused key would be a 409 after an answer that was lost.
    scripted.then(autumn_error(503, "unavailable"), json_reply(200, CUSTOMER))
    params = GetOrCreateCustomerParams(customer_id=None, email="ada@example.com")
    res = await customers_get_or_create(make_core(), params)

    assert res.ok, res
    assert [header(r, "Idempotency-Key") for r in scripted.requests] == [None, None]
    assert scripted.requests[0].body == b'{"customer_id":null,"email":"ada@example.com"}'


async def test_get_or_create_sends_the_callers_key(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    scripted.then(json_reply(200, CUSTOMER))
    res = await customers_get_or_create(
        core, {"customer_id": "cus_123"}, {"idempotency_key": "signup-9"}
    )

    assert res.ok, res
    assert header(scripted.requests[0], "Idempotency-Key") == "signup-9"


async def test_get_or_create_sends_every_field(core: AutumnCore, scripted: ScriptedServer) -> None:
    scripted.then(json_reply(200, CUSTOMER))
    params = {
        "customer_id": "cus_123",
        "name": "Ada",
        "email": "ada@example.com",
        "fingerprint": "dev_1",
        "metadata": {"a": 1},
        "stripe_id": "cus_S",
        "create_in_stripe": False,
        "auto_enable_plan_id": "free",
        "send_email_receipts": True,
        "currency": "eur",
        "billing_controls": {"spend_limits": [{"feature_id": "m", "overage_limit": 5}]},
        "config": {"disable_pooled_balance": True},
        "expand": ["invoices"],
    }
    assert (await customers_get_or_create(core, params)).ok
    assert scripted.requests[0].json() == params


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"name": "Ada"}, "customer_id"),
        ({"customer_id": 5}, "customer_id"),
        ({"customer_id": "c", "config": {"disable_pooling": True}}, "config.disable_pooling"),
        ({"customer_id": "c", "billing_controls": [1]}, "billing_controls"),
    ],
)
async def test_get_or_create_refuses_bad_params_by_name(
    core: AutumnCore, scripted: ScriptedServer, params: dict[str, Any], field: str
) -> None:
    res = await customers_get_or_create(core, params)

    assert not res.ok
    assert isinstance(res.error, SDKValidationError)
    assert res.error.field == field, res.error
    assert scripted.requests == []


async def test_entities_get_sends_no_key_and_reads_the_entity(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    scripted.then(json_reply(200, ENTITY))
    res = await entities_get(core, {"customer_id": "cus_123", "entity_id": "seat_42"})

    assert res.ok, res
    (request,) = scripted.requests
    # Fields without a default come first in a body: here the entity's id.
    assert (request.path, request.body) == (
        "/v1/entities.get",
        b'{"entity_id":"seat_42","customer_id":"cus_123"}',
    )
    assert header(request, "Idempotency-Key") is None
    entity = res.value
    assert (entity.id, entity.customer_id, entity.feature_id) == ("seat_42", "cus_123", "seats")
    assert entity.balances["messages"].remaining == 72
    assert entity.invoices == []
    assert entity.billing_controls is None


async def test_entities_get_needs_only_the_entity_id(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    scripted.then(json_reply(200, ENTITY))
    assert (await entities_get(core, {"entity_id": "seat_42"})).ok
    assert scripted.requests[0].body == b'{"entity_id":"seat_42"}'

    missing = await entities_get(core, {"customer_id": "cus_123"})
    assert not missing.ok and isinstance(missing.error, SDKValidationError)
    assert missing.error.field == "entity_id"
