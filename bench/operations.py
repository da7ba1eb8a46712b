"""The operations the client benchmarks call, described once for every client case.

Adding an operation to the overhead table is one entry in OPERATIONS: the
floor (plain aiohttp), the SDK's function and facade, the peer and the
fixed-response server all read it from here. Standard library only, so the
peer's virtual environment can import it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class BenchOperation:
    name: str
    path: str
    # What the caller passes, as a plain dict: the floor encodes it per call and
    # the SDK validates and encodes it per call.
    params: dict[str, Any]
    # A write sends a fresh Idempotency-Key per call; a read sends none.
    writes: bool
    # The field of the answer the caller reads (the floor parses the JSON answer
    # and reads it; the SDK reads it from its response model).
    answer_field: str
    # What the fixed-response server answers at this path.
    answer: bytes
    sdk_function: str  # the standalone function, importable from autumn_funcs
    facade_method: str  # the same call on an `Autumn` instance, e.g. "balances.create"
    peer_method: str | None  # autumn-sdk's coroutine method, or None when it has none


CREATE = BenchOperation(
    name="create",
    path="/v1/balances.create",
    params={
        "customer_id": "cus_123",
        "feature_id": "api_calls",
        "included_grant": 1000,
        "reset": {"interval": "month"},
    },
    writes=True,
    answer_field="success",
    answer=b'{"success": true}',
    sdk_function="balances_create",
    facade_method="balances.create",
    peer_method="balances.create_async",
)

OPERATIONS = {op.name: op for op in (CREATE,)}
