"""The ``x-api-version`` header, read the way Autumn's server reads it.

Autumn accepts a release date (``2026-03-17``, optionally ``.clover``), a
semantic version (``2.1``, ``2.1.0``; extra parts after the third are
ignored), ``beta``, or a legacy float (``1.2``), and answers anything else
with ``400 invalid_api_version``. An absent or empty header means the
organisation's default; this server has no organisation and uses 2.3, the
version Autumn gives an organisation created today. The answers of every
operation served here are the same from 2.1 to 2.5.
"""

from __future__ import annotations

import re
from functools import lru_cache

from autumn_local.schemas.errors import ApiError

__all__ = ["DEFAULT_API_VERSION", "parse_api_version"]

DEFAULT_API_VERSION = "2.3.0"
# 2.4 and 2.5 are newer than the server source this was read from, but
# Autumn's own SDKs send them by default (TypeScript @useautumn/sdk 0.10.18:
# 2.4.0, Python autumn-sdk 1.2.0: 2.5.0), so the live server knows them.
_SEMVER = ("2.5.0", "2.4.0", "2.3.0", "2.2.0", "2.1.0", "2.0.0", "1.2.0", "1.1.0", "0.2.0", "0.1.0")
_RELEASE_DATES = {
    "2026-05-13": "2.3.0",
    "2026-03-18": "2.2.0",
    "2026-03-17": "2.1.0",
    "2026-03-16": "2.0.0",
    "2025-05-05": "1.2.0",
    "2025-04-17": "1.1.0",
    "2025-04-01": "0.2.0",
    "2025-02-01": "0.1.0",
}
_LEGACY_FLOATS = {1.0: "0.2.0", 0.2: "0.2.0", 0.1: "0.1.0", 1.1: "1.1.0", 1.2: "1.2.0", 1.4: "beta"}
_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:\.clover)?")
_DOTTED = re.compile(r"\d+(?:\.\d+)*")
# What JavaScript's parseFloat reads from the start of a string.
_FLOAT_PREFIX = re.compile(r"\s*([+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))")


@lru_cache(maxsize=64)  # clients send the same few values on every request
def _parse(text: str) -> str | None:
    date = _DATE.fullmatch(text)
    if date:
        return _RELEASE_DATES.get(date[1])
    if _DOTTED.fullmatch(text):
        parts = [*text.split("."), "0", "0"]
        semver = f"{parts[0]}.{parts[1]}.{parts[2]}"
        if semver in _SEMVER:
            return semver
    if text == "beta":
        return text
    number = _FLOAT_PREFIX.match(text)
    return _LEGACY_FLOATS.get(float(number[1])) if number else None


def parse_api_version(value: str | None) -> str:
    """The version a request asks for, or 400 ``invalid_api_version``."""
    if not value:
        return DEFAULT_API_VERSION
    version = _parse(value)
    if version is None:
        shown = value if len(value) <= 100 else value[:97] + "..."
        raise ApiError(
            400,
            "invalid_api_version",
            f'"{shown}" is not a valid API version (send 2.1 to 2.5, as X.Y, X.Y.Z'
            " or a release date such as 2026-03-17)",
        )
    return version
