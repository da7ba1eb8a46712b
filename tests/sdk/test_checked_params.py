"""Params checked when they are given (`operation.check(params)`) and sent later
(`run_operation(core, operation, checked)`) go out as the same request as the params
themselves, for every operation the package defines (the usage recorder relies on it)."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import pytest

import autumn_funcs
from autumn_core import AutumnCore
from autumn_core.seam import Operation, run_operation
from tests.scripted_server import ScriptedServer
from tests.sdk.test_every_operation import MODEL_ONE_OF, valid_dict


def _operations() -> dict[str, Operation[Any, Any]]:
    found: dict[str, Operation[Any, Any]] = {}
    for module in pkgutil.iter_modules(autumn_funcs.__path__, "autumn_funcs."):
        for value in vars(importlib.import_module(module.name)).values():
            if isinstance(value, Operation):
                found[value.operation_id] = value
    return found


OPERATIONS = _operations()

# A rule across fields the model's required fields alone do not meet.
RULES: dict[str, dict[str, Any]] = {"DeleteBalanceParams": {"feature_id": "contract_feature_id"}}


def test_the_modules_define_the_operations() -> None:
    # The discovery above must find something, or the test below passes vacuously.
    assert {"createBalance", "track", "batchTrack", "getCustomer"} <= set(OPERATIONS)


def _params(operation: Operation[Any, Any]) -> dict[str, Any]:
    model = operation.params_type
    return valid_dict(model) | MODEL_ONE_OF.get(model.__name__, {}) | RULES.get(model.__name__, {})


@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
async def test_checked_params_are_sent_as_the_params_themselves(
    operation_id: str, core: AutumnCore, scripted: ScriptedServer
) -> None:
    operation = OPERATIONS[operation_id]
    params = _params(operation)
    checked = operation.check(params)

    await run_operation(core, operation, params)
    await run_operation(core, operation, checked)

    direct, later = scripted.requests
    assert later.path == direct.path == operation.path
    assert later.json() == direct.json()
