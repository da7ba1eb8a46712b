"""Whether a write's change may have been applied, judged from its attempts.

The server applies one Idempotency-Key at most once: it claims the key before
running a request, keeps it when the request succeeds or is refused with 409,
and frees it when the request fails otherwise or never completes. So:

- an attempt that got no definite answer (a timeout, a connection lost after
  the request left, a lost response; a 2xx whose body cannot be read; a
  gateway's 502 or 504 without Autumn's error body) may have applied the change;
- a later attempt settles that doubt only by succeeding, or by being refused
  as a duplicate twice (`409 duplicate_idempotency_key`: the key is held); any
  other answer (a 503, a 429) may come from before the key was even checked;
- a duplicate answered to a retry means an earlier attempt was accepted, or is
  still running and may yet fail (and free the key), or was refused as a
  conflict (409): the pipeline sends the attempt once more before trusting it.

An operation whose steps the server applies one by one (`Operation.atomic`
False) has no such guard: a step applied before a later one fails stays
applied, and the key is freed. After an attempt that may have reached the
handler (`may_have_run`), the change may be partly applied, and no resend with
the key is safe.

Pure functions of `Outcome`s, so they are tested without a server.
"""

from __future__ import annotations

from typing import Any

from autumn_core._outcome import Outcome

DUPLICATE_KEY = "duplicate_idempotency_key"
# Statuses a gateway answers for an origin that may have run the request.
_GATEWAY_STATUSES = frozenset((502, 504))
# Answered before Autumn claims the key and runs the handler: authentication,
# the rate limiter (see server/src/routers/apiRouter.ts, middleware order).
_BEFORE_HANDLER_STATUSES = frozenset((401, 403, 429))
# A body the route's zod schema refuses, before the handler runs
# (server/src/honoMiddlewares/errorSkipMiddleware.ts, ZOD_RULES).
_SCHEMA_REFUSAL = "invalid_inputs"


def is_duplicate(outcome: Outcome[Any]) -> bool:
    """The server refused the attempt because it holds the call's key already."""
    return outcome.status == 409 and outcome.code == DUPLICATE_KEY


def leaves_doubt(outcome: Outcome[Any]) -> bool:
    """A failed attempt after which the change may have been applied, unsaid."""
    status = outcome.status
    if status is None:  # no answer: did the request reach the server?
        return outcome.may_have_reached_server
    if 200 <= status < 300:  # the server said yes, in a body that cannot be read
        return True
    return status in _GATEWAY_STATUSES and outcome.code is None


def may_have_run(outcome: Outcome[Any]) -> bool:
    """The attempt may have reached the handler, which may have applied some steps:
    any answer of Autumn's but a refusal made before the handler, a duplicate, or
    a proxy's error without Autumn's body; no answer after the request left."""
    status = outcome.status
    if status is None or 200 <= status < 300:
        return leaves_doubt(outcome)
    if status in _BEFORE_HANDLER_STATUSES or is_duplicate(outcome):
        return False
    if status == 400 and outcome.code == _SCHEMA_REFUSAL:  # the body, refused before any step
        return False
    if status >= 500 and outcome.code is None:  # not Autumn's body: a gateway's page
        return status in _GATEWAY_STATUSES
    return True
