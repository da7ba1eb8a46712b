"""Every answer is read for what it is, whatever answers came before it."""

from __future__ import annotations

from autumn_core import AutumnCore, ResponseValidationError
from autumn_funcs import CreateBalanceResponse, balances_create
from tests.scripted_server import ScriptedServer, json_reply, raw_reply
from tests.sdk.conftest import CREATE_EXAMPLE, SECRET


async def test_alternating_answers_are_each_read_for_what_they_are(
    scripted: ScriptedServer,
) -> None:
    scripted.then(
        json_reply(200, {"success": True}),
        json_reply(200, {"success": False}),
        json_reply(200, {"success": True}),
        raw_reply(200, b"", "application/json"),
        json_reply(200, {"success": True, "new_field": 1}),
    )
    async with AutumnCore(SECRET, server_url=scripted.url) as core:
        results = [await balances_create(core, CREATE_EXAMPLE) for _ in range(5)]
    values = [r.value if r.ok else r.error for r in results]
    assert values[0] == CreateBalanceResponse(success=True)
    assert values[1] == CreateBalanceResponse(success=False)
    assert values[2] == CreateBalanceResponse(success=True)
    assert isinstance(values[3], ResponseValidationError)
    assert values[4] == CreateBalanceResponse(success=True)


async def test_a_different_answer_is_never_given_an_earlier_model(
    scripted: ScriptedServer,
) -> None:
    scripted.then(json_reply(200, {"success": True}), json_reply(200, {"success": True, "x": 1}))
    async with AutumnCore(SECRET, server_url=scripted.url) as core:
        first = await balances_create(core, CREATE_EXAMPLE)
        second = await balances_create(core, CREATE_EXAMPLE)
    assert first.ok and second.ok
    assert first.value == second.value
    assert second.value is not first.value
