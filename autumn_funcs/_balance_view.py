"""A feature's balance and flag as Autumn shows them (API 2.1 to 2.3): in the answers of
balances.check and balances.track, and in the customer and entity views.

Response models only: frozen, and tolerant of fields the server adds later. What
the schema may leave out is optional here, with None for a missing value and an
empty list or dict for a missing collection; what it may send as null is typed
`X | None` and required. Fields whose values form a set the server may grow
(intervals, feature types) are plain strings, as in Autumn's own SDKs, so that a
new value never fails a read: the known values are listed beside each.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

from autumn_core.seam import tolerate_unknown_fields


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class BalanceReset:
    """When a balance resets: `interval` is a reset interval (`"one_off"`, `"minute"`, ...,
    `"year"`) or `"multiple"` for a total over balances of different intervals;
    `interval_count` is left out when 1; `resets_at` is Unix ms, None for a lifetime balance."""

    interval: str
    interval_count: float | None = None
    resets_at: float | None


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class BalancePriceTier:
    """One tier of a usage price: up `to` a quantity (or `"inf"`), at `amount` per unit."""

    to: float | Literal["inf"]
    amount: float
    flat_amount: float | None = None


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class BalancePrice:
    """The price of a balance billed by usage. `billing_method`: `"prepaid"` or
    `"usage_based"`; `tier_behavior`: `"graduated"` or `"volume"`."""

    amount: float | None = None
    tiers: list[BalancePriceTier] = attrs.field(factory=list[BalancePriceTier])
    tier_behavior: str | None = None
    billing_units: float
    billing_method: str
    max_purchase: float | None


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class BalanceBreakdown:
    """One of the balances that make up a feature's total.

    `id` is the `balance_id` given at creation, else Autumn's own id (`cus_ent_...`):
    the id `balances_update` and `balances_delete` take as `balance_id`.
    `remaining` is floored at 0, `usage` is not.
    """

    id: str = ""
    plan_id: str | None
    included_grant: float
    prepaid_grant: float
    remaining: float
    usage: float
    unlimited: bool
    reset: BalanceReset | None
    price: BalancePrice | None
    expires_at: float | None


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class BalanceRollover:
    """What rolled over from an earlier period: `granted` at first, `balance` left now."""

    granted: float
    balance: float
    expires_at: float


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class FeatureDisplay:
    singular: str | None = None
    plural: str | None = None


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class Feature:
    """A feature, shown when expanded (`balances.feature`, `flags.feature`).

    `type`: `"boolean"`, `"metered"`, `"credit_system"` or `"ai_credit_system"`.
    `credit_schema` (what a credit system charges per metered feature) and the markups
    are kept as the JSON objects Autumn sends: their shapes vary with the pricing model.
    """

    id: str
    name: str
    type: str
    consumable: bool
    event_names: list[str] = attrs.field(factory=list[str])
    credit_schema: list[dict[str, Any]] = attrs.field(factory=list[dict[str, Any]])
    model_markups: dict[str, Any] | None = None
    default_markup: float | None = None
    provider_markups: dict[str, Any] | None = None
    display: FeatureDisplay | None = None
    archived: bool


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class Balance:
    """A customer's (or entity's) balance of one metered feature, summed over its balances.

    `granted` is every grant (plus prepaid and rolled over), `remaining` their sum
    floored at 0, `usage` what was used, `next_reset_at` the earliest reset (Unix ms).
    An unlimited balance shows `unlimited=True` with `granted` and `remaining` 0.
    `breakdown` lists the balances behind the totals; `rollovers` what carried over.
    """

    feature_id: str
    feature: Feature | None = None
    granted: float
    remaining: float
    usage: float
    unlimited: bool
    overage_allowed: bool
    max_purchase: float | None
    next_reset_at: float | None
    breakdown: list[BalanceBreakdown] = attrs.field(factory=list[BalanceBreakdown])
    rollovers: list[BalanceRollover] = attrs.field(factory=list[BalanceRollover])


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class Flag:
    """Access to a boolean feature: present means granted. `id` is the balance's id."""

    id: str
    plan_id: str | None
    expires_at: float | None
    feature_id: str
    feature: Feature | None = None
