"""`Lock`: hold units of a balance at check or track time, to confirm or release later
with `balances_finalize`."""

from __future__ import annotations

from typing import Literal, TypedDict

import attrs

from autumn_core import SDKValidationError
from autumn_core.seam import apply_rules
from autumn_funcs._typing_backports import Required

# Autumn refuses longer lock ids (400); refused here by name, before any I/O.
MAX_LOCK_ID_LENGTH = 256


@attrs.frozen(kw_only=True)
class Lock:
    """Reserve the units a check or track asks for under `lock_id`, until
    `balances_finalize(lock_id=..., action="confirm" | "release")` or `expires_at`
    (Unix ms), when Autumn releases them. `enabled` must be True, as the API requires.

    >>> Lock(lock_id="job_42", enabled=True)
    """

    lock_id: str
    enabled: Literal[True]
    expires_at: float | None = None

    @staticmethod
    def _rules(lock_id: object) -> None:  # object: a hand-built model may hold anything
        if isinstance(lock_id, str) and len(lock_id) > MAX_LOCK_ID_LENGTH:
            raise SDKValidationError(
                f"invalid lock_id: at most {MAX_LOCK_ID_LENGTH} characters",
                field="lock_id",
                problems=[("lock_id", f"at most {MAX_LOCK_ID_LENGTH} characters")],
            )

    __attrs_post_init__ = apply_rules


class LockDict(TypedDict, total=False):
    """`Lock` as a dict: `{"lock_id": "job_42", "enabled": True}`."""

    lock_id: Required[str]
    enabled: Required[Literal[True]]
    expires_at: float | None
