"""The interop flows, the server they run against, and the gaps known in the local server.

Each flow is implemented once per peer driver (``autumn_js_driver.mjs``,
``autumn_sdk_driver.py``) under the same name; ``FLOWS`` is the list both
drivers must implement (a test compares it with each driver's ``--list``).

To add a flow (check, track, delete, ...): write a function for it in both
drivers, register it in their flow tables, and add its name here. A flow
that fails only because the local server does not yet behave like the real
one gets an entry in ``KNOWN_GAPS`` saying what differs; the entry is a
strict xfail, so it must be removed once the server conforms.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CAPTURE_FLOW", "CLIENTS", "FLOWS", "KNOWN_GAPS", "SERVER_CONFIG"]

CLIENTS = ("autumn-js", "autumn-sdk")

FLOWS = (
    "create_included_grant",
    "create_one_off",
    "update_remaining",
    "update_add_to_balance",
    "update_usage",
    "update_included_grant",
    "error_unknown_customer",
    "error_unknown_feature",
    "error_bad_key",
    "error_bad_body",
    "customers_get",
    "customers_get_or_create",
    "entities_get",
    "boolean_flag",
    "default_api_version",
    "check_allowed",
    "check_send_event",
    "track_value",
    "track_event_credits",
    "track_async_flag",
    "balances_delete",
    "check_lock_finalize",
    "usage_errors",
    "customers_data",
    "customers_expand",
    "entities_by_entity_id",
    "usage_fidelity",
    "batch_track",
    "track_tokens",
)

# Sends the seed's create example once and expects {"success": true}: run
# against the capture server to compare the bytes each client puts on the wire.
CAPTURE_FLOW = "seed_create_example"

# The local server has no entities.create route: the entity the flows use is
# seeded here, with words (metered, sent by the "generation" event) and
# credits (a credit system: half a credit a word). Features api_calls /
# seats / premium and customer cus_123 are the server's default seed.
SERVER_CONFIG: dict[str, Any] = {
    "features": [
        {"id": "words", "type": "metered", "event_names": ["generation"]},
        {
            "id": "credits",
            "type": "credit_system",
            "credit_schema": [{"metered_feature_id": "words", "credit_cost": 0.5}],
        },
        {"id": "ai_credits", "type": "ai_credit_system", "default_markup": 20},
    ],
    "entities": [{"id": "seat_1", "customer_id": "cus_123", "name": "Seat one"}],
}

# (client, flow) -> what the local server does differently from the real one,
# or where the client disagrees with the real server itself; a strict xfail.
KNOWN_GAPS: dict[tuple[str, str], str] = {
    ("autumn-js", "batch_track"): (
        "autumn-js 1.3.13 accepts only a 202 from batchTrack (its OpenAPI document says 202),"
        " while Autumn answers 200 {success: true} (handleBatchTrack.ts, and its test"
        " handle-batch-track-status.test.ts), as this server does: the SDK throws"
        " AutumnDefaultError on the real server's answer; the batch is applied all the same"
    ),
}
