"""Turning raw request bytes into a JSON object, refusing anything hostile.

Every refusal here is a 4xx with a message that says what was wrong; no input
reaches the handlers that could make them fail with a 500.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from autumn_local.schemas.errors import ApiError, invalid_inputs

__all__ = ["MAX_BODY_BYTES", "MAX_DEPTH", "parse_json", "parse_json_object"]

MAX_BODY_BYTES = 1024 * 1024
# The deepest legitimate body (create's ``rollover``) is two levels; unknown
# fields are ignored but still parsed, so cap their nesting too.
MAX_DEPTH = 8
_SURROGATE = re.compile("[\ud800-\udfff]")


def _refuse_constant(token: str) -> Any:
    # json accepts NaN / Infinity / -Infinity by default; JSON itself does not.
    raise ValueError(f"{token} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:32]} is out of range")
    return value


def _check_values(value: object, path: str, depth: int) -> None:
    """Refuse nesting beyond MAX_DEPTH and strings that are not Unicode, naming the field.

    JSON's ``\\ud800`` escapes decode to lone UTF-16 surrogates, which no
    encoder (UTF-8, SQLite) accepts: refused here, not as a 500 further on.
    """
    if depth > MAX_DEPTH:
        raise invalid_inputs(f"body is nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        if _SURROGATE.search(value):
            raise invalid_inputs(f"{path} is not valid Unicode: it contains a lone surrogate")
    elif isinstance(value, dict):
        for key, item in value.items():
            if _SURROGATE.search(key):
                where = f"a field name in {path}" if path else "a field name"
                raise invalid_inputs(
                    f"{where} ({ascii(key)[:64]}) is not valid Unicode: "
                    "it contains a lone surrogate"
                )
            _check_values(item, f"{path}.{key}" if path else key, depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_values(item, f"{path}[{i}]", depth + 1)


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """Decode ``raw`` as UTF-8 JSON and require an object at the top.

    An empty body counts as ``{}`` so that the schema, not the parser, reports
    the missing required fields by name.
    """
    value = parse_json(raw)
    if not isinstance(value, dict):
        raise invalid_inputs(f"body must be a JSON object, got {type(value).__name__}")
    return value


def parse_json(raw: bytes) -> Any:
    """Decode ``raw`` as UTF-8 JSON, any value at the top (an empty body is ``{}``).

    For the routes whose body is an array (``balances.batch_track``); their
    schema says what the top must be.
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
    _check_values(value, "", 1)
    return value
