"""The README is a landing page: one screen, a first call that makes its own customer,
and the two commands that work where only `python3` is on PATH."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def shell_lines() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", README, re.S)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def test_the_readme_stays_a_landing_page() -> None:
    assert len(README.splitlines()) <= 100, "move the detail to a page under docs/"
    assert "| --- |" not in README, "tables belong on the docs pages"


def test_the_first_call_gets_or_creates_its_customer_before_using_it() -> None:
    first = re.search(r"```python\n(.*?)```", README, re.S)
    assert first is not None
    code = first.group(1)
    calls = re.findall(r"await (\w+)\(", code)
    assert calls[0] == "customers_get_or_create", calls
    assert {"balances_create", "balances_check", "balances_track"} <= set(calls[1:])
    assert "cus_123" not in code, "the first call must not lean on the local server's seed"


def test_the_two_commands_are_one_line_each_and_need_only_python3() -> None:
    lines = shell_lines()
    demo = [line for line in lines if "-m autumn_local demo" in line]
    tests = [line for line in lines if re.search(r"-m pytest$", line)]
    assert len(demo) == 1 and len(tests) == 1, lines
    for line in (*demo, *tests):
        assert line.startswith("python3 -m venv .venv && .venv/bin/pip install -e ")
        # After the venv, every command names it: no `python` or `pip` from PATH.
        assert not re.search(r"(^|&& )(python|pip) ", line), line


def test_the_docs_command_builds_and_opens_the_site() -> None:
    assert ".venv/bin/pip install -e '.[docs]' && .venv/bin/mkdocs serve --open" in shell_lines()
    assert "\ndocs = [" in (ROOT / "pyproject.toml").read_text()
