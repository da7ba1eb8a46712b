"""One standalone coroutine per Autumn operation, the raising `Autumn` facade, and its
blocking twin `AutumnSync`.

Names are loaded on first use (PEP 562), so `from autumn_funcs import
balances_create` imports the create operation only.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autumn_funcs.autumn import Autumn, Balances
    from autumn_funcs.autumn_sync import AutumnSync, BalancesSync
    from autumn_funcs.balances_create import (
        CreateBalanceParams,
        CreateBalanceResponse,
        Reset,
        Rollover,
        RolloverDuration,
        balances_create,
    )
    from autumn_funcs.balances_update import (
        UpdateBalanceParams,
        UpdateBalanceResponse,
        balances_update,
    )
    from autumn_funcs.reset_interval import ResetInterval

_MODULE_OF = {
    "Autumn": "autumn",
    "Balances": "autumn",
    "AutumnSync": "autumn_sync",
    "BalancesSync": "autumn_sync",
    "balances_create": "balances_create",
    "CreateBalanceParams": "balances_create",
    "CreateBalanceResponse": "balances_create",
    "Reset": "balances_create",
    "Rollover": "balances_create",
    "RolloverDuration": "balances_create",
    "balances_update": "balances_update",
    "UpdateBalanceParams": "balances_update",
    "UpdateBalanceResponse": "balances_update",
    "ResetInterval": "reset_interval",
}

__all__ = [
    "Autumn",
    "AutumnSync",
    "Balances",
    "BalancesSync",
    "CreateBalanceParams",
    "CreateBalanceResponse",
    "Reset",
    "ResetInterval",
    "Rollover",
    "RolloverDuration",
    "UpdateBalanceParams",
    "UpdateBalanceResponse",
    "balances_create",
    "balances_update",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'autumn_funcs' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"autumn_funcs.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return __all__


class _Package(types.ModuleType):
    """The package module, guarding the functions named like their own modules.

    Importing the submodule `autumn_funcs.balances_create` (which any import of a
    name from it does) makes the import system bind that module as the package's
    attribute `balances_create`, hiding the function: `from autumn_funcs import
    balances_create` would then give the module. Keep the function there instead;
    the module stays reachable through `sys.modules` and `from autumn_funcs.balances_create
    import ...`.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _MODULE_OF.get(name) == name:
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
