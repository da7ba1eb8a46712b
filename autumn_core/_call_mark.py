"""`CallMark`: what a running call has done, for the code that may cancel it.

A blocking client cancels a call when it is closed; whether the call's change
may have been applied then depends on what the call was: a read, or a write
not sent yet, applied nothing. The loop thread gives each call a mark (through
a context variable, so the call pipeline needs no parameter for it), and the
pipeline notes on it when a write goes out.
"""

from __future__ import annotations

from contextvars import ContextVar


class CallMark:
    __slots__ = ("partial", "write_sent")

    def __init__(self) -> None:
        self.write_sent = False  # an attempt of a write may have reached the server
        self.partial = False  # ... of one the server applies in steps


CURRENT_MARK: ContextVar[CallMark | None] = ContextVar("autumn_call_mark", default=None)


def note_write_sent(atomic: bool) -> None:
    """Called by the pipeline before a write's first attempt."""
    mark = CURRENT_MARK.get()
    if mark is not None:
        mark.write_sent = True
        # Several calls may share a mark (a function run by AutumnSync.call): any
        # update in steps among them makes the advice a partial one.
        mark.partial = mark.partial or not atomic
