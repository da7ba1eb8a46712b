"""Run mypy and pyright over user-style files, as a user runs them (strict), and read back
what they said: errors and `reveal_type` notes, keyed by file and line.

No network: pyright gets --outputjson and PYRIGHT_PYTHON_IGNORE_WARNINGS=1, so its
Python wrapper does not ask PyPI for a newer version. A missing checker is a skip,
with the reason, never a pass.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# mypy prints `autumn_funcs._balances_create.CreateBalanceResponse`, pyright
# `CreateBalanceResponse`: compare types by their unqualified names.
_QUALIFIER = re.compile(r"\b(?:[A-Za-z_]\w*\.)+(?=[A-Za-z_])")
_MYPY_LINE = re.compile(r"^(?P<file>[^:]+\.py):(?P<line>\d+): (?P<severity>\w+): (?P<message>.*)$")
_MYPY_CODE = re.compile(r"\s+\[(?P<code>[a-z0-9-]+)\]$")
_MYPY_REVEALED = re.compile(r'^Revealed type is "(?P<type>.*)"$')
_PYRIGHT_REVEALED = re.compile(r'^Type of ".*" is "(?P<type>.*)"$', re.DOTALL)


@dataclass(frozen=True)
class Diagnostic:
    file: str  # the file's name, relative to the checked directory
    line: int  # 1-based
    severity: str  # "error", or "note" for anything else (mypy notes, pyright information)
    message: str
    code: str  # mypy's error code, pyright's rule; "" when it has none


def unqualified(type_text: str) -> str:
    # pyright keeps the spelling of an annotation's NoReturn, mypy says Never: the same type.
    return _QUALIFIER.sub("", type_text).replace("NoReturn", "Never")


def revealed(diagnostics: list[Diagnostic]) -> dict[tuple[str, int], str]:
    """(file, line) -> the type `reveal_type` showed there, unqualified."""
    found: dict[tuple[str, int], str] = {}
    for d in diagnostics:
        match = _MYPY_REVEALED.match(d.message) or _PYRIGHT_REVEALED.match(d.message)
        if d.severity == "note" and match:
            found[(d.file, d.line)] = unqualified(match["type"])
    return found


def errors(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diagnostics if d.severity == "error"]


def marked_lines(code: str, mark: str = "# error") -> set[int]:
    """The 1-based numbers of the lines of ``code`` that end with ``mark``: the lines a
    test expects a checker to flag."""
    return {n for n, line in enumerate(code.splitlines(), 1) if line.endswith(mark)}


def require_mypy() -> None:
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy (in the test extra) is not installed")


def require_pyright() -> None:
    if importlib.util.find_spec("pyright") is None:
        pytest.skip("pyright (in the dev extra) is not installed")
    if shutil.which("node") is None:
        pytest.skip("pyright needs node, which is not on PATH")


def _not_in_a_mutation_run() -> None:
    # mutmut runs the tests on source it rewrote (each function a trampoline to its mutants):
    # what a type checker says of it is not what it says of the package. Its run of the
    # unmutated tests sets the variable empty: the source is rewritten all the same.
    if "MUTANT_UNDER_TEST" in os.environ:
        pytest.skip("type checks do not read mutmut's rewritten source")


def run_mypy(directory: Path, files: list[str], *options: str) -> list[Diagnostic]:
    """`mypy --strict` on the files, with the repository's packages importable; `options`
    are more of mypy's flags."""
    _not_in_a_mutation_run()
    require_mypy()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--python-version",
            "3.10",
            "--no-error-summary",
            "--show-error-codes",
            "--no-pretty",
            "--cache-dir",
            str(directory / ".mypy_cache"),
            *options,
            *files,
        ],
        cwd=directory,
        env={**os.environ, "MYPYPATH": str(ROOT)},  # the editable install hides it from mypy
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if done.returncode not in (0, 1):
        raise AssertionError(f"mypy crashed ({done.returncode}):\n{done.stdout}{done.stderr}")
    found = []
    for text in done.stdout.splitlines():
        line = _MYPY_LINE.match(text)
        if line is None:
            continue
        message, code = line["message"], ""
        tagged = _MYPY_CODE.search(message) if line["severity"] == "error" else None
        if tagged:
            message, code = message[: tagged.start()], tagged["code"]
        severity = "error" if line["severity"] == "error" else "note"
        found.append(Diagnostic(line["file"], int(line["line"]), severity, message, code))
    return found


def run_pyright(directory: Path, python_version: str = "3.10") -> list[Diagnostic]:
    """`pyright` in strict mode on every .py file of the directory (Python 3.10 rules
    unless told), with this test's own interpreter and its packages."""
    _not_in_a_mutation_run()
    require_pyright()
    config = {
        "typeCheckingMode": "strict",
        "pythonVersion": python_version,
        "extraPaths": [str(ROOT)],
    }
    (directory / "pyrightconfig.json").write_text(json.dumps(config))
    done = subprocess.run(
        [sys.executable, "-m", "pyright", "--outputjson", "--pythonpath", sys.executable],
        cwd=directory,
        env={**os.environ, "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"pyright said no JSON:\n{done.stdout}{done.stderr}") from None
    return [
        Diagnostic(
            str(Path(d["file"]).relative_to(directory.resolve())),
            d["range"]["start"]["line"] + 1,
            "error" if d["severity"] == "error" else "note",
            d["message"],
            d.get("rule", ""),
        )
        for d in report["generalDiagnostics"]
    ]
