"""Writes the `TYPE_CHECKING` imports of autumn_funcs/__init__.py from its `_EXPORTS` table.

The table is the one definition of what the package exports (its lazy
`__getattr__` reads it at run time); type checkers cannot run it, so the
package also imports every name under `if TYPE_CHECKING:`. That block is
generated: edit `_EXPORTS`, then run ``python tests/export_mirror.py``.
tests/sdk/test_lazy_imports.py fails, naming this command, when the two differ.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

INIT = Path(__file__).resolve().parents[1] / "autumn_funcs" / "__init__.py"
START = "if TYPE_CHECKING:\n"
END = "\n_MODULE_OF = "


def exports(source: str) -> dict[str, tuple[str, ...]]:
    """The `_EXPORTS` table as written in the package's source (not imported)."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.AnnAssign) and ast.unparse(node.target) == "_EXPORTS":
            assert node.value is not None
            table: dict[str, tuple[str, ...]] = ast.literal_eval(node.value)
            return table
    raise LookupError("no _EXPORTS table in autumn_funcs/__init__.py")


def rendered(source: str) -> str:
    """`source` with its TYPE_CHECKING block written from its table (not yet formatted)."""
    lines = [
        f"    from autumn_funcs.{module} import {name} as {name}"
        for module, names in exports(source).items()
        for name in names
    ]
    start = source.index(START) + len(START)
    end = source.index(END)
    return source[:start] + "\n".join(lines) + "\n" + source[end:]


def formatted(source: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(INIT), "-"],
        input=source,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def expected() -> str:
    """What autumn_funcs/__init__.py should read: its table's imports, formatted."""
    return formatted(rendered(INIT.read_text()))


if __name__ == "__main__":
    INIT.write_text(expected())
