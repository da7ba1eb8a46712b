"""The ```python blocks of docs/telemetry.md and docs/local-server-page.md run, each as
a standalone script (they start their own local server), so these pages cannot rot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.test_readme_blocks import RUNNER, Block, python_blocks

PAGES = ("docs/telemetry.md", "docs/local-server-page.md")
BLOCKS = [block for page in PAGES for block in python_blocks(page)]
RUN_HERE = [block for block in BLOCKS if not block.marker("not run")]


def test_each_page_has_a_block_that_runs() -> None:
    assert {block.doc for block in RUN_HERE} == set(PAGES)


@pytest.mark.parametrize("block", RUN_HERE, ids=str)
def test_the_block_runs(block: Block, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", RUNNER],
        input=block.code,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"{block} failed:\n{done.stderr}"
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stdout.strip(), f"{block} printed nothing"
