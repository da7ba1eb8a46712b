"""One standalone coroutine per Autumn operation, the raising `Autumn` facade, and its
blocking twin `AutumnSync`.

Names are loaded on first use (PEP 562), so `from autumn_funcs import
balances_create` imports the create operation only. The modules behind them
are private (`autumn_funcs._balances_create`, ...): import from the package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# The one table of what the package exports: module -> its public names.
# Adding an operation is one module and one line here, with the same names in
# the TYPE_CHECKING imports below (for type checkers; a test checks they agree).
_EXPORTS: dict[str, tuple[str, ...]] = {
    "_autumn": ("Autumn", "Balances"),
    "_autumn_sync": ("AutumnSync", "BalancesSync"),
    "_balances_create": (
        "CreateBalanceParams",
        "CreateBalanceResponse",
        "Reset",
        "Rollover",
        "RolloverDuration",
        "balances_create",
    ),
    "_balances_update": ("UpdateBalanceParams", "UpdateBalanceResponse", "balances_update"),
    "_reset_interval": ("ResetInterval",),
}

if TYPE_CHECKING:
    from autumn_funcs._autumn import Autumn as Autumn
    from autumn_funcs._autumn import Balances as Balances
    from autumn_funcs._autumn_sync import AutumnSync as AutumnSync
    from autumn_funcs._autumn_sync import BalancesSync as BalancesSync
    from autumn_funcs._balances_create import CreateBalanceParams as CreateBalanceParams
    from autumn_funcs._balances_create import CreateBalanceResponse as CreateBalanceResponse
    from autumn_funcs._balances_create import Reset as Reset
    from autumn_funcs._balances_create import Rollover as Rollover
    from autumn_funcs._balances_create import RolloverDuration as RolloverDuration
    from autumn_funcs._balances_create import balances_create as balances_create
    from autumn_funcs._balances_update import UpdateBalanceParams as UpdateBalanceParams
    from autumn_funcs._balances_update import UpdateBalanceResponse as UpdateBalanceResponse
    from autumn_funcs._balances_update import balances_update as balances_update
    from autumn_funcs._reset_interval import ResetInterval as ResetInterval

_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)  # pyright: ignore[reportUnsupportedDunderAll]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'autumn_funcs' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"autumn_funcs.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return __all__
