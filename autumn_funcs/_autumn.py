"""`Autumn`: the raising facade of the seed's first example, a thin layer over the functions.

>>> async with Autumn(secret_key=os.environ["AUTUMN_SECRET_KEY"]) as autumn:
...     await autumn.balances.create(customer_id="cus_123", feature_id="api_calls",
...                                  included_grant=1000, reset={"interval": "month"})
CreateBalanceResponse(success=True)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from autumn_core import AutumnCore, RequestOptions, RequestOptionsDict, SDKValidationError, unwrap
from autumn_funcs._balances_create import (
    CreateBalanceParams,
    CreateBalanceResponse,
    balances_create,
)
from autumn_funcs._balances_update import (
    UpdateBalanceParams,
    UpdateBalanceResponse,
    balances_update,
)


def _params(params: object, fields: Mapping[str, Any]) -> Any:
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
        params: CreateBalanceParams | Mapping[str, Any] | None = None,
        /,
        *,
        options: RequestOptions | RequestOptionsDict | None = None,
        **fields: Any,
    ) -> CreateBalanceResponse:
        """Create a balance; raises an `AutumnSDKError` subclass on failure."""
        return unwrap(await balances_create(self._core, _params(params, fields), options))

    async def update(
        self,
        params: UpdateBalanceParams | Mapping[str, Any] | None = None,
        /,
        *,
        options: RequestOptions | RequestOptionsDict | None = None,
        **fields: Any,
    ) -> UpdateBalanceResponse:
        """Update a balance; raises an `AutumnSDKError` subclass on failure."""
        return unwrap(await balances_update(self._core, _params(params, fields), options))


class Autumn(AutumnCore):
    """An `AutumnCore` whose operations raise instead of returning a Result."""

    __slots__ = ()

    @property
    def balances(self) -> Balances:
        return Balances(self)
