"""Client overhead: CPU per call of each operation against a server that answers instantly.

The floor (plain aiohttp doing the same job, client_cases.raw), the SDK's
function and its facade run in one fresh process per (operation,
concurrency, repetition), taking turns in short windows: the machine may be
shared, and work on the other core still slows a client (caches, memory
bandwidth, a slower server), so only clients measured side by side give a
fair ratio. The peer runs in its own process (its own Python). The server
runs in yet another process; operations come from operations.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness import (
    BENCH,
    PEER_PYTHON,
    SDK_PYTHON,
    OthersLoad,
    Section,
    Target,
    fixed_server,
    log,
    median,
    run_json,
)
from operations import OPERATIONS, BenchOperation

REPETITIONS = 5
CONCURRENCIES = (1, 64)
ROUNDS = 10  # windows per client per paired process
WINDOW_S = 0.1
PEER_SECONDS = 1.0
PEER_WINDOWS = 5
FLOOR = "raw"


@dataclass(frozen=True)
class Client:
    case: str
    label: str
    paired: bool  # measured in turns with the floor, in one process


CLIENTS = (
    Client(FLOOR, "raw aiohttp (the floor)", paired=True),
    Client("sdk_func", "SDK function", paired=True),
    Client("sdk_facade", "SDK `Autumn` facade", paired=True),
    Client("peer", "autumn-sdk (peer)", paired=False),
)

Window = Sequence[float]  # [calls, cpu_s, wall_s]
# (case, concurrency) -> one list of windows per fresh process
Samples = dict[tuple[str, int], list[list[Window]]]


def clients_for(op: BenchOperation, sdk_error: str | None) -> list[Client]:
    return [
        c
        for c in CLIENTS
        if (sdk_error is None or not c.case.startswith("sdk"))
        and (c.paired or op.peer_method is not None)
    ]


def client_argv(python: str, cases: str, op: BenchOperation, port: int) -> list[str]:
    return [
        python,
        str(BENCH / "client_cases.py"),
        cases,
        f"http://127.0.0.1:{port}",
        f"--operation={op.name}",
    ]


def measure_paired(
    cases: list[str], op: BenchOperation, port: int, concurrency: int
) -> dict[str, list[Window]]:
    argv = client_argv(SDK_PYTHON, ",".join(cases), op, port)
    mode = ["paired", f"--concurrency={concurrency}", f"--rounds={ROUNDS}", f"--window={WINDOW_S}"]
    windows: dict[str, list[Window]] = run_json([*argv, *mode])["windows"]
    return windows


def measure_peer(case: str, op: BenchOperation, port: int, concurrency: int) -> list[Window]:
    argv = client_argv(str(PEER_PYTHON), case, op, port)
    mode = [
        "throughput",
        f"--concurrency={concurrency}",
        f"--seconds={PEER_SECONDS}",
        f"--windows={PEER_WINDOWS}",
    ]
    windows: list[Window] = run_json([*argv, *mode])["windows"]
    return windows


def run(sdk_error: str | None) -> list[Section]:
    samples: dict[str, Samples] = {name: {} for name in OPERATIONS}
    with fixed_server() as server:
        load = OthersLoad(server.pid)
        for rep in range(REPETITIONS):
            log(f"overhead: repetition {rep + 1}/{REPETITIONS}")
            for op in OPERATIONS.values():
                clients = clients_for(op, sdk_error)
                paired = [c.case for c in clients if c.paired]
                for concurrency in CONCURRENCIES:
                    with load.measuring():
                        measured = measure_paired(paired, op, server.port, concurrency)
                    for client in clients:
                        if not client.paired:
                            with load.measuring():
                                measured[client.case] = measure_peer(
                                    client.case, op, server.port, concurrency
                                )
                        key = (client.case, concurrency)
                        samples[op.name].setdefault(key, []).append(measured[client.case])
    sections = [
        section(op, clients_for(op, sdk_error), samples[op.name], sdk_error)
        for op in OPERATIONS.values()
    ]
    sections[-1].notes.append(
        f"Other processes on the machine used {load.summary()} while these clients ran."
    )
    if sdk_error is None:
        sections[-1].targets.append(floor_check())
    return sections


def floor_check() -> Target:
    """Whether the floor sent the SDK's requests (floor_check.py), so the ratios compare
    like with like."""
    differences: list[str] = run_json([SDK_PYTHON, str(BENCH / "floor_check.py")])
    return Target(
        "the floor sends the SDK's request (every operation)",
        "; ".join(differences) or "same",
        "same",
        not differences,
    )


def cpu_per_call(window: Window) -> float:
    return window[1] / window[0]


def paired_ratio(samples: Samples, case: str, concurrency: int) -> float:
    """Median over every window of ``case`` ÷ the floor's window of the same round."""
    return median(
        [
            cpu_per_call(mine) / cpu_per_call(floor)
            for process, floor_process in zip(
                samples[(case, concurrency)], samples[(FLOOR, concurrency)], strict=True
            )
            for mine, floor in zip(process, floor_process, strict=True)
        ]
    )


def section(
    op: BenchOperation, clients: list[Client], samples: Samples, sdk_error: str | None
) -> Section:
    # Per process: the median window; per row: the median process and the spread of processes.
    per_process = {
        key: [median([cpu_per_call(w) for w in process]) for process in processes]
        for key, processes in samples.items()
    }
    rate = {
        key: median([w[0] / w[2] for process in processes for w in process])
        for key, processes in samples.items()
    }
    cpu = {key: median(values) for key, values in per_process.items()}
    ratio = {
        (client.case, c): paired_ratio(samples, client.case, c)
        if client.paired
        else cpu[(client.case, c)] / cpu[(FLOOR, c)]
        for client in clients
        for c in CONCURRENCIES
    }
    result = Section(
        f"Client overhead: `{op.path.rsplit('/', 1)[-1]}` against an instant local server",
        ["client", "concurrency", "calls/s", "CPU µs/call", "min-max", "CPU x floor"],
    )
    for concurrency in CONCURRENCIES:
        for client in clients:
            key = (client.case, concurrency)
            result.rows.append(
                [
                    client.label,
                    str(concurrency),
                    f"{rate[key]:,.0f}",
                    f"{cpu[key] * 1e6:,.0f}",
                    f"{min(per_process[key]) * 1e6:,.0f}-{max(per_process[key]) * 1e6:,.0f}",
                    f"{ratio[key]:.2f}x",
                ]
            )
    result.notes.append(
        "CPU = user+system time of the client process divided by completed calls. The floor "
        f"and the SDK take turns in one process per repetition ({ROUNDS} windows of "
        f"{WINDOW_S:g} s each); CPU µs/call is the median over {REPETITIONS} fresh processes "
        "of each one's median window (min-max: the spread of those processes), and CPU x "
        "floor the median ratio of a window to the floor's window of the same round. The peer "
        f"runs alone ({PEER_WINDOWS} windows of {PEER_SECONDS / PEER_WINDOWS:g} s per process). "
        "The server runs in its own process and is not counted."
    )
    result.notes.append(
        "The floor is plain aiohttp with the SDK's session settings and headers that, per "
        "call, encodes the params to JSON, "
        + ("draws a fresh 128-bit Idempotency-Key, " if op.writes else "")
        + f"checks the status and `json.loads` the answer to read `{op.answer_field}`."
    )
    if sdk_error is not None:
        result.notes.append(f"SDK cases skipped: {sdk_error}")
        return result

    for concurrency, limit in zip((64, 1), op.cpu_limits, strict=True):
        measured = ratio[("sdk_func", concurrency)]
        result.targets.append(
            Target(
                f"{op.name}: SDK function CPU/call vs the floor, concurrency {concurrency}",
                f"{measured:.2f}x",
                f"≤ {limit}x",
                measured <= limit,
            )
        )
    if not any(c.case == "peer" for c in clients):
        return result
    ceiling = " and ".join(
        f"{cpu[('peer', c)] / cpu[(FLOOR, c)]:.1f}x (concurrency {c})" for c in CONCURRENCIES
    )
    result.notes.append(
        f"For scale: autumn-sdk uses {ceiling} the CPU per call of the floor, "
        "the ceiling for any aiohttp-based client."
    )
    for concurrency in CONCURRENCIES:
        factor = cpu[("peer", concurrency)] / cpu[("sdk_func", concurrency)]
        result.targets.append(
            Target(
                f"{op.name}: autumn-sdk CPU/call ÷ SDK function CPU/call, "
                f"concurrency {concurrency}",
                f"{factor:.1f}x",
                "≥ 20x",
                factor >= 20,
            )
        )
    return result
