"""Run mutmut's mutants each in a fresh interpreter, and record the verdicts in
mutmut's own files (`mutants/**/*.meta`), so that `mutmut results` shows them.

Why: mutmut switches a mutant on inside a worker forked after its own run of the
tests, so code that runs once per type and is then cached (the compiled readers,
writers and params checks, the converter's hook factories) has already run
unmutated there, and its mutants "survive" tests that kill them. Here the mutant
is on from the interpreter's start.

Usage, from the project root, once `mutmut run` has made `mutants/` (and is not
running: both write the same files):

    python tools/mutants_fresh.py 'autumn_core._compiled_readers.*' \
        --tests tests/sdk/test_compiled_readers.py tests/sdk/test_wire.py

Only mutants with no verdict, or that survived, are run: a kill is final. A run
over fewer tests than mutmut's can only miss kills, never invent one.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import fnmatch
import json
import os
import subprocess
import sys
from pathlib import Path

MUTANTS = Path("mutants")
KILLED, SURVIVED, TIMEOUT = 1, 0, 24  # mutmut's exit codes for these verdicts


def _todo(patterns: list[str]) -> list[tuple[Path, str]]:
    found = []
    for meta in sorted(MUTANTS.rglob("*.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        for key, code in codes.items():
            if code in (None, SURVIVED) and any(fnmatch.fnmatch(key, p) for p in patterns):
                found.append((meta, key))
    return found


def _verdict(key: str, tests: list[str], timeout_s: float) -> int:
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    env = {**os.environ, "MUTANT_UNDER_TEST": key}
    try:
        done = subprocess.run(  # noqa: S603 (the interpreter running this, on pytest)
            command, cwd=MUTANTS, env=env, capture_output=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        return TIMEOUT
    return KILLED if done.returncode == 1 else SURVIVED if done.returncode == 0 else TIMEOUT


def _record(meta: Path, key: str, code: int) -> None:
    data = json.loads(meta.read_text())
    data["exit_code_by_key"][key] = code
    meta.write_text(json.dumps(data, indent=4))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("patterns", nargs="+", help="mutant names or fnmatch patterns")
    parser.add_argument("--tests", nargs="+", required=True, help="test files or ids")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300, help="seconds per mutant")
    args = parser.parse_args()
    todo = _todo(args.patterns)
    print(f"{len(todo)} mutants", flush=True)
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        verdicts = pool.map(lambda item: _verdict(item[1], args.tests, args.timeout), todo)
        for (meta, key), code in zip(todo, verdicts, strict=True):
            _record(meta, key, code)  # one thread writes: the files are read whole
            print(key, {KILLED: "killed", SURVIVED: "survived"}.get(code, "timeout"), flush=True)


if __name__ == "__main__":
    main()
