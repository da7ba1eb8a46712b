"""What `from autumn_funcs import X` runs (PEP 562): each name of the export table is
the object its private module defines, and any other name is an AttributeError
that names it. Python calls the package's `__getattr__` on a name it has not bound
yet; called here directly, since this process has long bound every name."""

from __future__ import annotations

import importlib

import pytest

import autumn_funcs

TABLE: dict[str, tuple[str, ...]] = autumn_funcs._EXPORTS  # pyright: ignore[reportPrivateUsage]
NAMES = sorted((module, name) for module, names in TABLE.items() for name in names)


def test_the_table_is_not_empty() -> None:
    assert ("_balances_create", "balances_create") in NAMES


@pytest.mark.parametrize(("module", "name"), NAMES)
def test_each_exported_name_is_its_modules_object(module: str, name: str) -> None:
    defined = getattr(importlib.import_module(f"autumn_funcs.{module}"), name)
    assert autumn_funcs.__getattr__(name) is defined
    # Bound on the package from then on: later lookups get the same object.
    assert getattr(autumn_funcs, name) is defined


def test_any_other_name_is_an_attribute_error_naming_it() -> None:
    with pytest.raises(AttributeError) as caught:
        autumn_funcs.__getattr__("balances_creat")
    assert str(caught.value) == "module 'autumn_funcs' has no attribute 'balances_creat'"
    assert not hasattr(autumn_funcs, "no_such_name")
