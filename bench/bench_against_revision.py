"""Whether a change moved the SDK's overhead: CPU per call of the SDK function, as a
ratio to the floor, in this checkout and in another revision, against one fixed server.

``python bench/bench_against_revision.py main`` exports ``main`` with ``git archive``
into a temporary directory and runs each tree's own ``client_cases.py`` (its floor
and its SDK function, taking turns in one process) in alternation with this
checkout's, repetition by repetition, so both meet the same state of a shared
machine. A change that adds nothing to the call path shows the same ratios, within
the spread of repetitions.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

from bench_overhead import cpu_per_call
from harness import REPO, SDK_PYTHON, Section, fixed_server, log, median, sdk_env

REPETITIONS = 3
CASES = (("create", 1), ("create", 64), ("track", 1), ("track", 64))


def export(revision: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "archive", revision], cwd=REPO, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def ratios(tree: Path, port: int, operation: str, concurrency: int) -> list[float]:
    """The SDK function's CPU per call ÷ the floor's, window by window, in `tree`."""
    argv = [
        SDK_PYTHON,
        str(tree / "bench" / "client_cases.py"),
        "raw,sdk_func",
        f"http://127.0.0.1:{port}",
        f"--operation={operation}",
        "paired",
        f"--concurrency={concurrency}",
        "--rounds=10",
        "--window=0.1",
    ]
    env = {**sdk_env(), "PYTHONPATH": str(tree)}
    done = subprocess.run(
        argv, cwd=tree / "bench", env=env, capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stderr[-3000:]}")
    windows = json.loads(done.stdout.strip().splitlines()[-1])["windows"]
    return [
        cpu_per_call(mine) / cpu_per_call(floor)
        for mine, floor in zip(windows["sdk_func"], windows["raw"], strict=True)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("revision", help="a git revision to compare with, e.g. main")
    revision = parser.parse_args().revision
    section = Section(
        f"SDK function CPU x floor: this checkout and `{revision}`",
        ["operation", "concurrency", revision, "this checkout"],
    )
    with tempfile.TemporaryDirectory() as tmp, fixed_server() as server:
        other = export(revision, Path(tmp))
        found: dict[tuple[str, int, str], list[float]] = {}
        for rep in range(REPETITIONS):
            log(f"against {revision}: repetition {rep + 1}/{REPETITIONS}")
            for operation, concurrency in CASES:
                for name, tree in ((revision, other), ("this checkout", REPO)):
                    key = (operation, concurrency, name)
                    found.setdefault(key, []).extend(
                        ratios(tree, server.port, operation, concurrency)
                    )
        for operation, concurrency in CASES:
            section.rows.append(
                [
                    operation,
                    str(concurrency),
                    f"{median(found[(operation, concurrency, revision)]):.3f}x",
                    f"{median(found[(operation, concurrency, 'this checkout')]):.3f}x",
                ]
            )
    section.notes.append(
        f"Median over {REPETITIONS} repetitions of 10 windows of 0.1 s, each tree in a fresh "
        "process per repetition, the two trees alternating against one fixed server."
    )
    print(section.render())


if __name__ == "__main__":
    main()
