"""What each operation decides from the shape of its params and options, and the errors
it gives for params it refuses, against a scripted server on 127.0.0.1: whether a
check consumes (and so sends a key) for any mapping, whether get_or_create sends the
caller's key from a RequestOptions as from a dict, and each refusal's fields."""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

import pytest

from autumn_core import AutumnCore, RequestOptions, SDKValidationError
from autumn_funcs import (
    Autumn,
    CreateBalanceParams,
    DeleteBalanceParams,
    FinalizeLockParams,
    Lock,
    balances_check,
    balances_track,
    customers_get_or_create,
)
from autumn_funcs._lock import MAX_LOCK_ID_LENGTH
from tests.scripted_server import ScriptedServer, json_reply
from tests.sdk.answers import CHECK_ALLOWED, CUSTOMER, fresh
from tests.sdk.conftest import SECRET, header


async def test_a_consuming_check_given_as_any_mapping_sends_the_callers_key(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    scripted.then(json_reply(200, CHECK_ALLOWED))
    params = MappingProxyType({"customer_id": "c", "feature_id": "f", "send_event": True})
    res = await balances_check(core, params, {"idempotency_key": "req-9"})

    assert res.ok, res
    assert header(scripted.requests[0], "Idempotency-Key") == "req-9"


async def test_get_or_create_sends_a_key_only_when_the_caller_gives_one(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    scripted.then(json_reply(200, fresh(CUSTOMER)), json_reply(200, fresh(CUSTOMER)))
    keyed = await customers_get_or_create(
        core, {"customer_id": "cus_123"}, RequestOptions(idempotency_key="signup-7")
    )
    unkeyed = await customers_get_or_create(core, {"customer_id": "cus_123"}, {"timeout_ms": 5000})

    assert keyed.ok and unkeyed.ok, (keyed, unkeyed)
    assert [header(r, "Idempotency-Key") for r in scripted.requests] == ["signup-7", None]


async def test_params_and_keyword_fields_together_are_refused_saying_so(
    scripted: ScriptedServer,
) -> None:
    async with Autumn(SECRET, server_url=scripted.url) as autumn:
        with pytest.raises(SDKValidationError) as both:
            await autumn.balances.check({"customer_id": "c", "feature_id": "f"}, customer_id="c")

    assert str(both.value) == "params: pass one params object or keyword fields, not both"
    assert scripted.requests == []


async def test_a_models_own_rule_names_its_field_in_the_problems(
    core: AutumnCore, scripted: ScriptedServer
) -> None:
    res = await balances_track(core, {"customer_id": "c", "feature_id": "f", "event_name": "e"})

    assert not res.ok and isinstance(res.error, SDKValidationError)
    assert list(res.error.problems) == [("feature_id", "set feature_id or event_name, not both")]
    with pytest.raises(SDKValidationError) as aliases:
        CreateBalanceParams(customer_id="c", feature_id="f", included_grant=5, included=5)
    assert list(aliases.value.problems) == [
        ("included", "names the same grant as included_grant; set only one")
    ]
    assert scripted.requests == []


REFUSALS: dict[str, tuple[Callable[[], object], str, str]] = {
    "delete-everything": (
        lambda: DeleteBalanceParams(customer_id="c"),
        "feature_id",
        "set feature_id or balance_id: without either, Autumn deletes every balance of the "
        "customer",
    ),
    "recalculate-without-feature": (
        lambda: DeleteBalanceParams(customer_id="c", balance_id="b", recalculate_balances=True),
        "feature_id",
        "recalculate_balances needs feature_id (Autumn answers 400 without it)",
    ),
    "release-with-value": (
        lambda: FinalizeLockParams(lock_id="l", action="release", override_value=1),
        "override_value",
        "only a confirm takes it, not a release (Autumn answers 400)",
    ),
    "lock-id-too-long": (
        lambda: Lock(enabled=True, lock_id="x" * (MAX_LOCK_ID_LENGTH + 1)),
        "lock_id",
        "at most 256 characters",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_rule_across_fields_is_refused_naming_the_field_and_why(case: str) -> None:
    build, field, reason = REFUSALS[case]
    with pytest.raises(SDKValidationError) as refused:
        build()
    error = refused.value
    assert (error.field, str(error), list(error.problems)) == (
        field,
        f"invalid {field}: {reason}",
        [(field, reason)],
    )


def test_a_lock_id_of_the_longest_length_is_taken() -> None:
    assert len(Lock(enabled=True, lock_id="x" * MAX_LOCK_ID_LENGTH).lock_id) == 256
