"""``balances.track``: record usage of a feature, or of every feature an event names.

As Autumn's ``handleTrack`` / ``runTrackV3`` / ``deductionToTrackResponseV2``
(``server/src/internal/balances/``) do for standalone balances:

1. ``feature_id`` must name a feature (404 ``feature_not_found``);
   ``event_name`` fans out to every feature listing it in ``event_names``
   (none: 404 ``invalid_request``). ``value`` defaults to 1; a negative value
   credits back.
2. ``async: true`` accepts the event and answers ``202`` with
   ``balance: null``; it is applied right away here, where Autumn's queue
   worker would apply it moments later, and a failure then (an unknown
   customer) is not reported, as on Autumn. Over the organisation's track
   cap (120,000 a minute), Autumn queues every track the same way.
3. The body-level ``idempotency_key`` is claimed as ``track:<key>`` in the
   same store as ``Idempotency-Key`` headers: a repeat is 409
   ``duplicate_idempotency_key``; a failed track releases it, except a 409
   (``lock_already_exists``), after which the key stays claimed.
4. Each feature's value is deducted in turn (``usage_deduction.py``);
   ``overage_behavior`` is ``cap`` by default, ``overflow`` lets the first
   balance go negative, ``reject`` (Autumn accepts it, undocumented) refuses
   with 400 ``insufficient_balance`` and is refused with ``event_name``.
   With ``lock`` (and ``feature_id``) the deduction is kept as a lock
   receipt (``locks.py``).
5. The answer: ``balance`` is the one balance the track shows (the feature's,
   or the credit system it drew from; null when several features were
   tracked), ``balances`` every related feature's (only when there are two
   or more), ``deductions`` each balance or rollover touched.

``properties`` and ``timestamp`` are validated; this server keeps no event
log, so they are not stored.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from autumn_local.rules import locks
from autumn_local.rules.credits import CREDIT_SYSTEM, relevant_features
from autumn_local.rules.operations import require_feature
from autumn_local.rules.replies import Reply
from autumn_local.rules.subject import (
    Subject,
    deductions_view,
    insufficient_balance,
    load_subject,
)
from autumn_local.rules.usage_deduction import Mutation
from autumn_local.schemas.errors import ApiError, StepsApplied, invalid_request
from autumn_local.schemas.usage import LockParams, TrackParams
from autumn_local.store.database import FeatureRow, Number, Store
from autumn_local.store.js_numbers import js_number

__all__ = [
    "answer_balances",
    "apply_track",
    "check_overage_behavior",
    "claim_track_key",
    "deduct_from",
    "deducted_by_feature",
    "deducted_per_balance",
    "feature_deductions",
    "subject_feature_ids",
    "track",
]

# Body keys live as long as header keys (24 h).
TRACK_KEY_WINDOW_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class _FeatureDeduction:
    feature: FeatureRow
    value: Number
    lock: LockParams | None


# The type `feature_deductions` returns, for code that passes its result on.
FeatureDeduction = _FeatureDeduction


def feature_deductions(store: Store, p: TrackParams) -> list[_FeatureDeduction]:
    """``getTrackFeatureDeductionsForBody``."""
    value = 1 if p.value is None else p.value
    if p.feature_id is not None:
        return [_FeatureDeduction(require_feature(store, p.feature_id), value, p.lock)]
    found = [
        _FeatureDeduction(f, value, None)
        for f in store.feature_map().values()
        if p.event_name in f.event_names
    ]
    if not found:
        raise ApiError(404, "invalid_request", f"No features found for event name: {p.event_name}")
    return found


def _track_scope(key: str) -> str:
    return f"track:{key}"


def release_track_key(store: Store, env: str, key: str) -> None:
    """Free a body-level ``idempotency_key`` claimed for a track that then failed."""
    store.release_idempotency_key(env, _track_scope(key))


def claim_track_key(store: Store, env: str, key: str | None, now_ms: int) -> None:
    """Claim a body-level ``idempotency_key`` (409 when already claimed)."""
    if key is None:
        return
    scoped = _track_scope(key)
    # One statement checks and claims, inside the request's write transaction.
    if not store.claim_idempotency_key(env, scoped, now_ms, TRACK_KEY_WINDOW_MS):
        raise ApiError(
            409,
            "duplicate_idempotency_key",
            f"Another request with idempotency key {scoped} has already been received",
        )


def _balance_feature(
    features: Mapping[str, FeatureRow],
    subject: Subject,
    feature: FeatureRow,
    deducted: Mapping[str, Number],
) -> str:
    """``getFeatureToUseForBalance``: which feature's balance the answer shows."""
    relevant = relevant_features(features, feature.id)
    own = subject.own()
    for f in relevant:
        if any(b.unlimited for b in own if b.feature_id == f.id):
            return f.id
    ordered = sorted(relevant, key=lambda f: f.type == CREDIT_SYSTEM)
    for f in ordered:
        if deducted.get(f.id, 0) > 0:
            return f.id
    other = next((f for f in ordered if f.id != feature.id), None)
    return feature.id if other is None else other.id


def deducted_by_feature(per_balance: Mapping[int, tuple[str, Number]]) -> dict[str, Number]:
    totals: dict[str, Number] = {}
    for feature_id, amount in per_balance.values():
        totals[feature_id] = totals.get(feature_id, 0) + amount
    return totals


def deducted_per_balance(mutations: Sequence[Mutation]) -> dict[int, tuple[str, Number]]:
    """Credits one feature's deduction took from each balance (rollovers not counted)."""
    found: dict[int, tuple[str, Number]] = {}
    for m in mutations:
        if m.rollover is None:
            _, before = found.get(m.balance.pk, (m.balance.feature_id, 0))
            found[m.balance.pk] = (m.balance.feature_id, before - m.balance_delta)
    return found


def check_overage_behavior(p: TrackParams) -> None:
    """Refuse ``overage_behavior: "reject"`` with ``event_name``, as Autumn does."""
    if p.event_name is not None and p.overage_behavior == "reject":
        raise invalid_request(
            'overage_behavior "reject" is not supported with event_name.'
            ' Use feature_id or set overage_behavior to "cap".'
        )


def subject_feature_ids(
    features: Mapping[str, FeatureRow], deductions: Sequence[_FeatureDeduction]
) -> list[str]:
    """The features whose balances a track of ``deductions`` involves."""
    return [f.id for d in deductions for f in relevant_features(features, d.feature.id)]


def deduct_from(
    store: Store,
    subject: Subject,
    p: TrackParams,
    deductions: Sequence[_FeatureDeduction],
    env: str,
    now_ms: int,
) -> tuple[list[Mutation], dict[str, Number]]:
    """Deduct from ``subject``'s balances in memory: (mutations, credits deducted by feature).

    Saving the balances is the caller's; a lock receipt is written here.
    Refused (400 ``insufficient_balance``), the subject is left as it was.
    """
    features = store.feature_map()
    mutations: list[Mutation] = []
    per_balance: dict[int, tuple[str, Number]] = {}
    for d in deductions:
        ok, made = subject.deduct(features, d.feature.id, d.value, p.overage_behavior, now_ms)
        if not ok:
            raise insufficient_balance(d.value, p.feature_id, p.event_name)
        if d.lock is not None and subject.draws_on(features, d.feature.id):
            locks.save_receipt(
                store,
                env,
                d.lock,
                customer_id=p.customer_id,
                feature_id=d.feature.id,
                entity_id=p.entity_id,
                mutations=made,
                properties=p.properties,
                release_on_expiry=False,
                now_ms=now_ms,
            )
        mutations += made
        # A later feature's result replaces an earlier one's per balance, as
        # Autumn merges them, so a balance two features drew from counts once.
        per_balance.update(deducted_per_balance(made))
    return mutations, deducted_by_feature(per_balance)


def apply_track(
    store: Store,
    p: TrackParams,
    deductions: Sequence[_FeatureDeduction],
    env: str,
    now_ms: int,
) -> dict[str, Any]:
    """Deduct and answer (``runTrackV3``)."""
    check_overage_behavior(p)
    features = store.feature_map()
    ids = subject_feature_ids(features, deductions)
    subject = load_subject(store, p.customer_id, p.entity_id, ids, now_ms)
    mutations, deducted = deduct_from(store, subject, p, deductions, env, now_ms)
    store.save_balances(subject.balances)
    balance, balances = answer_balances(
        features, subject, [d.feature for d in deductions], deducted, now_ms
    )
    answer = _head(p)
    answer["balance"] = balance
    if balances is not None:
        answer["balances"] = balances
    answer["deductions"] = deductions_view(mutations, features)
    return answer


def answer_balances(
    features: Mapping[str, FeatureRow],
    subject: Subject,
    tracked: Sequence[FeatureRow],
    deducted: Mapping[str, Number],
    now_ms: int,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(``balance``, ``balances``) of a track answer (``deductionToTrackResponseV2``)."""
    views, _ = subject.view(features, now_ms)
    shown: dict[str, Any] = {}
    related: dict[str, Any] = {}
    for feature in tracked:
        use = _balance_feature(features, subject, feature, deducted)
        if use in views:
            shown[use] = views[use]
        for f in relevant_features(features, feature.id):
            related[f.id] = views.get(f.id)
    balance = next(iter(shown.values())) if len(shown) == 1 else None
    return balance, related if len(related) >= 2 else None


def _head(p: TrackParams) -> dict[str, Any]:
    head: dict[str, Any] = {"customer_id": p.customer_id}
    if p.entity_id is not None:
        head["entity_id"] = p.entity_id
    if p.event_name is not None:
        head["event_name"] = p.event_name
    head["value"] = js_number(1 if p.value is None else p.value)
    return head


def track(store: Store, p: TrackParams, env: str, now_ms: int, *, queued: bool) -> Reply:
    """``balances.track``; ``queued``: the organisation is over its track cap."""
    deductions = feature_deductions(store, p)
    claim_track_key(store, env, p.idempotency_key, now_ms)
    if p.run_async or queued:
        # Autumn's queue worker fails where nobody sees it; the key stays claimed.
        with contextlib.suppress(ApiError):
            apply_track(store, p, deductions, env, now_ms)
        return Reply(202, {**_head(p), "balance": None})
    try:
        return Reply(200, apply_track(store, p, deductions, env, now_ms))
    except ApiError as exc:
        if exc.status == 409 and p.idempotency_key is not None:
            # Autumn's withIdempotencyKey never releases a key on a 409 (a taken
            # lock_id): commit the claim, and nothing else was changed.
            raise StepsApplied(exc) from None
        raise
