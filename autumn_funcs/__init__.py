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
# Adding an operation is one module and one entry here (its models, their dicts,
# its keyword fields, its function), with the same names in the TYPE_CHECKING
# imports below (for type checkers; a test checks they agree).
#
# The types of an operation, `customers_get` say (copy _balances_update.py):
# 1. `_customers_get.py`: the attrs params model `GetCustomerParams` and its
#    response; `GetCustomerParamsDict`, a TypedDict (total=False) of the same keys,
#    `Required[...]` for the fields without default, a nested model `M` as
#    `M | MDict`, an enum `E` as `E | EValue` (a Literal of its values);
#    `GetCustomerFields`, the same keys, none required; and
#    `customers_get(core, params: GetCustomerParams | GetCustomerParamsDict,
#    options: OptionsArg = None)`.
# 2. `_autumn.py`: `Customers.get(self, params: GetCustomerParams |
#    GetCustomerParamsDict | None = None, /, *, options: OptionsArg = None,
#    **fields: Unpack[GetCustomerFields])`, and a `customers` property on Autumn.
# 3. `_autumn_sync.py`: `get: Final = BlockingMethod(Customers.get)` in a
#    `CustomersSync` namespace, and its property on AutumnSync.
# tests/sdk/test_params_dicts.py and tests/blocking/test_twins.py find the new
# operation and fail, naming what is missing, until all of it agrees.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "_autumn": ("Autumn", "Balances"),
    "_autumn_sync": ("AutumnSync", "BalancesSync"),
    "_balances_create": (
        "CreateBalanceFields",
        "CreateBalanceParams",
        "CreateBalanceParamsDict",
        "CreateBalanceResponse",
        "Reset",
        "ResetDict",
        "Rollover",
        "RolloverDict",
        "RolloverDuration",
        "RolloverDurationValue",
        "balances_create",
    ),
    "_balances_update": (
        "UpdateBalanceFields",
        "UpdateBalanceParams",
        "UpdateBalanceParamsDict",
        "UpdateBalanceResponse",
        "balances_update",
    ),
    "_reset_interval": ("ResetInterval", "ResetIntervalValue"),
}

if TYPE_CHECKING:
    from autumn_funcs._autumn import Autumn as Autumn
    from autumn_funcs._autumn import Balances as Balances
    from autumn_funcs._autumn_sync import AutumnSync as AutumnSync
    from autumn_funcs._autumn_sync import BalancesSync as BalancesSync
    from autumn_funcs._balances_create import CreateBalanceFields as CreateBalanceFields
    from autumn_funcs._balances_create import CreateBalanceParams as CreateBalanceParams
    from autumn_funcs._balances_create import CreateBalanceParamsDict as CreateBalanceParamsDict
    from autumn_funcs._balances_create import CreateBalanceResponse as CreateBalanceResponse
    from autumn_funcs._balances_create import Reset as Reset
    from autumn_funcs._balances_create import ResetDict as ResetDict
    from autumn_funcs._balances_create import Rollover as Rollover
    from autumn_funcs._balances_create import RolloverDict as RolloverDict
    from autumn_funcs._balances_create import RolloverDuration as RolloverDuration
    from autumn_funcs._balances_create import RolloverDurationValue as RolloverDurationValue
    from autumn_funcs._balances_create import balances_create as balances_create
    from autumn_funcs._balances_update import UpdateBalanceFields as UpdateBalanceFields
    from autumn_funcs._balances_update import UpdateBalanceParams as UpdateBalanceParams
    from autumn_funcs._balances_update import UpdateBalanceParamsDict as UpdateBalanceParamsDict
    from autumn_funcs._balances_update import UpdateBalanceResponse as UpdateBalanceResponse
    from autumn_funcs._balances_update import balances_update as balances_update
    from autumn_funcs._reset_interval import ResetInterval as ResetInterval
    from autumn_funcs._reset_interval import ResetIntervalValue as ResetIntervalValue

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
