"""The import graph of a package, read from its source with ``ast``.

Every ``import`` counts, wherever it stands: at the top, inside a function
(imported late to save start-up time) or under ``if TYPE_CHECKING:``. Each
one is a dependency a reader has to follow, and a cycle through any of them
is a knot in the design even when Python happens to load it.
"""

from __future__ import annotations

import ast
from collections.abc import Container, Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

Graph = dict[str, set[str]]


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported(
    node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: Container[str]
) -> Iterable[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        # `from . import x` inside a.b (module) means a; inside a.b (package), a.b.
        package = module if is_package else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{base}" if base else package
    # `from a.b import c` imports the module a.b.c when there is one, else a name of a.b.
    named = [f"{base}.{alias.name}" for alias in node.names]
    return [name if name in modules else base for name in named]


def import_graph(*packages: str, root: Path = ROOT) -> Graph:
    """Module -> the modules of ``packages`` it imports."""
    sources = {
        _module_name(path, root): path
        for package in packages
        for path in sorted((root / package).rglob("*.py"))
    }
    graph: Graph = {name: set() for name in sources}
    for name, path in sources.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                targets = _imported(node, name, is_package, sources)
                graph[name].update(t for t in targets if t in sources and t != name)
    return graph


def subpackage_graph(graph: Mapping[str, set[str]]) -> Graph:
    """``graph`` one level up: each subpackage (or top-level module) of a package is one
    node, importing the others that any of its modules imports."""

    def node(module: str) -> str:
        return ".".join(module.split(".")[:2])

    collapsed: Graph = {node(module): set() for module in graph}
    for module, targets in graph.items():
        collapsed[node(module)].update(node(t) for t in targets if node(t) != node(module))
    return collapsed


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def floors(graph: Mapping[str, set[str]]) -> int:
    """How many layers the modules stand on: the longest import chain, counted in modules.

    Only meaningful without cycles.
    """
    depth: dict[str, int] = {}

    def floor(node: str) -> int:
        if node not in depth:
            depth[node] = 0  # a cycle, if any, stops here
            depth[node] = 1 + max((floor(t) for t in graph[node]), default=0)
        return depth[node]

    return max((floor(node) for node in graph), default=0)
