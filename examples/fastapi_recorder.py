"""A FastAPI service that meters every request with a UsageRecorder: check on the way
in, record on the way out, and the recording costs the request microseconds.

One AutumnCore and one UsageRecorder live as long as the app. The lifespan
creates them inside the app's event loop and, on shutdown, closes the recorder
first (it sends what is still queued) and the core after it. With
`USAGE_SPOOL=/var/lib/app/usage.db` every event is on disk before the handler
returns, and a restarted process sends what a crash left behind. One spool
file per process: with several workers, give each its own path.

POST /customers/{customer_id}/messages {"text": "hi", "request_id": "req_1"}
    Refused with 402 when the customer has no `api_calls` left (fail closed:
    no answer from billing is a 503). Otherwise does the work and records one
    message with the request's id as the event's key: a client retrying the
    same request is metered once.
GET /usage-recorder
    The recorder's counts (recorded, delivered, pending, refused, dropped...)
    for a health check or a metrics scrape.

    AUTUMN_SECRET_KEY=am_sk_test_local AUTUMN_SERVER_URL=http://127.0.0.1:8080 \\
        uvicorn --factory examples.fastapi_recorder:create_app
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Annotated, Any, cast

import attrs
from fastapi import Depends, FastAPI, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from autumn_core import AutumnCore, AutumnSDKError, Ok
from autumn_funcs import UsageRecorder, balances_check

ID = r"^[A-Za-z0-9_.:-]{1,100}$"
CustomerId = Annotated[str, Path(pattern=ID)]
logger = logging.getLogger("example.metering")


class Message(BaseModel):
    text: str = Field(max_length=10_000)
    request_id: str = Field(pattern=ID)


def on_refused(event: dict[str, Any], error: AutumnSDKError) -> None:
    # An event Autumn refused (an unknown feature, say): nothing will send it again.
    logger.error("usage event %s refused: %s", event.get("idempotency_key"), error)


def create_app(core: AutumnCore | None = None, **recorder_settings: Any) -> FastAPI:
    """The app; pass a core (and recorder settings) to point it elsewhere (tests)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncGenerator[None, None]:
        settings: dict[str, Any] = {
            "spool": os.environ.get("USAGE_SPOOL"),
            "on_refused": on_refused,
        }
        async with (
            core or AutumnCore() as app_core,
            UsageRecorder(app_core, **{**settings, **recorder_settings}) as recorder,
        ):
            app.state.autumn = app_core
            app.state.recorder = recorder
            yield
        # Leaving the block closed the recorder (flushing it) before the core.

    app = FastAPI(lifespan=lifespan)
    app.post("/customers/{customer_id}/messages")(send_message)
    app.get("/usage-recorder")(recorder_stats)
    return app


def autumn(request: Request) -> AutumnCore:
    return cast(AutumnCore, request.app.state.autumn)


def recorder(request: Request) -> UsageRecorder:
    return cast(UsageRecorder, request.app.state.recorder)


Core = Annotated[AutumnCore, Depends(autumn)]
Recorder = Annotated[UsageRecorder, Depends(recorder)]


async def send_message(
    customer_id: CustomerId, message: Message, core: Core, usage: Recorder
) -> JSONResponse:
    """Send a message if the customer has one left; meter it off the request path."""
    # On the way in: this needs the balance now, so it is a call, awaited.
    check = await balances_check(core, {"customer_id": customer_id, "feature_id": "api_calls"})
    if not isinstance(check, Ok):
        return JSONResponse({"error": "billing_unavailable"}, status_code=503,
                            headers={"Retry-After": "1"})  # fmt: skip
    if not check.value.allowed:
        return JSONResponse({"error": "no_calls_left"}, status_code=402)

    reply = message.text[::-1]  # the work

    # On the way out: a few microseconds, no I/O. The request's id is the event's key.
    usage.track(
        {
            "customer_id": customer_id,
            "feature_id": "api_calls",
            "idempotency_key": f"msg-{customer_id}-{message.request_id}",
        }
    )
    return JSONResponse({"reply": reply})


async def recorder_stats(usage: Recorder) -> dict[str, int]:
    return attrs.asdict(usage.stats())
