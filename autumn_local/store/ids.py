"""Ids shaped like Autumn's own: a prefix (``cus_ent_``, ``roll_``) + 27 base62 characters."""

from __future__ import annotations

import secrets
import string

__all__ = ["new_balance_id", "new_customer_key", "new_rollover_id"]

_ID_ALPHABET = string.ascii_letters + string.digits
_ID_LENGTH = 27
# One random byte per character, by rejection sampling: bytes below 248
# (= 4 * 62) map to ``_ID_ALPHABET[b % 62]``, which is uniform; the 8 higher
# values are deleted. ``bytes.translate`` does both in C, so an id costs one
# os.urandom call instead of 27. 36 bytes leave fewer than 27 usable ones
# about once in ten million ids; then we simply draw again.
_ID_DRAW = 36
_ID_TABLE = bytes(ord(_ID_ALPHABET[b % 62]) if b < 248 else 0 for b in range(256))
_ID_REJECT = bytes(range(248, 256))


def _random_suffix() -> str:
    while True:
        chars = secrets.token_bytes(_ID_DRAW).translate(_ID_TABLE, _ID_REJECT)
        if len(chars) >= _ID_LENGTH:
            return chars[:_ID_LENGTH].decode("ascii")


def new_balance_id() -> str:
    """A fresh balance id (``cus_ent_`` + 27 base62 characters)."""
    return "cus_ent_" + _random_suffix()


def new_rollover_id() -> str:
    """A fresh rollover id (``roll_`` + 27 base62 characters)."""
    return "roll_" + _random_suffix()


def new_customer_key() -> str:
    """The row key of a customer created without an id (Autumn's internal ``cus_`` id).

    Never shown: such a customer's ``id`` is null and it is found by its email.
    """
    return "cus_" + _random_suffix()
