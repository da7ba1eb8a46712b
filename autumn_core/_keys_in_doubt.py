"""`KeysInDoubt`: the idempotency keys a core's calls left unsettled.

A call that ends with `applied` "unknown" says: resend with this key. What the
resend learns cannot erase that doubt unless it settles it (a success, or a
duplicate: the key was applied). A resend refused before it reached the server
(a proxy's 503) settles nothing, so it reports "unknown" too, not "no". The
core remembers the keys, so a resend through the same core knows; a resend
through another core (another process, or after a restart) cannot, and there
`applied` says what that call saw.
"""

from __future__ import annotations

from collections import OrderedDict

from autumn_core._errors import Applied, AutumnSDKError

# Bounded: a flood of failing calls cannot grow a core without limit. The SDK's keys
# are 32 characters and a caller's at most 255, so this stays near a megabyte at most.
MAX_KEYS_IN_DOUBT = 4096


class KeysInDoubt:
    """Keys whose change may have been applied, each with whether it may be partial."""

    __slots__ = ("_keys",)

    def __init__(self) -> None:
        self._keys: OrderedDict[str, bool] = OrderedDict()

    def __len__(self) -> int:
        return len(self._keys)

    def settled(self, key: str) -> None:
        """The key's change is known now: applied (Ok, or `already`)."""
        self._keys.pop(key, None)

    def after_error(self, key: str, error: AutumnSDKError) -> None:
        """Remember an unknown outcome, or carry a remembered one into `error`."""
        if error.applied is Applied.ALREADY:
            self.settled(key)
        elif error.applied is Applied.UNKNOWN:
            self._keys[key] = self._keys.get(key, False) or error.may_be_partial
            self._keys.move_to_end(key)
            if len(self._keys) > MAX_KEYS_IN_DOUBT:
                self._keys.popitem(last=False)
        elif key in self._keys:  # this call learned nothing: the earlier doubt stands
            error.applied = Applied.UNKNOWN
            error.may_be_partial = self._keys[key]
