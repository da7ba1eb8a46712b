"""The usage recorder: what `track()` costs the caller, and events per second delivered.

1. `recorder.track()` per event, in memory and with a SQLite spool: the time of
   each call (no I/O happens in it; the sender does not run between calls).
2. End to end into the local server (its own process, a SQLite file, rate
   limits off): per-call `await balances_track` from 16 tasks for a few seconds,
   against the recorder delivering N events (`flush()` included); the server's
   usage is read back to confirm every event was applied once.
3. The same with the server's rate limits on (Autumn's 10 batch requests per
   second per organisation): the recorder at its default pacing.
4. A FastAPI request that records an event: the time the handler spends on it,
   `recorder.track()` against `await balances_track` (ASGI in process, the
   local server in its own process).

Run alone: ``python bench/bench_recorder.py [--events N]``; prints Markdown tables.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness import SDK_PYTHON, SECRET_KEY, free_port, percentile, server_process

from autumn_core import AutumnCore, unwrap
from autumn_funcs import UsageRecorder, balances_create, balances_track, customers_get_or_create

CUSTOMERS = [f"cus_rec_{n}" for n in range(10)]


def _event(n: int) -> dict[str, Any]:
    return {"customer_id": CUSTOMERS[n % 10], "feature_id": "api_calls"}


@contextlib.contextmanager
def local_server(rate_limits: bool) -> Iterator[str]:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        argv = [SDK_PYTHON, "-m", "autumn_local", "serve", "--port", str(port),
                "--secret-key", SECRET_KEY, "--db", str(Path(tmp) / "bench.db")]  # fmt: skip
        if not rate_limits:
            argv.append("--no-rate-limits")
        with server_process(argv, port):
            yield f"http://127.0.0.1:{port}"


async def _grant(core: AutumnCore) -> None:
    for customer in CUSTOMERS:
        assert (await customers_get_or_create(core, {"customer_id": customer})).ok
        grant = {"customer_id": customer, "feature_id": "api_calls", "included_grant": 10**12}
        assert (await balances_create(core, grant)).ok


async def _usage(url: str) -> int:
    from autumn_funcs import customers_get

    async with AutumnCore(SECRET_KEY, server_url=url) as core:
        total = 0
        for customer in CUSTOMERS:
            got = unwrap(await customers_get(core, {"customer_id": customer}))
            total += int(got.balances["api_calls"].usage)
        return total


# 1. track() per event ---------------------------------------------------------------


async def track_cost(spool: Path | None, count: int) -> tuple[float, float]:
    """Median and p99 of one `track()` call, in microseconds."""
    async with AutumnCore(SECRET_KEY, server_url="http://127.0.0.1:9") as core:
        recorder = UsageRecorder(core, flush_interval=3600, max_pending=count + 1, spool=spool)
        clock = time.perf_counter_ns
        samples = []
        for n in range(count):
            event = _event(n)
            start = clock()
            recorder.track(event)
            samples.append(clock() - start)
        recorder._queue.release()  # nothing to deliver: this measures the caller's side
        await recorder.aclose(timeout=0.01)
    samples.sort()
    return percentile(samples, 50) / 1000, percentile(samples, 99) / 1000


# 2 and 3. events per second ----------------------------------------------------------


async def per_call(url: str, seconds: float, tasks: int = 16) -> float:
    async with AutumnCore(SECRET_KEY, server_url=url) as core:
        await _grant(core)
        sent = 0
        stop_at = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal sent
            n = 0
            while time.perf_counter() < stop_at:
                assert (await balances_track(core, _event(n))).ok
                n += 1
                sent += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(tasks)))
        return sent / (time.perf_counter() - start)


async def ceiling(url: str, seconds: float, connections: int = 2) -> float:
    """What the server absorbs with no SDK at all: pre-encoded batches of 1,000 keyed
    events (fresh keys per batch) posted from `connections` connections; events/s."""
    import json

    import aiohttp

    headers = {"Authorization": f"Bearer {SECRET_KEY}", "Content-Type": "application/json"}
    bodies = [
        json.dumps([{**_event(n), "idempotency_key": f"ceil_{b}_{n}"} for n in range(1000)])
        for b in range(400)
    ]
    sent = 0
    async with AutumnCore(SECRET_KEY, server_url=url) as core:
        await _grant(core)
    async with aiohttp.ClientSession() as http:
        stop_at = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal sent
            while time.perf_counter() < stop_at and bodies:
                body = bodies.pop()
                async with http.post(f"{url}/v1/balances.batch_track", data=body,
                                     headers=headers) as answer:  # fmt: skip
                    assert answer.status == 200, await answer.text()
                sent += 1000

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        return sent / (time.perf_counter() - start)


async def recorded(
    url: str, events: int, spooled: bool = True, **settings: Any
) -> tuple[float, int, float]:
    """Events/s from the first track() to the end of flush(), the usage applied, and this
    process's CPU per event (µs): track() and delivery."""
    async with AutumnCore(SECRET_KEY, server_url=url) as core:
        await _grant(core)
        before = await _usage(url)
        with tempfile.TemporaryDirectory() as tmp:
            spool = Path(tmp) / "spool.db" if spooled else None
            async with UsageRecorder(core, spool=spool, **settings) as recorder:
                start, cpu = time.perf_counter(), time.process_time()
                for n in range(events):
                    recorder.track(_event(n))
                    if n % 500 == 499:
                        await asyncio.sleep(0)  # a service yields between requests
                assert await recorder.flush(600)
                elapsed = time.perf_counter() - start
                cpu = time.process_time() - cpu
                stats = recorder.stats()
        assert stats.delivered == events, stats
    return events / elapsed, await _usage(url) - before, cpu / events * 1e6


# 4. FastAPI -----------------------------------------------------------------------


async def fastapi_added(url: str, requests: int) -> dict[str, tuple[float, float]]:
    import httpx
    from fastapi import FastAPI

    added: dict[str, list[float]] = {"recorder": [], "balances_track": []}
    async with AutumnCore(SECRET_KEY, server_url=url) as core:
        await _grant(core)
        recorder = UsageRecorder(core, spool=None)
        app = FastAPI()
        clock = time.perf_counter

        @app.post("/recorder")
        async def with_recorder() -> dict[str, bool]:
            start = clock()
            recorder.track(_event(0))
            added["recorder"].append(clock() - start)
            return {"ok": True}

        @app.post("/direct")
        async def with_track() -> dict[str, bool]:
            start = clock()
            res = await balances_track(core, _event(0))
            added["balances_track"].append(clock() - start)
            return {"ok": res.ok}

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            for _ in range(requests):
                await client.post("/recorder")
                await client.post("/direct")
        await recorder.aclose()
    result = {}
    for name, values in added.items():
        values.sort()
        result[name] = (percentile(values, 50) * 1e3, percentile(values, 99) * 1e3)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()

    print("| `recorder.track()` per event | median µs | p99 µs |")
    print("| --- | ---: | ---: |")
    memory = asyncio.run(track_cost(None, 200_000))
    print(f"| in memory | {memory[0]:.2f} | {memory[1]:.2f} |")
    with tempfile.TemporaryDirectory() as tmp:
        spooled = asyncio.run(track_cost(Path(tmp) / "spool.db", 50_000))
    print(f"| with a SQLite spool | {spooled[0]:.2f} | {spooled[1]:.2f} |")

    print()
    print(
        "| into the local server (SQLite file) | events/s | applied / sent | client CPU µs/event |"
    )
    print("| --- | ---: | ---: | ---: |")
    with local_server(rate_limits=False) as url:
        calls = asyncio.run(per_call(url, args.seconds))
        print(f"| `await balances_track`, 16 tasks, rate limits off | {calls:,.0f} | - | - |")
        top = asyncio.run(ceiling(url, args.seconds))
        print(f"| the server's ceiling: raw keyed batches, no SDK, 2 connections | {top:,.0f} "
              "| - | 0 |")  # fmt: skip
        for spooled, flight in ((False, 1), (False, 2), (False, 4), (True, 2)):
            rate, applied, cpu = asyncio.run(
                recorded(url, args.events, spooled, requests_per_second=None, max_in_flight=flight)
            )
            where = "spool" if spooled else "in memory"
            print(
                f"| recorder, {where}, rate limits off, max_in_flight={flight} | {rate:,.0f} "
                f"({rate / calls:.1f}x) | {applied:,} / {args.events:,} | {cpu:.1f} |"
            )
    with local_server(rate_limits=True) as url:
        rate, applied, cpu = asyncio.run(recorded(url, min(args.events, 60_000)))
        print(
            f"| recorder, spool, rate limits on (10 x 1,000/s), defaults | {rate:,.0f} "
            f"({rate / 10_000:.0%} of 10,000/s) | {applied:,} / {min(args.events, 60_000):,} "
            f"| {cpu:.1f} |"
        )

    print()
    print("| FastAPI handler, recording one event | p50 ms | p99 ms |")
    print("| --- | ---: | ---: |")
    with local_server(rate_limits=False) as url:
        fast = asyncio.run(fastapi_added(url, 2000))
    for name, (p50, p99) in fast.items():
        label = "`recorder.track()`" if name == "recorder" else "`await balances_track`"
        print(f"| {label} | {p50:.4f} | {p99:.4f} |")


if __name__ == "__main__":
    main()
