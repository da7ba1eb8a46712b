"""Each operation stands alone: importing one never loads the other (PEP 562 re-exports).

Run in fresh interpreters, since this test process has long imported everything.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import autumn_funcs


def run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


LOADED = "import sys; print(sorted(m for m in sys.modules if m.startswith('autumn_funcs')))"


@pytest.mark.parametrize(
    ("statement", "loaded", "not_loaded"),
    [
        ("from autumn_funcs import balances_create", "_balances_create", "_balances_update"),
        ("from autumn_funcs import balances_update", "_balances_update", "_balances_create"),
        ("from autumn_funcs import UpdateBalanceParams", "_balances_update", "_balances_create"),
        ("from autumn_funcs import ResetInterval", "_reset_interval", "_balances_create"),
        ("from autumn_funcs import balances_check", "_balances_check", "_balances_track"),
        ("from autumn_funcs import balances_track", "_balances_track", "_balances_check"),
        ("from autumn_funcs import balances_delete", "_balances_delete", "_balances_update"),
        ("from autumn_funcs import balances_finalize", "_balances_finalize", "_balances_check"),
        ("from autumn_funcs import customers_get", "_customers_get", "_customers_get_or_create"),
        (
            "from autumn_funcs import customers_get_or_create",
            "_customers_get_or_create",
            "_customers_get",
        ),
        ("from autumn_funcs import entities_get", "_entities_get", "_customers_get"),
        ("from autumn_funcs import Customer", "_customer_view", "_customers_get"),
        ("from autumn_funcs import Balance", "_balance_view", "_balances_check"),
    ],
)
def test_one_operation_does_not_load_the_other(
    statement: str, loaded: str, not_loaded: str
) -> None:
    modules = run(f"{statement}\n{LOADED}")
    assert f"'autumn_funcs.{loaded}'" in modules
    assert f"'autumn_funcs.{not_loaded}'" not in modules
    assert "'autumn_funcs._autumn'" not in modules


def test_importing_the_package_loads_no_operation() -> None:
    modules = run(f"import autumn_funcs\n{LOADED}")
    assert modules == "['autumn_funcs']"


def test_function_names_stay_functions_whatever_was_imported_first() -> None:
    # Importing a submodule binds it on the package under the function's own name;
    # the package must keep handing out the function.
    out = run(
        "import inspect\n"
        "from autumn_funcs import CreateBalanceParams, balances_create\n"
        "import autumn_funcs._balances_update\n"
        "from autumn_funcs import Autumn\n"
        "from autumn_funcs import balances_update\n"
        "import autumn_funcs\n"
        "print(inspect.iscoroutinefunction(balances_create),"
        " inspect.iscoroutinefunction(balances_update),"
        " inspect.iscoroutinefunction(autumn_funcs.balances_create))"
    )
    assert out == "True True True"


def test_unknown_name_is_an_attribute_error() -> None:
    import autumn_funcs

    with pytest.raises(AttributeError, match="balances_transfer"):
        autumn_funcs.balances_transfer  # noqa: B018
    with pytest.raises(ImportError):
        exec("from autumn_funcs import balances_transfer", {})


def test_the_export_table_the_type_checking_imports_and_all_agree() -> None:
    # The table drives the lazy imports at run time; type checkers read the
    # TYPE_CHECKING imports. A name in one and not the other would be missing
    # for users of one or the other.
    tree = ast.parse(Path(autumn_funcs.__file__).read_text())
    (block,) = [
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    ]
    imported: dict[str, tuple[str, str]] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom) and node.module is not None
        for alias in node.names:
            assert alias.asname == alias.name, f"re-export {alias.name} as itself"
            imported[alias.name] = (node.module, alias.name)
    table = {
        name: (f"autumn_funcs.{module}", name)
        for module, names in autumn_funcs._EXPORTS.items()
        for name in names
    }
    assert imported == table
    assert autumn_funcs.__all__ == sorted(table)
    assert dir(autumn_funcs) == autumn_funcs.__all__


def test_the_type_checking_imports_are_generated_from_the_table() -> None:
    from tests.export_mirror import INIT, expected

    assert INIT.read_text() == expected(), (
        "autumn_funcs/__init__.py: the TYPE_CHECKING imports differ from _EXPORTS; "
        "run `python tests/export_mirror.py` to write them from it"
    )


def test_every_exported_name_resolves_from_its_module() -> None:
    out = run(
        "import autumn_funcs\n"
        "missing = [n for n in autumn_funcs.__all__ if getattr(autumn_funcs, n, None) is None]\n"
        "print(missing)"
    )
    assert out == "[]"


def _imported_modules(package: str) -> dict[str, set[str]]:
    """Every module each file of `package` imports, by file name."""
    found: dict[str, set[str]] = {}
    for path in sorted((Path(autumn_funcs.__file__).parents[1] / package).glob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
        found[path.name] = names
    return found


def test_operations_use_only_the_public_names_of_the_core() -> None:
    # What an operation module needs from the core is exported by autumn_core and
    # autumn_core.seam; the private modules may change without notice.
    for name, modules in _imported_modules("autumn_funcs").items():
        private = sorted(
            m for m in modules if m.startswith("autumn_core.") and m != "autumn_core.seam"
        )
        assert private == [], f"{name} imports {private}"


def test_the_core_knows_no_operation() -> None:
    for name, modules in _imported_modules("autumn_core").items():
        assert not [m for m in modules if m.startswith(("autumn_funcs", "autumn_local"))], name
