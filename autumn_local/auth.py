"""Secret keys and the ``x-api-version`` header."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from datetime import date

from autumn_local.errors import ApiError

__all__ = [
    "DEFAULT_API_VERSION",
    "DEFAULT_SECRET_KEY",
    "KeyRing",
    "check_api_version",
    "env_of",
]

DEFAULT_SECRET_KEY = "am_sk_test_local"  # noqa: S105 - a public, local-only test key
DEFAULT_API_VERSION = "2.1"
_KEY_PREFIX = "am_sk_"
_VERSION_RE = re.compile(r"\d{1,4}\.\d{1,4}(?:\.\d{1,4})?")
_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def env_of(secret_key: str | None) -> str:
    """The ``env`` every error reports: ``live`` for ``am_sk_live_`` keys, else ``sandbox``."""
    return "live" if secret_key is not None and secret_key.startswith("am_sk_live_") else "sandbox"


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


class KeyRing:
    """The secret keys this server accepts.

    Every request compares its key against every accepted key with
    ``hmac.compare_digest``, so neither the time taken nor an early exit
    reveals how much of a guess was right.
    """

    def __init__(self, keys: Iterable[str]) -> None:
        self._keys = [k.encode() for k in keys]
        if not self._keys:
            raise ValueError("at least one secret key is required")
        for k in self._keys:
            if not k.startswith(_KEY_PREFIX.encode()):
                raise ValueError(f"secret keys must start with {_KEY_PREFIX!r}")

    def authenticate(self, token: str | None) -> str:
        """Return the idempotency scope of ``token`` or raise the matching 401."""
        if token is None:
            raise ApiError(
                401, "no_secret_key", "secret key is required (Authorization: Bearer am_sk_...)"
            )
        if not token.startswith(_KEY_PREFIX):
            raise ApiError(401, "invalid_request", "secret key must start with 'am_sk_'")
        presented = token.encode("utf-8", "surrogateescape")
        matched = False
        for key in self._keys:
            # No short-circuit: every key is compared on every request.
            matched |= hmac.compare_digest(presented, key)
        if not matched:
            raise ApiError(401, "invalid_secret_key", "invalid secret key")
        # Idempotency keys are scoped per secret key; store a digest, not the key.
        return hashlib.sha256(presented).hexdigest()[:32]


def check_api_version(value: str | None) -> str:
    """Accept ``X.Y``, ``X.Y.Z`` or ``YYYY-MM-DD``; absent means the default (2.1)."""
    if value is None:
        return DEFAULT_API_VERSION
    text = value.strip()
    if _VERSION_RE.fullmatch(text):
        return text
    m = _DATE_RE.fullmatch(text)
    if m:
        try:
            date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            pass
        else:
            return text
    shown = text if len(text) <= 40 else text[:37] + "..."
    raise ApiError(
        400,
        "invalid_api_version",
        f"x-api-version {shown!r} is not a version (use X.Y, X.Y.Z or YYYY-MM-DD)",
    )
