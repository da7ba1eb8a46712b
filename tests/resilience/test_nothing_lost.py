"""Promise 3: nothing is lost, nothing is doubled, every Err says whether it may
have been applied, and every "maybe" can be settled.

2,000 calls (1,000 creates, 1,000 add_to_balance updates) at concurrency 64
against LocalAutumn with every fault kind on at realistic rates, Retry-After 0
and a millisecond backoff. Each call has its own witness on the server -- a
create grants a unique amount, an update adds 1 to a balance of its own -- so
the state says, call by call, how many times it was applied:

- reported Ok (deduplicated or not): applied exactly once;
- Err with `applied` "no": applied zero times;
- Err with `applied` "unknown": resent with its own idempotency key (faults
  off), which settles it: Ok (applied now) or 409 with `applied` "already"
  (applied before); either way applied exactly once.

The server is stopped before the check, which waits for attempts the client
gave up on (delayed past its timeout) to finish, and reopened on its database
file for the read.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from autumn_core import (
    APIConnectionError,
    Applied,
    AutumnCore,
    AutumnDefaultError,
    Hooks,
    RequestTimeoutError,
)
from autumn_funcs import balances_create, balances_update
from autumn_local import FAULT_KINDS, LocalAutumn
from tests.resilience.conftest import SECRET, customer_balances, fast_retries

pytestmark = pytest.mark.resilience

CALLS = 2_000
CONCURRENCY = 64
CUSTOMERS = 40
FAULTS = (
    "429=0.03,503=0.03,500=0.02,reset=0.02,delay=0.03,lost-response=0.03,"
    "delay-ms=300,retry-after=0,seed=2024"
)
TIMEOUT_MS = 150  # below delay-ms: a delayed attempt times out, then commits on the server
GRANT_BASE = 100_000
# Retries that ran out on one of these leave an Err the caller can explain.
EXPLAINED = {"429", "500", "503", "409", "APIConnectionError", "RequestTimeoutError"}


def customer_of(n: int) -> str:
    return f"cus_chaos_{n % CUSTOMERS}"


def request_of(i: int) -> tuple[Any, dict[str, Any]]:
    if i % 2 == 0:
        return balances_create, {
            "customer_id": customer_of(i),
            "feature_id": "api_calls",
            "included_grant": GRANT_BASE + i,
        }
    j = i // 2
    return balances_update, {
        "customer_id": customer_of(j),
        "feature_id": "seats",
        "balance_id": f"target_{j}",
        "add_to_balance": 1,
    }


def kind_of(res: Any) -> str:
    """ "ok", "ok-deduplicated", or "<applied>:<what failed>" for an Err."""
    if res.ok:
        return "ok-deduplicated" if res.deduplicated else "ok"
    error = res.error
    if isinstance(error, AutumnDefaultError):
        failed = str(error.status_code)
    else:
        assert isinstance(error, (APIConnectionError, RequestTimeoutError)), error
        failed = type(error).__name__
    return f"{error.applied.value}:{failed}"


async def settle(core: AutumnCore, i: int, key: str) -> str:
    """Resend call `i` with its key: "applied-now", "applied-before", or what else it got."""
    function, params = request_of(i)
    res = await function(core, params, {"idempotency_key": key})
    if res.ok:
        return "applied-now"
    if res.error.applied is Applied.ALREADY:
        return "applied-before"
    return f"unsettled:{kind_of(res)}"


async def applied_counts(server: LocalAutumn) -> Counter[int]:
    """Call index -> how many times the server applied it."""
    applied: Counter[int] = Counter()
    customers = await customer_balances(server, (f"cus_chaos_{n}" for n in range(CUSTOMERS)))
    for balances in customers.values():
        for row in balances.get("api_calls", {}).get("breakdown", []):
            applied[int(row["included_grant"]) - GRANT_BASE] += 1
        for row in balances["seats"]["breakdown"]:
            j = int(row["id"].removeprefix("target_"))
            applied[2 * j + 1] += int(row["remaining"])
    return applied


async def test_chaos_run_loses_nothing_and_doubles_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "chaos.sqlite3"
    config = {
        "customers": [{"id": f"cus_chaos_{n}"} for n in range(CUSTOMERS)],
        "balances": [
            {
                "customer_id": customer_of(j),
                "feature_id": "seats",
                "included_grant": 0,
                "balance_id": f"target_{j}",
            }
            for j in range(CALLS // 2)
        ],
    }
    results: dict[int, Any] = {}
    settled: dict[int, str] = {}
    async with LocalAutumn(
        secret_key=SECRET, db_path=db, config=config, faults=FAULTS, rate_limits=False
    ) as server:
        pending: asyncio.Queue[int] = asyncio.Queue()
        for i in range(CALLS):
            pending.put_nowait(i)
        # The default budget of two retries: some calls run out of it, as in production.
        retry = fast_retries(max_retries=2)
        attempts = Counter[str]()
        hooks = Hooks(
            after_success=[lambda *_: attempts.update(["ok"])],
            after_error=[lambda *_: attempts.update(["failed"])],
        )
        async with AutumnCore(
            SECRET, server_url=server.url, retry_config=retry, timeout_ms=TIMEOUT_MS, hooks=hooks
        ) as core:

            async def worker() -> None:
                while not pending.empty():  # bounded: CALLS items, none added
                    i = pending.get_nowait()
                    function, params = request_of(i)
                    results[i] = await function(core, params)

            await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
            injected = server.fault_counts
            http_attempts = attempts.total()
            # What a caller does with each "unknown": send it again with its key.
            server.set_faults(None)
            unknown = {
                i: res.error.idempotency_key
                for i, res in results.items()
                if not res.ok and res.error.applied is Applied.UNKNOWN
            }
            for i, key in unknown.items():
                settled[i] = await settle(core, i, key)
    # Stopped: every attempt the client gave up on has finished. Read what stands.
    async with LocalAutumn(secret_key=SECRET, db_path=db) as reopened:
        applied = await applied_counts(reopened)

    kinds = {i: kind_of(res) for i, res in results.items()}
    reported = {i for i, k in kinds.items() if k.startswith(("ok", "already:"))}
    settled_applied = {i for i, how in settled.items() if how.startswith("applied")}
    lost = [i for i in reported | settled_applied if applied[i] == 0]
    doubled = [i for i in range(CALLS) if applied[i] > 1]
    definitely_not = {i for i, k in kinds.items() if k.startswith("no:")}
    phantom = [i for i in definitely_not if applied[i] > 0]  # "not applied", but it was
    unexplained = {
        i: k for i, k in kinds.items() if ":" in k and k.partition(":")[2] not in EXPLAINED
    }
    unsettled = {i: how for i, how in settled.items() if not how.startswith("applied")}
    err_kinds = Counter(k for k in kinds.values() if not k.startswith("ok"))
    verdicts = Counter(k.partition(":")[0] for k in err_kinds.elements())
    outcomes = Counter(settled.values())

    print(
        f"\nchaos run: calls={len(results)} concurrency={CONCURRENCY} "
        f"http attempts={http_attempts} "
        f"faults injected={sum(injected.values())} "
        + " ".join(f"{kind}={injected[kind]}" for kind in FAULT_KINDS)
        + f"\n  ok={sum(k.startswith('ok') for k in kinds.values())} "
        f"(deduplicated={sum(k == 'ok-deduplicated' for k in kinds.values())}) "
        f"err={sum(err_kinds.values())}: applied=no {verdicts['no']}, "
        f"unknown {verdicts['unknown']}, already {verdicts['already']}; "
        f"by kind: {dict(sorted(err_kinds.items()))}"
        f"\n  unknown resent with their key: {len(settled)}, "
        f"settled {len(settled) - len(unsettled)}"
        f" (applied by the resend {outcomes['applied-now']}, "
        f"applied before {outcomes['applied-before']})"
        f"\n  applied on the server={sum(applied.values())} = reported applied {len(reported)}"
        f" + settled as applied {len(settled_applied)}"
        f"\n  lost={len(lost)} double-applied={len(doubled)} "
        f"said-not-applied-but-applied={len(phantom)} unexplained={len(unexplained)}"
    )
    assert len(results) == CALLS
    assert all(injected[kind] > 0 for kind in FAULT_KINDS), injected
    assert lost == [] and doubled == [] and phantom == []
    assert unexplained == {} and unsettled == {}
    assert verdicts["already"] == 0  # the SDK's keys are the calls' own
    # The state is exactly the calls reported as applied plus the settled ones.
    assert sum(applied.values()) == len(reported) + len(settled_applied)
    server_errors = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("autumn_local") and r.levelno >= logging.ERROR
    ]
    assert server_errors == []
