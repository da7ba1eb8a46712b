"""What `autumn_core.otel.instrument(core)` costs: CPU per call of the SDK function on a
core without telemetry and on an instrumented one, beside the floor (plain aiohttp).

The three clients take turns in one process per repetition against the fixed
server (see bench_overhead.py for why side by side), so the ratios compare like
with like. The instrumented core runs OpenTelemetry's SDK as a service would: every
span sampled and batched to an exporter (one that discards, so no I/O is counted),
metrics aggregated. Needs opentelemetry-sdk. Run: ``python bench/bench_otel.py``.
"""

from __future__ import annotations

from bench_overhead import client_argv, cpu_per_call
from harness import SDK_PYTHON, Section, fixed_server, log, median, run_json
from operations import OPERATIONS, BenchOperation

REPETITIONS = 3
CONCURRENCIES = (1, 64)
CASES = ("raw", "sdk_func", "sdk_otel")
LABELS = {
    "raw": "raw aiohttp (the floor)",
    "sdk_func": "SDK function, telemetry off",
    "sdk_otel": "SDK function, instrumented",
}


def run(sdk_error: str | None) -> Section:
    section = Section(
        "Telemetry: CPU per call without and with `autumn_core.otel.instrument`",
        ["operation", "concurrency", "client", "CPU µs/call", "CPU x floor"],
    )
    if sdk_error is not None:
        section.notes.append(f"skipped: {sdk_error}")
        return section
    with fixed_server() as server:
        for name in ("create", "track"):
            op = OPERATIONS[name]
            for concurrency in CONCURRENCIES:
                ratios: dict[str, list[float]] = {case: [] for case in CASES}
                cpu: dict[str, list[float]] = {case: [] for case in CASES}
                for rep in range(REPETITIONS):
                    log(f"otel: {name}, concurrency {concurrency}, repetition {rep + 1}")
                    argv = client_argv_paired(op, server.port, concurrency)
                    windows = run_json(argv)["windows"]
                    for case in CASES:
                        for mine, floor in zip(windows[case], windows["raw"], strict=True):
                            cpu[case].append(cpu_per_call(mine))
                            ratios[case].append(cpu_per_call(mine) / cpu_per_call(floor))
                for case in CASES:
                    section.rows.append(
                        [
                            name,
                            str(concurrency),
                            LABELS[case],
                            f"{median(cpu[case]) * 1e6:,.0f}",
                            f"{median(ratios[case]):.2f}x",
                        ]
                    )
    section.notes.append(
        f"Median over {REPETITIONS} fresh processes of 10 windows of 0.1 s per client; "
        "CPU x floor is the median ratio of a window to the floor's window of the same round."
    )
    return section


def client_argv_paired(op: BenchOperation, port: int, concurrency: int) -> list[str]:
    argv = client_argv(SDK_PYTHON, ",".join(CASES), op, port)
    return [*argv, "paired", f"--concurrency={concurrency}", "--rounds=10", "--window=0.1"]


if __name__ == "__main__":
    print(run(None).render())
