"""Rules across fields, refused before any I/O with the field and the reason, whether
the params come as a model or as a dict: a delete that would delete every balance,
a recalculation without its feature, a release given an override value."""

from __future__ import annotations

from typing import Any

import pytest

from autumn_core import AutumnCore, SDKValidationError
from autumn_funcs import (
    Autumn,
    DeleteBalanceParams,
    FinalizeLockParams,
    Lock,
    balances_delete,
    balances_finalize,
)
from tests.scripted_server import ScriptedServer

EVERY_BALANCE = (
    "set feature_id or balance_id: without either, Autumn deletes every balance of the customer"
)
RECALCULATE = "recalculate_balances needs feature_id (Autumn answers 400 without it)"
RELEASE = "only a confirm takes it, not a release (Autumn answers 400)"

CASES: list[tuple[type[Any], Any, dict[str, Any], str, str]] = [
    (DeleteBalanceParams, balances_delete, {"customer_id": "cus_1"}, "feature_id", EVERY_BALANCE),
    (
        DeleteBalanceParams,
        balances_delete,
        {"customer_id": "cus_1", "balance_id": "promo", "recalculate_balances": True},
        "feature_id",
        RECALCULATE,
    ),
    (
        FinalizeLockParams,
        balances_finalize,
        {"lock_id": "job_1", "action": "release", "override_value": 3},
        "override_value",
        RELEASE,
    ),
]


@pytest.mark.parametrize(("model", "function", "fields", "field", "reason"), CASES)
async def test_a_model_and_a_dict_are_refused_alike(
    model: type[Any],
    function: Any,
    fields: dict[str, Any],
    field: str,
    reason: str,
    core: AutumnCore,
    scripted: ScriptedServer,
) -> None:
    with pytest.raises(SDKValidationError) as built:
        model(**fields)
    res = await function(core, fields)
    assert isinstance(res.error, SDKValidationError)
    assert built.value.message == f"invalid {field}: {reason}"
    for error in (built.value, res.error):
        assert error.field == field
        assert (field, reason) in error.problems
    assert scripted.requests == []


def test_what_the_rules_allow_is_built() -> None:
    assert DeleteBalanceParams(customer_id="c", balance_id="promo").balance_id == "promo"
    assert DeleteBalanceParams(customer_id="c", feature_id="f", recalculate_balances=True)
    assert FinalizeLockParams(lock_id="j", action="confirm", override_value=3).override_value == 3


def test_a_lock_id_is_at_most_256_characters() -> None:
    assert Lock(lock_id="j" * 256, enabled=True).lock_id == "j" * 256
    with pytest.raises(SDKValidationError) as long:
        Lock(lock_id="j" * 257, enabled=True)
    assert long.value.field == "lock_id"
    assert long.value.message == "invalid lock_id: at most 256 characters"
    assert ("lock_id", "at most 256 characters") in long.value.problems


@pytest.mark.parametrize(
    ("options", "field", "message"),
    [
        (42, "options", "invalid options: expected RequestOptions or a dict, got int"),
        ({"no_such": 1}, "options.no_such", "invalid options.no_such: unknown option"),
        (
            {"timeout_ms": 0},
            "options.timeout_ms",
            "invalid options.timeout_ms: expected milliseconds > 0, got 0",
        ),
    ],
)
async def test_bad_options_say_what_was_expected(
    core: AutumnCore, scripted: ScriptedServer, options: Any, field: str, message: str
) -> None:
    res = await balances_delete(core, {"customer_id": "c", "feature_id": "f"}, options)
    assert isinstance(res.error, SDKValidationError)
    assert (res.error.field, res.error.message) == (field, message)
    assert scripted.requests == []


async def test_params_and_keyword_fields_together_are_refused(scripted: ScriptedServer) -> None:
    async with Autumn("am_sk_test_x", server_url=scripted.url) as autumn:
        with pytest.raises(SDKValidationError) as both:
            await autumn.balances.check({"customer_id": "c", "feature_id": "f"}, customer_id="c")
    assert (both.value.field, both.value.message) == (
        "params",
        "params: pass one params object or keyword fields, not both",
    )
    assert scripted.requests == []
