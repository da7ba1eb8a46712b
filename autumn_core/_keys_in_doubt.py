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


class KeysInDoubt(OrderedDict[str, bool]):
    """Keys whose change may have been applied, each with whether it may be partial.

    A dict, oldest first: `if keys_in_doubt:`, which every successful write
    asks, is then no call of a method."""

    def settled(self, key: str) -> None:
        """The key's change is known now: applied (Ok, or `already`)."""
        self.pop(key, None)

    def after_error(self, key: str, error: AutumnSDKError) -> None:
        """Remember an unknown outcome, or carry a remembered one into `error`."""
        if error.applied is Applied.ALREADY:
            self.settled(key)
        elif error.applied is Applied.UNKNOWN:
            self[key] = self.get(key, False) or error.may_be_partial
            self.move_to_end(key)
            if len(self) > MAX_KEYS_IN_DOUBT:
                self.popitem(last=False)
        elif key in self:  # this call learned nothing: the earlier doubt stands
            error.applied = Applied.UNKNOWN
            error.may_be_partial = self[key]
