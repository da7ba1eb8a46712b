"""Answers of the real server, for scripted servers: the examples of Autumn's published
OpenAPI (API 2.3) and the shapes of its zod schemas (`shared/api/`), snake_case as
on the wire.

Where the published examples are stale they are completed from the schemas, which
Autumn's server and its TypeScript SDK agree on: the check example has no `flag`
(the server always sends it, null for a metered feature), the subscriptions have
no `id`, and the customer example is written in the TypeScript SDK's camelCase.
"""

from __future__ import annotations

import copy
from typing import Any

BREAKDOWN: dict[str, Any] = {
    "id": "cus_ent_39qmLooixXLAqMywgXywjAz96rV",
    "plan_id": "pro_plan",
    "included_grant": 100,
    "prepaid_grant": 0,
    "remaining": 72,
    "usage": 28,
    "unlimited": False,
    "reset": {"interval": "month", "resets_at": 1773851121437},
    "price": None,
    "expires_at": None,
}

BALANCE: dict[str, Any] = {
    "feature_id": "messages",
    "granted": 100,
    "remaining": 72,
    "usage": 28,
    "unlimited": False,
    "overage_allowed": False,
    "max_purchase": None,
    "next_reset_at": 1773851121437,
    "breakdown": [BREAKDOWN],
}

CHECK_ALLOWED: dict[str, Any] = {
    "allowed": True,
    "customer_id": "cus_123",
    "entity_id": None,
    "required_balance": 1,
    "balance": BALANCE,
    "flag": None,
}

FLAG: dict[str, Any] = {
    "id": "cus_ent_abc123",
    "plan_id": "pro_plan",
    "expires_at": None,
    "feature_id": "advanced_workflows",
}

# A boolean feature: no balance, its flag.
CHECK_FLAG: dict[str, Any] = {
    "allowed": True,
    "customer_id": "cus_123",
    "balance": None,
    "flag": FLAG,
}

DEDUCTION: dict[str, Any] = {
    "balance_id": "cus_ent_3DdSDoyFmoA9Neecl2a2Gc507X2",
    "feature_id": "messages",
    "plan_id": "pro",
    "reset": {"interval": "month", "resets_at": 1781288736881},
    "value": 1,
}

TRACK: dict[str, Any] = {
    "customer_id": "cus_123",
    "value": 1,
    "balance": BALANCE,
    "deductions": [DEDUCTION],
}

# What the real server answers an `async` track, with 202 (getQueuedTrackResponse.ts).
TRACK_QUEUED: dict[str, Any] = {"customer_id": "cus_123", "value": 3, "balance": None}

SUBSCRIPTION: dict[str, Any] = {
    "id": "cus_prod_2xY",
    "plan_id": "pro_plan",
    "auto_enable": True,
    "add_on": False,
    "status": "active",
    "past_due": False,
    "canceled_at": None,
    "expires_at": None,
    "trial_ends_at": None,
    "started_at": 1771431921437,
    "current_period_start": 1771431921437,
    "current_period_end": 1771999921437,
    "quantity": 1,
}

CUSTOMER: dict[str, Any] = {
    "id": "cus_123",
    "name": "Patrick",
    "email": "patrick@useautumn.com",
    "created_at": 1771409161016,
    "fingerprint": None,
    "stripe_id": "cus_U0BKxpq1mFhuJO",
    "processors": {"stripe": {"id": "cus_U0BKxpq1mFhuJO"}},
    "env": "sandbox",
    "metadata": {},
    "send_email_receipts": False,
    "billing_controls": {"auto_topups": []},
    "subscriptions": [SUBSCRIPTION],
    "purchases": [],
    "licenses": [],
    "balances": {
        "messages": {
            **BALANCE,
            "remaining": 0,
            "usage": 100,
            "breakdown": [{**BREAKDOWN, "remaining": 0, "usage": 100}],
        }
    },
    "flags": {"advanced_workflows": FLAG},
    "config": {"disable_pooled_balance": False, "disable_overage_billing": False},
}

ENTITY: dict[str, Any] = {
    "id": "seat_42",
    "name": "Seat 42",
    "customer_id": "cus_123",
    "feature_id": "seats",
    "created_at": 1771409161016,
    "env": "sandbox",
    "subscriptions": [SUBSCRIPTION],
    "purchases": [],
    "balances": {"messages": BALANCE},
    "flags": {},
    "invoices": [],
}


def fresh(answer: dict[str, Any]) -> dict[str, Any]:
    """A deep copy to change in one test without touching the others."""
    return copy.deepcopy(answer)
