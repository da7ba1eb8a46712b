"""Every operation of the async facade has a blocking twin on AutumnSync, with the same
parameters and result, for a reader and for a type checker.

A new operation added to `Autumn` (a method of a namespace such as `Balances`, or a
new namespace) fails here until its twin exists, one line in autumn_funcs/_autumn_sync.py.
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_type_hints

import pytest

from autumn_core import AutumnCore
from autumn_funcs import Autumn, AutumnSync
from autumn_funcs._autumn_sync import BlockingMethod
from tests.type_checkers import errors, marked_lines, run_mypy, run_pyright


def operations(client_type: type[Any], is_operation: Callable[[Any], bool]) -> dict[str, Any]:
    """`"balances.create"` -> the member, for each public operation of a client class: those
    of the namespaces its public properties return, and those on the class itself.

    What the class inherits from AutumnCore (aclose, call, ...) is transport, not an
    operation: AutumnSync has close() and call() for those."""
    found: dict[str, Any] = {}
    for name, member in vars(client_type).items():
        if name.startswith("_"):
            continue
        if isinstance(member, property):
            assert member.fget is not None
            namespace = get_type_hints(member.fget)["return"]
            for op, method in vars(namespace).items():
                if not op.startswith("_") and is_operation(method):
                    found[f"{name}.{op}"] = method
        elif is_operation(member):
            found[name] = member
    return found


ASYNC_OPERATIONS = operations(Autumn, inspect.iscoroutinefunction)
BLOCKING_OPERATIONS = operations(AutumnSync, lambda member: isinstance(member, BlockingMethod))


def test_the_facade_has_operations_to_compare() -> None:
    # The control: the discovery above finds the operations the facade is known to have.
    assert {"balances.create", "balances.update"} <= set(ASYNC_OPERATIONS)
    assert not set(ASYNC_OPERATIONS) & {
        name for name in dir(AutumnCore) if not name.startswith("_")
    }


@pytest.mark.parametrize("name", sorted(ASYNC_OPERATIONS))
def test_every_async_operation_has_a_blocking_twin(name: str) -> None:
    twin = BLOCKING_OPERATIONS.get(name)
    assert twin is not None, (
        f"AutumnSync has no twin of Autumn's {name}: add "
        f"`{name.rpartition('.')[2]}: Final = BlockingMethod(...)` to its namespace in "
        "autumn_funcs/_autumn_sync.py"
    )
    assert twin.__wrapped__ is ASYNC_OPERATIONS[name], f"{name} runs another async method"


@pytest.mark.parametrize("name", sorted(ASYNC_OPERATIONS))
def test_twins_take_the_same_parameters(name: str) -> None:
    with AutumnSync("am_sk_test_x", server_url="http://127.0.0.1:9") as client:
        target: Any = client
        for part in name.split("."):
            target = getattr(target, part)
        blocking = inspect.signature(target)
    asynchronous = inspect.signature(ASYNC_OPERATIONS[name])
    assert list(blocking.parameters.values()) == list(asynchronous.parameters.values())[1:]
    assert blocking.return_annotation == asynchronous.return_annotation
    assert target.__doc__ == ASYNC_OPERATIONS[name].__doc__


def test_no_blocking_operation_without_an_async_one() -> None:
    assert set(BLOCKING_OPERATIONS) <= set(ASYNC_OPERATIONS)


# What a user's type checker must accept, and what it must refuse (one error per line
# marked `# error`): the twins are typed as the async methods without `await`.
ACCEPTED = """
from autumn_core import AutumnSDKError, Result
from autumn_funcs import (
    AutumnSync, CreateBalanceResponse, UpdateBalanceResponse, balances_create, balances_update
)


def grant(autumn: AutumnSync) -> None:
    created: CreateBalanceResponse = autumn.balances.create(customer_id="c", feature_id="f")
    updated: UpdateBalanceResponse = autumn.balances.update(
        {"customer_id": "c", "feature_id": "f", "remaining": 1}, options={"timeout_ms": 500}
    )
    res: Result[UpdateBalanceResponse, AutumnSDKError] = autumn.call(
        balances_update, {"customer_id": "c", "feature_id": "f"}, {"idempotency_key": "k"}
    )
    with AutumnSync() as scoped:
        scoped.call(balances_create, {"customer_id": "c", "feature_id": "f"})
"""

REFUSED = """
from autumn_funcs import AutumnSync, balances_create


def grant(autumn: AutumnSync) -> None:
    count: int = autumn.balances.create(customer_id="c")  # error
    autumn.balances.update({"customer_id": "c"}, {"timeout_ms": 5})  # error
    autumn.balances.create(options=3)  # error
    autumn.call(balances_create, {"customer_id": "c"}, 5)  # error
    autumn.call(balances_create)  # error
    autumn.balances.create.nope  # error
"""


def refused_lines() -> set[int]:
    return marked_lines(REFUSED)


def write_sources(directory: Path) -> None:
    (directory / "accepted.py").write_text(textwrap.dedent(ACCEPTED))
    (directory / "refused.py").write_text(textwrap.dedent(REFUSED))


def test_mypy_strict_sees_the_async_signatures(tmp_path: Path) -> None:
    write_sources(tmp_path)
    found = errors(run_mypy(tmp_path, ["accepted.py", "refused.py"]))
    assert not [d for d in found if d.file == "accepted.py"], found
    assert {d.line for d in found if d.file == "refused.py"} == refused_lines(), found


def test_pyright_strict_sees_the_async_signatures(tmp_path: Path) -> None:
    write_sources(tmp_path)
    found = errors(run_pyright(tmp_path))
    # A variable assigned and not read is an error of strict mode, not of the SDK's types.
    in_accepted = [d for d in found if d.file == "accepted.py"]
    assert [d for d in in_accepted if d.code != "reportUnusedVariable"] == [], found
    assert {d.line for d in found if d.file == "refused.py"} == refused_lines(), found
