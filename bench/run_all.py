"""Run every benchmark and print one Markdown report; also saved to bench/results/latest.txt.

Usage: ``python bench/run_all.py [--only overhead,import,memory,local,blocking,bombs,otel]``
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import time
from pathlib import Path

from harness import (
    BENCH,
    REPO,
    SDK_PYTHON,
    ensure_peer_venv,
    log,
    machine_description,
    pin_to_client_cpu,
    sdk_env,
    targets_section,
)

# name: (module, whether it needs the SDK or the local server)
BENCHMARKS = {
    "overhead": ("bench_overhead", "sdk"),
    "import": ("bench_import", "sdk"),
    "memory": ("bench_memory", "sdk"),
    "local": ("bench_local_server", "server"),
    "blocking": ("bench_blocking", "sdk"),
    "bombs": ("bench_bombs", "sdk"),
    "otel": ("bench_otel", "otel"),
}
REPO_PYTHON = REPO / ".venv" / "bin" / "python"


def use_project_python() -> None:
    """Re-run under the project's virtual environment when this Python lacks aiohttp."""
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        if REPO_PYTHON.exists() and Path(sys.executable) != REPO_PYTHON:
            os.execv(REPO_PYTHON, [str(REPO_PYTHON), *sys.argv])
        raise


def import_error(argv: list[str]) -> str | None:
    """None when ``argv`` succeeds, else the last line of its error output."""
    done = subprocess.run(argv, env=sdk_env(), cwd=REPO, capture_output=True, text=True)
    if done.returncode == 0:
        return None
    lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
    return lines[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated subset")
    chosen = parser.parse_args().only.split(",")
    unknown = set(chosen) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")

    use_project_python()
    pin_to_client_cpu()
    started = time.monotonic()
    ensure_peer_venv()
    sdk_error = import_error(
        [
            SDK_PYTHON,
            "-c",
            "from autumn_core import AutumnCore\nfrom autumn_funcs import balances_create, Autumn",
        ]
    )
    errors = {
        "sdk": sdk_error,
        "server": import_error([SDK_PYTHON, "-m", "autumn_local", "serve", "--help"]),
        "otel": sdk_error
        or import_error([SDK_PYTHON, "-c", "import autumn_core.otel, opentelemetry.sdk"]),
    }
    sections = []
    for name in chosen:
        module, needs = BENCHMARKS[name]
        produced = importlib.import_module(module).run(errors[needs])
        # A benchmark gives one section, or one per operation it measures.
        sections.extend(produced if isinstance(produced, list) else [produced])
    targets = [target for section in sections for target in section.targets]

    report = "\n\n".join(
        [
            machine_description(),
            *(section.render() for section in sections),
            targets_section(targets).render(),
        ]
    )
    print(report)
    results = BENCH / "results"
    results.mkdir(exist_ok=True)
    (results / "latest.txt").write_text(report + "\n")
    log(f"done in {time.monotonic() - started:.0f} s; saved to {results / 'latest.txt'}")


if __name__ == "__main__":
    main()
