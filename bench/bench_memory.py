"""Memory: peak RSS of a client process with 10,000 calls in flight at once.

The fixed-response server holds every answer until all 10,000 requests have
arrived, so the peak really has that many calls open. Both clients use one
aiohttp session with ``TCPConnector(limit=0)`` (aiohttp's default caps
connections at 100).
"""

from __future__ import annotations

from harness import BENCH, SDK_PYTHON, Section, Target, fixed_server, log, median, run_json

IN_FLIGHT = 10_000
REPETITIONS = 3
CLIENTS = (("raw", "raw aiohttp"), ("sdk_func", "SDK `balances_create` (function)"))


def measure_once(case: str) -> dict[str, float]:
    with fixed_server(hold=IN_FLIGHT) as server:
        url = f"http://127.0.0.1:{server.port}"
        argv = [SDK_PYTHON, str(BENCH / "client_cases.py"), case, url]
        result = run_json([*argv, "inflight", f"--calls={IN_FLIGHT}"])
    return {key: float(value) for key, value in result.items()}


def run(sdk_error: str | None) -> Section:
    clients = [c for c in CLIENTS if sdk_error is None or c[0] == "raw"]
    samples: dict[str, list[dict[str, float]]] = {case: [] for case, _ in clients}
    for rep in range(REPETITIONS):
        log(f"memory: repetition {rep + 1}/{REPETITIONS}")
        for case, _ in clients:
            samples[case].append(measure_once(case))

    def med(case: str, key: str) -> float:
        return median([s[key] for s in samples[case]])

    def growth(case: str) -> float:
        return median([s["peak_rss_kib"] - s["rss_before_kib"] for s in samples[case]])

    section = Section(
        f"Memory: {IN_FLIGHT:,} calls in flight",
        ["client", "peak RSS MiB", "growth MiB", "KiB per call", "x raw (peak)", "x raw (growth)"],
    )
    for case, label in clients:
        section.rows.append(
            [
                label,
                f"{med(case, 'peak_rss_kib') / 1024:.0f}",
                f"{growth(case) / 1024:.0f}",
                f"{growth(case) / IN_FLIGHT:.1f}",
                f"{med(case, 'peak_rss_kib') / med('raw', 'peak_rss_kib'):.2f}x",
                f"{growth(case) / growth('raw'):.2f}x",
            ]
        )
    section.notes.append(
        "Peak RSS = `ru_maxrss` of the client process; growth = peak minus RSS after "
        f"imports and one warm-up call. Median of {REPETITIONS} fresh processes."
    )
    if sdk_error is not None:
        section.notes.append(f"SDK cases skipped: {sdk_error}")
        return section
    ratio = med("sdk_func", "peak_rss_kib") / med("raw", "peak_rss_kib")
    section.targets.append(
        Target(
            f"peak RSS with {IN_FLIGHT:,} in flight vs raw aiohttp",
            f"{ratio:.2f}x",
            "≤ 1.3x",
            ratio <= 1.3,
        )
    )
    return section
