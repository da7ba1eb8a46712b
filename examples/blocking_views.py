"""Blocking views: start a trial and grant credits from a Django or Flask app, or a Celery task.

A WSGI server calls views from its worker threads, none of which runs an event
loop, so they use the blocking client. One `AutumnSync` per process serves every
thread (one background thread, one connection pool). It is created on first
use, so a server that forks its workers after importing the app (gunicorn
--preload, Celery's prefork pool) creates it in each worker. Each view takes
plain values, checks them, and returns (status, JSON body), so it fits any
framework:

    # Django
    def credits(request, customer_id):
        status, body = grant_credits(customer_id, json.loads(request.body))
        return JsonResponse(body, status=status)

    # Flask
    @app.post("/customers/<customer_id>/credits")
    def credits(customer_id):
        status, body = grant_credits(customer_id, request.get_json())
        return body, status

The client reads AUTUMN_SECRET_KEY and AUTUMN_SERVER_URL. Try it against the
local server (`python -m autumn_local serve --port 8080` in another shell):

    AUTUMN_SECRET_KEY=am_sk_test_local AUTUMN_SERVER_URL=http://127.0.0.1:8080 \\
        python examples/blocking_views.py
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any

from autumn_core import Applied, AutumnError, AutumnSDKError, SDKValidationError
from autumn_funcs import AutumnSync

_client: AutumnSync | None = None
_client_lock = threading.Lock()

Reply = tuple[int, dict[str, Any]]
# Ids go into the Idempotency-Key: printable ASCII, bounded.
ID = re.compile(r"[A-Za-z0-9_.:-]{1,100}")


def autumn() -> AutumnSync:
    """This process's client, created on first use and shared by every thread."""
    global _client
    with _client_lock:
        if _client is None or _client.closed:
            _client = AutumnSync()
        return _client


def close_autumn() -> None:
    """For a worker's shutdown signal; without it the client is closed at exit anyway."""
    with _client_lock:
        if _client is not None:
            _client.close()


def start_trial(customer_id: str) -> Reply:
    """Grant 100 API calls a month; a repeated request (a double click, a retried job) is
    applied once."""
    if not ID.fullmatch(customer_id):
        return 400, {"error": "customer_id: 1 to 100 letters, digits or _.:-"}
    try:
        autumn().balances.create(
            customer_id=customer_id,
            feature_id="api_calls",
            included_grant=100,
            reset={"interval": "month"},
            # One trial per customer: the customer identifies the grant.
            options={"idempotency_key": f"trial-{customer_id}"},
        )
    except AutumnSDKError as error:
        return _failure(error, done={"trial": "started", "deduplicated": True})
    return 200, {"trial": "started"}


def grant_credits(customer_id: str, payload: Mapping[str, Any]) -> Reply:
    """{"amount": 100, "order_id": "ord_1"}: grant `amount` API calls, once per order."""
    amount, order_id = payload.get("amount"), payload.get("order_id")
    if not (isinstance(order_id, str) and ID.fullmatch(order_id)):
        return 400, {"error": "order_id: required, 1 to 100 letters, digits or _.:-"}
    if type(amount) is not int or amount <= 0:
        return 400, {"error": "amount: required, a whole number above 0"}
    if not ID.fullmatch(customer_id):
        return 400, {"error": "customer_id: 1 to 100 letters, digits or _.:-"}
    try:
        # A balance of its own: a create always grants, where an update that matches
        # no balance of the customer answers 200 and changes nothing.
        autumn().balances.create(
            customer_id=customer_id,
            feature_id="api_calls",
            included_grant=amount,
            # The customer and the order identify the grant: a browser or a queue that
            # sends the same order twice is granted once.
            options={"idempotency_key": f"credits-{customer_id}-{order_id}"},
        )
    except AutumnSDKError as error:
        return _failure(error, done={"granted": amount, "deduplicated": True})
    return 200, {"granted": amount}


def _failure(error: AutumnSDKError, done: dict[str, Any]) -> Reply:
    if error.applied is Applied.ALREADY:
        return 200, done  # this key's request was applied before: once is enough
    if error.applied is Applied.UNKNOWN:
        # No answer came: the same request again says what happened, never applying twice.
        return 503, {"error": "outcome_unknown", "idempotency_key": error.idempotency_key}
    if isinstance(error, SDKValidationError):
        return 400, {"error": f"invalid {error.field}"}
    if isinstance(error, AutumnError) and error.status_code in (401, 403):
        return 502, {"error": "billing_misconfigured"}
    # Refused (a 429 aside, which means "later"): nothing applied, and why.
    refused = isinstance(error, AutumnError) and error.status_code in range(400, 500)
    if refused and isinstance(error, AutumnError) and error.status_code != 429:
        return error.status_code, {"error": error.code, "message": error.message}
    # Nothing was applied; the same request later is safe.
    return 503, {"error": "billing unavailable, retry"}


if __name__ == "__main__":
    print(start_trial("cus_123"))
    print(grant_credits("cus_123", {"amount": 50, "order_id": "ord_1"}))
    print(grant_credits("cus_123", {"amount": 50, "order_id": "ord_1"}))  # the same order again
