"""``balances.batch_track``: up to 1,000 track events in one request.

As Autumn's ``handleBatchTrack`` / ``runBatchTrack`` / ``runQueuedTrack``
(``server/src/internal/balances/``):

1. The body is a JSON array of ``balances.track`` bodies, 1 to 1,000 of
   them (``BatchTrackParamsSchema``, read by ``schemas/batch.py``). Any item
   failing the schema refuses the whole batch: 400 ``invalid_inputs``, the
   message naming the item's index and field (``"3: customer_id is required"``).
2. Then every item's feature is resolved before anything is queued: an
   unknown ``feature_id`` refuses the whole batch with 404
   ``feature_not_found``, an ``event_name`` no feature lists with 404.
   Autumn's worker resolves them again when it runs the item; here a batch
   applied at once uses what was just resolved, and one applied later
   resolves its items again, against the features as they are then.
3. The answer is ``200 {"success": true}``. Autumn queues each item and a
   worker applies it later, as a ``balances.track`` would, except that a
   failure then (an unknown customer, ``overage_behavior: "reject"`` over
   the balance) is logged, never answered. Here items are applied in order
   before the answer, each on its own (one failing item leaves the others
   applied), all in the request's one transaction; or, with
   ``batch_apply_delay``, after that many seconds (``batch_queue.py``).
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
from collections.abc import Sequence

from autumn_local.rules.subject import Subject, load_subject
from autumn_local.rules.track import (
    FeatureDeduction,
    check_overage_behavior,
    claim_track_key,
    deduct_from,
    feature_deductions,
    release_track_key,
    subject_feature_ids,
)
from autumn_local.schemas.batch import at_index
from autumn_local.schemas.errors import ApiError
from autumn_local.schemas.usage import TrackParams
from autumn_local.store.database import Store

__all__ = ["Deductions", "apply_items", "resolve_items"]

log = logging.getLogger("autumn_local")


class _Subjects:
    """The subjects one batch loaded, kept in memory from item to item.

    Reading a customer's balances is most of what a track costs; a batch's
    items mostly name a few customers, so each subject is read once and
    saved once. One subject per customer at a time: two subjects of one
    customer (itself and an entity, or other features) may share balances,
    so the one held is saved and dropped before another is read. Subjects
    of different customers never share a balance.
    """

    def __init__(self, store: Store, now_ms: int) -> None:
        self._store = store
        self._now_ms = now_ms
        self._held: dict[str, tuple[tuple[str | None, tuple[str, ...]], Subject]] = {}

    def get(self, p: TrackParams, feature_ids: Sequence[str]) -> Subject:
        key = (p.entity_id, tuple(feature_ids))
        held = self._held.get(p.customer_id)
        if held is not None and held[0] == key:
            return held[1]
        self.save(p.customer_id)
        subject = load_subject(self._store, p.customer_id, p.entity_id, feature_ids, self._now_ms)
        self._held[p.customer_id] = (key, subject)
        return subject

    def save(self, customer_id: str) -> None:
        held = self._held.pop(customer_id, None)
        if held is not None:
            self._store.save_balances(held[1].balances)

    def save_all(self) -> None:
        for customer_id in list(self._held):
            self.save(customer_id)


Deductions = Sequence[FeatureDeduction]


def _apply_one(
    store: Store,
    subjects: _Subjects,
    p: TrackParams,
    deductions: Deductions | None,
    env: str,
    now_ms: int,
) -> bool:
    """Apply one item as ``runQueuedTrack`` would; False when its key was claimed already.

    ``deductions``: the item's, resolved when the batch was accepted in this
    transaction; None for a batch applied later, resolved now, as Autumn's
    worker resolves them against the features as they are then."""
    if deductions is None:
        deductions = feature_deductions(store, p)
    check_overage_behavior(p)
    ids = subject_feature_ids(store.feature_map(), deductions)
    if not any(d.lock is not None for d in deductions):
        return _apply_in_memory(store, subjects.get(p, ids), p, deductions, env, now_ms)
    # A lock receipt is written as the deduction is made: this item gets a
    # subject of its own, saved inside its savepoint, never held.
    subjects.save(p.customer_id)
    subject = load_subject(store, p.customer_id, p.entity_id, ids, now_ms)
    with store.savepoint():
        try:
            claim_track_key(store, env, p.idempotency_key, now_ms)
        except ApiError:
            # Applied already: a replay, not a failure (runQueuedTrack).
            return False
        # Refused, the subject's balances are left as they were.
        deduct_from(store, subject, p, deductions, env, now_ms)
        store.save_balances(subject.balances)
    return True


def _apply_in_memory(
    store: Store,
    subject: Subject,
    p: TrackParams,
    deductions: Sequence[FeatureDeduction],
    env: str,
    now_ms: int,
) -> bool:
    """An item with no lock: its deduction writes nothing to the file (the held
    subject is saved later), so its key claim is the one write to undo when it
    fails -- released, rather than a savepoint per item around it."""
    try:
        claim_track_key(store, env, p.idempotency_key, now_ms)
    except ApiError:
        return False  # applied already: a replay, not a failure (runQueuedTrack)
    try:
        # Refused, the subject's balances are left as they were.
        deduct_from(store, subject, p, deductions, env, now_ms)
    except ApiError:
        if p.idempotency_key is not None:
            release_track_key(store, env, p.idempotency_key)
        raise
    return True


def apply_items(
    store: Store,
    items: Sequence[TrackParams],
    env: str,
    now_ms: int,
    resolved: Sequence[Deductions] | None = None,
) -> int:
    """Apply ``items`` in order, each as the queue worker would; the number applied.

    Runs inside the caller's transaction. A failing item leaves nothing (its
    key claim included) and the rest goes on. ``resolved``: what
    ``resolve_items`` found for them in this same transaction, else they are
    resolved here.
    """
    applied = 0
    subjects = _Subjects(store, now_ms)
    for index, p in enumerate(items):
        deductions = None if resolved is None else resolved[index]
        try:
            applied += _apply_one(store, subjects, p, deductions, env, now_ms)
        except ApiError as exc:
            log.info("batch item %d not applied: %s %s", index, exc.code, exc.message)
    subjects.save_all()
    return applied


def resolve_items(store: Store, items: Sequence[TrackParams]) -> list[Deductions]:
    """Each item's deductions, by feature. Every item's features must exist: else the
    whole batch is refused (404), naming the item."""
    resolved: list[Deductions] = []
    for index, p in enumerate(items):
        try:
            resolved.append(feature_deductions(store, p))
        except ApiError as exc:
            raise at_index(index, exc) from None
    return resolved
