"""Secret keys: the ``Authorization: Bearer am_sk_...`` header."""

from __future__ import annotations

from collections.abc import Iterable
from hmac import compare_digest

from autumn_local.schemas.errors import ApiError

__all__ = ["DEFAULT_SECRET_KEY", "KeyRing", "bearer_token", "env_of"]

DEFAULT_SECRET_KEY = "am_sk_test_local"  # noqa: S105 - a public, local-only test key
_KEY_PREFIX = "am_sk_"


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
    """The secret keys this server accepts (all of one organisation).

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

    def authenticate(self, token: str | None) -> None:
        """Return if ``token`` is an accepted key; else raise the matching 401."""
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
            matched |= compare_digest(presented, key)
        if not matched:
            raise ApiError(401, "invalid_secret_key", "invalid secret key")
