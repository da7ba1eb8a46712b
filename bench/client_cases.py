"""One client under test, run in a fresh process so its CPU time and memory are its own.

``python bench/client_cases.py CASE URL throughput --concurrency 64 --seconds 1``
warms up, then calls ``balances.create`` from CONCURRENCY tasks for SECONDS and
prints ``{"calls", "cpu_s", "wall_s"}`` as JSON (CPU = user+system of this process).

``python bench/client_cases.py CASE URL inflight --calls 10000`` starts CALLS
calls at once against a server that delays its answer and prints the peak RSS.

Cases: ``raw`` (plain aiohttp), ``sdk_func`` (standalone function),
``sdk_facade`` (the raising ``Autumn`` class) and ``peer`` (autumn-sdk; run it
with the peer virtual environment's Python). Each case imports only its own
client, so the peer environment never needs aiohttp or this SDK.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

SECRET_KEY = "am_sk_test_bench"
PATH = "/v1/balances.create"
BODY = {
    "customer_id": "cus_123",
    "feature_id": "api_calls",
    "included_grant": 1000,
    "reset": {"interval": "month"},
}

Call = Callable[[], Awaitable[None]]


def aiohttp_session(unlimited: bool):  # type: ignore[no-untyped-def]
    """The session both aiohttp-based cases share settings for; ``None`` keeps the SDK default."""
    import aiohttp

    if not unlimited:
        return None
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))


@contextlib.asynccontextmanager
async def raw(url: str, unlimited: bool) -> AsyncIterator[Call]:
    import aiohttp

    body = json.dumps(BODY).encode()
    headers = {
        "Authorization": f"Bearer {SECRET_KEY}",
        "x-api-version": "2.1",
        "Content-Type": "application/json",
        "User-Agent": "bench-raw-aiohttp",
    }
    async with aiohttp_session(unlimited) or aiohttp.ClientSession() as session:

        async def call() -> None:
            call_headers = {**headers, "Idempotency-Key": str(uuid.uuid4())}
            async with session.post(url + PATH, data=body, headers=call_headers) as response:
                payload = json.loads(await response.read())
                if response.status != 200 or payload.get("success") is not True:
                    raise RuntimeError(f"unexpected answer {response.status}: {payload}")

        yield call


@contextlib.asynccontextmanager
async def sdk_func(url: str, unlimited: bool) -> AsyncIterator[Call]:
    from autumn_core import AutumnCore
    from autumn_funcs import balances_create

    session = aiohttp_session(unlimited)
    async with AutumnCore(secret_key=SECRET_KEY, server_url=url, session=session) as core:

        async def call() -> None:
            result = await balances_create(core, BODY)
            if not result.ok:
                raise RuntimeError(f"call failed: {result.error!r}")

        yield call
    if session is not None:
        await session.close()


@contextlib.asynccontextmanager
async def sdk_facade(url: str, unlimited: bool) -> AsyncIterator[Call]:
    from autumn_funcs import Autumn

    if unlimited:
        raise SystemExit("the facade case runs with the SDK's default session only")
    async with Autumn(secret_key=SECRET_KEY, server_url=url) as autumn:

        async def call() -> None:
            await autumn.balances.create(BODY)

        yield call


@contextlib.asynccontextmanager
async def peer(url: str, unlimited: bool) -> AsyncIterator[Call]:
    from autumn_sdk import Autumn

    if unlimited:
        raise SystemExit("the peer case runs with its default httpx client only")
    async with Autumn(secret_key=SECRET_KEY, server_url=url, x_api_version="2.1") as autumn:
        # autumn-sdk 1.x names the 2.1 field `included` `included_grant`; same wire intent.
        async def call() -> None:
            await autumn.balances.create_async(
                customer_id=BODY["customer_id"],
                feature_id=BODY["feature_id"],
                included_grant=1000,
                reset={"interval": "month"},
                http_headers={"Idempotency-Key": str(uuid.uuid4())},
            )

        yield call


CASES = {"raw": raw, "sdk_func": sdk_func, "sdk_facade": sdk_facade, "peer": peer}


async def drive(call: Call, concurrency: int, seconds: float) -> int:
    """Call from ``concurrency`` tasks until ``seconds`` pass; return how many calls finished."""
    deadline = time.perf_counter() + seconds
    done = 0

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await call()
            done += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done


async def throughput(
    call: Call, concurrency: int, seconds: float, warmup: float
) -> dict[str, float]:
    await drive(call, concurrency, warmup)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    calls = await drive(call, concurrency, seconds)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {"calls": calls, "cpu_s": cpu, "wall_s": wall}


def current_rss_kib() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


async def inflight(call: Call, calls: int) -> dict[str, float]:
    await call()  # warm: lazy imports and the first connection are not per-call costs
    before = current_rss_kib()
    wall0 = time.perf_counter()
    await asyncio.gather(*(call() for _ in range(calls)))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"rss_before_kib": before, "peak_rss_kib": peak, "wall_s": time.perf_counter() - wall0}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("case", choices=CASES)
    parser.add_argument("url")
    modes = parser.add_subparsers(dest="mode", required=True)
    tp = modes.add_parser("throughput")
    tp.add_argument("--concurrency", type=int, default=1)
    tp.add_argument("--seconds", type=float, default=1.0)
    tp.add_argument("--warmup", type=float, default=0.3)
    fl = modes.add_parser("inflight")
    fl.add_argument("--calls", type=int, default=10_000)
    args = parser.parse_args()

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    async with CASES[args.case](args.url, args.mode == "inflight") as call:
        if args.mode == "throughput":
            result = await throughput(call, args.concurrency, args.seconds, args.warmup)
        else:
            result = await inflight(call, args.calls)
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
