"""`Autumn`: the raising facade of the seed's first example, a thin layer over the functions.

>>> async with Autumn(secret_key=os.environ["AUTUMN_SECRET_KEY"]) as autumn:
...     await autumn.balances.create(customer_id="cus_123", feature_id="api_calls",
...                                  included_grant=1000, reset={"interval": "month"})
CreateBalanceResponse(success=True)

Each method takes its operation's params one of two ways: one positional params
object (the model or its dict), or keywords. For a type checker the positional
form is the function's own `params` type and the keywords are
`**fields: Unpack[<Operation>Fields]`, a TypedDict of the same keys, so a typo
or a wrong type is an editor error in both forms.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from autumn_core import AutumnCore, SDKValidationError, unwrap
from autumn_funcs._balances_batch_track import (
    BatchTrackFields,
    BatchTrackParams,
    BatchTrackParamsDict,
    BatchTrackResponse,
    balances_batch_track,
)
from autumn_funcs._balances_batch_track_tokens import (
    BatchTrackTokensFields,
    BatchTrackTokensParams,
    BatchTrackTokensParamsDict,
    balances_batch_track_tokens,
)
from autumn_funcs._balances_check import (
    CheckFields,
    CheckParams,
    CheckParamsDict,
    CheckResponse,
    balances_check,
)
from autumn_funcs._balances_create import (
    CreateBalanceFields,
    CreateBalanceParams,
    CreateBalanceParamsDict,
    CreateBalanceResponse,
    balances_create,
)
from autumn_funcs._balances_delete import (
    DeleteBalanceFields,
    DeleteBalanceParams,
    DeleteBalanceParamsDict,
    DeleteBalanceResponse,
    balances_delete,
)
from autumn_funcs._balances_finalize import (
    FinalizeLockFields,
    FinalizeLockParams,
    FinalizeLockParamsDict,
    FinalizeLockResponse,
    balances_finalize,
)
from autumn_funcs._balances_track import (
    TrackFields,
    TrackParams,
    TrackParamsDict,
    TrackResponse,
    balances_track,
)
from autumn_funcs._balances_track_tokens import (
    TrackTokensFields,
    TrackTokensParams,
    TrackTokensParamsDict,
    balances_track_tokens,
)
from autumn_funcs._balances_update import (
    UpdateBalanceFields,
    UpdateBalanceParams,
    UpdateBalanceParamsDict,
    UpdateBalanceResponse,
    balances_update,
)
from autumn_funcs._customer_view import Customer
from autumn_funcs._customers_get import (
    GetCustomerFields,
    GetCustomerParams,
    GetCustomerParamsDict,
    customers_get,
)
from autumn_funcs._customers_get_or_create import (
    GetOrCreateCustomerFields,
    GetOrCreateCustomerParams,
    GetOrCreateCustomerParamsDict,
    customers_get_or_create,
)
from autumn_funcs._entities_get import (
    Entity,
    GetEntityFields,
    GetEntityParams,
    GetEntityParamsDict,
    entities_get,
)
from autumn_funcs._options_arg import OptionsArg
from autumn_funcs._typing_backports import Unpack


def _params(params: object, fields: Mapping[str, object]) -> Any:
    if params is None:
        return fields
    if fields:
        raise SDKValidationError(
            "params: pass one params object or keyword fields, not both", field="params"
        )
    return params


class Balances:
    """`autumn.balances`: each operation returns the response or raises the error."""

    __slots__ = ("_core",)

    def __init__(self, core: AutumnCore) -> None:
        self._core = core

    async def create(
        self,
        params: CreateBalanceParams | CreateBalanceParamsDict | None = None,
        /,
        *,
        options: OptionsArg = None,
        **fields: Unpack[CreateBalanceFields],
    ) -> CreateBalanceResponse:
        """Create a balance; raises an `AutumnSDKError` subclass on failure."""
        return unwrap(await balances_create(self._core, _params(params, fields), options))

    async def update(
        self,
        params: UpdateBalanceParams | UpdateBalanceParamsDict | None = None,
        /,
        *,
        options: OptionsArg = None,
        **fields: Unpack[UpdateBalanceFields],
    ) -> UpdateBalanceResponse:
        """Update a balance; raises an `AutumnSDKError` subclass on failure."""
        return unwrap(await balances_update(self._core, _params(params, fields), options))

    async def check(
        self,
        params: CheckParams | CheckParamsDict | None = None,
        /,
        *,
        options: OptionsArg = None,
        **fields: Unpack[CheckFields],
    ) -> CheckResponse:
        """Check access to a feature; raises an `AutumnSDKError` subclass on failure.
        A denial is an answer (`allowed=False`), not an error."""
        return unwrap(await balances_check(self._core, _params(params, fields), options))

    async def track(
        self,
        params: TrackParams | TrackParamsDict | None = None,
        /,
        *,
        options: OptionsArg = None,
        **fields: Unpack[TrackFields],
    ) -> TrackResponse:
        """Record usage; raises an `AutumnSDKError` subclass on failure."""
        return unwrap(await balances_track(self._core, _params(params, fields), options))

    async def track_tokens(
        self,
        params: TrackTokensParams | TrackTokensParamsDict | None = None,
        /,
        *,
        options: OptionsArg = None,
        **fields: Unpack[TrackTokensFields],
    ) -> TrackResponse:
        """Record an AI model's token usage; raises an `AutumnSDKError` subclass on failure."""
        return unwrap(await balances_track_tokens(self._core, _params(params, fields), options))

    async def batch_track(
        self,
        params: BatchTrackParams | BatchTrackParamsDict | None = None,
        /,
        *,
        options: OptionsArg = None,
        **fields: Unpack[BatchTrackFields],
    ) -> BatchTrackResponse:
        """Record up to 1,000 usage events in one request (`events=[...]`); raises an
        `AutumnSDKError` subclass on failure."""
        return unwrap(await balances_batch_track(self._core, _params(params, fields), options))

    async def batch_track_tokens(
        self,
        params: BatchTrackTokensParams | BatchTrackTokensParamsDict | None = None,
        /,
        *,
        options: OptionsArg = None,
        **fields: Unpack[BatchTrackTokensFields],
    ) -> BatchTrackResponse:
        """Record up to 1,000 token usage events in one request; raises an
        `AutumnSDKError` subclass on failure."""
        res = await balances_batch_track_tokens(self._core, _params(params, fields), options)
        return unwrap(res)

    async def delete(
        self,
        params: DeleteBalanceParams | DeleteBalanceParamsDict | None = None,
        /,
        *,
        options: OptionsArg = None,
        **fields: Unpack[DeleteBalanceFields],
    ) -> DeleteBalanceResponse:
        """Delete balances; raises an `AutumnSDKError` subclass on failure."""
        return unwrap(await balances_delete(self._core, _params(params, fields), options))

    async def finalize(
        self,
        params: FinalizeLockParams | FinalizeLockParamsDict | None = None,
        /,
        *,
        options: OptionsArg = None,
        **fields: Unpack[FinalizeLockFields],
    ) -> FinalizeLockResponse:
        """Confirm or release a lock; raises an `AutumnSDKError` subclass on failure."""
        return unwrap(await balances_finalize(self._core, _params(params, fields), options))


class Customers:
    """`autumn.customers`: each operation returns the customer or raises the error."""

    __slots__ = ("_core",)

    def __init__(self, core: AutumnCore) -> None:
        self._core = core

    async def get(
        self,
        params: GetCustomerParams | GetCustomerParamsDict | None = None,
        /,
        *,
        options: OptionsArg = None,
        **fields: Unpack[GetCustomerFields],
    ) -> Customer:
        """Read a customer; raises an `AutumnSDKError` subclass on failure."""
        return unwrap(await customers_get(self._core, _params(params, fields), options))

    async def get_or_create(
        self,
        params: GetOrCreateCustomerParams | GetOrCreateCustomerParamsDict | None = None,
        /,
        *,
        options: OptionsArg = None,
        **fields: Unpack[GetOrCreateCustomerFields],
    ) -> Customer:
        """Read a customer, creating it first if needed; raises an `AutumnSDKError`
        subclass on failure."""
        res = await customers_get_or_create(self._core, _params(params, fields), options)
        return unwrap(res)


class Entities:
    """`autumn.entities`: each operation returns the entity or raises the error."""

    __slots__ = ("_core",)

    def __init__(self, core: AutumnCore) -> None:
        self._core = core

    async def get(
        self,
        params: GetEntityParams | GetEntityParamsDict | None = None,
        /,
        *,
        options: OptionsArg = None,
        **fields: Unpack[GetEntityFields],
    ) -> Entity:
        """Read an entity; raises an `AutumnSDKError` subclass on failure."""
        return unwrap(await entities_get(self._core, _params(params, fields), options))


class Autumn(AutumnCore):
    """An `AutumnCore` whose operations raise instead of returning a Result."""

    __slots__ = ()

    @property
    def balances(self) -> Balances:
        return Balances(self)

    @property
    def customers(self) -> Customers:
        return Customers(self)

    @property
    def entities(self) -> Entities:
        return Entities(self)
