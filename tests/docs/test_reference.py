"""The API reference (docs/reference/) documents each package's public surface: what its
`__all__` exports, no more and no less."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_autumn_funcs_page_lists_every_exported_name_and_nothing_else() -> None:
    page = (ROOT / "docs" / "reference" / "autumn_funcs.md").read_text()
    listed = re.findall(r"^ {8}- (\w+)$", page, re.M)
    assert len(listed) == len(set(listed)), "a name is listed twice"
    funcs = importlib.import_module("autumn_funcs")
    assert set(listed) == set(funcs.__all__)


@pytest.mark.parametrize("package", ["autumn_core", "autumn_funcs", "autumn_local"])
def test_each_package_has_a_reference_page_in_the_nav(package: str) -> None:
    assert (ROOT / "docs" / "reference" / f"{package}.md").read_text().count(f"::: {package}\n")
    assert f"reference/{package}.md" in (ROOT / "mkdocs.yml").read_text()
