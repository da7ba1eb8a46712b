"""The ``Idempotency-Key`` header, read so that no value a client can send breaks a request.

aiohttp hands header bytes that are not UTF-8 over as lone surrogates
(``\\xff`` becomes ``\\udcff``), which SQLite cannot store. Autumn's server
would take such bytes as Latin-1 text; no client sends them, so they are
refused with a clear 400 before anything is claimed or changed.
"""

from __future__ import annotations

from autumn_local.schemas.errors import ApiError

__all__ = ["idempotency_key"]


def idempotency_key(value: str | None) -> str | None:
    """The key to claim, None for no key (absent or empty); ``ApiError`` 400 if unusable."""
    if not value:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        shown = value.encode("utf-8", "surrogateescape")[:32].hex(" ")
        raise ApiError(
            400,
            "invalid_request",
            f"Idempotency-Key header is not valid UTF-8 text (bytes: {shown})",
        ) from None
    return value
