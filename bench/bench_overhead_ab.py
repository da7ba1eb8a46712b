"""Client overhead of two checkouts of the SDK, side by side: before and after a change.

``python bench/bench_overhead_ab.py before=/path/to/old after=. [--rounds 4]
[--operations create,check,track] [--concurrency 64]``

Each NAME=PATH is a directory holding ``autumn_core`` and ``autumn_funcs`` (a
``git archive`` of a commit, say). Round by round and operation by operation,
each checkout runs ``client_cases.py raw,sdk_func ... paired`` in a fresh
process, in turns with the floor, against one benchmark server; the checkouts'
order alternates every round. It prints, per operation and checkout, the median
ratio of the SDK's CPU per call to the floor's over all windows, its quartiles,
and the median CPU per call of each.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

from harness import BENCH, CLIENT_CPUS, SDK_PYTHON, fixed_server


def windows(tree: str, url: str, op: str, concurrency: int) -> dict[str, list[list[float]]]:
    argv = [SDK_PYTHON, str(BENCH / "client_cases.py"), "raw,sdk_func", url, f"--operation={op}"]
    argv += ["paired", f"--concurrency={concurrency}", "--rounds=10", "--window=0.1"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([tree, str(BENCH)]))
    done = subprocess.run(argv, env=env, cwd=tree, capture_output=True, text=True, check=True)
    found: dict[str, list[list[float]]] = json.loads(done.stdout.strip().splitlines()[-1])[
        "windows"
    ]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("trees", nargs="+", help="NAME=PATH, two or more")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--operations", default="create,check,track")
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    trees = dict(tree.split("=", 1) for tree in args.trees)
    ops = args.operations.split(",")
    ratios: dict[tuple[str, str], list[float]] = {(t, op): [] for t in trees for op in ops}
    cpu: dict[tuple[str, str, str], list[float]] = {}
    os.sched_setaffinity(0, CLIENT_CPUS)
    with fixed_server() as server:
        url = f"http://127.0.0.1:{server.port}"
        for round_number in range(args.rounds):
            for op in ops:
                order = list(trees) if round_number % 2 == 0 else list(reversed(trees))
                for name in order:
                    measured = windows(os.path.abspath(trees[name]), url, op, args.concurrency)
                    for raw, sdk in zip(measured["raw"], measured["sdk_func"], strict=True):
                        if not (raw[0] and sdk[0] and raw[1] and sdk[1]):
                            continue  # a window the machine gave no CPU to
                        ratios[(name, op)].append((sdk[1] / sdk[0]) / (raw[1] / raw[0]))
                        cpu.setdefault((name, op, "raw"), []).append(raw[1] / raw[0] * 1e6)
                        cpu.setdefault((name, op, "sdk"), []).append(sdk[1] / sdk[0] * 1e6)
    for op in ops:
        for name in trees:
            found = ratios[(name, op)]
            q1, _, q3 = statistics.quantiles(found)
            print(
                f"{op:6} {name:8} c={args.concurrency}  SDK/floor {statistics.median(found):.3f} "
                f"(quartiles {q1:.3f}-{q3:.3f}, {len(found)} windows)  CPU/call: floor "
                f"{statistics.median(cpu[(name, op, 'raw')]):.0f} µs, "
                f"SDK {statistics.median(cpu[(name, op, 'sdk')]):.0f} µs"
            )


if __name__ == "__main__":
    sys.exit(main())
