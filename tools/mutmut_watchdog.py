"""Stop a mutmut worker that hangs: run it beside `mutmut run`.

mutmut bounds each mutant by CPU time (it sends SIGXCPU). A mutant that makes a
call wait forever (a timeout set to None, a wake-up never sent) uses no CPU, so
its worker never reaches the bound and the run stalls. This sends such a worker
the same SIGXCPU, and mutmut records the mutant as a timeout, as it would have.
A worker is stuck when, after 50 s, it used under 2.5 s of CPU in the last 40 s.

    python tools/mutmut_watchdog.py &   # then: mutmut run ...
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

STARTED_S, WINDOW_S, MIN_CPU_S = 50.0, 40.0, 2.5
TICKS = os.sysconf("SC_CLK_TCK")


def _workers() -> dict[tuple[int, str], float]:
    """(pid, mutant) of each mutmut worker, with the CPU seconds it has used."""
    found = {}
    for proc in Path("/proc").iterdir():
        try:
            title = (proc / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
            if title.startswith("mutmut: "):
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                found[(int(proc.name), title)] = (int(fields[11]) + int(fields[12])) / TICKS
        except (OSError, ValueError):  # gone meanwhile, or not a process
            continue
    return found


def main() -> None:
    seen: dict[tuple[int, str], list[tuple[float, float]]] = {}
    while True:
        now, workers = time.monotonic(), _workers()
        seen = {worker: seen.get(worker, []) for worker in workers}
        for worker, cpu in workers.items():
            history = [*seen[worker], (now, cpu)]
            before = [used for at, used in history if now - at >= WINDOW_S]
            if now - history[0][0] >= STARTED_S and before and cpu - before[-1] < MIN_CPU_S:
                print(f"no CPU used: SIGXCPU to {worker[1]}", flush=True)
                with contextlib.suppress(ProcessLookupError):  # ended meanwhile
                    os.kill(worker[0], signal.SIGXCPU)
            seen[worker] = [(at, used) for at, used in history if now - at < 4 * WINDOW_S]
        time.sleep(5)


if __name__ == "__main__":
    main()
