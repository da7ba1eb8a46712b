"""`Operation`: what the core needs to know of one API operation, and nothing more."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import attrs

from autumn_core.serde import structure_hook

P = TypeVar("P")
R = TypeVar("R")


@attrs.frozen
class Operation(Generic[P, R]):
    """An endpoint with its params and response models; built once per operation module.

    >>> CREATE = Operation("createBalance", "/v1/balances.create", CreateBalanceParams,
    ...                    CreateBalanceResponse)
    """

    operation_id: str
    path: str
    params_type: type[P]
    response_type: type[R]
    method: str = "POST"
    # Generated once here, so no call pays for a converter lookup.
    structure_params: Callable[[object], P] = attrs.field(init=False)
    structure_response: Callable[[object], R] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "structure_params", structure_hook(self.params_type))
        object.__setattr__(self, "structure_response", structure_hook(self.response_type))


AnyOperation = Operation[Any, Any]
