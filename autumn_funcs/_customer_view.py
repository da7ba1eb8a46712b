"""The customer view (API 2.1 to 2.3) that customers.get and customers.get_or_create return,
and its parts the entity view shares.

Response models only, read as `_balance_view` reads balances: tolerant of fields the
server adds; None for a missing value; an empty list for a missing list, except the
fields `expand` adds, which are None when not asked for. Open sets of values
(statuses, intervals) are plain strings. Plans and a few rarely read expansions
are kept as the JSON objects Autumn sends.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal, TypeAlias

import attrs

from autumn_core.seam import tolerate_unknown_fields
from autumn_funcs._balance_view import Balance, Flag


class CustomerExpand(str, Enum):
    """What a customer read may add to the view (`expand=[...]`; plain strings work too)."""

    INVOICES = "invoices"
    INVOICE_PREVIEWS = "invoice_previews"
    TRIALS_USED = "trials_used"
    REWARDS = "rewards"
    ENTITIES = "entities"
    REFERRALS = "referrals"
    PAYMENT_METHOD = "payment_method"
    SUBSCRIPTIONS_PLAN = "subscriptions.plan"
    PURCHASES_PLAN = "purchases.plan"
    BALANCES_FEATURE = "balances.feature"
    FLAGS_FEATURE = "flags.feature"
    BILLING_CONTROLS_AUTO_TOPUPS_PURCHASE_LIMIT = "billing_controls.auto_topups.purchase_limit"


CustomerExpandValue: TypeAlias = Literal[
    "invoices",
    "invoice_previews",
    "trials_used",
    "rewards",
    "entities",
    "referrals",
    "payment_method",
    "subscriptions.plan",
    "purchases.plan",
    "balances.feature",
    "flags.feature",
    "billing_controls.auto_topups.purchase_limit",
]


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class AutoTopupPurchaseLimit:
    """How often an auto top-up may run: at most `limit` per `interval_count` `interval`s
    (`"hour"`, `"day"`, `"week"`, `"month"`); `count` and `next_reset_at` describe the
    current window when expanded. Fields are None when no limit is configured."""

    interval: str | None
    interval_count: float | None = None
    limit: float | None
    count: float | None = None
    next_reset_at: float | None = None


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class AutoTopup:
    """Buy `quantity` credits when the feature's balance drops below `threshold`.
    `source`: `"customer"` or `"plan"`."""

    feature_id: str
    enabled: bool = False
    threshold: float
    quantity: float
    purchase_limit: AutoTopupPurchaseLimit | None = None
    invoice_mode: bool | None = None
    source: str | None = None


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class SpendLimit:
    """A cap on overage spend. `limit_type`: `"absolute"` or `"usage_percentage"`."""

    feature_id: str | None = None
    enabled: bool = False
    limit_type: str | None = None
    overage_limit: float | None = None
    skip_overage_billing: bool | None = None
    source: str | None = None


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class UsageLimitFilter:
    """Only usage whose event properties match these values counts toward the cap."""

    properties: dict[str, Any]


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class UsageLimit:
    """A hard cap: at most `limit` units per `interval` (`"day"`, `"week"`, `"month"`,
    `"year"`), aligned by `anchor` (`"billing_cycle"` or `"utc"`)."""

    feature_id: str
    enabled: bool = True
    limit: float
    interval: str
    anchor: str | None = None
    filter: UsageLimitFilter | None = None
    usage: float | None = None
    source: str | None = None


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class UsageAlert:
    """An alert at `threshold`, read as `threshold_type`: `"usage"`, `"usage_percentage"`,
    `"remaining"` or `"remaining_percentage"`."""

    feature_id: str | None = None
    enabled: bool = True
    threshold: float
    threshold_type: str
    name: str | None = None
    source: str | None = None


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class OverageAllowed:
    """Whether usage may exceed the balance of `feature_id`."""

    feature_id: str
    enabled: bool = False
    source: str | None = None


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class BillingControls:
    """A customer's (or entity's) billing controls; entities have no auto top-ups."""

    auto_topups: list[AutoTopup] = attrs.field(factory=list[AutoTopup])
    spend_limits: list[SpendLimit] = attrs.field(factory=list[SpendLimit])
    usage_limits: list[UsageLimit] = attrs.field(factory=list[UsageLimit])
    usage_alerts: list[UsageAlert] = attrs.field(factory=list[UsageAlert])
    overage_allowed: list[OverageAllowed] = attrs.field(factory=list[OverageAllowed])


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class Subscription:
    """A recurring plan attached to the customer. `status`: `"active"` or `"scheduled"`;
    `scope`: `"customer"` or `"entity"`. `plan` is the plan's JSON object when expanded
    (`subscriptions.plan`). Times are Unix ms."""

    id: str
    plan: dict[str, Any] | None = None
    plan_id: str
    auto_enable: bool
    add_on: bool
    status: str
    past_due: bool
    canceled_at: float | None
    expires_at: float | None
    trial_ends_at: float | None
    started_at: float
    current_period_start: float | None
    current_period_end: float | None
    quantity: float
    scope: str | None = None


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class Purchase:
    """A one-time purchase. `plan` is the plan's JSON object when expanded (`purchases.plan`)."""

    plan: dict[str, Any] | None = None
    plan_id: str
    expires_at: float | None
    started_at: float
    quantity: float
    scope: str | None = None


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class License:
    """A pool of license seats a plan grants."""

    license_plan_id: str
    parent_plan_id: str
    license_plan_name: str
    granted: float
    usage: float
    remaining: float
    paid_quantity: float


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class CustomerConfig:
    disable_pooled_balance: bool | None = None
    disable_overage_billing: bool | None = None


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class Invoice:
    """An invoice (expand `invoices`). `processor_type`: `"stripe"` or `"revenuecat"`."""

    plan_ids: list[str]
    stripe_id: str
    processor_type: str = "stripe"
    status: str
    total: float
    currency: str
    created_at: float
    hosted_invoice_url: str | None = None


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class CustomerEntity:
    """One of the customer's entities (expand `entities`); `env`: `"sandbox"` or `"live"`."""

    id: str | None
    name: str | None
    customer_id: str | None = None
    feature_id: str | None = None
    created_at: float
    env: str


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class TrialUsed:
    """A free trial the customer has used (expand `trials_used`)."""

    plan_id: str
    customer_id: str
    fingerprint: str | None = None


@tolerate_unknown_fields
@attrs.frozen(kw_only=True)
class Customer:
    """A customer, with the balance of each metered feature and the flag of each boolean one.

    >>> customer.balances["api_calls"].remaining
    >>> [b.id for b in customer.balances["api_calls"].breakdown]   # balance ids
    >>> "sso" in customer.flags

    `id` is your id (None for a customer created without one); `env` is `"sandbox"`
    or `"live"`; `created_at` is Unix ms. The fields from `invoices` on are filled
    only when asked for with `expand`, and are None otherwise; `processors`,
    `invoice_previews`, `rewards`, `referrals` and `payment_method` are kept as the
    JSON Autumn sends.
    """

    id: str | None
    name: str | None
    email: str | None
    created_at: float
    fingerprint: str | None
    stripe_id: str | None
    env: str
    metadata: dict[str, Any]
    send_email_receipts: bool
    billing_controls: BillingControls
    subscriptions: list[Subscription]
    purchases: list[Purchase]
    licenses: list[License]
    balances: dict[str, Balance]
    flags: dict[str, Flag]
    config: CustomerConfig | None = None
    processors: dict[str, Any] | None = None
    invoices: list[Invoice] | None = None
    invoice_previews: list[dict[str, Any]] | None = None
    entities: list[CustomerEntity] | None = None
    trials_used: list[TrialUsed] | None = None
    rewards: dict[str, Any] | None = None
    referrals: list[dict[str, Any]] | None = None
    payment_method: dict[str, Any] | None = None
