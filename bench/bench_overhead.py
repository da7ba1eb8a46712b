"""Client overhead: CPU per ``balances.create`` call against a server that answers instantly.

Every (client, concurrency, repetition) runs in a fresh process against the
fixed-response server in another process; the table shows medians.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import (
    BENCH,
    PEER_PYTHON,
    SDK_PYTHON,
    Section,
    Target,
    fixed_server,
    log,
    median,
    run_json,
)

REPETITIONS = 5
SECONDS = 1.0
CONCURRENCIES = (1, 64)


@dataclass(frozen=True)
class Client:
    case: str
    label: str
    python: str


CLIENTS = (
    Client("raw", "raw aiohttp", SDK_PYTHON),
    Client("sdk_func", "SDK `balances_create` (function)", SDK_PYTHON),
    Client("sdk_facade", "SDK `Autumn().balances.create`", SDK_PYTHON),
    Client("peer", "autumn-sdk `create_async` (peer)", str(PEER_PYTHON)),
)


def measure_once(client: Client, port: int, concurrency: int) -> tuple[float, float]:
    """(CPU seconds per call, calls per second) of one fresh client process."""
    result = run_json(
        [
            client.python,
            str(BENCH / "client_cases.py"),
            client.case,
            f"http://127.0.0.1:{port}",
            "throughput",
            f"--concurrency={concurrency}",
            f"--seconds={SECONDS}",
        ]
    )
    calls = float(result["calls"])  # type: ignore[arg-type]
    return float(result["cpu_s"]) / calls, calls / float(result["wall_s"])  # type: ignore[arg-type]


def run(sdk_error: str | None) -> Section:
    clients = [c for c in CLIENTS if sdk_error is None or not c.case.startswith("sdk")]
    samples: dict[tuple[str, int], list[tuple[float, float]]] = {}
    with fixed_server() as port:
        # Repetitions go round-robin so slow drift of the machine hits every client alike.
        for rep in range(REPETITIONS):
            log(f"overhead: repetition {rep + 1}/{REPETITIONS}")
            for concurrency in CONCURRENCIES:
                for client in clients:
                    sample = measure_once(client, port, concurrency)
                    samples.setdefault((client.case, concurrency), []).append(sample)

    cpu = {key: median([s[0] for s in v]) for key, v in samples.items()}
    rate = {key: median([s[1] for s in v]) for key, v in samples.items()}
    section = Section(
        "Client overhead: `balances.create` against an instant local server",
        ["client", "concurrency", "calls/s", "CPU µs/call", "CPU x raw aiohttp"],
    )
    for concurrency in CONCURRENCIES:
        base = cpu[("raw", concurrency)]
        for client in clients:
            key = (client.case, concurrency)
            section.rows.append(
                [
                    client.label,
                    str(concurrency),
                    f"{rate[key]:,.0f}",
                    f"{cpu[key] * 1e6:,.0f}",
                    f"{cpu[key] / base:.2f}x",
                ]
            )
    section.notes.append(
        f"CPU = user+system time of the client process over {SECONDS:g} s of calls after "
        f"a warm-up, divided by completed calls; median of {REPETITIONS} fresh processes. "
        "The server runs in its own process and is not counted."
    )
    if sdk_error is not None:
        section.notes.append(f"SDK cases skipped: {sdk_error}")
        return section

    for concurrency, limit in ((64, 1.15), (1, 1.3)):
        ratio = cpu[("sdk_func", concurrency)] / cpu[("raw", concurrency)]
        section.targets.append(
            Target(
                f"SDK function CPU/call vs raw aiohttp, concurrency {concurrency}",
                f"{ratio:.2f}x",
                f"≤ {limit}x",
                ratio <= limit,
            )
        )
    ceiling = " and ".join(
        f"{cpu[('peer', c)] / cpu[('raw', c)]:.1f}x (concurrency {c})" for c in CONCURRENCIES
    )
    section.notes.append(
        f"For scale: autumn-sdk uses {ceiling} the CPU per call of raw aiohttp, "
        "the ceiling for any aiohttp-based client."
    )
    for concurrency in CONCURRENCIES:
        factor = cpu[("peer", concurrency)] / cpu[("sdk_func", concurrency)]
        section.targets.append(
            Target(
                f"autumn-sdk CPU/call ÷ SDK function CPU/call, concurrency {concurrency}",
                f"{factor:.1f}x",
                "≥ 20x",
                factor >= 20,
            )
        )
    return section
