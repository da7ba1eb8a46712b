"""No package imports in a circle: every module can be read, and tested, after the ones it uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.packaging.import_graph import cycles, import_graph


@pytest.mark.parametrize("package", ["autumn_core", "autumn_funcs", "autumn_local"])
def test_no_import_cycle(package: str) -> None:
    found = cycles(import_graph(package))
    assert not found, f"modules of {package} that import each other in a circle: {found}"


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_a_cycle_through_a_late_or_type_checking_import_is_found(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/sub/__init__.py": "",
            "pkg/sub/a.py": "def f():\n    from pkg.b import g\n",
            "pkg/b.py": "if TYPE_CHECKING:\n    from .sub import a\n",
            "pkg/c.py": "import pkg.b\n",
        },
    )
    assert cycles(import_graph("pkg", root=tmp_path)) == [["pkg.b", "pkg.sub.a"]]


def test_a_chain_is_not_a_cycle(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg import a\n",
            "pkg/a.py": "from pkg.b import x\n",
            "pkg/b.py": "from . import c\n",
            "pkg/c.py": "import json\n",
        },
    )
    graph = import_graph("pkg", root=tmp_path)
    assert graph["pkg.b"] == {"pkg.c"}
    assert cycles(graph) == []
