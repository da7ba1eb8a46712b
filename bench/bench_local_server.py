"""Local server: calls per second and latency with 64 concurrent clients.

The server (``python -m autumn_local serve``) runs in its own process; the load
comes from 64 plain aiohttp workers in this process, each on its own
keep-alive connection. A separate probe process sends a cheap GET every 10 ms
throughout, showing whether the server's event loop stays responsive.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from harness import (
    BENCH,
    CREATE_BODY,
    SDK_PYTHON,
    SECRET_KEY,
    Section,
    Target,
    free_port,
    log,
    percentile,
    proc_cpu_seconds,
    sdk_env,
    server_process,
)

CLIENTS = 64
WARMUP = 0.5
SECONDS = 3.0
IDLE = 1.5
UPDATE_BODY = {"customer_id": "cus_123", "feature_id": "api_calls", "add_to_balance": 1}
CHECK_BODY = {"customer_id": "cus_123", "feature_id": "api_calls", "required_balance": 1}
TRACK_BODY = {"customer_id": "cus_123", "feature_id": "api_calls", "value": 1}
# A grant no run can use up, so every track really deducts.
BIG_GRANT = {**CREATE_BODY, "included_grant": 10**9}
# (operation, path, body, balance created first, calls/s target)
PHASES = (
    ("create", "/v1/balances.create", CREATE_BODY, CREATE_BODY, 1500),
    ("update", "/v1/balances.update", UPDATE_BODY, CREATE_BODY, 1500),
    ("check", "/v1/balances.check", CHECK_BODY, BIG_GRANT, 5000),
    ("track", "/v1/balances.track", TRACK_BODY, BIG_GRANT, 5000),
)
HEADERS = {
    "Authorization": f"Bearer {SECRET_KEY}",
    "x-api-version": "2.1",
    "Content-Type": "application/json",
}


@dataclass
class Phase:
    calls: int
    errors: dict[int, int]
    wall_s: float
    server_cpu_s: float
    latencies: list[float]
    probe_idle: list[float]
    probe_busy: list[float]


async def load(
    port: int, path: str, body: dict[str, object], seconds: float
) -> tuple[int, dict[int, int], list[float]]:
    """Send ``body`` from CLIENTS workers for ``seconds``: (calls, error statuses, latencies)."""
    data = json.dumps(body).encode()
    url = f"http://127.0.0.1:{port}{path}"
    latencies: list[float] = []
    errors: dict[int, int] = {}
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            while (start := time.perf_counter()) < deadline:
                headers = {**HEADERS, "Idempotency-Key": str(uuid.uuid4())}
                async with session.post(url, data=data, headers=headers) as response:
                    await response.read()
                latencies.append(time.perf_counter() - start)
                if response.status != 200:
                    errors[response.status] = errors.get(response.status, 0) + 1

        await asyncio.gather(*(worker() for _ in range(CLIENTS)))
    return len(latencies), errors, latencies


def post_once(port: int, path: str, body: dict[str, object]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("POST", path, json.dumps(body), HEADERS)
    response = connection.getresponse()
    if response.status != 200:
        raise RuntimeError(f"{path} answered {response.status}: {response.read()!r}")
    connection.close()


@contextlib.contextmanager
def local_server(storage: list[str]) -> Iterator[tuple[int, int]]:
    port = free_port()
    argv = [
        SDK_PYTHON,
        "-m",
        "autumn_local",
        "serve",
        "--port",
        str(port),
        "--secret-key",
        SECRET_KEY,
        # Autumn's limits would answer creates beyond 25/s with 429: this measures
        # what the server itself sustains.
        "--no-rate-limits",
    ]
    with server_process([*argv, *storage], port) as proc:
        yield port, proc.pid


def measure(
    storage: list[str], path: str, body: dict[str, object], seed: dict[str, object]
) -> Phase:
    """One phase on a fresh server: idle probing, warm-up, then SECONDS of load."""
    with local_server(storage) as (port, pid):
        # Updates, checks and tracks need exactly one balance to act on.
        post_once(port, "/v1/balances.create", seed)
        probe_seconds = IDLE + WARMUP + SECONDS + 1
        probe = subprocess.Popen(
            [sys.executable, str(BENCH / "probe.py"), str(port), str(probe_seconds)],
            env=sdk_env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        time.sleep(IDLE)
        asyncio.run(load(port, path, body, WARMUP))
        cpu0, wall0, t0 = proc_cpu_seconds(pid), time.perf_counter(), time.time()
        calls, errors, latencies = asyncio.run(load(port, path, body, SECONDS))
        wall, t1 = time.perf_counter() - wall0, time.time()
        cpu = proc_cpu_seconds(pid) - cpu0
        out, _ = probe.communicate(timeout=probe_seconds + 30)
    probes = json.loads(out)
    idle = sorted(lat for t, lat in probes if t < t0 - WARMUP)
    busy = sorted(lat for t, lat in probes if t0 <= t <= t1)
    return Phase(calls, errors, wall, cpu, sorted(latencies), idle, busy)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def spread(latencies: list[float]) -> str:
    """p50/p99/max in milliseconds of sorted latencies."""
    if not latencies:
        return "no samples"
    return f"{ms(percentile(latencies, 50))}/{ms(percentile(latencies, 99))}/{ms(latencies[-1])}"


def run(server_error: str | None) -> Section:
    section = Section(
        f"Local server (`python -m autumn_local serve`), {CLIENTS} concurrent clients",
        [
            "storage",
            "operation",
            "calls/s",
            "p50 ms",
            "p99 ms",
            "max ms",
            "errors",
            "server CPU",
            "calls/server CPU-s",
            "probe idle p50/p99/max",
            "probe under load p50/p99/max",
        ],
    )
    if server_error is not None:
        section.notes.append(f"Skipped: {server_error}")
        return section
    with tempfile.TemporaryDirectory() as tmp:
        for label in ("memory", "SQLite file"):
            for operation, path, body, seed, target in PHASES:
                log(f"local server: {label} {operation}")
                db = ["--db", str(Path(tmp) / f"{operation}.db")]
                phase = measure(["--memory"] if label == "memory" else db, path, body, seed)
                rate = phase.calls / phase.wall_s
                per_core = phase.calls / phase.server_cpu_s
                p99 = percentile(phase.latencies, 99)
                section.rows.append(
                    [
                        label,
                        operation,
                        f"{rate:,.0f}",
                        ms(percentile(phase.latencies, 50)),
                        ms(p99),
                        ms(phase.latencies[-1]),
                        ", ".join(f"{n}x{status}" for status, n in phase.errors.items()) or "0",
                        f"{phase.server_cpu_s / phase.wall_s:.0%}",
                        f"{per_core:,.0f}",
                        spread(phase.probe_idle),
                        spread(phase.probe_busy),
                    ]
                )
                # On a shared machine the server may not get a whole core: the
                # rate one fully busy core sustains is what the target is about.
                section.targets.append(
                    Target(
                        f"local server ({label}) {operation}: calls/s on one core and p99",
                        f"{rate:,.0f}/s ({per_core:,.0f}/server CPU-s), p99 {ms(p99)} ms",
                        f"≥ {target:,}/s on one core, p99 < 50 ms",
                        max(rate, per_core) >= target and p99 < 0.05 and not phase.errors,
                    )
                )
    section.notes.append(
        f"Each row: a fresh server (seeded customer `cus_123`, feature `api_calls`, one "
        f"balance created first so updates, checks and tracks have exactly one to act on), "
        f"{SECONDS:g} s of load after a {WARMUP:g} s warm-up; every call carries a fresh "
        "Idempotency-Key. Rate limits are off (`--no-rate-limits`), or creates would stop at "
        "Autumn's 25/s. Updates all add 1 to that one balance; checks ask for 1 of it "
        "(answering the balance); tracks deduct 1 from it (a grant of 10^9, so none runs "
        "dry) and answer the balance and the deduction. Server CPU = its user+system time / wall "
        "time (a single process, so at most 100%); calls/server CPU-s is what one "
        "fully busy core would sustain. Probe = latency in ms of "
        "`GET /bench-probe` sent every 10 ms from another process, before and during the load."
    )
    return section
