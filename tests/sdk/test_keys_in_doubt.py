"""A core remembers the idempotency keys its calls left in doubt (`applied` unknown), so
that a resend through it which learns nothing still says unknown: the most recent
4,096 of them, the oldest forgotten first, so a flood of failures cannot grow it."""

from __future__ import annotations

from autumn_core import APIConnectionError, Applied
from autumn_core._keys_in_doubt import MAX_KEYS_IN_DOUBT, KeysInDoubt


def unknown(key: str) -> APIConnectionError:
    return APIConnectionError("lost", idempotency_key=key, attempts=1, applied=Applied.UNKNOWN)


def learned_nothing(doubts: KeysInDoubt, key: str) -> Applied:
    error = APIConnectionError("refused by a proxy", idempotency_key=key, attempts=1)
    doubts.after_error(key, error)
    return error.applied


def test_the_most_recent_keys_in_doubt_are_kept_the_oldest_forgotten() -> None:
    doubts = KeysInDoubt()
    keys = [f"key-{n}" for n in range(MAX_KEYS_IN_DOUBT + 1)]
    for key in keys:
        doubts.after_error(key, unknown(key))

    assert MAX_KEYS_IN_DOUBT == 4096 and len(doubts) == MAX_KEYS_IN_DOUBT
    assert learned_nothing(doubts, keys[0]) is Applied.NO  # the oldest, forgotten
    assert learned_nothing(doubts, keys[1]) is Applied.UNKNOWN
    assert learned_nothing(doubts, keys[-1]) is Applied.UNKNOWN
