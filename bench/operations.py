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
    # What the benchmark server answers at this path, as a template: `%(remaining)d`
    # and `%(usage)d` are filled per answer (see answer_for).
    answer: bytes
    sdk_function: str  # the standalone function, importable from autumn_funcs
    facade_method: str  # the same call on an `Autumn` instance, e.g. "balances.create"
    peer_method: str | None  # autumn-sdk's coroutine method, or None when it has none
    # The most CPU per call the SDK's function may use, as a multiple of the
    # floor's, at concurrency 64 and 1.
    cpu_limits: tuple[float, float] = (1.15, 1.3)


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

# The check and track answers are Autumn's published examples (API 2.3): a balance
# with one breakdown, and for track its deduction. As on a real server, the balance
# moves with every call (answer_for), so no two answers are the same bytes.
CHECK = BenchOperation(
    name="check",
    path="/v1/balances.check",
    params={"customer_id": "cus_123", "feature_id": "messages", "required_balance": 1},
    writes=False,
    answer_field="allowed",
    answer=(
        b'{"allowed":true,"customer_id":"cus_123","entity_id":null,"required_balance":1,'
        b'"balance":{"feature_id":"messages","granted":%(granted)d,"remaining":%(remaining)d,'
        b'"usage":%(usage)d,"unlimited":false,"overage_allowed":false,"max_purchase":null,'
        b'"next_reset_at":1773851121437,"breakdown":[{"id":"cus_ent_39qmLooixXLAqMywgXywjAz96rV",'
        b'"plan_id":"pro_plan","included_grant":%(granted)d,"prepaid_grant":0,"remaining":%(remaining)d,'
        b'"usage":%(usage)d,'
        b'"unlimited":false,"reset":{"interval":"month","resets_at":1773851121437},"price":null,'
        b'"expires_at":null}]},"flag":null}'
    ),
    sdk_function="balances_check",
    facade_method="balances.check",
    peer_method="check_async",
    cpu_limits=(1.2, 1.2),
)

TRACK = BenchOperation(
    name="track",
    path="/v1/balances.track",
    params={"customer_id": "cus_123", "feature_id": "messages", "value": 1},
    writes=True,
    answer_field="value",
    answer=(
        b'{"customer_id":"cus_123","value":1,"balance":{"feature_id":"messages","granted":%(granted)d,'
        b'"remaining":%(remaining)d,"usage":%(usage)d,"unlimited":false,"overage_allowed":false,'
        b'"max_purchase":null,"next_reset_at":1773851121437,'
        b'"breakdown":[{"id":"cus_ent_39qmLooixXLAqMywgXywjAz96rV","plan_id":"pro_plan",'
        b'"included_grant":%(granted)d,"prepaid_grant":0,"remaining":%(remaining)d,'
        b'"usage":%(usage)d,"unlimited":false,'
        b'"reset":{"interval":"month","resets_at":1773851121437},"price":null,'
        b'"expires_at":null}]},"deductions":[{"balance_id":"cus_ent_3DdSDoyFmoA9Neecl2a2Gc507X2",'
        b'"feature_id":"messages","plan_id":"pro","reset":{"interval":"month",'
        b'"resets_at":1781288736881},"value":1}]}'
    ),
    sdk_function="balances_track",
    facade_method="balances.track",
    peer_method="track_async",
    cpu_limits=(1.2, 1.2),
)

OPERATIONS = {op.name: op for op in (CREATE, CHECK, TRACK)}

GRANTED = 10**9


def answer_for(op: BenchOperation, served: int) -> bytes:
    """The answer to the `served`-th call of `op`: the balance after that many units used."""
    return op.answer % {b"granted": GRANTED, b"remaining": GRANTED - served, b"usage": served}
