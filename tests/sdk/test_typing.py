"""`if res.ok:` narrows a Result for a type checker (mypy --strict, as users run it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

NARROWED = """
from autumn_core import AutumnCore, AutumnSDKError
from autumn_funcs import CreateBalanceResponse, balances_create


async def grant(core: AutumnCore) -> CreateBalanceResponse | AutumnSDKError:
    res = await balances_create(core, {"customer_id": "c", "feature_id": "f"})
    if res.ok:
        return res.value
    return res.error
"""

NOT_NARROWED = """
from autumn_core import AutumnCore
from autumn_funcs import CreateBalanceResponse, balances_create


async def grant(core: AutumnCore) -> CreateBalanceResponse:
    res = await balances_create(core, {"customer_id": "c", "feature_id": "f"})
    return res.value
"""


def test_ok_narrows_value_and_error(tmp_path: Path) -> None:
    pytest.importorskip("mypy", reason="mypy (in the test extra) is not installed")
    (tmp_path / "narrowed.py").write_text(NARROWED)
    (tmp_path / "not_narrowed.py").write_text(NOT_NARROWED)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--cache-dir",
            str(tmp_path / "cache"),
            "narrowed.py",
            "not_narrowed.py",
        ],
        cwd=tmp_path,
        env={**os.environ, "MYPYPATH": str(ROOT)},  # the editable install hides it from mypy
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    assert not [line for line in errors if line.startswith("narrowed.py")], done.stdout
    # The control: without the check, reading `.value` is a type error.
    assert any(line.startswith("not_narrowed.py") and '"value"' in line for line in errors), (
        done.stdout + done.stderr
    )
