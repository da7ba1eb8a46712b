"""Customers and entities as Autumn's server keeps them: one scenario per behaviour.

Written from Autumn's source (``customers/cusUtils/initCustomer.ts``,
``actions/updateCustomerData.ts``, ``createWithDefaults/``,
``CusService.insertOrClaimEmail``, ``shared/api/common/customerId.ts`` and
``customerData.ts``, ``cusUtils/apiCusUtils/getApiCustomerExpandV2.ts``,
``shared/api/errors/classes/``, ``entities/handlers/handleGetEntity/``) and
the facts of its integration tests (``crud/customers/create-customer*.test.ts``,
``get-customer.test.ts``).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.local.conftest import KEY, Api, Reply

GET_OR_CREATE = "/v1/customers.get_or_create"


async def get_or_create(api: Api, **body: Any) -> Reply:
    return await api.post(GET_OR_CREATE, body)


async def test_a_new_customer_keeps_metadata_fingerprint_and_receipts(api: Api) -> None:
    sent = {
        "customer_id": "cus_new",
        "name": "Ada",
        "email": "ada@example.com",
        "fingerprint": "device-42",
        "metadata": {"plan": "team", "seats": 3, "tags": ["a"]},
        "send_email_receipts": True,
    }
    created = (await get_or_create(api, **sent)).ok()
    shown = await api.customer("cus_new")
    for view in (created, shown):
        assert view["fingerprint"] == "device-42"
        assert view["metadata"] == {"plan": "team", "seats": 3, "tags": ["a"]}
        assert view["send_email_receipts"] is True
    # Defaults, as initCustomer has them: no fingerprint, {} and false.
    plain = (await get_or_create(api, customer_id="cus_plain")).ok()
    assert (plain["fingerprint"], plain["metadata"], plain["send_email_receipts"]) == (
        None,
        {},
        False,
    )


async def test_an_existing_customer_gets_empty_fields_filled_and_receipts_updated(
    api: Api,
) -> None:
    (await get_or_create(api, customer_id="cus_9", fingerprint="f1", metadata={"a": 1})).ok()
    again = (
        await get_or_create(
            api,
            customer_id="cus_9",
            name="Nine",
            email="nine@example.com",
            fingerprint="f2",
            metadata={"b": 2},
            send_email_receipts=True,
        )
    ).ok()
    # Name and email were empty: filled. Fingerprint and metadata are not updated.
    assert (again["name"], again["email"]) == ("Nine", "nine@example.com")
    assert (again["fingerprint"], again["metadata"]) == ("f1", {"a": 1})
    assert again["send_email_receipts"] is True
    third = (
        await get_or_create(
            api,
            customer_id="cus_9",
            name="Other",
            email="other@example.com",
            send_email_receipts=False,
        )
    ).ok()
    # Never overwritten; send_email_receipts follows what is sent.
    assert (third["name"], third["email"]) == ("Nine", "nine@example.com")
    assert third["send_email_receipts"] is False
    # Not sent: left as it is.
    fourth = (await get_or_create(api, customer_id="cus_9")).ok()
    assert fourth["send_email_receipts"] is False
    assert await api.customer("cus_9") == fourth


async def test_a_null_id_customer_is_found_again_by_its_email(api: Api) -> None:
    first = (
        await get_or_create(api, customer_id=None, name="First", email="null@example.com")
    ).ok()
    assert (first["id"], first["name"], first["email"]) == (None, "First", "null@example.com")
    # Same email, any case: the same customer (create-customer-null-id.test.ts).
    again = (
        await get_or_create(api, customer_id=None, name="Second", email="NULL@EXAMPLE.COM")
    ).ok()
    assert (again["id"], again["name"], again["created_at"]) == (
        None,
        "First",
        first["created_at"],
    )
    # Any letter's case, as Postgres' lower() folds it: the second call is the first customer.
    sent = {"customer_id": None, "email": "élodie@example.com", "name": "Élodie"}
    (await get_or_create(api, **sent)).ok()
    same = (await get_or_create(api, **(sent | {"email": "ÉLODIE@example.com", "name": "x"}))).ok()
    assert (same["email"], same["name"]) == ("élodie@example.com", "Élodie")
    # A different email is another customer.
    api.server.clock.advance(ms=5)
    other = (await get_or_create(api, customer_id=None, email="other@example.com")).ok()
    assert other["id"] is None and other["created_at"] != first["created_at"]
    # A call with an id and that email claims the id-less customer.
    claimed = (
        await get_or_create(api, customer_id="claimed", name="Has id", email="null@example.com")
    ).ok()
    assert (claimed["id"], claimed["name"], claimed["created_at"]) == (
        "claimed",
        "First",
        first["created_at"],
    )
    assert (await api.customer("claimed"))["email"] == "null@example.com"
    # Claimed: no id-less customer has that email any more.
    fresh = (await get_or_create(api, customer_id=None, email="null@example.com")).ok()
    assert fresh["id"] is None and fresh["created_at"] != first["created_at"]
    # Without an email there is nothing to find the customer by.
    (await get_or_create(api, customer_id=None, name="No email")).error(
        400, "invalid_request", mentions="Either customer ID or email is required"
    )
    (await get_or_create(api, name="No id key")).error(
        400, "invalid_inputs", mentions="customer_id"
    )


@pytest.mark.parametrize(
    ("customer_id", "says"),
    [
        ("a.b", "cannot contain periods"),
        ("ada@example.com", "cannot contain @ symbol"),
        ("a b", "cannot contain spaces"),
        ("a/b", "cannot contain '/'"),
        ("a+b", "cannot contain '+'"),
    ],
)
async def test_customer_ids_are_restricted_on_customer_calls_only(
    api: Api, customer_id: str, says: str
) -> None:
    (await get_or_create(api, customer_id=customer_id)).error(400, "invalid_inputs", mentions=says)
    (await api.post("/v1/customers.get", {"customer_id": customer_id})).error(
        400, "invalid_inputs", mentions="customer_id"
    )
    # Nothing was created, and check accepts the id as it is (404: no such customer).
    (await api.check(customer_id=customer_id, feature_id="api_calls")).error(
        404, "customer_not_found"
    )
    for allowed in ("cus_1", "A-b:c_9"):
        assert (await get_or_create(api, customer_id=allowed)).ok()["id"] == allowed


@pytest.mark.parametrize("email", ["not-an-email", "two@@example.com", "a b@example.com", ""])
async def test_an_invalid_email_is_refused(api: Api, email: str) -> None:
    (await get_or_create(api, customer_id="cus_e", email=email)).error(
        400, "invalid_inputs", mentions="email"
    )
    (await api.post("/v1/customers.get", {"customer_id": "cus_e"})).error(404, "customer_not_found")


async def test_customers_get_honours_expand(ents: Api) -> None:
    (await ents.create(**KEY, included_grant=10)).ok()
    (await ents.create(customer_id="cus_123", feature_id="premium")).ok()
    plain = await ents.customer()
    for key in ("invoices", "entities", "trials_used", "referrals", "payment_method"):
        assert key not in plain
    expanded = (
        await ents.post(
            "/v1/customers.get",
            {
                "customer_id": "cus_123",
                "expand": [
                    "invoices",
                    "trials_used",
                    "entities",
                    "referrals",
                    "payment_method",
                    "rewards",
                    "balances.feature",
                    "flags.feature",
                ],
            },
        )
    ).ok()
    assert (expanded["invoices"], expanded["trials_used"], expanded["referrals"]) == ([], [], [])
    assert expanded["payment_method"] is None
    assert "rewards" not in expanded  # no payment processor: Autumn leaves it out
    assert [(e["id"], e["name"], e["customer_id"]) for e in expanded["entities"]] == [
        ("seat_1", "Seat 1", "cus_123"),
        ("seat_2", None, "cus_123"),
    ]
    assert list(expanded["entities"][0]) == [
        "id",
        "name",
        "customer_id",
        "feature_id",
        "created_at",
        "env",
    ]
    balance = expanded["balances"]["api_calls"]
    assert list(balance)[:2] == ["feature_id", "feature"]
    assert balance["feature"]["id"] == "api_calls"
    assert expanded["flags"]["premium"]["feature"]["id"] == "premium"
    # A comma-separated string works on customers.get (queryStringArray).
    string = (
        await ents.post(
            "/v1/customers.get", {"customer_id": "cus_123", "expand": "invoices,entities"}
        )
    ).ok()
    assert string["invoices"] == [] and len(string["entities"]) == 2
    # get_or_create honours it too.
    created = (await get_or_create(ents, customer_id="cus_x", expand=["entities"])).ok()
    assert created["entities"] == []
    (await ents.post("/v1/customers.get", {"customer_id": "cus_123", "expand": ["nope"]})).error(
        400, "invalid_inputs", mentions="expand"
    )


async def test_not_found_messages_read_as_autumns(ents: Api) -> None:
    (await ents.post("/v1/customers.get", {"customer_id": "nobody"})).error(
        404, "customer_not_found", mentions="Customer nobody not found"
    )
    (await ents.check(customer_id="cus_123", feature_id="ghost")).error(
        404, "feature_not_found", mentions="Feature ghost not found"
    )
    (await ents.create(customer_id="nobody", feature_id="api_calls", included_grant=1)).error(
        404, "customer_not_found", mentions="Customer nobody not found"
    )
    (
        await ents.create(
            customer_id="cus_123", entity_id="seat_9", feature_id="api_calls", included_grant=1
        )
    ).error(404, "entity_not_found", mentions="Entity seat_9 not found")


async def test_entities_get_finds_the_customer_from_the_entity(ents: Api) -> None:
    (await ents.create(**KEY, entity_id="seat_1", included_grant=7)).ok()
    found = (await ents.post("/v1/entities.get", {"entity_id": "seat_1"})).ok()
    assert (found["id"], found["customer_id"]) == ("seat_1", "cus_123")
    assert found["balances"]["api_calls"]["remaining"] == 7
    with_id = (
        await ents.post("/v1/entities.get", {"customer_id": "cus_123", "entity_id": "seat_1"})
    ).ok()
    assert with_id == found
    # No entity of that id anywhere: Autumn's findCustomerForEntity throws an InternalError.
    (await ents.post("/v1/entities.get", {"entity_id": "seat_9"})).error(
        500, "internal_error", mentions="No entities found for entityId seat_9"
    )


async def test_entities_get_needs_customer_id_when_two_customers_share_the_entity_id(
    http: Any,
) -> None:
    from autumn_local import LocalAutumn

    config = {
        "customers": [{"id": "cus_a"}, {"id": "cus_b"}],
        "entities": [
            {"id": "seat", "customer_id": "cus_a"},
            {"id": "seat", "customer_id": "cus_b"},
        ],
    }
    async with LocalAutumn(config=config) as server:
        api = Api(http, server)
        (await api.post("/v1/entities.get", {"entity_id": "seat"})).error(
            400, "entity_id_required", mentions="Include customer_id"
        )
        got = await api.post("/v1/entities.get", {"customer_id": "cus_b", "entity_id": "seat"})
        assert got.ok()["customer_id"] == "cus_b"


async def test_entities_get_for_an_unknown_customer_is_entity_not_found(ents: Api) -> None:
    (await ents.post("/v1/entities.get", {"customer_id": "nobody", "entity_id": "seat_1"})).error(
        404, "entity_not_found", mentions="Entity seat_1 not found"
    )
    (await ents.post("/v1/entities.get", {"customer_id": "cus_123", "entity_id": "nope"})).error(
        404, "entity_not_found", mentions="Entity nope not found"
    )
