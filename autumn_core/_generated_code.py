"""Functions generated from source lines: the compiled readers and writers.

Each source is registered in `linecache` under a file name of its own (as
cattrs does for its own generated code), so that a traceback through a
generated function shows its code.
"""

from __future__ import annotations

import itertools
import linecache
from collections.abc import Callable
from typing import Any

# Numbers the generated sources, so that each has a file name of its own in linecache.
_SERIAL = itertools.count(1)


def define(lines: list[str], what: str, scope: dict[str, Any]) -> Callable[..., Any]:
    """The function `lines` define (`def name(...):` first), with `scope` as its
    globals; `what` names it in tracebacks (`<autumn_core compiled WHAT #N>`)."""
    source = "\n".join(lines) + "\n"
    filename = f"<autumn_core compiled {what} #{next(_SERIAL)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict[str, Any] = {}
    exec(compile(source, filename, "exec"), scope, namespace)  # noqa: S102 - our own code
    function: Callable[..., Any] = namespace[lines[0][4 : lines[0].index("(")]]
    return function
