"""No package imports in a circle: every module can be read, and tested, after the ones it uses.

The same holds one level up: no subpackage imports from another that imports
from it, so the subpackages stand in one order, the one ``autumn_local``'s
docstring draws.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import autumn_local
from tests.packaging.import_graph import cycles, import_graph, subpackage_graph


@pytest.mark.parametrize("package", ["autumn_core", "autumn_funcs", "autumn_local"])
def test_no_import_cycle(package: str) -> None:
    found = cycles(import_graph(package))
    assert not found, f"modules of {package} that import each other in a circle: {found}"


@pytest.mark.parametrize("package", ["autumn_core", "autumn_funcs", "autumn_local"])
def test_no_subpackage_cycle(package: str) -> None:
    found = cycles(subpackage_graph(import_graph(package)))
    assert not found, f"subpackages of {package} that import each other in a circle: {found}"


def _documented_order() -> list[str]:
    """The subpackages in the order ``autumn_local``'s docstring draws them: ``a -> b -> c``."""
    lines: list[str] = re.findall(
        r"^\s*(\w+(?: -> \w+)+)\s*$", autumn_local.__doc__ or "", re.MULTILINE
    )
    assert len(lines) == 1, "autumn_local's docstring draws its subpackages' order once"
    return lines[0].split(" -> ")


def test_autumn_local_subpackages_import_only_those_after_them_in_the_documented_order() -> None:
    order = _documented_order()
    package = Path(autumn_local.__file__).parent
    assert sorted(order) == sorted(p.parent.name for p in package.glob("*/__init__.py"))
    graph = subpackage_graph(import_graph("autumn_local"))
    place = {f"autumn_local.{name}": i for i, name in enumerate(order)}
    backwards = sorted(
        (source, target)
        for source, targets in graph.items()
        if source in place
        for target in targets
        if target in place and place[target] <= place[source]
    )
    assert not backwards, f"imports against the order {' -> '.join(order)}: {backwards}"


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


def test_subpackages_that_import_each_other_are_a_cycle_though_no_modules_are(
    tmp_path: Path,
) -> None:
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/top.py": "from pkg.a import x\n",
            "pkg/a/__init__.py": "",
            "pkg/a/x.py": "from pkg.b.y import f\n",
            "pkg/a/w.py": "",
            "pkg/b/__init__.py": "",
            "pkg/b/y.py": "",
            "pkg/b/z.py": "from pkg.a import w\n",
        },
    )
    graph = import_graph("pkg", root=tmp_path)
    assert cycles(graph) == []
    assert subpackage_graph(graph)["pkg.top"] == {"pkg.a"}
    assert cycles(subpackage_graph(graph)) == [["pkg.a", "pkg.b"]]
