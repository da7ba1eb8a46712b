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
# its keyword fields, its function). The TYPE_CHECKING imports below, which type
# checkers read, are written from it by `python tests/export_mirror.py` (a test
# fails while they differ).
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
    "_autumn": ("Autumn", "Balances", "Customers", "Entities"),
    "_autumn_sync": ("AutumnSync", "BalancesSync", "CustomersSync", "EntitiesSync"),
    "_balance_view": (
        "Balance",
        "BalanceBreakdown",
        "BalancePrice",
        "BalancePriceTier",
        "BalanceReset",
        "BalanceRollover",
        "Feature",
        "FeatureDisplay",
        "Flag",
    ),
    "_balances_batch_track": (
        "BatchTrackFields",
        "BatchTrackParams",
        "BatchTrackParamsDict",
        "BatchTrackResponse",
        "balances_batch_track",
    ),
    "_balances_batch_track_tokens": (
        "BatchTrackTokensFields",
        "BatchTrackTokensParams",
        "BatchTrackTokensParamsDict",
        "balances_batch_track_tokens",
    ),
    "_balances_check": (
        "CheckFields",
        "CheckParams",
        "CheckParamsDict",
        "CheckPreview",
        "CheckResponse",
        "balances_check",
    ),
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
    "_balances_delete": (
        "DeleteBalanceFields",
        "DeleteBalanceParams",
        "DeleteBalanceParamsDict",
        "DeleteBalanceResponse",
        "balances_delete",
    ),
    "_balances_finalize": (
        "FinalizeLockAction",
        "FinalizeLockActionValue",
        "FinalizeLockFields",
        "FinalizeLockParams",
        "FinalizeLockParamsDict",
        "FinalizeLockResponse",
        "balances_finalize",
    ),
    "_balances_track": (
        "OverageBehavior",
        "OverageBehaviorValue",
        "TrackDeduction",
        "TrackFields",
        "TrackParams",
        "TrackParamsDict",
        "TrackResponse",
        "balances_track",
    ),
    "_balances_track_tokens": (
        "TrackTokensFields",
        "TrackTokensParams",
        "TrackTokensParamsDict",
        "balances_track_tokens",
    ),
    "_balances_update": (
        "UpdateBalanceFields",
        "UpdateBalanceParams",
        "UpdateBalanceParamsDict",
        "UpdateBalanceResponse",
        "balances_update",
    ),
    "_customer_view": (
        "AutoTopup",
        "AutoTopupPurchaseLimit",
        "BillingControls",
        "Customer",
        "CustomerConfig",
        "CustomerEntity",
        "CustomerExpand",
        "CustomerExpandValue",
        "Invoice",
        "License",
        "OverageAllowed",
        "Purchase",
        "SpendLimit",
        "Subscription",
        "TrialUsed",
        "UsageAlert",
        "UsageLimit",
        "UsageLimitFilter",
    ),
    "_customers_get": (
        "GetCustomerFields",
        "GetCustomerParams",
        "GetCustomerParamsDict",
        "customers_get",
    ),
    "_customers_get_or_create": (
        "CustomerConfigParams",
        "CustomerConfigParamsDict",
        "GetOrCreateCustomerFields",
        "GetOrCreateCustomerParams",
        "GetOrCreateCustomerParamsDict",
        "customers_get_or_create",
    ),
    "_entities_get": (
        "Entity",
        "GetEntityFields",
        "GetEntityParams",
        "GetEntityParamsDict",
        "entities_get",
    ),
    "_lock": ("Lock", "LockDict"),
    "_reset_interval": ("ResetInterval", "ResetIntervalValue"),
    "_usage_queue": ("RecorderStats",),
    "_usage_recorder": ("RecorderSettings", "UsageRecorder", "UsageRecorderSync"),
}

if TYPE_CHECKING:
    from autumn_funcs._autumn import Autumn as Autumn
    from autumn_funcs._autumn import Balances as Balances
    from autumn_funcs._autumn import Customers as Customers
    from autumn_funcs._autumn import Entities as Entities
    from autumn_funcs._autumn_sync import AutumnSync as AutumnSync
    from autumn_funcs._autumn_sync import BalancesSync as BalancesSync
    from autumn_funcs._autumn_sync import CustomersSync as CustomersSync
    from autumn_funcs._autumn_sync import EntitiesSync as EntitiesSync
    from autumn_funcs._balance_view import Balance as Balance
    from autumn_funcs._balance_view import BalanceBreakdown as BalanceBreakdown
    from autumn_funcs._balance_view import BalancePrice as BalancePrice
    from autumn_funcs._balance_view import BalancePriceTier as BalancePriceTier
    from autumn_funcs._balance_view import BalanceReset as BalanceReset
    from autumn_funcs._balance_view import BalanceRollover as BalanceRollover
    from autumn_funcs._balance_view import Feature as Feature
    from autumn_funcs._balance_view import FeatureDisplay as FeatureDisplay
    from autumn_funcs._balance_view import Flag as Flag
    from autumn_funcs._balances_batch_track import BatchTrackFields as BatchTrackFields
    from autumn_funcs._balances_batch_track import BatchTrackParams as BatchTrackParams
    from autumn_funcs._balances_batch_track import BatchTrackParamsDict as BatchTrackParamsDict
    from autumn_funcs._balances_batch_track import BatchTrackResponse as BatchTrackResponse
    from autumn_funcs._balances_batch_track import balances_batch_track as balances_batch_track
    from autumn_funcs._balances_batch_track_tokens import (
        BatchTrackTokensFields as BatchTrackTokensFields,
    )
    from autumn_funcs._balances_batch_track_tokens import (
        BatchTrackTokensParams as BatchTrackTokensParams,
    )
    from autumn_funcs._balances_batch_track_tokens import (
        BatchTrackTokensParamsDict as BatchTrackTokensParamsDict,
    )
    from autumn_funcs._balances_batch_track_tokens import (
        balances_batch_track_tokens as balances_batch_track_tokens,
    )
    from autumn_funcs._balances_check import CheckFields as CheckFields
    from autumn_funcs._balances_check import CheckParams as CheckParams
    from autumn_funcs._balances_check import CheckParamsDict as CheckParamsDict
    from autumn_funcs._balances_check import CheckPreview as CheckPreview
    from autumn_funcs._balances_check import CheckResponse as CheckResponse
    from autumn_funcs._balances_check import balances_check as balances_check
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
    from autumn_funcs._balances_delete import DeleteBalanceFields as DeleteBalanceFields
    from autumn_funcs._balances_delete import DeleteBalanceParams as DeleteBalanceParams
    from autumn_funcs._balances_delete import DeleteBalanceParamsDict as DeleteBalanceParamsDict
    from autumn_funcs._balances_delete import DeleteBalanceResponse as DeleteBalanceResponse
    from autumn_funcs._balances_delete import balances_delete as balances_delete
    from autumn_funcs._balances_finalize import FinalizeLockAction as FinalizeLockAction
    from autumn_funcs._balances_finalize import FinalizeLockActionValue as FinalizeLockActionValue
    from autumn_funcs._balances_finalize import FinalizeLockFields as FinalizeLockFields
    from autumn_funcs._balances_finalize import FinalizeLockParams as FinalizeLockParams
    from autumn_funcs._balances_finalize import FinalizeLockParamsDict as FinalizeLockParamsDict
    from autumn_funcs._balances_finalize import FinalizeLockResponse as FinalizeLockResponse
    from autumn_funcs._balances_finalize import balances_finalize as balances_finalize
    from autumn_funcs._balances_track import OverageBehavior as OverageBehavior
    from autumn_funcs._balances_track import OverageBehaviorValue as OverageBehaviorValue
    from autumn_funcs._balances_track import TrackDeduction as TrackDeduction
    from autumn_funcs._balances_track import TrackFields as TrackFields
    from autumn_funcs._balances_track import TrackParams as TrackParams
    from autumn_funcs._balances_track import TrackParamsDict as TrackParamsDict
    from autumn_funcs._balances_track import TrackResponse as TrackResponse
    from autumn_funcs._balances_track import balances_track as balances_track
    from autumn_funcs._balances_track_tokens import TrackTokensFields as TrackTokensFields
    from autumn_funcs._balances_track_tokens import TrackTokensParams as TrackTokensParams
    from autumn_funcs._balances_track_tokens import TrackTokensParamsDict as TrackTokensParamsDict
    from autumn_funcs._balances_track_tokens import balances_track_tokens as balances_track_tokens
    from autumn_funcs._balances_update import UpdateBalanceFields as UpdateBalanceFields
    from autumn_funcs._balances_update import UpdateBalanceParams as UpdateBalanceParams
    from autumn_funcs._balances_update import UpdateBalanceParamsDict as UpdateBalanceParamsDict
    from autumn_funcs._balances_update import UpdateBalanceResponse as UpdateBalanceResponse
    from autumn_funcs._balances_update import balances_update as balances_update
    from autumn_funcs._customer_view import AutoTopup as AutoTopup
    from autumn_funcs._customer_view import AutoTopupPurchaseLimit as AutoTopupPurchaseLimit
    from autumn_funcs._customer_view import BillingControls as BillingControls
    from autumn_funcs._customer_view import Customer as Customer
    from autumn_funcs._customer_view import CustomerConfig as CustomerConfig
    from autumn_funcs._customer_view import CustomerEntity as CustomerEntity
    from autumn_funcs._customer_view import CustomerExpand as CustomerExpand
    from autumn_funcs._customer_view import CustomerExpandValue as CustomerExpandValue
    from autumn_funcs._customer_view import Invoice as Invoice
    from autumn_funcs._customer_view import License as License
    from autumn_funcs._customer_view import OverageAllowed as OverageAllowed
    from autumn_funcs._customer_view import Purchase as Purchase
    from autumn_funcs._customer_view import SpendLimit as SpendLimit
    from autumn_funcs._customer_view import Subscription as Subscription
    from autumn_funcs._customer_view import TrialUsed as TrialUsed
    from autumn_funcs._customer_view import UsageAlert as UsageAlert
    from autumn_funcs._customer_view import UsageLimit as UsageLimit
    from autumn_funcs._customer_view import UsageLimitFilter as UsageLimitFilter
    from autumn_funcs._customers_get import GetCustomerFields as GetCustomerFields
    from autumn_funcs._customers_get import GetCustomerParams as GetCustomerParams
    from autumn_funcs._customers_get import GetCustomerParamsDict as GetCustomerParamsDict
    from autumn_funcs._customers_get import customers_get as customers_get
    from autumn_funcs._customers_get_or_create import CustomerConfigParams as CustomerConfigParams
    from autumn_funcs._customers_get_or_create import (
        CustomerConfigParamsDict as CustomerConfigParamsDict,
    )
    from autumn_funcs._customers_get_or_create import (
        GetOrCreateCustomerFields as GetOrCreateCustomerFields,
    )
    from autumn_funcs._customers_get_or_create import (
        GetOrCreateCustomerParams as GetOrCreateCustomerParams,
    )
    from autumn_funcs._customers_get_or_create import (
        GetOrCreateCustomerParamsDict as GetOrCreateCustomerParamsDict,
    )
    from autumn_funcs._customers_get_or_create import (
        customers_get_or_create as customers_get_or_create,
    )
    from autumn_funcs._entities_get import Entity as Entity
    from autumn_funcs._entities_get import GetEntityFields as GetEntityFields
    from autumn_funcs._entities_get import GetEntityParams as GetEntityParams
    from autumn_funcs._entities_get import GetEntityParamsDict as GetEntityParamsDict
    from autumn_funcs._entities_get import entities_get as entities_get
    from autumn_funcs._lock import Lock as Lock
    from autumn_funcs._lock import LockDict as LockDict
    from autumn_funcs._reset_interval import ResetInterval as ResetInterval
    from autumn_funcs._reset_interval import ResetIntervalValue as ResetIntervalValue
    from autumn_funcs._usage_queue import RecorderStats as RecorderStats
    from autumn_funcs._usage_recorder import RecorderSettings as RecorderSettings
    from autumn_funcs._usage_recorder import UsageRecorder as UsageRecorder
    from autumn_funcs._usage_recorder import UsageRecorderSync as UsageRecorderSync

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
