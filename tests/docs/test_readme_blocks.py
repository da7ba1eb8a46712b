"""Every ```python block of README.md, CONTRIBUTING.md and every page under docs/ (found
anew on each run, so a page added later is covered too) runs in the test suite, so the
docs cannot rot.

A block is one of three kinds, said by the HTML comments right above it:

- no marker: run here, as a user pastes it (top-level `await` allowed, as in
  `python -m asyncio`), in a process of its own pointed at a fresh local server
  by AUTUMN_SERVER_URL and AUTUMN_SECRET_KEY; it must exit cleanly;
- `<!-- run by: tests/path.py::function [argument] -->`: another test runs it;
  that module's `function(argument)` must return exactly this block, and the
  module must use it;
- `<!-- not run: reason -->`: the reason is said; a block that is `an excerpt of
  PATH` must still be in PATH, line by line and in order.

A block run here that uses top-level `await` is a snippet to paste into
`python -m asyncio`: it is also pasted into that REPL (which ends a block at a
blank line, on Python 3.10 to 3.13 alike), and type-checked with mypy --strict.
"""

from __future__ import annotations

import ast
import importlib
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from autumn_local import LocalAutumn
from tests.type_checkers import errors, run_mypy

ROOT = Path(__file__).resolve().parents[2]
DOCS = (
    "README.md",
    "CONTRIBUTING.md",
    *sorted(str(page.relative_to(ROOT)) for page in (ROOT / "docs").rglob("*.md")),
)
MARKER = re.compile(r"<!--\s*(.*?)\s*-->")

# Runs a block as the top level of a script: with top-level await compiled in,
# `eval` gives a coroutine to run on a fresh event loop; without, it just runs.
RUNNER = """
import ast, asyncio, inspect, sys
source = sys.stdin.read()
code = compile(source, "<block>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
result = eval(code, {"__name__": "__main__"})
if inspect.iscoroutine(result):
    asyncio.run(result)
"""


@dataclass(frozen=True)
class Block:
    doc: str
    line: int  # of the opening fence, 1-based
    code: str
    markers: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.doc}:{self.line}"

    def marker(self, kind: str) -> str | None:
        for marker in self.markers:
            if marker.startswith(f"{kind}:"):
                return marker[len(kind) + 1 :].strip()
        return None


def python_blocks(doc: str) -> list[Block]:
    """Each ```python block of the document, with the comment lines just above it."""
    lines = (ROOT / doc).read_text().split("\n")
    found = []
    index = 0
    while index < len(lines):
        if lines[index].strip() != "```python":
            index += 1
            continue
        markers: list[str] = []
        above = index - 1
        while above >= 0 and (match := MARKER.fullmatch(lines[above].strip())):
            markers.insert(0, match.group(1))
            above -= 1
        end = lines.index("```", index + 1)
        code = "\n".join(lines[index + 1 : end]) + "\n"
        found.append(Block(doc, index + 1, code, tuple(markers)))
        index = end + 1
    return found


BLOCKS = [block for doc in DOCS for block in python_blocks(doc)]
RUN_HERE = [block for block in BLOCKS if not block.marker("run by") and not block.marker("not run")]


def test_every_python_block_is_found() -> None:
    for doc in DOCS:
        text = (ROOT / doc).read_text()
        assert len(python_blocks(doc)) == text.count("```python\n")
    assert len(python_blocks("README.md")) >= 1
    assert len(python_blocks("docs/getting-started.md")) >= 3
    assert RUN_HERE, "no block is run here: the parser or the markers are wrong"


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.marker("run by")], ids=str)
def test_a_block_run_elsewhere_is_the_block_that_test_runs(block: Block) -> None:
    target = block.marker("run by")
    assert target is not None
    found = re.fullmatch(r"(tests/[\w/]+\.py)::(\w+)(?: (\S+))?", target)
    assert found, f"{block}: write `run by: tests/path.py::function [argument]`, not {target!r}"
    path, function, argument = found.groups()
    source = (ROOT / path).read_text()
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    extract = getattr(module, function)
    extracted = extract(argument) if argument else extract()
    assert extracted == block.code, f"{block}: {path}::{function} reads another block"
    # The module runs what it extracts: the function is called, not only defined,
    # and an argument (a recipe's name) is one the module lists.
    assert len(re.findall(rf"\b{function}\(", source)) >= 2, f"{path} never calls {function}"
    if argument:
        assert f'"{argument}"' in source, f"{path} does not run {argument!r}"


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.marker("not run")], ids=str)
def test_a_block_not_run_says_why_and_an_excerpt_matches_its_source(block: Block) -> None:
    reason = block.marker("not run")
    assert reason and len(reason) > 10, f"{block}: say why the block is not run"
    excerpt = re.match(r"an excerpt of (\S+?),?(?:\s|$)", reason)
    if excerpt is None:
        return
    source_lines = [line.strip() for line in (ROOT / excerpt.group(1)).read_text().splitlines()]
    position = 0
    for line in block.code.splitlines():
        if not line.strip():
            continue
        try:
            position = source_lines.index(line.strip(), position) + 1
        except ValueError:
            pytest.fail(f"{block}: {line.strip()!r} is not in {excerpt.group(1)} (in this order)")


@pytest.mark.parametrize("block", RUN_HERE, ids=str)
def test_the_block_runs_against_the_local_server(
    block: Block, local_autumn_thread: LocalAutumn, tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", RUNNER],
        input=block.code,
        cwd=tmp_path,
        env={
            **os.environ,
            "AUTUMN_SECRET_KEY": local_autumn_thread.secret_key,
            "AUTUMN_SERVER_URL": local_autumn_thread.url,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"{block} failed:\n{done.stderr}"
    assert "Traceback" not in done.stderr, done.stderr
    # What a comment says a print shows (`print(res.value)  # CreateBalanceResponse(...)`)
    # is what it printed.
    printed = done.stdout.splitlines()
    for shown in re.findall(r"print\(.*\)\s+# ([A-Za-z_]\w*\(.*\))$", block.code, re.M):
        assert shown in printed, f"{block}: the comment says {shown!r}, it printed {printed}"


def _top_level_await(block: Block) -> bool:
    """A snippet for `python -m asyncio`: it compiles only with top-level await allowed."""
    try:
        compile(block.code, str(block), "exec")
    except SyntaxError:
        compile(block.code, str(block), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        return True
    return False


REPL_SNIPPETS = [block for block in RUN_HERE if _top_level_await(block)]


def test_the_snippets_for_the_repl_are_found() -> None:
    assert {block.doc for block in REPL_SNIPPETS} >= {"README.md", "docs/getting-started.md"}


@pytest.mark.parametrize("block", REPL_SNIPPETS, ids=str)
def test_a_snippet_for_the_repl_has_no_blank_line_inside_a_block(block: Block) -> None:
    # The REPL ends a compound statement at a blank line: the indented lines after
    # one would be an IndentationError, on every Python from 3.10 to 3.13.
    lines = block.code.splitlines()
    for number, line in enumerate(lines):
        if line.strip():
            continue
        after = next((text for text in lines[number + 1 :] if text.strip()), "")
        assert not after[:1].isspace(), f"{block}: a blank line inside a block, before {after!r}"


@pytest.mark.skipif(
    sys.version_info >= (3, 13),
    reason="Python 3.13's asyncio REPL reads piped input one line at a time, whole blocks "
    "or not (its paste into a terminal works); the blank-line check above covers 3.13",
)
@pytest.mark.parametrize("block", REPL_SNIPPETS, ids=str)
def test_a_snippet_for_the_repl_pastes_into_python_m_asyncio(
    block: Block, local_autumn_thread: LocalAutumn, tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "asyncio"],
        input=block.code + "\n",  # and Enter, which runs the pasted block
        cwd=tmp_path,
        env={
            **os.environ,
            "AUTUMN_SECRET_KEY": local_autumn_thread.secret_key,
            "AUTUMN_SERVER_URL": local_autumn_thread.url,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # The REPL reports an error and reads on: its exit status says nothing.
    assert "Traceback" not in done.stderr and "Error" not in done.stderr, done.stderr
    # What a comment says a print shows is what the REPL printed (prompts and all).
    shown_values = r"print\(.*\)\s+# ([A-Za-z_]\w*\(.*\)|True|False|-?[\d.]+)(?::.*)?$"
    for shown in re.findall(shown_values, block.code, re.M):
        assert f"{shown}\n" in done.stdout, f"{block}: {shown!r} not in {done.stdout!r}"


def test_the_snippets_for_the_repl_type_check_with_mypy_strict(tmp_path: Path) -> None:
    files = []
    for number, block in enumerate(REPL_SNIPPETS):
        name = f"snippet_{number}.py"
        (tmp_path / name).write_text(block.code)
        files.append(name)
    found = errors(run_mypy(tmp_path, files, "--disable-error-code", "top-level-await"))
    # mypy reads `async with` at the top level as a syntax error it cannot switch off,
    # then checks the rest: that one message is the REPL's licence, not a fault.
    found = [d for d in found if "outside async function" not in d.message]
    where = {f"snippet_{n}.py": str(block) for n, block in enumerate(REPL_SNIPPETS)}
    assert found == [], [f"{where[d.file]} +{d.line}: {d.message}" for d in found]
