"""What the local server's page shows: recent requests, customers with their balances,
faults and the clock, as one JSON-ready snapshot.

The request log keeps raw facts per request (cheap on the request path: a tuple
appended to a bounded deque) and reads them into words only when the page asks.
"""

from __future__ import annotations

import json
import re
import time
from collections import deque
from typing import Any

from autumn_local.http.app import answer_directly
from autumn_local.http.faults import FAULT_KINDS
from autumn_local.http.routes import ENDPOINTS, ServerState
from autumn_local.schemas.errors import ApiError
from autumn_local.store.database import CustomerRow

__all__ = ["MAX_CUSTOMERS", "MAX_REQUESTS", "RequestLog", "snapshot"]

MAX_REQUESTS = 200
MAX_CUSTOMERS = 50
_MAX_BODY_KEPT = 4096
_TRACEPARENT = re.compile(r"[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}")
_TRACEPARENT_LENGTH = 55
# The fields of a request body that say what it asked to change, in display order.
_CHANGE_FIELDS = (
    "events",
    "value",
    "model_id",
    "input_tokens",
    "output_tokens",
    "included_grant",
    "prepaid_grant",
    "granted",
    "remaining",
    "usage",
    "add_to_balance",
    "unlimited",
    "reset",
    "required_balance",
    "lock",
    "lock_id",
    "action",
    "interval",
    "properties",
    "name",
    "email",
)
_READS = frozenset(
    ("/v1/balances.check", "/v1/customers.get", "/v1/entities.get", "/v1/features.list")
)


class RequestLog:
    """The last `MAX_REQUESTS` API requests: when, method, path, status, key, and both
    bodies (their first 4 KiB: at most 1.6 MB in all)."""

    def __init__(self) -> None:
        self._entries: deque[tuple[Any, ...]] = deque(maxlen=MAX_REQUESTS)
        self._next_id = 0

    def add(
        self,
        method: str,
        path: str,
        status: int | None,
        idempotency_key: str | None,
        traceparent: str | None,
        request_body: bytes,
        response_body: bytes,
    ) -> None:
        """One request, as it came and went (`status` None: no answer was sent)."""
        self._next_id += 1
        self._entries.append(
            (
                self._next_id,
                time.time_ns() // 1_000_000,
                method,
                path,
                status,
                idempotency_key,
                traceparent[:_TRACEPARENT_LENGTH] if traceparent else None,
                request_body[:_MAX_BODY_KEPT],
                response_body[:_MAX_BODY_KEPT],
            )
        )

    @property
    def last_id(self) -> int:
        return self._next_id

    def described(self) -> list[dict[str, Any]]:
        """The requests, newest first, each read into what the page shows."""
        return [_described(*entry) for entry in reversed(self._entries)]


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except (ValueError, RecursionError):
        return None


def _json_object(raw: bytes) -> dict[str, Any]:
    value = _json(raw)
    return value if isinstance(value, dict) else {}


def _batch_summary(raw: bytes) -> dict[str, Any] | None:
    """A batch body (a JSON array of events) read as one: the customer and feature they
    share, if they share one, and how many there are."""
    events = _json(raw)
    if not isinstance(events, list):
        return None
    items = [e for e in events if isinstance(e, dict)]
    summary: dict[str, Any] = {"events": len(events)}
    for name in ("customer_id", "feature_id"):
        values = {item.get(name) for item in items}
        if len(values) == 1:
            summary[name] = values.pop()
    return summary


def _described(
    entry_id: int,
    at_ms: int,
    method: str,
    path: str,
    status: int | None,
    key: str | None,
    traceparent: str | None,
    request_body: bytes,
    response_body: bytes,
) -> dict[str, Any]:
    batch = _batch_summary(request_body)
    body = batch if batch is not None else _json_object(request_body)
    answer = _json_object(response_body)
    failed = status is not None and status >= 400
    route = path.removeprefix("/v1/")
    return {
        "id": entry_id,
        "at_ms": at_ms,
        "method": method,
        "route": route,
        "status": status,
        "code": answer.get("code") if failed else None,
        "message": answer.get("message") if failed else None,
        "idempotency_key": key,
        "trace_id": _trace_id(traceparent),
        "customer_id": body.get("customer_id"),
        "entity_id": body.get("entity_id"),
        "feature_id": body.get("feature_id"),
        "changed": _changed(path, status, body, answer),
    }


def _trace_id(traceparent: str | None) -> str | None:
    """The trace a W3C traceparent header continues (a client's, such as the SDK's with
    `autumn_core.otel`), so a request here can be found in the client's traces."""
    found = _TRACEPARENT.fullmatch(traceparent or "")
    return None if found is None else found.group(1)


def _changed(path: str, status: int | None, body: dict[str, Any], answer: dict[str, Any]) -> str:
    """What the request changed, in words."""
    if path in _READS or path not in ENDPOINTS:
        return "nothing (a read)" if path in _READS else "nothing"
    if status is None:
        # The server closed the connection: before handling it (an injected reset), or
        # after (lost-response, which keeps what the request applied).
        return "no answer sent: a reset applied nothing, a lost response applied the change"
    if status >= 400:
        return "nothing (refused)"
    fields = [f"{name}={_short(body[name])}" for name in _CHANGE_FIELDS if name in body]
    said = ", ".join(fields) or route_verb(path)
    balance = answer.get("balance")
    if isinstance(balance, dict) and "remaining" in balance:  # a track says where it left it
        said += f" → remaining {_short(balance['remaining'])}"
    return said


def route_verb(path: str) -> str:
    return path.removeprefix("/v1/").replace(".", " ")


def _short(value: object) -> str:
    text = json.dumps(value, separators=(",", ":")) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."


def snapshot(state: ServerState, log: RequestLog) -> dict[str, Any]:
    """Everything the page shows, read from the server's own state (never from HTTP)."""
    customers, total = state.store.recent_customers(MAX_CUSTOMERS)
    faults = state.faults
    return {
        "clock": {"now_ms": state.clock.now_ms(), "frozen": state.clock.frozen},
        "faults": {
            "spec": str(faults.spec) if faults.spec.rates else "off",
            "rates": dict(faults.spec.rates),
            "counts": {k: v for k, v in faults.counts.items() if v},
            "queued": faults.queued(),
            "kinds": list(FAULT_KINDS),
            "scope": faults.spec.scope,
        },
        "customers": [_customer(state, c) for c in customers],
        "customers_total": total,
        "requests": log.described(),
        "last_request_id": log.last_id,
    }


def _customer(state: ServerState, row: CustomerRow) -> dict[str, Any]:
    if not row.has_id:  # created by email alone: no id to read it by, so no view either
        return {"id": None, "name": row.name, "email": row.email, "balances": [], "entities": []}
    # The same reading customers.get answers (resets settled as of the server's clock).
    view = _view(state, "/v1/customers.get", {"customer_id": row.id})
    entities = [
        {
            "id": e.id,
            "name": e.name,
            "balances": _balances(
                _view(state, "/v1/entities.get", {"customer_id": row.id, "entity_id": e.id})
            ),
        }
        for e in state.store.entities_of(row.id)
    ]
    return {
        "id": row.id,
        "name": view.get("name", row.name),
        "email": view.get("email", row.email),
        "balances": _balances(view),
        "entities": entities,
    }


def _view(state: ServerState, path: str, body: dict[str, Any]) -> dict[str, Any]:
    try:
        answer = answer_directly(state, path, body, "sandbox")
    except ApiError:  # deleted between the listing and the reading
        return {}
    return answer if isinstance(answer, dict) else {}


def _balances(view: dict[str, Any]) -> list[dict[str, Any]]:
    balances = view.get("balances") or {}
    return [
        {
            "feature_id": feature_id,
            "granted": entry.get("granted"),
            "remaining": entry.get("remaining"),
            "usage": entry.get("usage"),
            "unlimited": entry.get("unlimited"),
            "next_reset_at": entry.get("next_reset_at"),
        }
        for feature_id, entry in sorted(balances.items())
        if isinstance(entry, dict)
    ]
