"""A track body is read the same by the quick reader of plain bodies (a batch's
usual item) and by the field-by-field reader: same params, same refusal."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from autumn_local.schemas.errors import ApiError
from autumn_local.schemas.usage import TrackParams, parse_track

NOW_MS = 1_800_000_000_000
ABSENT = object()

# Each field's values: valid ones and the ways it can be wrong.
STRINGS = [
    ABSENT,
    "cus_1",
    "",
    " ",
    "\t",
    "a\x00b",
    "a\x7f",
    "x" * 256,
    "x" * 257,
    "ü€",
    None,
    5,
    True,
]
VALUES = [
    ABSENT,
    1,
    2.5,
    -3,
    0,
    None,
    True,
    "1",
    2**53 - 1,
    2**53,
    float("inf"),
    float("nan"),
    10**400,
]


def _body(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not ABSENT}


def _outcome(body: dict[str, Any], strict: bool) -> TrackParams | tuple[int, str, str]:
    try:
        return parse_track(body, NOW_MS, strict=strict)
    except ApiError as exc:
        return exc.status, exc.code, exc.message


def _bodies() -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []
    for customer, feature, event, entity, key in itertools.product(
        ["cus_1", *STRINGS[1:4], None, ABSENT],
        [ABSENT, "api_calls", "", None, 7],
        [ABSENT, "chat", " "],
        [ABSENT, "ent_1", "\n"],
        [ABSENT, "k1", "", "  ", None, "x" * 257],
    ):
        base = {"customer_id": customer, "feature_id": feature, "event_name": event,
                "entity_id": entity, "idempotency_key": key}  # fmt: skip
        bodies.append(_body({**base, "value": 1}))
    for name in ("customer_id", "feature_id", "entity_id", "idempotency_key"):
        for text in STRINGS:
            bodies.append(_body({"customer_id": "cus_1", "feature_id": "api_calls", name: text}))
    for value in VALUES:
        bodies.append(_body({"customer_id": "cus_1", "feature_id": "api_calls", "value": value}))
    return bodies


@pytest.mark.parametrize("strict", [False, True])
def test_plain_bodies_read_as_the_field_by_field_reader_reads_them(strict: bool) -> None:
    bodies = _bodies()
    quick = 0
    for body in bodies:
        # An internal field the quick reader does not take: the same body through
        # the field-by-field reader, which accepts and ignores it.
        general = _outcome({**body, "skip_event": False}, strict)
        assert _outcome(body, strict) == general, body
        quick += isinstance(general, TrackParams)
    assert quick >= 40  # the comparison covered accepted bodies, not only refusals
