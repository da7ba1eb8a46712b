"""A FastAPI service that grants, gates and records usage inside request handlers.

One AutumnCore lives as long as the app: the lifespan creates it inside the
app's event loop and closes it on shutdown, so every request reuses its
connection pool.

POST /customers/{customer_id}/credits {"amount": 100, "order_id": "ord_1"}
    Grants `amount` API calls, once per order, as a balance of their own
    (balances_create: it always adds one; balances_update would answer 200
    and grant nothing to a customer without an api_calls balance). The
    customer must exist (an unknown one is a 404). The Idempotency-Key is built from
    what identifies the grant (the customer and the order), never from a
    default: a client that sends the same order twice, or retries after a
    timeout, is granted once.
GET /customers/{customer_id}/features/{feature_id}?required=1
    May the customer use the feature now? Fails closed: no answer from billing
    is a 503, never an "allowed".
POST /customers/{customer_id}/usage {"feature_id": "api_calls", "value": 1, "event_id": "req_1"}
    Records usage, once per event: the event's id is the track's own key, so a
    replay of the same event counts once, from any process, for 24 hours.

Each outcome gets its own answer:

- 200 {..., "deduplicated": false}: done now;
- 200 {..., "deduplicated": true}: this order or event was applied before, not again;
- 422: the request is malformed (FastAPI names the field), nothing was sent;
- 4xx {"error": code, "message": ...}: Autumn refused it (an unknown customer
  is a 404), nothing applied;
- 503 {"error": "outcome_unknown", "idempotency_key": ...} with Retry-After: no
  answer came and the change may have been applied: send the same request
  again (same order_id or event_id) to find out; it is never applied twice;
- 503 {"error": "billing_unavailable"} with Retry-After, or 502: nothing
  applied; retry later.

    AUTUMN_SECRET_KEY=am_sk_test_local AUTUMN_SERVER_URL=http://127.0.0.1:8080 \\
        uvicorn --factory examples.fastapi_service:create_app
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Annotated, Any, cast

from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from autumn_core import (
    Applied,
    AutumnCore,
    AutumnError,
    AutumnSDKError,
    Ok,
    SDKValidationError,
)
from autumn_funcs import balances_check, balances_create, balances_track

# Ids go into idempotency keys: printable ASCII, bounded.
ID = r"^[A-Za-z0-9_.:-]{1,100}$"
MAX_AMOUNT = 1_000_000

CustomerId = Annotated[str, Path(pattern=ID)]
FeatureId = Annotated[str, Path(pattern=ID)]


class CreditOrder(BaseModel):
    amount: int = Field(gt=0, le=MAX_AMOUNT, strict=True)
    order_id: str = Field(pattern=ID)


class UsageEvent(BaseModel):
    feature_id: str = Field(pattern=ID)
    value: float = Field(default=1, gt=0, le=MAX_AMOUNT)
    event_id: str = Field(pattern=ID)


def create_app(core: AutumnCore | None = None) -> FastAPI:
    """The app; pass a core to point it elsewhere (tests), or let it read the environment."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncGenerator[None, None]:
        # Created here, inside the app's event loop, not at import time.
        async with core or AutumnCore() as app_core:
            app.state.autumn = app_core
            yield

    app = FastAPI(lifespan=lifespan)
    app.post("/customers/{customer_id}/credits")(grant_credits)
    app.get("/customers/{customer_id}/features/{feature_id}")(check_access)
    app.post("/customers/{customer_id}/usage")(record_usage)
    return app


def autumn(request: Request) -> AutumnCore:
    """The app's one core, for `Depends`."""
    return cast(AutumnCore, request.app.state.autumn)


Core = Annotated[AutumnCore, Depends(autumn)]


async def grant_credits(customer_id: CustomerId, order: CreditOrder, core: Core) -> JSONResponse:
    """Grant `amount` API calls to the customer, once per order."""
    res = await balances_create(
        core,
        # A one-off balance of its own: a create always grants, where an update that
        # matches no balance of the customer answers 200 and changes nothing.
        {"customer_id": customer_id, "feature_id": "api_calls", "included_grant": order.amount},
        # What identifies this grant, and nothing else: the same order, the same key.
        {"idempotency_key": f"credits-{customer_id}-{order.order_id}"},
    )
    granted = {"granted": order.amount, "order_id": order.order_id}
    if isinstance(res, Ok):
        return JSONResponse({**granted, "deduplicated": res.deduplicated})
    return _write_failed(res.error, granted, "order_id")


async def check_access(
    customer_id: CustomerId,
    feature_id: FeatureId,
    core: Core,
    required: Annotated[float, Query(ge=0, le=MAX_AMOUNT)] = 1,
) -> JSONResponse:
    """Whether the customer may use `required` of the feature now (nothing is taken)."""
    res = await balances_check(
        core, {"customer_id": customer_id, "feature_id": feature_id, "required_balance": required}
    )
    if isinstance(res, Ok):
        balance = res.value.balance
        return JSONResponse(
            {
                "allowed": res.value.allowed,
                "remaining": None if balance is None else balance.remaining,
            }
        )
    # A plain check changes nothing, so any failure is safe to retry; and without
    # an answer this service refuses the work rather than give it away.
    return _not_applied(res.error)


async def record_usage(customer_id: CustomerId, event: UsageEvent, core: Core) -> JSONResponse:
    """Record `value` of the feature's usage, once per event."""
    res = await balances_track(
        core,
        {
            "customer_id": customer_id,
            "feature_id": event.feature_id,
            "value": event.value,
            # The event's own key: a replay of this event, from any call, counts once.
            "idempotency_key": f"usage-{customer_id}-{event.event_id}",
        },
    )
    recorded: dict[str, Any] = {"recorded": event.value, "event_id": event.event_id}
    if isinstance(res, Ok):
        balance = res.value.balance
        remaining = None if balance is None else balance.remaining
        return JSONResponse({**recorded, "remaining": remaining, "deduplicated": res.deduplicated})
    return _write_failed(res.error, recorded, "event_id")


def _write_failed(error: AutumnSDKError, done: dict[str, Any], key_field: str) -> JSONResponse:
    """A change that came back as an error: applied before, perhaps applied, or not applied."""
    if error.applied is Applied.ALREADY:
        # The key is this order's or event's: an earlier request for it was applied. Not again.
        return JSONResponse({**done, "deduplicated": True})
    if error.applied is Applied.UNKNOWN:
        return JSONResponse(
            {
                "error": "outcome_unknown",
                "message": f"billing did not answer; the change may have been applied. Send "
                f"this same request again (same {key_field}) to find out: it is never "
                "applied twice",
                "idempotency_key": error.idempotency_key,
            },
            status_code=503,
            headers={"Retry-After": "1"},
        )
    return _not_applied(error)


def _not_applied(error: AutumnSDKError) -> JSONResponse:
    """Nothing was changed: say why, with the status that fits."""
    if isinstance(error, SDKValidationError):
        return JSONResponse(
            {"error": "invalid_request", "message": f"{error.field}: {error.message}"},
            status_code=422,
        )
    if isinstance(error, AutumnError) and 400 <= error.status_code < 500:
        if error.status_code in (401, 403):  # this service's key, not the caller's fault
            return JSONResponse({"error": "billing_misconfigured"}, status_code=502)
        if error.status_code != 429:
            body = {"error": error.code or "refused", "message": error.message}
            return JSONResponse(body, status_code=error.status_code)
    return JSONResponse(
        {"error": "billing_unavailable", "message": "nothing was changed; retry later"},
        status_code=503,
        headers={"Retry-After": "1"},
    )
