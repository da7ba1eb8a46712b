"""What goes on the wire: path, method, headers and the exact JSON body of each operation."""

from __future__ import annotations

import json
import platform
import re
from collections.abc import Callable

import aiohttp
import pytest

from autumn_core import AutumnCore, RequestOptions, SDKValidationError, __version__
from autumn_funcs import (
    CreateBalanceParams,
    Reset,
    ResetInterval,
    Rollover,
    RolloverDuration,
    UpdateBalanceParams,
    balances_create,
    balances_update,
)
from tests.scripted_server import ScriptedServer
from tests.sdk.conftest import CREATE_EXAMPLE, SECRET, UPDATE_EXAMPLE, header

CREATE_BYTES = (
    b'{"customer_id":"cus_123","feature_id":"api_calls","included_grant":1000,'
    b'"reset":{"interval":"month"}}'
)
UPDATE_BYTES = b'{"customer_id":"cus_123","feature_id":"api_calls","remaining":5}'


async def test_create_sends_the_seed_example_as_exact_json(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    res = await balances_create(core, CREATE_EXAMPLE)

    assert res.ok
    (request,) = scripted.requests
    assert request.method == "POST"
    assert request.path == "/v1/balances.create"
    assert request.body == CREATE_BYTES


async def test_update_sends_the_seed_example_as_exact_json(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    res = await balances_update(core, UPDATE_EXAMPLE)

    assert res.ok
    (request,) = scripted.requests
    assert request.method == "POST"
    assert request.path == "/v1/balances.update"
    assert request.body == UPDATE_BYTES


async def test_models_and_dicts_give_the_same_body(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    create = CreateBalanceParams(
        customer_id="cus_123",
        feature_id="api_calls",
        included_grant=1000,
        reset=Reset(interval=ResetInterval.MONTH),
    )
    update = UpdateBalanceParams(customer_id="cus_123", feature_id="api_calls", remaining=5)

    assert (await balances_create(core, create)).ok
    assert (await balances_update(core, update)).ok

    assert [r.body for r in scripted.requests] == [CREATE_BYTES, UPDATE_BYTES]


async def test_enum_and_plain_string_intervals_serialise_alike(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    base = {"customer_id": "c", "feature_id": "f", "included_grant": 1}
    await balances_create(core, {**base, "reset": {"interval": ResetInterval.SEMI_ANNUAL}})
    await balances_create(core, {**base, "reset": {"interval": "semi_annual"}})
    await balances_update(
        core, {"customer_id": "c", "feature_id": "f", "interval": ResetInterval.DAY}
    )

    bodies = [r.json() for r in scripted.requests]
    assert bodies[0]["reset"] == {"interval": "semi_annual"}
    assert scripted.requests[0].body == scripted.requests[1].body
    assert bodies[2] == {"customer_id": "c", "feature_id": "f", "interval": "day"}


async def test_unset_fields_are_not_sent_not_even_as_null(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    await balances_create(core, CreateBalanceParams(customer_id="c", feature_id="f"))
    await balances_update(core, {"customer_id": "c", "feature_id": "f", "entity_id": None})

    assert scripted.requests[0].body == b'{"customer_id":"c","feature_id":"f"}'
    assert scripted.requests[1].body == b'{"customer_id":"c","feature_id":"f"}'


async def test_later_create_fields_are_sent(core: AutumnCore, scripted: ScriptedServer) -> None:
    params = CreateBalanceParams(
        customer_id="cus_123",
        feature_id="api_calls",
        entity_id="ent_1",
        included_grant=100,
        reset=Reset(interval=ResetInterval.WEEK, interval_count=2),
        rollover=Rollover(length=1, max=50, duration=RolloverDuration.MONTH),
        next_reset_at=1_900_000_000_000,
        balance_id="bal_weekly",
    )
    assert (await balances_create(core, params)).ok

    assert scripted.requests[0].json() == {
        "customer_id": "cus_123",
        "feature_id": "api_calls",
        "entity_id": "ent_1",
        "included_grant": 100,
        "reset": {"interval": "week", "interval_count": 2},
        "rollover": {"length": 1, "max": 50, "duration": "month"},
        "next_reset_at": 1_900_000_000_000,
        "balance_id": "bal_weekly",
    }


async def test_create_unlimited_and_expiry_fields(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    await balances_create(
        core,
        {
            "customer_id": "c",
            "feature_id": "f",
            "unlimited": True,
            "expires_at": 1.9e12,
            "granted_balance": 7.5,
        },
    )
    assert scripted.requests[0].json() == {
        "customer_id": "c",
        "feature_id": "f",
        "unlimited": True,
        "expires_at": 1.9e12,
        "included_grant": 7.5,
    }


async def test_later_update_fields_are_sent(core: AutumnCore, scripted: ScriptedServer) -> None:
    params = {
        "customer_id": "cus_123",
        "feature_id": "api_calls",
        "usage": 12,
        "included_grant": 2000,
        "balance_id": "bal_1",
        "next_reset_at": 1_900_000_000_000,
        "expires_at": 1_950_000_000_000,
    }
    assert (await balances_update(core, params)).ok
    assert (await balances_update(core, UpdateBalanceParams(**params))).ok

    assert scripted.requests[0].json() == params
    assert scripted.requests[0].body == scripted.requests[1].body


async def test_add_to_balance_may_be_negative(core: AutumnCore, scripted: ScriptedServer) -> None:
    await balances_update(core, {"customer_id": "c", "feature_id": "f", "add_to_balance": -3.5})
    assert (
        scripted.requests[0].body == b'{"customer_id":"c","feature_id":"f","add_to_balance":-3.5}'
    )


async def test_non_ascii_ids_travel_as_utf8_json(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    await balances_update(core, {"customer_id": "cüs_ß", "feature_id": "f", "remaining": 1})
    assert json.loads(scripted.requests[0].body.decode("utf-8"))["customer_id"] == "cüs_ß"


async def test_headers_of_a_call(core: AutumnCore, scripted: ScriptedServer) -> None:
    await balances_create(core, CREATE_EXAMPLE)

    (request,) = scripted.requests
    assert header(request, "Authorization") == f"Bearer {SECRET}"
    assert header(request, "x-api-version") == "2.1"
    assert header(request, "Content-Type") == "application/json"
    assert header(request, "X-Retry-Count") is None
    user_agent = header(request, "User-Agent")
    assert user_agent is not None
    assert f"autumn-balances-python/{__version__}" in user_agent
    assert f"aiohttp/{aiohttp.__version__}" in user_agent
    assert f"python/{platform.python_version()}" in user_agent


async def test_api_version_and_user_agent_can_be_overridden(
    make_core: Callable[..., AutumnCore], scripted: ScriptedServer
) -> None:
    core = make_core(x_api_version="2025-06-01", user_agent="checkout-service/3")
    await balances_update(core, UPDATE_EXAMPLE)

    (request,) = scripted.requests
    assert header(request, "x-api-version") == "2025-06-01"
    assert header(request, "User-Agent") == "checkout-service/3"


async def test_each_call_gets_its_own_idempotency_key(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    for _ in range(3):
        await balances_create(core, CREATE_EXAMPLE)
    await balances_update(core, UPDATE_EXAMPLE)

    keys = [header(r, "Idempotency-Key") for r in scripted.requests]
    assert all(key and re.fullmatch(r"[\x21-\x7e]{8,255}", key) for key in keys), keys
    assert len(set(keys)) == 4


async def test_caller_idempotency_key_and_headers_are_sent(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    options = RequestOptions(idempotency_key="grant-order-42", headers={"X-Request-Source": "t"})
    res = await balances_create(core, CREATE_EXAMPLE, options)
    await balances_update(core, UPDATE_EXAMPLE, {"idempotency_key": "set-order-42"})

    assert res.ok
    first, second = scripted.requests
    assert header(first, "Idempotency-Key") == "grant-order-42"
    assert header(first, "X-Request-Source") == "t"
    assert header(second, "Idempotency-Key") == "set-order-42"
    assert header(second, "X-Request-Source") is None


async def test_per_call_server_url(core: AutumnCore, scripted: ScriptedServer) -> None:
    other = await ScriptedServer().start()
    try:
        res = await balances_create(core, CREATE_EXAMPLE, {"server_url": other.url + "/"})
        assert res.ok
        assert [r.path for r in other.requests] == ["/v1/balances.create"]
        assert scripted.requests == []
    finally:
        await other.stop()


async def test_server_url_with_a_path_prefix(
    make_core: Callable[..., AutumnCore], scripted: ScriptedServer
) -> None:
    core = make_core(server_url=scripted.url + "/autumn/")
    await balances_update(core, UPDATE_EXAMPLE)
    assert scripted.requests[0].path == "/autumn/v1/balances.update"


async def test_the_seeds_included_is_sent_as_included_grant(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    # Autumn's server drops `included` as an unknown key: sent as is, the seed's
    # own example would create a balance with no grant.
    seed = {**CREATE_EXAMPLE}
    seed["included"] = seed.pop("included_grant")
    assert (await balances_create(core, seed)).ok
    assert (await balances_create(core, CreateBalanceParams(**seed))).ok
    assert [r.body for r in scripted.requests] == [CREATE_BYTES, CREATE_BYTES]


async def test_granted_balance_is_sent_as_included_grant(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    await balances_create(core, {"customer_id": "c", "feature_id": "f", "granted_balance": 7})
    assert scripted.requests[0].json() == {
        "customer_id": "c",
        "feature_id": "f",
        "included_grant": 7,
    }


@pytest.mark.parametrize(
    "names",
    [
        ("included", "included_grant"),
        ("granted_balance", "included"),
        ("included_grant", "granted_balance"),
    ],
)
async def test_two_names_for_the_grant_are_refused_naming_both(
    core: AutumnCore, scripted: ScriptedServer, names: tuple[str, str]
) -> None:
    params = {"customer_id": "c", "feature_id": "f", names[0]: 1, names[1]: 2}
    res = await balances_create(core, params)
    assert not res.ok
    assert isinstance(res.error, SDKValidationError)
    assert all(name in str(res.error) for name in names)
    assert scripted.requests == []


def test_two_names_for_the_grant_are_refused_with_the_name_to_use() -> None:
    with pytest.raises(SDKValidationError) as refused:
        CreateBalanceParams(customer_id="c", feature_id="f", included=1, granted_balance=2)
    assert (refused.value.field, refused.value.message) == (
        "granted_balance",
        "invalid params: included and granted_balance name the same grant; set only one "
        "(included_grant is the name on the wire)",
    )


async def test_integral_floats_are_written_as_integers(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    # JavaScript writes 1000.0 as 1000; so does this SDK, byte for byte.
    seed = {**CREATE_EXAMPLE, "included_grant": 1000.0}
    await balances_create(core, seed)
    await balances_update(core, {**UPDATE_EXAMPLE, "remaining": 5.0})
    await balances_update(core, {**UPDATE_EXAMPLE, "remaining": 2.5})
    assert [r.body for r in scripted.requests] == [
        CREATE_BYTES,
        UPDATE_BYTES,
        UPDATE_BYTES.replace(b"5}", b"2.5}"),
    ]
