"""An aiohttp.web service that grants credits inside a request handler.

One AutumnCore lives as long as the app (created at startup, closed at
cleanup), so every request reuses its connection pool.

POST /customers/{customer_id}/credits {"amount": 100, "order_id": "ord_1"}

The grant is a balance of its own (balances_create, which always adds one; an
update that matches no balance of the customer answers 200 and grants nothing).

- The input is checked first: a missing or malformed order_id or amount, or a
  body that is not JSON, is a 400 that says what is wrong.
- The Idempotency-Key is built from what identifies the grant (the customer
  and the order), never from a default: a client that sends the same order
  twice, or retries after a timeout, is granted once.
- Each outcome gets its own answer:
  200 {"granted": 100, "order_id": "ord_1", "deduplicated": false}
  200 {... "deduplicated": true}: this order was granted before, not again;
  4xx {"error": code, "message": ...}: Autumn refused the grant, nothing applied;
  503 {"error": "outcome_unknown", "idempotency_key": ...}: no answer came, the
      grant may have been applied: send the same request again to find out
      (it is never applied twice);
  503 {"error": "billing_unavailable"} / 502: nothing applied; retry later.

    AUTUMN_SECRET_KEY=am_sk_test_local AUTUMN_SERVER_URL=http://127.0.0.1:8080 \\
        python examples/aiohttp_service.py
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import cast

from aiohttp import web

from autumn_core import (
    Applied,
    AutumnCore,
    AutumnError,
    AutumnSDKError,
    Ok,
    Result,
    SDKValidationError,
)
from autumn_funcs import CreateBalanceResponse, balances_create

CORE = web.AppKey("autumn_core", AutumnCore)
# Ids go into the Idempotency-Key: printable ASCII, bounded.
ID = re.compile(r"[A-Za-z0-9_.:-]{1,100}")
MAX_AMOUNT = 1_000_000


def create_app(core: AutumnCore | None = None) -> web.Application:
    """The app; pass a core to point it elsewhere (tests), or let it read the environment."""
    app = web.Application()

    async def autumn_lifetime(app: web.Application) -> AsyncIterator[None]:
        # Created here, inside the app's event loop, not at import time.
        async with core or AutumnCore() as app_core:
            app[CORE] = app_core
            yield

    app.cleanup_ctx.append(autumn_lifetime)
    app.router.add_post("/customers/{customer_id}/credits", grant_credits)
    return app


async def grant_credits(request: web.Request) -> web.Response:
    """Grant `amount` API calls to the customer, once per order."""
    customer_id = request.match_info["customer_id"]
    order = await _order(request, customer_id)
    if isinstance(order, web.Response):
        return order
    amount, order_id = order
    res = await balances_create(
        request.app[CORE],
        {"customer_id": customer_id, "feature_id": "api_calls", "included_grant": amount},
        # What identifies this grant, and nothing else: the same order, the same key.
        {"idempotency_key": f"credits-{customer_id}-{order_id}"},
    )
    return _answer(res, amount, order_id)


async def _order(request: web.Request, customer_id: str) -> tuple[int, str] | web.Response:
    """The order's (amount, order_id), or the 400 that says what is wrong with it."""
    try:
        payload: object = await request.json()
    except ValueError:
        return _bad_request('the body must be JSON: {"amount": 100, "order_id": "ord_1"}')
    if not isinstance(payload, dict):
        return _bad_request("the body must be a JSON object")
    fields = cast("dict[str, object]", payload)
    amount, order_id = fields.get("amount"), fields.get("order_id")
    if not (isinstance(order_id, str) and ID.fullmatch(order_id)):
        return _bad_request("order_id: required, 1 to 100 letters, digits or _.:-")
    if type(amount) is not int or not 0 < amount <= MAX_AMOUNT:
        return _bad_request(f"amount: required, a whole number from 1 to {MAX_AMOUNT}")
    if not ID.fullmatch(customer_id):
        return _bad_request("customer_id: 1 to 100 letters, digits or _.:-")
    return amount, order_id


def _answer(
    res: Result[CreateBalanceResponse, AutumnSDKError], amount: int, order_id: str
) -> web.Response:
    granted = {"granted": amount, "order_id": order_id}
    if isinstance(res, Ok):
        return web.json_response({**granted, "deduplicated": res.deduplicated})
    error = res.error
    if error.applied is Applied.ALREADY:
        # The key is this order's: an earlier request for it was applied. Not again.
        return web.json_response({**granted, "deduplicated": True})
    if error.applied is Applied.UNKNOWN:
        return web.json_response(
            {
                "error": "outcome_unknown",
                "message": "billing did not answer; the grant may have been applied. Send "
                "this same request again (same order_id) to find out: it is never "
                "applied twice",
                "idempotency_key": error.idempotency_key,
            },
            status=503,
            headers={"Retry-After": "1"},
        )
    return _not_applied(error)


def _not_applied(error: AutumnSDKError) -> web.Response:
    """Nothing was granted: say why, with the status that fits."""
    if isinstance(error, SDKValidationError):
        return _bad_request(f"{error.field}: {error.message}")
    if isinstance(error, AutumnError) and 400 <= error.status_code < 500:
        if error.status_code in (401, 403):  # this service's key, not the caller's fault
            return web.json_response({"error": "billing_misconfigured"}, status=502)
        if error.status_code != 429:
            body = {"error": error.code or "refused", "message": error.message}
            return web.json_response(body, status=error.status_code)
    return web.json_response(
        {"error": "billing_unavailable", "message": "nothing was granted; retry later"},
        status=503,
        headers={"Retry-After": "1"},
    )


def _bad_request(message: str) -> web.Response:
    return web.json_response({"error": "invalid_request", "message": message}, status=400)


if __name__ == "__main__":
    web.run_app(create_app(), host="127.0.0.1", port=8000)
