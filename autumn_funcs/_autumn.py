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
from autumn_funcs._balances_create import (
    CreateBalanceFields,
    CreateBalanceParams,
    CreateBalanceParamsDict,
    CreateBalanceResponse,
    balances_create,
)
from autumn_funcs._balances_update import (
    UpdateBalanceFields,
    UpdateBalanceParams,
    UpdateBalanceParamsDict,
    UpdateBalanceResponse,
    balances_update,
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
    """`autumn.balances`: create and update, returning the response or raising the error."""

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


class Autumn(AutumnCore):
    """An `AutumnCore` whose operations raise instead of returning a Result."""

    __slots__ = ()

    @property
    def balances(self) -> Balances:
        return Balances(self)
