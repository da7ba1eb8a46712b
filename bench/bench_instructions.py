"""Instructions per call of the floor and of checkouts of the SDK, counted by valgrind.

``python bench/bench_instructions.py before=/path/to/old now=. [--operations
create,check,track] [--calls 1000]``

CPU time on a shared 2-core machine moves by several percent from run to run;
an instruction count does not. Each case makes ``--calls`` calls one after
another (concurrency 1) against the benchmark server, under valgrind's
callgrind, and so does a run of 300 calls: the difference, divided by the
calls between them, is what one call costs, start-up and imports left out.
The floor is ``client_cases.raw``; each NAME=PATH is a directory holding
``autumn_core`` and ``autumn_funcs`` (a ``git archive`` of a commit, say).
Instructions are not time (a cache miss costs more than an add), but a change
that takes instructions off every call shows here at once, to within 0.3 %,
where the CPU-time benchmarks (`bench_overhead_ab.py`) need a quiet machine.
Needs valgrind (Debian: `apt-get install valgrind`).

``python bench/bench_instructions.py --child URL OPERATION CASE CALLS`` is the
process valgrind runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys

from harness import BENCH, SDK_PYTHON, fixed_server

WARM_CALLS = 300


def instructions(tree: str, url: str, op: str, case: str, calls: int) -> int:
    """Instructions (callgrind's `Ir`) of a process making `calls` calls."""
    argv = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", SDK_PYTHON]
    argv += [str(BENCH / "bench_instructions.py"), "--child", url, op, case, str(calls)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([tree, str(BENCH)]))
    done = subprocess.run(argv, env=env, cwd=tree, capture_output=True, text=True, check=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count from valgrind:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def per_call(tree: str, url: str, op: str, case: str, calls: int) -> float:
    many = instructions(tree, url, op, case, calls)
    few = instructions(tree, url, op, case, WARM_CALLS)
    return (many - few) / (calls - WARM_CALLS)


async def child(url: str, op_name: str, case: str, calls: int) -> None:
    from client_cases import CASES
    from operations import OPERATIONS

    async with CASES[case](url, OPERATIONS[op_name], False) as call:
        for _ in range(calls):
            await call()


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        url, op, case, calls = sys.argv[2:6]
        asyncio.run(child(url, op, case, int(calls)))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("trees", nargs="+", help="NAME=PATH, one or more")
    parser.add_argument("--operations", default="create,check,track")
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    trees = dict(tree.split("=", 1) for tree in args.trees)
    first = os.path.abspath(next(iter(trees.values())))
    with fixed_server() as server:
        url = f"http://127.0.0.1:{server.port}"
        for op in args.operations.split(","):
            floor = per_call(first, url, op, "raw", args.calls)
            print(f"{op:6} floor    {floor:9,.0f} instructions/call")
            for name, tree in trees.items():
                sdk = per_call(os.path.abspath(tree), url, op, "sdk_func", args.calls)
                ratio = sdk / floor
                print(f"{op:6} {name:8} {sdk:9,.0f} instructions/call, {ratio:.3f}x the floor")


if __name__ == "__main__":
    main()
