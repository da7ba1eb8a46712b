"""Import cost: ``python -X importtime`` of one statement in a fresh process, and the
cost as a user measures it: wall time around the statement, in process."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from harness import PEER_PYTHON, REPO, SDK_PYTHON, Section, Target, log, median, sdk_env

RUNS = 7
MARK = "@@bench-import"
UPDATE_MODULE = "autumn_funcs._balances_update"

# Only `sys` (always loaded) runs before the statement, so nothing it needs is preloaded.
PROBE = """\
import sys
before = set(sys.modules)
sys.stderr.write("MARK\\n"); sys.stderr.flush()
STATEMENT
sys.stderr.write("MARK\\n"); sys.stderr.flush()
print(len(sys.modules) - len(before))
print(" ".join(sorted(m for m in set(sys.modules) - before if m.startswith("autumn_"))))
# One private module per operation, named like its function (the lower-case names exported).
package = sys.modules.get("autumn_funcs")
operations = [n for n in getattr(package, "__all__", ()) if n.islower()]
print(" ".join(m for m in ("autumn_funcs._" + n for n in operations) if m in sys.modules))
"""


# What a user times: `time.perf_counter()` around the statement in a fresh process, after
# the imports the application has anyway (aiohttp, for a service on it). No -X importtime,
# which slows every import it reports.
# CPU time beside it: on a busy machine the wall time also counts waiting for a core,
# and the CPU time is what an idle machine's wall time would be.
WALL_PROBE = """\
import time
SETUP
start, cpu = time.perf_counter(), time.process_time()
STATEMENT
print((time.perf_counter() - start) * 1000, (time.process_time() - cpu) * 1000)
"""


def in_process_ms(python: str, statement: str, setup: str = "") -> tuple[float, float]:
    """Median (wall, CPU) milliseconds of `statement` after `setup`, in fresh processes
    with warm bytecode caches."""
    code = WALL_PROBE.replace("SETUP", setup).replace("STATEMENT", statement)

    def once() -> tuple[float, float]:
        done = subprocess.run(
            [python, "-c", code], env=sdk_env(), cwd=REPO, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr.strip().splitlines()[-1])
        wall, cpu = done.stdout.split()
        return float(wall), float(cpu)

    once()  # writes bytecode caches
    runs = [once() for _ in range(RUNS)]
    return median([wall for wall, _ in runs]), median([cpu for _, cpu in runs])


@dataclass(frozen=True)
class Measurement:
    ms: float
    modules: int
    own_modules: list[str]
    operations: list[str]


def import_ms(stderr: str) -> float:
    """Sum the cumulative times of top-level imports between the two marks."""
    inside = stderr.split(MARK)[1]
    total_us = 0
    for line in inside.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|")
        if not name.startswith("  "):  # nested imports are already in their parent's total
            total_us += int(cumulative)
    return total_us / 1000


def measure(python: str, statement: str) -> Measurement:
    argv = [
        python,
        "-X",
        "importtime",
        "-c",
        PROBE.replace("MARK", MARK).replace("STATEMENT", statement),
    ]

    def once() -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, env=sdk_env(), cwd=REPO, capture_output=True, text=True)

    warm = once()  # also writes bytecode caches, so no run pays for compiling
    if warm.returncode != 0:
        raise RuntimeError(warm.stderr.strip().splitlines()[-1])
    runs = [once() for _ in range(RUNS)]
    modules, own, operations = (warm.stdout + "\n\n").splitlines()[:3]
    return Measurement(
        median([import_ms(r.stderr) for r in runs]), int(modules), own.split(), operations.split()
    )


def run(sdk_error: str | None) -> Section:
    cases = [("`import aiohttp`", SDK_PYTHON, "import aiohttp")]
    if sdk_error is None:
        cases += [
            (
                "`from autumn_funcs import balances_create`",
                SDK_PYTHON,
                "from autumn_funcs import balances_create",
            ),
            ("`from autumn_funcs import Autumn`", SDK_PYTHON, "from autumn_funcs import Autumn"),
        ]
    cases.append(("`import autumn_sdk` (peer)", str(PEER_PYTHON), "import autumn_sdk"))

    section = Section("Import cost (fresh process)", ["statement", "import ms", "modules loaded"])
    results: dict[str, Measurement] = {}
    for label, python, statement in cases:
        log(f"import: {statement}")
        results[statement] = m = measure(python, statement)
        section.rows.append([label, f"{m.ms:.1f}", str(m.modules)])
    section.notes.append(
        f"`python -X importtime`, sum of top-level cumulative times, median of {RUNS} runs "
        "with warm bytecode caches; modules = growth of `sys.modules`."
    )
    if sdk_error is not None:
        section.notes.append(f"SDK cases skipped: {sdk_error}")
        return section

    func = results["from autumn_funcs import balances_create"]
    added = func.ms - results["import aiohttp"].ms
    log("import: in process, after import aiohttp")
    user_added = in_process_ms(
        SDK_PYTHON, "from autumn_funcs import balances_create", "import aiohttp"
    )
    facade_added = in_process_ms(SDK_PYTHON, "from autumn_funcs import Autumn", "import aiohttp")
    section.notes.append(
        "As a user measures it (`time.perf_counter()` around the statement, after `import "
        f"aiohttp` in the same fresh process, no -X importtime, median of {RUNS}; CPU time "
        "in brackets): `from autumn_funcs import balances_create` "
        f"{user_added[0]:.1f} ms ({user_added[1]:.1f} ms CPU), `from autumn_funcs import "
        f"Autumn` {facade_added[0]:.1f} ms ({facade_added[1]:.1f} ms CPU)."
    )
    update_loaded = UPDATE_MODULE in func.own_modules
    section.notes.append(
        f"SDK modules loaded by the function import: {', '.join(func.own_modules)}"
    )
    section.targets += [
        Target(
            "function import over `import aiohttp`", f"+{added:.1f} ms", "≤ +25 ms", added <= 25
        ),
        Target(
            "function import after `import aiohttp`, in process (CPU; wall in brackets)",
            f"+{user_added[1]:.1f} ms (+{user_added[0]:.1f} ms)",
            "≤ +25 ms",
            user_added[1] <= 25,
        ),
        Target(
            "function import loads no other operation",
            f"operation modules loaded: {', '.join(func.operations) or 'none'}; "
            f"{UPDATE_MODULE} {'loaded' if update_loaded else 'not loaded'}",
            "balances_create only",
            func.operations == ["autumn_funcs._balances_create"] and not update_loaded,
        ),
    ]
    return section
