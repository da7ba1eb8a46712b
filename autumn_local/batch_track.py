"""``balances.batch_track``: up to 1,000 track events in one request.

As Autumn's ``handleBatchTrack`` / ``runBatchTrack`` / ``runQueuedTrack``
(``server/src/internal/balances/``):

1. The body is a JSON array of ``balances.track`` bodies, 1 to 1,000 of
   them (``BatchTrackParamsSchema``). Any item failing the schema refuses
   the whole batch: 400 ``invalid_inputs``, the message naming the item's
   index and field (``"3: customer_id is required"``).
2. Then every item's feature is resolved before anything is queued: an
   unknown ``feature_id`` refuses the whole batch with 404
   ``feature_not_found``, an ``event_name`` no feature lists with 404.
3. The answer is ``200 {"success": true}``. Autumn queues each item and a
   worker applies it later, as a ``balances.track`` would, except that a
   failure then (an unknown customer, ``overage_behavior: "reject"`` over
   the balance) is logged, never answered. Here items are applied in order
   before the answer, each on its own (one failing item leaves the others
   applied), all in the request's one transaction; or, with
   ``batch_apply_delay``, after that many seconds (``BatchQueue``).
4. An item's body ``idempotency_key`` is claimed when the item is applied,
   as ``track:<key>`` -- the same claim ``balances.track`` makes: an item
   whose key was claimed already (by an earlier batch, an earlier item of
   this one, or a track) is skipped, silently. So a batch sent twice applies
   each keyed item once, and a batch whose answer was lost can be resent.
   The worker's claim is released when the item fails, so a later resend
   of that item may apply.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from autumn_local.errors import ApiError, invalid_inputs
from autumn_local.store import Store
from autumn_local.track import claim_track_key, deduct_track, feature_deductions
from autumn_local.usage_params import TrackParams, parse_track
from autumn_local.validation import json_type_name

if TYPE_CHECKING:
    from autumn_local.app import ServerState

__all__ = ["MAX_BATCH_ITEMS", "apply_items", "batch_track", "parse_batch"]

log = logging.getLogger("autumn_local")

MAX_BATCH_ITEMS = 1000
_SUCCESS = b'{"success":true}'


def parse_batch(body: Any, parse_item: Callable[[dict[str, Any]], Any]) -> list[Any]:
    """The items of an array body, each through ``parse_item``; 400 naming the first bad one.

    Autumn's zod schema (``z.array(...).min(1).max(1000)``) reports the path
    as ``<index>.<field>``; the message here starts with the index too.
    """
    if not isinstance(body, list):
        raise invalid_inputs(
            f"body must be an array of 1 to {MAX_BATCH_ITEMS} items, got {json_type_name(body)}"
        )
    if not 1 <= len(body) <= MAX_BATCH_ITEMS:
        raise invalid_inputs(
            f"body must be an array of 1 to {MAX_BATCH_ITEMS} items, got {len(body)}"
        )
    items: list[Any] = []
    for index, raw in enumerate(body):
        if not isinstance(raw, dict):
            raise invalid_inputs(f"{index}: must be an object, got {json_type_name(raw)}")
        try:
            items.append(parse_item(raw))
        except ApiError as exc:
            raise ApiError(exc.status, exc.code, f"{index}: {exc.message}") from None
    return items


def apply_items(store: Store, items: Sequence[TrackParams], env: str, now_ms: int) -> int:
    """Apply ``items`` in order, each as the queue worker would; the number applied.

    Runs inside the caller's transaction; each item in a savepoint, so a
    failing item leaves nothing (its key claim included) and the rest goes on.
    """
    applied = 0
    for index, p in enumerate(items):
        try:
            with store.savepoint():
                deductions = feature_deductions(store, p)
                try:
                    claim_track_key(store, env, p.idempotency_key, now_ms)
                except ApiError:
                    # Applied already: a replay, not a failure (runQueuedTrack).
                    continue
                deduct_track(store, p, deductions, env, now_ms)
                applied += 1
        except ApiError as exc:
            log.info("batch item %d not applied: %s %s", index, exc.code, exc.message)
    return applied


def batch_track(s: ServerState, body: Any, env: str, now: int) -> bytes:
    """``POST /v1/balances.batch_track``."""
    items = parse_batch(body, lambda raw: parse_track(raw, now, strict=s.strict))
    for index, p in enumerate(items):
        try:
            feature_deductions(s.store, p)
        except ApiError as exc:
            raise ApiError(exc.status, exc.code, f"{index}: {exc.message}") from None
    s.batches.submit(s.store, s.clock, items, env, now)
    return _SUCCESS
