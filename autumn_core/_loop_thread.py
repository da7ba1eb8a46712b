"""`LoopThread`: one private event loop in one daemon thread, serving blocking callers.

A blocking client sends every call, from whichever thread makes it, to this one
loop, so one `AutumnCore` and its connection pool serve them all. The callers'
threads, and any event loop of theirs, are never touched: the loop is created
here, runs only in the thread started here, and is closed by it.

Two process events reach every LoopThread:

- a fork: the child gets fresh locks (a lock another thread held at the fork
  would be held forever there), so its first call raises InvalidRequestError
  and its exit does not wait;
- interpreter exit: once the main thread returns, before Python waits for
  non-daemon threads, calls still in flight get `EXIT_GRACE_S` to end, then
  are cancelled (RequestAbortedError) and the loop is closed; a call made
  after raises InvalidRequestError. So a thread blocked in a call against a
  server that stopped answering holds the process up `EXIT_GRACE_S` at most,
  plus the close's own bound.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import os
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from autumn_core._call_mark import CURRENT_MARK, CallMark
from autumn_core._errors import Applied, InvalidRequestError, RequestAbortedError

P = ParamSpec("P")
R = TypeVar("R")

# How long calls in flight at interpreter exit may take to end before they are
# cancelled, and how long the close then waits for the loop's thread.
EXIT_GRACE_S = 5.0

# Every LoopThread of the process, for the fork and exit handlers (weak: a client
# nobody holds is collected as before).
_RUNNERS: weakref.WeakSet[LoopThread] = weakref.WeakSet()


class LoopThread:
    """Runs coroutines on a private loop and blocks the calling thread until each ends.

    The thread starts on the first call. `close()` stops it: calls still running
    are cancelled, then `cleanup()` (closing the core) runs on the loop, the loop
    is closed and the thread joined. `owner` names the client in error messages;
    `async_hint` tells what to use instead from async code.
    """

    __slots__ = (
        "__weakref__",
        "_async_hint",
        "_cleanup",
        "_closed",
        "_lock",
        "_loop",
        "_owner",
        "_pending",
        "_pid",
        "_thread",
    )

    def __init__(
        self, owner: str, cleanup: Callable[[], Awaitable[None]], *, async_hint: str = ""
    ) -> None:
        self._owner = owner
        self._cleanup = cleanup
        self._async_hint = async_hint
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._closed = False
        self._pending: set[concurrent.futures.Future[Any]] = set()
        _RUNNERS.add(self)
        # Here, in the constructor's thread, not on the first call: a call made from a
        # thread that outlives the main one may start after shutdown refuses hooks.
        _watch_exit()

    @property
    def closed(self) -> bool:
        return self._closed

    def run(
        self, function: Callable[P, Coroutine[Any, Any, R]], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """Run `function(*args, **kwargs)` on the loop and return its result or raise its error.

        An interrupt of the waiting thread (KeyboardInterrupt) cancels the call on
        the loop before it propagates."""
        self._refuse_inside_event_loop()
        future: concurrent.futures.Future[R] = concurrent.futures.Future()
        mark = CallMark()
        # Everything after the future exists is inside try: an interrupt arriving at any
        # point, even between the submission and the wait, still cancels the call.
        self._pending.add(future)
        try:
            with self._lock:  # so that close() cannot slip between the check and the submission
                if self._closed:
                    raise InvalidRequestError(
                        f"this {self._owner} is closed; create a new one to make calls"
                    )
                loop = self._loop
                if loop is None:
                    loop = self._start()
                elif self._pid != os.getpid():
                    raise InvalidRequestError(
                        f"this {self._owner} was used before os.fork() and its thread stayed in "
                        f"the parent process; create the {self._owner} in the child process "
                        "(a client that has made no call yet may be shared across a fork)"
                    )
                loop.call_soon_threadsafe(_start_call, loop, future, mark, function, args, kwargs)
            return future.result()
        except concurrent.futures.CancelledError:
            if self._closed:
                raise self._closed_mid_call(mark) from None
            raise
        finally:
            self._pending.discard(future)
            if not future.done():  # left early, by KeyboardInterrupt: stop the call too
                future.cancel()

    def _closed_mid_call(self, mark: CallMark) -> RequestAbortedError:
        closed = f"this {self._owner} was closed while the call was in flight, so the call was "
        if not mark.write_sent:  # a read, or a write not sent yet: nothing applied
            return RequestAbortedError(closed + "cancelled; it changed nothing")
        error = RequestAbortedError(
            closed + "cancelled; it may or may not have been applied",
            applied=Applied.UNKNOWN,
        )
        # The advice (str(error)) depends on whether a resend with the key is safe.
        error.may_be_partial = mark.partial
        return error

    def close_at_exit(self, deadline: float) -> None:
        """At interpreter exit: let calls in flight end until `deadline` (monotonic),
        then close, waiting for the thread until the deadline too."""
        if self._pid not in (0, os.getpid()):
            return  # the thread belongs to the parent of a fork
        concurrent.futures.wait(set(self._pending), timeout=max(0.0, deadline - time.monotonic()))
        self.close(max(0.0, deadline - time.monotonic()) + EXIT_GRACE_S)

    def _after_fork_in_child(self) -> None:
        # The lock may have been held by a thread the child does not have.
        self._lock = threading.Lock()
        self._pending = set()

    def close(self, timeout: float | None = None) -> None:
        """Cancel running calls, run `cleanup()`, close the loop and join the thread.

        Idempotent. `timeout` bounds the wait for the thread (None: wait until it
        ends); a thread still busy after it is a daemon, so it never holds up exit."""
        with self._lock:
            first = not self._closed
            self._closed = True
            loop, thread = self._loop, self._thread
        if loop is None or thread is None or self._pid != os.getpid():
            return  # never started, or the thread belongs to the parent of a fork
        if thread is threading.current_thread():
            # Closed from a coroutine or callback on its own loop: it cannot wait for
            # itself; the thread finishes the shutdown once this callback returns.
            if first:
                loop.stop()
            return
        if first:
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)

    def _refuse_inside_event_loop(self) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # the usual case: a thread without a running loop
        raise RuntimeError(
            f"{self._owner} blocks its thread until the call ends, and this thread is running "
            f"an event loop, which it would stall. {self._async_hint}".rstrip()
        )

    def _start(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.new_event_loop()
        thread = threading.Thread(
            target=self._serve, args=(loop,), name=f"{self._owner}-loop", daemon=True
        )
        thread.start()
        self._loop, self._thread, self._pid = loop, thread, os.getpid()
        return loop

    def _serve(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            loop.run_forever()
            loop.run_until_complete(self._shut_down(loop))  # stopped by close()
        finally:
            loop.close()

    async def _shut_down(self, loop: asyncio.AbstractEventLoop) -> None:
        # asyncio.run's shutdown, plus the cleanup: calls still running are cancelled
        # first, so the core is closed only once nothing uses it.
        tasks = asyncio.all_tasks(loop) - {asyncio.current_task(loop)}
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._cleanup()
        await loop.shutdown_asyncgens()
        await loop.shutdown_default_executor()


def _start_call(
    loop: asyncio.AbstractEventLoop,
    future: concurrent.futures.Future[R],
    mark: CallMark,
    function: Callable[..., Coroutine[Any, Any, R]],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> None:
    """On the loop: start the call as a task whose outcome lands in `future`, unless the
    caller has given up already; cancelling `future` from then on cancels the task."""
    if future.cancelled():
        return
    try:
        coroutine = function(*args, **kwargs)
    except BaseException as exc:  # wrong arguments (TypeError), as the async call would raise
        if future.set_running_or_notify_cancel():
            future.set_exception(exc)
        return
    task = loop.create_task(_marked(mark, coroutine))

    def cancel_task(done: concurrent.futures.Future[R]) -> None:
        if done.cancelled() and not loop.is_closed():
            loop.call_soon_threadsafe(task.cancel)

    future.add_done_callback(cancel_task)
    task.add_done_callback(functools.partial(_settle, future))


def _settle(future: concurrent.futures.Future[R], task: asyncio.Task[R]) -> None:
    if task.cancelled():
        future.cancel()
        return
    error = task.exception()  # retrieved even when nobody waits any more, so asyncio logs nothing
    if not future.set_running_or_notify_cancel():
        return  # the caller gave up meanwhile
    if error is None:
        future.set_result(task.result())
    else:
        future.set_exception(error)


async def _marked(mark: CallMark, coroutine: Coroutine[Any, Any, R]) -> R:
    # Set inside the task, so in the task's own copy of the context only.
    CURRENT_MARK.set(mark)
    return await coroutine


def _after_fork_in_child() -> None:
    for runner in list(_RUNNERS):
        runner._after_fork_in_child()  # pyright: ignore[reportPrivateUsage]


def _close_all_at_exit() -> None:
    deadline = time.monotonic() + EXIT_GRACE_S
    for runner in list(_RUNNERS):
        runner.close_at_exit(deadline)


_exit_watched = False


def _watch_exit() -> None:
    """Close every LoopThread when the main thread returns, before Python joins the
    non-daemon threads (atexit runs only after that, too late for a thread blocked in
    a call). threading._register_atexit is what concurrent.futures uses for the
    same reason; where it is missing, clients are closed at atexit as before."""
    global _exit_watched
    if _exit_watched:
        return
    _exit_watched = True
    register: Callable[[Callable[[], None]], None] | None = getattr(
        threading, "_register_atexit", None
    )
    if register is not None:
        with contextlib.suppress(RuntimeError):  # the interpreter is shutting down already
            register(_close_all_at_exit)


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)
