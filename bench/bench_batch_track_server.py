"""Local server: events per second through ``balances.batch_track`` into a SQLite file.

The server (``python -m autumn_local serve --db FILE --no-rate-limits``) runs
in its own process; this process sends batches of 1,000 track events from a
few concurrent connections for a few seconds (bodies encoded beforehand, so
the client's own work stays out of the figure), then reads the customers'
usage back to confirm that every event was applied. Prints events/s, the
server's CPU per event and what that makes per server CPU-second (the
figure to compare on a machine shared with other work).
Runs alone: ``python bench/bench_batch_track_server.py``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from bench_local_server import local_server
from harness import SECRET_KEY, proc_cpu_seconds

SECONDS = 3.0
CLIENTS = 4
BATCH = 1000
MAX_BATCHES = 150  # 150,000 events: more than a run sends at 40,000/s
HEADERS = {
    "Authorization": f"Bearer {SECRET_KEY}",
    "x-api-version": "2.1",
    "Content-Type": "application/json",
}
GRANT = {
    "customer_id": "cus_123",
    "feature_id": "api_calls",
    "included_grant": 10**12,
}
# Events spread over ten customers, as a service's traffic would be.
CUSTOMERS = [f"cus_bench_{n}" for n in range(10)]


def _batches(count: int, keyed: bool) -> list[bytes]:
    """``count`` request bodies, encoded before the clock starts (client work kept out)."""
    bodies = []
    for b in range(count):
        items: list[dict[str, object]] = [
            {"customer_id": CUSTOMERS[n % len(CUSTOMERS)], "feature_id": "api_calls", "value": 1}
            for n in range(BATCH)
        ]
        if keyed:
            for n, item in enumerate(items):
                item["idempotency_key"] = f"evt-{b}-{n}"
        bodies.append(json.dumps(items).encode())
    return bodies


async def _setup(http: aiohttp.ClientSession, url: str) -> None:
    for customer in CUSTOMERS:
        for path, body in (
            ("/v1/customers.get_or_create", {"customer_id": customer}),
            ("/v1/balances.create", {**GRANT, "customer_id": customer}),
        ):
            async with http.post(url + path, json=body, headers=HEADERS) as resp:
                assert resp.status == 200, await resp.text()


async def _usage(http: aiohttp.ClientSession, url: str) -> int:
    total = 0
    for customer in CUSTOMERS:
        async with http.post(
            url + "/v1/customers.get", json={"customer_id": customer}, headers=HEADERS
        ) as resp:
            total += int((await resp.json())["balances"]["api_calls"]["usage"])
    return total


async def _load(url: str, pid: int, keyed: bool) -> dict[str, float]:
    # Enough distinct bodies for the run: a keyed event sent twice would be skipped.
    bodies = _batches(MAX_BATCHES, keyed)
    async with aiohttp.ClientSession() as http:
        await _setup(http, url)
        sent = 0
        stop_at = 0.0

        async def worker() -> None:
            nonlocal sent
            while time.perf_counter() < stop_at and bodies:
                async with http.post(
                    url + "/v1/balances.batch_track", data=bodies.pop(), headers=HEADERS
                ) as resp:
                    assert resp.status == 200, await resp.text()
                sent += BATCH

        cpu0 = proc_cpu_seconds(pid)
        start = time.perf_counter()
        stop_at = start + SECONDS
        await asyncio.gather(*(worker() for _ in range(CLIENTS)))
        elapsed = time.perf_counter() - start
        cpu = proc_cpu_seconds(pid) - cpu0
        applied = await _usage(http, url)
    return {
        "events": sent,
        "applied": applied,
        "events_per_s": sent / elapsed,
        "server_cpu_us_per_event": cpu / sent * 1e6,
    }


def run(keyed: bool) -> dict[str, float]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        local_server(["--db", str(Path(tmp) / "bench.db")]) as (port, pid),
    ):
        return asyncio.run(_load(f"http://127.0.0.1:{port}", pid, keyed))


def main() -> None:
    print(
        "| batch of 1,000 | events/s | server CPU µs/event | events per server CPU-second"
        " | applied / sent |"
    )
    print("| --- | ---: | ---: | ---: | ---: |")
    for keyed in (False, True):
        r = run(keyed)
        label = "each event keyed" if keyed else "no keys"
        print(
            f"| {label} | {r['events_per_s']:,.0f} | {r['server_cpu_us_per_event']:.1f} "
            f"| {1e6 / r['server_cpu_us_per_event']:,.0f} "
            f"| {int(r['applied']):,} / {int(r['events']):,} |"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
