"""Arbitrary JSON bodies never make the server answer 500 or change state half-way."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.local.conftest import MONTHLY, Api

FIELDS = [
    "customer_id",
    "feature_id",
    "entity_id",
    "included",
    "included_grant",
    "current_balance",
    "granted_balance",
    "unlimited",
    "reset",
    "rollover",
    "expires_at",
    "next_reset_at",
    "balance_id",
    "remaining",
    "add_to_balance",
    "usage",
    "interval",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**60), 2**60),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["cus_123", "api_calls", "seats", "premium", "month", "one_off", ""]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(["interval", "interval_count", "length", "max", "x"]), inner, max_size=3
        ),
    ),
    max_leaves=6,
)
bodies = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=5), values, max_size=8)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(body=bodies, path=st.sampled_from(["/v1/balances.create", "/v1/balances.update"]))
async def test_random_bodies_get_a_clear_answer(bulk: Api, body: dict[str, Any], path: str) -> None:
    reply = await bulk.post(path, body)
    assert reply.status in (200, 400, 404, 409, 500), (reply.status, reply.body, body)
    if reply.status != 200:
        assert set(reply.body) == {"message", "code", "env"}
    if reply.status == 500:
        # Autumn's own answer to a create that breaks a grant rule; never a crash.
        assert (path, reply.body["code"]) == ("/v1/balances.create", "invalid_inputs")


USAGE_FIELDS = [
    "customer_id",
    "feature_id",
    "entity_id",
    "event_name",
    "value",
    "required_balance",
    "required_quantity",
    "product_id",
    "send_event",
    "with_preview",
    "properties",
    "timestamp",
    "overage_behavior",
    "idempotency_key",
    "async",
    "lock",
    "lock_id",
    "action",
    "override_value",
    "balance_id",
    "interval",
    "recalculate_balances",
]
usage_values = st.one_of(
    values,
    st.sampled_from(["cap", "overflow", "reject", "confirm", "release", "words"]),
    st.fixed_dictionaries(
        {"enabled": st.just(True), "lock_id": st.sampled_from(["l1", "l2"])},
        optional={"expires_at": st.integers(0, 2**45)},
    ),
)
usage_bodies = st.dictionaries(
    st.sampled_from(USAGE_FIELDS) | st.text(max_size=5), usage_values, max_size=8
)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    body=usage_bodies,
    path=st.sampled_from(
        ["/v1/balances.check", "/v1/balances.track", "/v1/balances.delete", "/v1/balances.finalize"]
    ),
)
async def test_random_usage_bodies_get_a_clear_answer(
    usage: Api, body: dict[str, Any], path: str
) -> None:
    for feature_id in ("words", "credits", "seats", "api_calls"):
        await usage.create(customer_id="cus_123", feature_id=feature_id, included_grant=5)
    reply = await usage.post(path, body)
    assert reply.status in (200, 202, 400, 404, 409), (reply.status, reply.body, body)
    if reply.status >= 400:
        assert set(reply.body) == {"message", "code", "env"}


async def test_failed_updates_leave_state_untouched(api: Api) -> None:
    (await api.create(**MONTHLY)).ok()
    before = await api.balance()
    bad = [
        {"remaining": "5", "add_to_balance": 1},
        {"usage": 5000, "expires_at": 1},
        {"add_to_balance": -5000, "balance_id": "none", "included_grant": 5},
        {"included_grant": 5, "usage": [10]},
        {"next_reset_at": 0},
    ]
    for fields in bad:
        reply = await api.update(customer_id="cus_123", feature_id="api_calls", **fields)
        assert reply.status in (400, 404), reply.body
    assert await api.balance() == before
