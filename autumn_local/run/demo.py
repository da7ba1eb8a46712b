"""``python -m autumn_local demo``: the SDK, as the docs show it, against a local server.

This is the one module of ``autumn_local`` that uses the SDK; it is a client,
and imports the SDK inside the function so the server never depends on it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, TypeVar

from autumn_local.run.server import LocalAutumn

if TYPE_CHECKING:  # for a type checker only: the server still never imports the SDK
    from autumn_core import AutumnCore, AutumnSDKError, Result
    from autumn_funcs import (
        CheckParamsDict,
        CheckResponse,
        CreateBalanceParamsDict,
        TrackParamsDict,
        TrackResponse,
        UpdateBalanceParamsDict,
    )

__all__ = ["run_demo"]

_T = TypeVar("_T")
_P = TypeVar("_P")

CREATE_PARAMS: CreateBalanceParamsDict = {
    "customer_id": "cus_123",
    "feature_id": "api_calls",
    "included_grant": 1000,
    "reset": {"interval": "month"},
}
CHECK_PARAMS: CheckParamsDict = {
    "customer_id": "cus_123",
    "feature_id": "api_calls",
    "required_balance": 5,
}
TRACK_PARAMS: TrackParamsDict = {"customer_id": "cus_123", "feature_id": "api_calls", "value": 5}
UPDATE_PARAMS: UpdateBalanceParamsDict = {
    "customer_id": "cus_123",
    "feature_id": "api_calls",
    "remaining": 5,
}
FAILING_PARAMS: UpdateBalanceParamsDict = {
    "customer_id": "cus_123",
    "feature_id": "no_such_feature",
    "remaining": 5,
}


async def _step(
    heading: str,
    operation: Callable[[AutumnCore, _P], Awaitable[Result[_T, AutumnSDKError]]],
    core: AutumnCore,
    params: _P,
    summary: Callable[[_T], str] = str,
) -> _T | None:
    """Print the call, run it and print its outcome; the response, or None for an error."""
    print(f"{heading}: {operation.__name__}(core, {json.dumps(params)})")
    res = await operation(core, params)
    if not res.ok:
        print(f"   -> Err: {res.error}")
        return None
    print(f"   -> Ok: {summary(res.value)}")
    return res.value


def _allowed(checked: CheckResponse) -> str:
    left = checked.balance.remaining if checked.balance else None
    return f"allowed={checked.allowed}, remaining {left}"


def _tracked(tracked: TrackResponse) -> str:
    left = tracked.balance.remaining if tracked.balance else None
    return f"value {tracked.value}, remaining {left}"


async def _print_balance(core: AutumnCore) -> None:
    from autumn_funcs import customers_get

    res = await customers_get(core, {"customer_id": "cus_123"})
    if not res.ok:
        print(f"   customers_get -> Err: {res.error}")
        return
    balance = res.value.balances.get("api_calls")
    if balance is None:
        print("   cus_123 has no api_calls balance")
        return
    when = balance.next_reset_at
    resets = (
        datetime.fromtimestamp(when / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        if when is not None
        else "never"
    )
    print(
        f"   customers_get -> cus_123 api_calls: granted {balance.granted}, "
        f"remaining {balance.remaining}, usage {balance.usage}, next reset {resets}"
    )


async def run_demo() -> int:
    """Run the walkthrough; returns a process exit status (0 when every step behaved)."""
    try:
        from autumn_core import AutumnCore
        from autumn_funcs import balances_check, balances_create, balances_track, balances_update
    except ImportError as exc:
        print(f"demo: the SDK (autumn_core, autumn_funcs) is not importable: {exc}")
        return 1

    steps_ok = True
    async with LocalAutumn() as server:
        print(f"Local Autumn server at {server.url} (secret key {server.secret_key},")
        print("in-memory database seeded with customer cus_123 and feature api_calls)\n")
        async with AutumnCore(secret_key=server.secret_key, server_url=server.url) as core:
            created = await _step("1. Grant", balances_create, core, CREATE_PARAMS)
            steps_ok &= created is not None
            await _print_balance(core)

            checked = await _step("\n2. Gate", balances_check, core, CHECK_PARAMS, _allowed)
            steps_ok &= checked is not None and checked.allowed

            tracked = await _step("\n3. Record", balances_track, core, TRACK_PARAMS, _tracked)
            steps_ok &= tracked is not None

            updated = await _step("\n4. Adjust", balances_update, core, UPDATE_PARAMS)
            steps_ok &= updated is not None
            await _print_balance(core)

            print(f"\n5. A failure: balances_update(core, {json.dumps(FAILING_PARAMS)})")
            res3 = await balances_update(core, FAILING_PARAMS)
            if res3.ok:
                print(f"   -> unexpectedly Ok: {res3.value}")
                steps_ok = False
            else:
                error = res3.error
                print(f"   -> Err: {type(error).__name__}")
                for name in ("status_code", "code", "message"):
                    print(f"      .{name} = {getattr(error, name, None)!r}")
    print("\nDone." if steps_ok else "\nA step did not behave as expected.")
    return 0 if steps_ok else 1
