"""An aiohttp.web service that grants credits inside a request handler.

One AutumnCore lives as long as the app (created at startup, closed at
cleanup), so every request reuses its connection pool. The handler passes the
caller's order id as the Idempotency-Key: a client that retries its own POST
can never be granted twice.

    AUTUMN_SECRET_KEY=am_sk_test_local AUTUMN_SERVER_URL=http://127.0.0.1:8080 \
        python examples/aiohttp_service.py
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from autumn_core import AutumnCore, AutumnError, SDKValidationError
from autumn_funcs import balances_update

CORE = web.AppKey("autumn_core", AutumnCore)


def create_app(core: AutumnCore | None = None) -> web.Application:
    """The app; pass a core to point it elsewhere (tests), or let it read the environment."""
    app = web.Application()

    async def autumn_lifetime(app: web.Application) -> AsyncIterator[None]:
        async with core or AutumnCore() as app_core:
            app[CORE] = app_core
            yield

    app.cleanup_ctx.append(autumn_lifetime)
    app.router.add_post("/customers/{customer_id}/credits", grant_credits)
    return app


async def grant_credits(request: web.Request) -> web.Response:
    """POST {"amount": 100, "order_id": "ord_1"}: add `amount` API calls to the customer."""
    payload = await request.json()
    res = await balances_update(
        request.app[CORE],
        {
            "customer_id": request.match_info["customer_id"],
            "feature_id": "api_calls",
            "add_to_balance": payload.get("amount", "missing"),
        },
        {"idempotency_key": f"credits-{payload.get('order_id')}"},
    )
    if res.ok:
        return web.json_response({"granted": payload["amount"]})
    error = res.error
    if isinstance(error, SDKValidationError):
        return web.json_response({"error": f"invalid {error.field}"}, status=400)
    if isinstance(error, AutumnError) and error.code == "duplicate_idempotency_key":
        # This order was granted before (by an earlier request or attempt): once is enough.
        return web.json_response({"granted": payload["amount"], "replayed": True})
    if isinstance(error, AutumnError) and error.status_code == 404:
        return web.json_response({"error": error.code}, status=404)
    # Anything else can be retried later; the Idempotency-Key makes that safe.
    return web.json_response({"error": "billing unavailable, retry"}, status=503)


if __name__ == "__main__":
    web.run_app(create_app(), host="127.0.0.1", port=8000)
