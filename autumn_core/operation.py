"""`Operation`: what the core needs to know of one API operation, and nothing more."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import attrs

from autumn_core.serde import converter, response_reader

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
    # The converter's generated functions, looked up once here so that no call
    # pays for dispatch. Called as hook(data, type), the cattrs convention.
    structure_params: Callable[[object, type[P]], P] = attrs.field(init=False)
    unstructure_params: Callable[[P], dict[str, Any]] = attrs.field(init=False)
    read_response: Callable[[bytes], R] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        hooks = {
            "structure_params": converter.get_structure_hook(self.params_type),
            "unstructure_params": converter.get_unstructure_hook(self.params_type),
            "read_response": response_reader(self.response_type),
        }
        for name, hook in hooks.items():
            object.__setattr__(self, name, hook)
