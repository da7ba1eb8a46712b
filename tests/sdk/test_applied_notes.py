"""The advice an error gives about whether its change was applied, word for word: it
is what a caller acts on, and a wrong word could lead to a grant applied twice."""

from __future__ import annotations

from collections.abc import Callable

from autumn_core import AutumnCore, RetryConfig
from autumn_funcs import balances_create, balances_update
from tests.scripted_server import ScriptedServer, autumn_error, drop_connection
from tests.sdk.conftest import CREATE_EXAMPLE

MakeCore = Callable[..., AutumnCore]
NO_RETRIES = RetryConfig(max_retries=0)
LOST = "connection failed: ServerDisconnectedError: Server disconnected"


async def test_a_change_in_doubt_says_to_resend_with_its_key(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    scripted.then(drop_connection())
    res = await balances_create(make_core(retry_config=NO_RETRIES), CREATE_EXAMPLE)
    key = scripted.requests[0].headers["Idempotency-Key"]
    assert str(res.error) == (
        f"{LOST} (attempts=1, idempotency_key={key}). The change may have been applied: no "
        "attempt got a definite answer. To settle it, resend the same call with "
        f'options={{"idempotency_key": "{key}"}}; the server never applies one key twice, '
        "so its answer says which it was"
    )


async def test_an_update_in_steps_in_doubt_says_not_to_resend(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    scripted.then(drop_connection())
    params = {
        "customer_id": "cus_1",
        "feature_id": "api_calls",
        "remaining": 5,
        "included_grant": 10,
    }
    res = await balances_update(make_core(retry_config=NO_RETRIES), params)
    key = scripted.requests[0].headers["Idempotency-Key"]
    assert str(res.error) == (
        f"{LOST} (attempts=1, idempotency_key={key}). Some of the update's steps may have "
        "been applied: the server applies them one by one, keeps those applied when a later "
        "one fails, and then frees the idempotency key, so resending this call, even with its "
        "key, could apply a step twice. Read the balance (customers.get) to see what took "
        "effect, then send only what is missing, with a new key; to make each step "
        "retry-safe, update one field per call"
    )


async def test_a_key_used_before_says_nothing_was_applied_by_this_call(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    scripted.then(autumn_error(409, "duplicate_idempotency_key"))
    options = {"idempotency_key": "order-7"}
    res = await balances_create(make_core(retry_config=NO_RETRIES), CREATE_EXAMPLE, options)
    assert str(res.error) == (
        "409 duplicate_idempotency_key: refused (attempts=1, idempotency_key=order-7). The "
        "server already accepted a request with this idempotency key, so this call applied "
        "nothing. It does not compare bodies: if the key stands for this very change (an "
        "order id, or the key of an earlier call whose outcome was unknown), the change is "
        "applied, once; if the key was used for something else, send this change with a key "
        "of its own"
    )
