"""Property: for any params, a call returns a Result (never raises); what it sends is
exactly the params minus unset fields, and refused params send nothing."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from autumn_core import AutumnCore, RetryConfig, SDKValidationError
from autumn_funcs import balances_create, balances_update
from tests.property_examples import examples
from tests.scripted_server import ScriptedServer
from tests.sdk.conftest import SECRET

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**60), max_value=2**60),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["month", "day", "one_off", "fortnight", "forever"]),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=2),
    st.dictionaries(
        st.sampled_from(["interval", "interval_count", "length", "max", "duration", "x"]),
        scalars,
        max_size=3,
    ),
)
CREATE_KEYS = [
    "customer_id",
    "feature_id",
    "entity_id",
    "included_grant",
    "unlimited",
    "reset",
    "expires_at",
    "granted_balance",
    "included",
    "rollover",
    "next_reset_at",
    "balance_id",
    "featureId",
]
UPDATE_KEYS = [
    "customer_id",
    "feature_id",
    "entity_id",
    "remaining",
    "add_to_balance",
    "interval",
    "usage",
    "included_grant",
    "balance_id",
    "next_reset_at",
    "expires_at",
]


def params_for(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    # Mostly well-formed ids, so that valid calls are common enough to exercise the wire.
    ids = st.fixed_dictionaries(
        {
            "customer_id": st.text(min_size=1, max_size=8),
            "feature_id": st.text(min_size=1, max_size=8),
        }
    )
    extra = st.dictionaries(st.sampled_from(keys), values, max_size=4)
    return st.one_of(
        st.builds(lambda a, b: {**a, **b}, ids, extra),
        extra,
    )


def without_unset(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_unset(v) for k, v in value.items() if v is not None}
    return value


def as_sent(params: dict[str, Any]) -> dict[str, Any]:
    """The body expected on the wire: unset fields dropped, the grant's aliases renamed."""
    body = without_unset(params)
    for alias in ("included", "granted_balance"):
        if alias in body:
            body["included_grant"] = body.pop(alias)
    return body


def finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(finite(v) for v in value.values())
    if isinstance(value, list):
        return all(finite(v) for v in value)
    return True


async def check(core: AutumnCore, scripted: ScriptedServer, call: Any, params: Any) -> None:
    before = len(scripted.requests)
    res = await call(core, params)
    sent = scripted.requests[before:]
    event("sent" if res.ok else f"refused: {type(res.error).__name__}")
    if res.ok:
        (request,) = sent
        assert request.json() == as_sent(params)
        assert finite(params)
    else:
        assert isinstance(res.error, SDKValidationError), res.error
        assert res.error.field
        assert sent == []


SETTINGS = settings(
    max_examples=examples(150),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@SETTINGS
@given(params=params_for(CREATE_KEYS))
async def test_create_any_params(scripted: ScriptedServer, params: dict[str, Any]) -> None:
    async with AutumnCore(
        SECRET, server_url=scripted.url, retry_config=RetryConfig(strategy="none")
    ) as core:
        await check(core, scripted, balances_create, params)


@SETTINGS
@given(params=params_for(UPDATE_KEYS))
async def test_update_any_params(scripted: ScriptedServer, params: dict[str, Any]) -> None:
    async with AutumnCore(
        SECRET, server_url=scripted.url, retry_config=RetryConfig(strategy="none")
    ) as core:
        await check(core, scripted, balances_update, params)
