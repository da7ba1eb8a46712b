"""Turning raw request bytes into a JSON object, refusing anything hostile.

Every refusal here is a 4xx with a message that says what was wrong; no input
reaches the handlers that could make them fail with a 500.
"""

from __future__ import annotations

import json
import math
from typing import Any

from autumn_local.errors import ApiError, invalid_inputs

__all__ = ["MAX_BODY_BYTES", "MAX_DEPTH", "parse_json_object"]

MAX_BODY_BYTES = 1024 * 1024
# The deepest legitimate body (create's ``rollover``) is two levels; unknown
# fields are ignored but still parsed, so cap their nesting too.
MAX_DEPTH = 8


def _refuse_constant(token: str) -> Any:
    # json accepts NaN / Infinity / -Infinity by default; JSON itself does not.
    raise ValueError(f"{token} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:32]} is out of range")
    return value


def _depth_ok(value: object, depth: int) -> bool:
    if depth > MAX_DEPTH:
        return False
    if isinstance(value, dict):
        return all(_depth_ok(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return all(_depth_ok(v, depth + 1) for v in value)
    return True


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """Decode ``raw`` as UTF-8 JSON and require an object at the top.

    An empty body counts as ``{}`` so that the schema, not the parser, reports
    the missing required fields by name.
    """
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, "payload_too_large", f"body is larger than {MAX_BODY_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid_inputs("body is not valid UTF-8") from None
    if not text.strip():
        return {}
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise invalid_inputs(f"body is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        # JSONDecodeError, our own refusals, and ints beyond Python's digit limit.
        raise invalid_inputs(f"body is not valid JSON: {str(exc)[:200]}") from None
    if not isinstance(value, dict):
        raise invalid_inputs(f"body must be a JSON object, got {type(value).__name__}")
    if not _depth_ok(value, 1):
        raise invalid_inputs(f"body is nested deeper than {MAX_DEPTH} levels")
    return value
