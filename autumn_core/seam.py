"""What a module defining an Autumn operation needs of the core, beyond the user API.

`autumn_funcs` is built on these names alone (with the root's `AutumnCore`,
`Result`, errors, ...). An operation is a constant and a coroutine:

>>> from autumn_core import AutumnCore, AutumnSDKError, Result
>>> from autumn_core.seam import Operation, run_operation, tolerate_unknown_fields
>>>
>>> @tolerate_unknown_fields
... @attrs.frozen(kw_only=True)
... class GetCustomerResponse:
...     id: str
>>>
>>> GET_CUSTOMER = Operation("getCustomer", "/v1/customers.get", GetCustomerParams,
...                          GetCustomerResponse, writes=False)
>>>
>>> async def customers_get(core: AutumnCore, params, options=None
...                         ) -> Result[GetCustomerResponse, AutumnSDKError]:
...     return await run_operation(core, GET_CUSTOMER, params, options)

- `Operation`: an endpoint, its params and response models, and how the call
  treats it (a write sends an Idempotency-Key; a fixed answer; a 204).
- `run_operation(core, operation, params, options)`: the one entry path of
  every operation function. A missing or wrong `core` is an `Err`, not an
  exception; bad params are an `Err(SDKValidationError)` before any I/O.
- `CheckedParams`: params an operation checked when they were given
  (`operation.check(params)`), passed to `run_operation` later in their place
  and sent without a second check (the usage recorder's events).
- `tolerate_unknown_fields`: a response model ignores fields it does not
  declare (servers add fields); without it an unknown field is refused.
- `apply_rules`: the `__attrs_post_init__` of a params model with rules across
  its fields, stated once as its staticmethod `_rules`, a function of the
  fields' values (see autumn_core._field_rules).
- `WIRE_NAME`: the attrs metadata key for a field whose JSON name is not a
  Python name (`async_` sent as `async`).
- `LoopThread`: an event loop on a thread of its own, for blocking twins of
  the coroutines (`AutumnSync`).
- `CoreConfig`: an `AutumnCore`'s checked settings (`core.config`).
"""

from autumn_core._config import CoreConfig
from autumn_core._core import run_operation
from autumn_core._field_rules import apply_rules
from autumn_core._loop_thread import LoopThread
from autumn_core._operation import CheckedParams, Operation
from autumn_core._serde import WIRE_NAME, tolerate_unknown_fields

__all__ = [
    "WIRE_NAME",
    "CheckedParams",
    "CoreConfig",
    "LoopThread",
    "Operation",
    "apply_rules",
    "run_operation",
    "tolerate_unknown_fields",
]
