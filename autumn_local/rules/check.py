"""``balances.check``: may the customer use a feature now (and, optionally, use it).

As Autumn's ``handleCheck`` / ``runCheckV2`` / ``getCheckResponseV2`` /
``runCheckWithTrackV2`` (``server/src/internal/balances/check/`` and
``internal/api/check/``) do for standalone balances:

- The feature must exist (404 ``feature_not_found``, checked first), then
  the customer and entity (404). ``required_balance`` (legacy
  ``required_quantity``) defaults to 1.
- The feature checked may be a credit system drawing on it: the feature
  itself when its own balance allows the amount, else the first credit
  system (catalog order) whose balance allows it, else the first one the
  customer has, else the feature. On a credit system the answer's
  ``required_balance`` is in credits (``credit_cost`` x amount).
- ``allowed``: a boolean feature the customer has, an unlimited balance, a
  negative requirement, or ``remaining >= required_balance``. The balance
  judged is the subject's own level: a customer's entities' balances show
  in its ``balance`` totals but do not allow anything. No balance and no
  flag: ``allowed: false`` with ``balance: null``.
- ``send_event`` (or ``lock``) deducts the amount as a track with
  ``overage_behavior: "reject"``: all of it or nothing (``allowed: false``);
  ``balance`` is then the balance after the deduction and ``balances`` the
  related ones. Without a balance to draw on (and an amount above 0) the
  answer is ``allowed: false`` at once, its ``required_balance`` still in
  the feature's units, and a lock keeps no receipt. Not for a boolean
  feature, nor ``lock`` on a continuous-use one (400 ``invalid_request``).
  A lock's ``expires_at`` may be at most a day ahead.
- ``with_preview`` adds ``preview`` (null when allowed). Without plans there
  is nothing to offer: ``products`` is empty and the title is
  ``Feature Unavailable``.
- Over the organisation's check cap (240,000 a minute) Autumn fails open:
  ``202`` with ``allowed: true`` and no balance, nothing looked up.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from autumn_local.rules import locks
from autumn_local.rules.credits import CREDIT_SYSTEM, credit_systems_of, to_credits
from autumn_local.rules.operations import require_feature
from autumn_local.rules.replies import Reply
from autumn_local.rules.subject import Subject, load_subject
from autumn_local.rules.track import answer_balances, deducted_by_feature, deducted_per_balance
from autumn_local.schemas.errors import ApiError, invalid_request
from autumn_local.schemas.usage import CheckParams
from autumn_local.store.database import FeatureRow, Number, Store
from autumn_local.store.js_numbers import MAX_SAFE_INTEGER, js_number

__all__ = ["check"]

_DAY_MS = 24 * 3600 * 1000


def _allowed(balance: Mapping[str, Any], required: Number) -> bool:
    """``apiBalanceToAllowed`` for a balance without plan billing controls."""
    remaining = balance["remaining"]
    if remaining is None:  # a total past the double range: Infinity, written null
        remaining = math.inf
    elif isinstance(remaining, int) and abs(remaining) > MAX_SAFE_INTEGER:
        # Shown as JavaScript writes the double (2^60 - 128 as ...846800, below
        # it): compare the double itself, which these digits read back as.
        remaining = float(remaining)
    return bool(balance["unlimited"]) or required < 0 or remaining >= required


def _feature_to_use(
    feature: FeatureRow,
    credit_systems: Sequence[FeatureRow],
    balances: Mapping[str, Any],
    required: Number,
) -> FeatureRow:
    """``getFeatureToUseForCheck``."""
    if not credit_systems:
        return feature
    main = balances.get(feature.id)
    if main is not None and _allowed(main, required):
        return feature
    owned: FeatureRow | None = None
    for credit_system in credit_systems:
        balance = balances.get(credit_system.id)
        if balance is None:
            continue
        owned = owned or credit_system
        if _allowed(balance, required):
            return credit_system
    if owned is not None:
        return owned
    return feature if main is not None else credit_systems[0]


def _preview(feature: FeatureRow, balance: Any) -> dict[str, Any]:
    """``getCheckPreview`` with no plan to offer."""
    if balance is not None:
        scenario = "usage_limit"
        message = (
            f"You have reached the usage limit for {feature.name}."
            " Please contact us to increase your limit."
        )
    else:
        scenario = "feature_flag"
        message = (
            f"{feature.name} is not available for your account. Please contact us to enable it."
        )
    return {
        "scenario": scenario,
        "title": "Feature Unavailable",
        "feature_id": feature.id,
        "feature_name": feature.name,
        "message": message,
        "products": [],
        "upgrade_product_id": None,
    }


def _head(p: CheckParams, allowed: bool, required: Number) -> dict[str, Any]:
    answer: dict[str, Any] = {"allowed": allowed, "customer_id": p.customer_id}
    if p.entity_id is not None:
        answer["entity_id"] = p.entity_id
    answer["required_balance"] = js_number(required)
    return answer


def _use_it(
    store: Store,
    p: CheckParams,
    env: str,
    now_ms: int,
    subject: Subject,
    feature: FeatureRow,
    required: Number,
    balance: Any,
) -> tuple[bool, Any, dict[str, Any] | None]:
    """``runCheckWithTrackV2``: (allowed, balance, balances) after trying to deduct."""
    features = store.feature_map()
    ok, made = subject.deduct(features, feature.id, required, "reject", now_ms)
    if not ok:
        return False, balance, None
    if p.lock is not None and subject.draws_on(features, feature.id):
        locks.save_receipt(
            store,
            env,
            p.lock,
            customer_id=p.customer_id,
            feature_id=feature.id,
            entity_id=p.entity_id,
            mutations=made,
            properties=p.properties,
            release_on_expiry=p.lock.expires_at is not None,
            now_ms=now_ms,
        )
    store.save_balances(subject.balances)
    deducted = deducted_by_feature(deducted_per_balance(made))
    shown, balances = answer_balances(features, subject, [feature], deducted, now_ms)
    if shown is None and balances is not None:
        shown = balances.get(feature.id)
    return True, shown, balances


def _refuse_before_lookup(p: CheckParams, now_ms: int) -> None:
    """What Autumn refuses before it looks anything up."""
    expires_at = None if p.lock is None else p.lock.expires_at
    if expires_at is not None and expires_at > now_ms + _DAY_MS:
        raise invalid_request("Lock expires_at cannot be more than 1 day from now")
    if p.product_id is not None:
        # Autumn's legacy product check; this server has no plans, so no product exists.
        raise ApiError(404, "product_not_found", f"Product {p.product_id} not found")


def _refuse_deduction(p: CheckParams, feature: FeatureRow, use: FeatureRow) -> None:
    """What ``send_event`` / ``lock`` may not be used on."""
    if p.lock is not None and use.type == "metered" and not use.consumable:
        raise invalid_request("Lock is not supported for allocated features")
    if feature.type == "boolean":
        raise invalid_request(
            "send_event cannot be used with boolean features,"
            " which are flags rather than usage-tracked."
        )


def _in_credits(feature: FeatureRow, use: FeatureRow, required: Number) -> Number:
    """The required amount in the unit of ``use``: credits when a credit system answers."""
    if use.type == CREDIT_SYSTEM and use.id != feature.id:
        return to_credits(feature.id, use, required)
    return required


# (balances, flags), as a customer or entity view shows them.
_View = tuple[dict[str, Any], dict[str, Any]]


def _judged_view(
    p: CheckParams, subject: Subject, features: Mapping[str, FeatureRow], shown: _View, now_ms: int
) -> _View:
    """The balances and flags that decide ``allowed``: the subject's own level only.

    A customer's view totals its entities' balances too; those do not allow anything.
    """
    if p.entity_id is None and any(b.entity_id for b in subject.balances):
        return subject.view(features, now_ms, aggregate=False)
    return shown


def _allowed_by_view(judged: _View, use: FeatureRow, required: Number) -> bool:
    balances, flags = judged
    if flags.get(use.id) is not None:
        return True
    balance = balances.get(use.id)
    return balance is not None and _allowed(balance, required)


def _answer(
    p: CheckParams,
    allowed: bool,
    required: Number,
    use: FeatureRow,
    shown: tuple[Any, Any],
    related: dict[str, Any] | None,
) -> dict[str, Any]:
    """The answer's keys in Autumn's order; ``shown`` is (balance, flag)."""
    balance, flag = shown
    answer = _head(p, allowed, required)
    answer["balance"] = balance
    if related is not None:
        answer["balances"] = related
    answer["flag"] = flag
    if p.with_preview:
        answer["preview"] = None if allowed else _preview(use, balance)
    return answer


def check(store: Store, p: CheckParams, env: str, now_ms: int, *, fail_open: bool) -> Any:
    """``balances.check``; ``fail_open``: the organisation is over its check cap."""
    _refuse_before_lookup(p, now_ms)
    assert p.feature_id is not None
    required: Number = 1 if p.required_balance is None else p.required_balance
    if fail_open:
        return Reply(202, {**_head(p, True, required), "balance": None, "flag": None})

    feature = require_feature(store, p.feature_id)
    features = store.feature_map()
    credit_systems = credit_systems_of(features, feature.id)
    subject = load_subject(
        store, p.customer_id, p.entity_id, [feature.id, *(c.id for c in credit_systems)], now_ms
    )
    balances, flags = shown = subject.view(features, now_ms)
    judged = _judged_view(p, subject, features, shown, now_ms)
    use = _feature_to_use(feature, credit_systems, judged[0], required)
    balance, flag = balances.get(use.id), flags.get(use.id)
    related: dict[str, Any] | None = None
    in_credits = _in_credits(feature, use, required)

    if p.send_event or p.lock is not None:
        _refuse_deduction(p, feature, use)
        if balance is None and required > 0:
            # Autumn answers before its credit conversion: required stays in feature units.
            return _answer(p, False, required, use, (balance, flag), None)
        allowed, balance, related = _use_it(
            store, p, env, now_ms, subject, feature, required, balance
        )
    else:
        allowed = _allowed_by_view(judged, use, in_credits)
    return _answer(p, allowed, in_credits, use, (balance, flag), related)
