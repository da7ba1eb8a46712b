"""The chaos run, round three: updates of several steps, resends through a proxy
that answers 503, and every error's traceback rendered with its frames' locals.

900 calls at concurrency 32 against LocalAutumn with every fault kind on, each
with a witness of its own on the server:

- a create (one step) granting a unique amount;
- an update of two steps that succeeds (add_to_balance 1, next_reset_at) on a
  monthly balance of its own;
- an update of two steps whose second step is refused after the first was
  applied (add_to_balance 1, next_reset_at on a lifetime balance): Autumn keeps
  the first step and frees the key, so only the SDK can keep it from being
  applied twice.

Then every create left "unknown" is resent with its key through a proxy that
answers 503 without forwarding (it must still say "unknown", never "no"), then
straight to the server (which settles it).

Checked: nothing applied twice; an Ok applied once; an Err saying "no" applied
nothing; an update whose step may have run is "unknown" with may_be_partial
and advice that does not resend it; no traceback, locals included, shows the
key.
"""

from __future__ import annotations

import asyncio
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from autumn_core import Applied, AutumnCore, AutumnSDKError
from autumn_funcs import balances_create, balances_update
from autumn_local import FAULT_KINDS, LocalAutumn
from tests.resilience.conftest import SECRET, customer_balances, fast_retries
from tests.resilience.test_resend_doubt import Proxy, serving

pytestmark = pytest.mark.resilience

CALLS = 900
CONCURRENCY = 32
CUSTOMERS = 30
FAULTS = (
    "429=0.04,503=0.04,500=0.03,reset=0.03,delay=0.03,lost-response=0.05,"
    "delay-ms=300,retry-after=0,seed=22"
)
TIMEOUT_MS = 150
GRANT_BASE = 100_000
NEXT_RESET = 4_102_444_800_000  # 2100-01-01


def customer_of(i: int) -> str:
    return f"cus_steps_{i % CUSTOMERS}"


def request_of(i: int) -> tuple[Any, dict[str, Any]]:
    who = {"customer_id": customer_of(i)}
    if i % 3 == 0:
        return balances_create, {**who, "feature_id": "api_calls", "included_grant": GRANT_BASE + i}
    feature = "seats" if i % 3 == 1 else "credits"
    return balances_update, {
        **who,
        "feature_id": feature,
        "balance_id": f"b_{i}",
        "add_to_balance": 1,
        "next_reset_at": NEXT_RESET,
    }


def seeded_balances() -> list[dict[str, Any]]:
    rows = []
    for i in range(CALLS):
        if i % 3 == 1:  # monthly: both steps succeed
            rows.append(
                {
                    "customer_id": customer_of(i),
                    "feature_id": "seats",
                    "included_grant": 0,
                    "balance_id": f"b_{i}",
                    "reset": {"interval": "month"},
                }
            )
        elif i % 3 == 2:  # lifetime: the second step is refused
            rows.append(
                {
                    "customer_id": customer_of(i),
                    "feature_id": "credits",
                    "included_grant": 0,
                    "balance_id": f"b_{i}",
                }
            )
    return rows


async def applied_counts(server: LocalAutumn) -> Counter[int]:
    """Call index -> how many times the server applied it."""
    applied: Counter[int] = Counter()
    customers = await customer_balances(server, (f"cus_steps_{n}" for n in range(CUSTOMERS)))
    for balances in customers.values():
        for row in balances.get("api_calls", {}).get("breakdown", []):
            applied[int(row["included_grant"]) - GRANT_BASE] += 1
        for feature in ("seats", "credits"):
            for row in balances.get(feature, {}).get("breakdown", []):
                applied[int(row["id"].removeprefix("b_"))] += int(row["remaining"])
    return applied


def locals_shown(error: BaseException) -> str:
    rendered = traceback.TracebackException.from_exception(error, capture_locals=True)
    return "".join(rendered.format())


async def test_chaos_with_update_steps_and_a_503_proxy(tmp_path: Path) -> None:
    db = tmp_path / "steps.sqlite3"
    config = {
        "features": [
            {"id": "seats", "type": "metered"},
            {"id": "credits", "type": "metered"},
        ],
        "customers": [{"id": f"cus_steps_{n}"} for n in range(CUSTOMERS)],
        "balances": seeded_balances(),
    }
    results: dict[int, Any] = {}
    through_proxy: dict[int, Applied] = {}
    settled: dict[int, str] = {}
    async with LocalAutumn(
        secret_key=SECRET, db_path=db, config=config, faults=FAULTS, rate_limits=False
    ) as server:
        queue = list(range(CALLS))
        async with AutumnCore(
            SECRET,
            server_url=server.url,
            retry_config=fast_retries(max_retries=2),
            timeout_ms=TIMEOUT_MS,
        ) as core:

            async def worker() -> None:
                while queue:  # bounded: CALLS items, none added
                    i = queue.pop()
                    function, params = request_of(i)
                    results[i] = await function(core, params)

            await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
            injected = server.fault_counts
            server.set_faults(None)
            unknown_creates = {
                i: res.error.idempotency_key
                for i, res in results.items()
                if i % 3 == 0 and not res.ok and res.error.applied is Applied.UNKNOWN
            }
            proxy = Proxy(server.url)
            proxy.down = True
            async with serving(proxy) as proxy_url:
                for i, key in unknown_creates.items():
                    _, params = request_of(i)
                    res = await balances_create(
                        core, params, {"idempotency_key": key, "server_url": proxy_url}
                    )
                    through_proxy[i] = res.error.applied
            for i, key in unknown_creates.items():
                _, params = request_of(i)
                res = await balances_create(core, params, {"idempotency_key": key})
                settled[i] = "now" if res.ok else str(res.error.applied)
    async with LocalAutumn(secret_key=SECRET, db_path=db) as reopened:
        applied = await applied_counts(reopened)

    errors: list[AutumnSDKError] = [res.error for res in results.values() if not res.ok]
    doubled = [i for i in range(CALLS) if applied[i] > 1]
    ok_not_once = [i for i, res in results.items() if res.ok and applied[i] != 1]
    said_no = [i for i, r in results.items() if not r.ok and r.error.applied is Applied.NO]
    phantom = [i for i in said_no if applied[i] > 0]
    partial_wrong = [
        i
        for i, r in results.items()
        if i % 3 and not r.ok and applied[i] and not r.error.may_be_partial
    ]
    advice_to_resend = [
        i
        for i, r in results.items()
        if not r.ok and r.error.may_be_partial and "resend the same call" in str(r.error)
    ]
    refused_ok = [i for i, r in results.items() if i % 3 == 2 and r.ok]
    proxy_said_no = [i for i, a in through_proxy.items() if a is not Applied.UNKNOWN]
    unsettled = [i for i, how in settled.items() if how not in ("now", "already")]
    leaked = [i for i, r in results.items() if not r.ok and SECRET in locals_shown(r.error)]
    print(
        f"\nchaos (steps) run: calls={CALLS} faults={sum(injected.values())} "
        + " ".join(f"{k}={injected[k]}" for k in FAULT_KINDS)
        + f"\n  ok={CALLS - len(errors)} err={len(errors)} "
        f"by applied: {dict(Counter(str(e.applied) for e in errors))} "
        f"may_be_partial={sum(e.may_be_partial for e in errors)}"
        f"\n  creates unknown resent through the 503 proxy={len(through_proxy)} "
        f"(still unknown {len(through_proxy) - len(proxy_said_no)}), then settled "
        f"{len(settled) - len(unsettled)}"
        f"\n  doubled={len(doubled)} ok-not-once={len(ok_not_once)} "
        f"said-no-but-applied={len(phantom)} partial-not-said={len(partial_wrong)} "
        f"secret-in-locals={len(leaked)}"
    )
    assert all(injected[kind] > 0 for kind in FAULT_KINDS), injected
    assert doubled == [] and ok_not_once == [] and phantom == []
    assert partial_wrong == [] and advice_to_resend == [] and refused_ok == []
    assert proxy_said_no == [] and unsettled == []
    assert leaked == []
    assert sum(1 for i in range(2, CALLS, 3) if applied[i] == 1) > 0  # the case happened
