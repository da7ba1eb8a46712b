"""What the ``autumn_local`` pytest plugin costs every pytest run of a project.

pytest loads the plugin through its ``pytest11`` entry point into every run of
every project that has the package installed, after importing pytest itself
(and pytest-asyncio, another plugin). So the probe imports those first and
times only ``import autumn_local.pytest_plugin``, in fresh processes, with
``python -X importtime`` (sum of top-level cumulative times), median of RUNS.

    python bench/bench_plugin_import.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys

from bench_import import MARK, import_ms
from harness import REPO

RUNS = 15

PROBE = f"""\
import sys
import pytest
try:
    import pytest_asyncio
except ImportError:
    pass
before = set(sys.modules)
sys.stderr.write("{MARK}\\n"); sys.stderr.flush()
import autumn_local.pytest_plugin
sys.stderr.write("{MARK}\\n"); sys.stderr.flush()
added = set(sys.modules) - before
print(len(added))
print(" ".join(sorted(m for m in added if m.startswith(("aiohttp", "sqlite3", "autumn_")))))
"""


def once() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-c", PROBE],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )


def main() -> None:
    warm = once()  # writes bytecode caches, so no measured run pays for compiling
    times = [import_ms(once().stderr) for _ in range(RUNS)]
    count, names = (warm.stdout + "\n").splitlines()[:2]
    print(
        f"import autumn_local.pytest_plugin (pytest already imported): "
        f"median {statistics.median(times):.1f} ms over {RUNS} fresh processes "
        f"(min {min(times):.1f}, max {max(times):.1f}); {count} modules added"
    )
    heavy = [n for n in names.split() if n.split(".")[0] in ("aiohttp", "sqlite3")]
    print(
        f"aiohttp/sqlite3 modules loaded: {len(heavy)}"
        + (f" (e.g. {', '.join(heavy[:5])})" if heavy else "")
    )
    print(
        "autumn_local modules loaded:",
        " ".join(n for n in names.split() if n.startswith("autumn_")),
    )


if __name__ == "__main__":
    main()
