"""What `autumn_local` shows a user: its exports, and once loaded, the subpackages of its layout."""

from __future__ import annotations

import json
import subprocess
import sys

import autumn_local

EXPORTS = {
    "DEFAULT_SECRET_KEY",
    "FAULT_KINDS",
    "Clock",
    "FaultInjector",
    "FaultSpec",
    "LocalAutumn",
    "LocalAutumnThread",
}
LAYOUT = {"http", "rules", "run", "schemas", "store"}


def _public_names(code: str) -> set[str]:
    probe = f"import autumn_local, json\n{code}\nprint(json.dumps(dir(autumn_local)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return {name for name in json.loads(out) if not name.startswith("__")}


def test_a_fresh_package_shows_its_exports_only() -> None:
    assert set(autumn_local.__all__) == EXPORTS
    assert _public_names("") == EXPORTS


def test_a_started_server_adds_the_subpackages_of_its_layout_only() -> None:
    names = _public_names("autumn_local.LocalAutumn\nimport autumn_local.pytest_plugin")
    assert names == EXPORTS | LAYOUT | {"pytest_plugin"}


def test_star_import_brings_the_exports_only() -> None:
    namespace: dict[str, object] = {}
    exec("from autumn_local import *", namespace)
    assert set(namespace) - {"__builtins__"} == EXPORTS
