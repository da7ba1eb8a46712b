"""The blocking client against the async function: ``balances.create`` calls per second.

``AutumnSync`` from 1 and 8 threads next to ``balances_create`` awaited by 1 and 8
tasks, each in a fresh process against the fixed-response server in another
process; medians of a few repetitions.

Run alone: ``python bench/bench_blocking.py`` (or ``run_all.py --only blocking``).
A child measuring one case: ``python bench/bench_blocking.py child CASE URL
--concurrency N`` prints ``{"calls", "cpu_s", "wall_s"}`` as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from harness import (
    BENCH,
    SDK_PYTHON,
    Section,
    fixed_server,
    log,
    median,
    pin_to_client_cpu,
    run_json,
)

SECRET_KEY = "am_sk_test_bench"
BODY = {
    "customer_id": "cus_123",
    "feature_id": "api_calls",
    "included_grant": 1000,
    "reset": {"interval": "month"},
}
REPETITIONS = 5
SECONDS = 1.0
WARMUP = 0.3
CONCURRENCIES = (1, 8)


@dataclass(frozen=True)
class Case:
    name: str
    label: str
    unit: str  # what runs the calls concurrently


CASES = (
    Case("async", "`await balances_create(core, ...)`", "tasks"),
    Case("blocking", "`AutumnSync().balances.create(...)`", "threads"),
    Case("blocking_call", "`AutumnSync().call(balances_create, ...)`", "threads"),
)


# The child: one case, one process.


def measure_async(url: str, concurrency: int) -> dict[str, float]:
    from autumn_core import AutumnCore
    from autumn_funcs import balances_create

    async def main() -> dict[str, float]:
        async with AutumnCore(secret_key=SECRET_KEY, server_url=url) as core:

            async def drive(seconds: float) -> int:
                deadline = time.perf_counter() + seconds
                done = 0

                async def worker() -> None:
                    nonlocal done
                    while time.perf_counter() < deadline:
                        if not (await balances_create(core, BODY)).ok:
                            raise RuntimeError("call failed")
                        done += 1

                await asyncio.gather(*(worker() for _ in range(concurrency)))
                return done

            await drive(WARMUP)
            cpu0, wall0 = time.process_time(), time.perf_counter()
            calls = await drive(SECONDS)
            return {
                "calls": calls,
                "cpu_s": time.process_time() - cpu0,
                "wall_s": time.perf_counter() - wall0,
            }

    return asyncio.run(main())


def measure_blocking(url: str, concurrency: int, case: str) -> dict[str, float]:
    from autumn_funcs import AutumnSync, balances_create

    with AutumnSync(secret_key=SECRET_KEY, server_url=url) as autumn:

        def facade() -> None:
            autumn.balances.create(BODY)  # raises on failure

        def function() -> None:
            if not autumn.call(balances_create, BODY).ok:
                raise RuntimeError("call failed")

        call: Callable[[], None] = facade if case == "blocking" else function

        def drive(seconds: float) -> int:
            deadline = time.perf_counter() + seconds
            counts = [0] * concurrency

            def worker(i: int) -> None:
                while time.perf_counter() < deadline:
                    call()
                    counts[i] += 1

            threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            return sum(counts)

        drive(WARMUP)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        calls = drive(SECONDS)
        return {
            "calls": calls,
            "cpu_s": time.process_time() - cpu0,
            "wall_s": time.perf_counter() - wall0,
        }


def child(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("case", choices=[c.name for c in CASES])
    parser.add_argument("url")
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args(argv)
    if args.case == "async":
        result = measure_async(args.url, args.concurrency)
    else:
        result = measure_blocking(args.url, args.concurrency, args.case)
    print(json.dumps(result))


# The parent: every case in fresh processes, one table.


def run(sdk_error: str | None) -> Section:
    section = Section(
        "Blocking client: `balances.create` against an instant local server",
        ["client", "concurrency", "calls/s", "calls/s x async", "CPU µs/call", "CPU x async"],
    )
    if sdk_error is not None:
        section.notes.append(f"Skipped: {sdk_error}")
        return section
    samples: dict[tuple[str, int], list[tuple[float, float]]] = {}
    with fixed_server() as server:
        for rep in range(REPETITIONS):  # round-robin, so drift hits every case alike
            log(f"blocking: repetition {rep + 1}/{REPETITIONS}")
            for concurrency in CONCURRENCIES:
                for case in CASES:
                    result = run_json(
                        [
                            SDK_PYTHON,
                            str(BENCH / "bench_blocking.py"),
                            "child",
                            case.name,
                            f"http://127.0.0.1:{server.port}",
                            f"--concurrency={concurrency}",
                        ]
                    )
                    calls = float(result["calls"])  # type: ignore[arg-type]
                    samples.setdefault((case.name, concurrency), []).append(
                        (calls / float(result["wall_s"]), float(result["cpu_s"]) / calls)  # type: ignore[arg-type]
                    )
    rate = {key: median([s[0] for s in v]) for key, v in samples.items()}
    cpu = {key: median([s[1] for s in v]) for key, v in samples.items()}
    for concurrency in CONCURRENCIES:
        base = ("async", concurrency)
        for case in CASES:
            key = (case.name, concurrency)
            unit = case.unit if concurrency > 1 else case.unit.rstrip("s")
            section.rows.append(
                [
                    case.label,
                    f"{concurrency} {unit}",
                    f"{rate[key]:,.0f}",
                    f"{rate[key] / rate[base]:.2f}x",
                    f"{cpu[key] * 1e6:,.0f}",
                    f"{cpu[key] / cpu[base]:.2f}x",
                ]
            )
    section.notes.append(
        f"Each row: a fresh client process making calls for {SECONDS:g} s after a "
        f"{WARMUP:g} s warm-up; median of {REPETITIONS}. The client process is pinned to "
        "one CPU, so its calling threads and the blocking client's loop thread share it; "
        "CPU = user+system time of the whole client process per call. The async rows are "
        "the same function the blocking client runs on its loop."
    )
    return section


def main() -> None:
    if sys.argv[1:2] == ["child"]:
        child(sys.argv[2:])
        return
    pin_to_client_cpu()
    print(run(None).render())


if __name__ == "__main__":
    main()
