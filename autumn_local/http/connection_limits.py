"""Connection timeouts and a connection cap, so slow or idle clients cannot starve the rest.

aiohttp's server reads a request head for as long as a client cares to send
it and keeps a connection that never sends one, and when the process runs out
of file descriptors every client stalls. ``ConnectionGuard`` sits between the
listening socket and aiohttp's per-connection protocol and gives every
connection one deadline at a time, for what its client owes:

- a request (on a new connection, or one kept alive after an answer):
  ``keepalive_timeout``;
- the rest of the request head, from its first byte until the handler starts:
  ``header_timeout``;
- the whole request body, from the handler's start: ``body_timeout``.

A connection past its deadline is closed. Once a request has wholly arrived
the client owes nothing: its handler may take as long as it takes.

``max_connections`` is lowered to fit the process's open-file limit
(``effective_max_connections``: the limit less the descriptors already open,
room for three accepted bursts of ``BACKLOG`` and a few spares; never below 16).
At the cap a new connection displaces one whose client is behind: of the
connection that has waited longest for a request (one still sending its head
included) and the one owing a body that has sent nothing for the longest,
whichever has been quiet longer. A slow body is the client lagging, as an
idle connection is; without this, slow bodies up to the cap would starve
every other client until ``body_timeout``. A connection whose head has
arrived and waits for its handler, or whose whole request has arrived, is
never displaced; a new connection is refused (closed at once) only when every
open one is such.

``deepen_listen_queue`` lets ``LISTEN_QUEUE`` connections wait in the kernel
to be accepted, so that a flood's clients queue rather than have their SYNs
dropped; when accepting fails (out of file descriptors), they wait there.

Displacements, refusals, slow heads and bodies, and failures to accept are
logged (WARNING, on ``autumn_local.connections``) once, then summed up at most
once a minute (``FloodLog``), never per connection; an idle connection's
expiry is counted, not logged. ``ConnectionGuard.stats`` has the counts.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
import sys
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from autumn_local.http.flood_log import FloodLog

__all__ = [
    "BACKLOG",
    "ConnectionGuard",
    "ConnectionLimits",
    "deepen_listen_queue",
    "effective_max_connections",
]

log = logging.getLogger("autumn_local.connections")

# asyncio accepts up to BACKLOG connections per wake-up of the listening
# socket; an accepted socket reaches the guard about two loop iterations
# later, and a displaced one frees its descriptor one iteration after its
# close. So up to three bursts are in flight beyond the cap: room is kept.
BACKLOG = 128
_BURSTS_IN_FLIGHT = 3
# The kernel's queue of connections not yet accepted (capped by somaxconn).
# Deep, so that under a flood a client's SYN waits in it rather than being
# dropped and retried a second later.
LISTEN_QUEUE = 4096
# File descriptors kept free for everything that is not a client connection:
# the database and its WAL, log files, the event loop's own, a subprocess pipe.
_SPARE_FDS = 32
_MIN_CONNECTIONS = 16


@dataclass(frozen=True)
class ConnectionLimits:
    """Deadlines (seconds) and the connection cap; see the module docstring."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keepalive_timeout: float = 60.0
    max_connections: int = 1000

    def __post_init__(self) -> None:
        for name in ("header_timeout", "body_timeout", "keepalive_timeout"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value <= 0
            ):
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
        cap = self.max_connections
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
            raise ValueError(f"max_connections must be a positive integer, got {cap!r}")


def _open_file_limit() -> int | None:
    if sys.platform == "win32":
        return None
    import resource

    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else int(soft)


def _open_fds() -> int:
    for listing in ("/proc/self/fd", "/dev/fd"):
        try:
            return len(os.listdir(listing))
        except OSError:
            continue
    return _SPARE_FDS


def effective_max_connections(requested: int) -> tuple[int, int | None]:
    """``requested``, lowered so that connections cannot exhaust the open-file limit.

    Returns the cap and the limit it was fitted to (None if unlimited/unknown).
    """
    limit = _open_file_limit()
    if limit is None:
        return requested, None
    room = limit - _open_fds() - _BURSTS_IN_FLIGHT * BACKLOG - _SPARE_FDS
    return min(requested, max(_MIN_CONNECTIONS, room)), limit


def deepen_listen_queue(server: asyncio.Server) -> None:
    """Let LISTEN_QUEUE connections wait to be accepted, while asyncio still accepts
    at most BACKLOG at a time (it passes one number for both to ``listen``)."""
    for listening in server.sockets:
        # listen() again on a duplicate of the descriptor: same socket, deeper queue.
        try:
            with socket.fromfd(listening.fileno(), listening.family, listening.type) as dup:
                dup.listen(LISTEN_QUEUE)
        except OSError:  # pragma: no cover - a platform that refuses; the queue stays
            pass


# IDLE: nothing of a request yet; HEAD: part of a head; READY: a whole head,
# the handler not yet started; BUSY: a request in progress.
_IDLE, _HEAD, _READY, _BUSY = 0, 1, 2, 3


class _Connection(asyncio.Protocol):
    """Wraps aiohttp's protocol for one connection and keeps its deadline.

    A request moves the deadline two or three times; rescheduling a timer each
    time would cost more than the rest of the guard. So ``_due`` holds the
    deadline, and one timer, set no later than it, re-arms itself when it
    fires early: about once per ``header_timeout`` on a busy connection.
    """

    __slots__ = (
        "_due",
        "_guard",
        "_inner",
        "_quiet_since",
        "_request",
        "_state",
        "_timer",
        "transport",
    )

    def __init__(self, guard: ConnectionGuard) -> None:
        self._guard = guard
        self._inner: asyncio.Protocol | None = None
        self._state = _IDLE
        self._due = math.inf
        self._timer: asyncio.TimerHandle | None = None
        self._request: web.BaseRequest | None = None
        # When it last did its part (queued to wait, or sent body bytes): at the cap,
        # the connection quiet the longest is displaced.
        self._quiet_since = 0.0
        self.transport: asyncio.Transport | None = None

    # -- asyncio.Protocol, forwarded to aiohttp's protocol --

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if not self._guard._admit(self):
            transport.abort()
            return
        self._inner = self._guard._make_inner()
        self._inner.connection_made(transport)
        self._wait()

    def data_received(self, data: bytes) -> None:
        if self._inner is None:
            return
        state = self._state
        if state == _IDLE:
            # The first byte of a request head: from now on the head is due.
            self._state = state = _HEAD
            self._due_in(self._guard.limits.header_timeout)
        elif state == _BUSY and self._request is not None:
            owing = self._guard._owing
            if self in owing:
                owing.move_to_end(self)  # it sent something: the last to displace
                self._quiet_since = self._guard._loop.time()
        if state == _HEAD and b"\r\n\r\n" in data:
            # A whole head arrived: a client doing its part, never displaced.
            # The handler starts a loop iteration or two later; the header
            # deadline stays as a safety net until it does.
            self._state = _READY
            self._guard._waiting.pop(self, None)
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return None if self._inner is None else self._inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timer()
        self._guard._forget(self)
        if self._inner is not None:
            self._inner.connection_lost(exc)
            self._inner = None
        self._request = None

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()

    # -- request boundaries, reported by ConnectionGuard.watch_requests --

    def request_started(self, request: web.BaseRequest) -> None:
        self._state = _BUSY
        self._guard._waiting.pop(self, None)
        if request.content.is_eof():
            self._due = math.inf  # a handler may take its time; the client owes nothing
        else:
            self._request = request
            self._guard._owing[self] = None
            self._quiet_since = self._guard._loop.time()
            self._due_in(self._guard.limits.body_timeout)

    def owes_body(self) -> bool:
        request = self._request
        return request is not None and not request.content.is_eof()

    def request_finished(self) -> None:
        self._request = None
        self._guard._owing.pop(self, None)
        if self.transport is not None and not self.transport.is_closing():
            self._wait()

    # -- deadlines --

    def _wait(self) -> None:
        self._state = _IDLE
        waiting = self._guard._waiting
        waiting[self] = None
        waiting.move_to_end(self)  # (re)queued last: it has waited least
        self._quiet_since = self._guard._loop.time()
        self._due_in(self._guard.limits.keepalive_timeout)

    def _due_in(self, timeout: float) -> None:
        loop = self._guard._loop
        self._due = due = loop.time() + timeout
        timer = self._timer
        if timer is None or timer.when() > due:
            if timer is not None:
                timer.cancel()
            self._timer = loop.call_at(due, self._check)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check(self) -> None:
        self._timer = None
        due = self._due
        if due == math.inf:
            return
        loop = self._guard._loop
        # (A timer may fire a clock tick early: a millisecond is close enough.)
        if loop.time() + 0.001 < due:
            self._timer = loop.call_at(due, self._check)  # moved later meanwhile
            return
        if self._state == _BUSY:
            request = self._request
            if request is None or request.content.is_eof():
                self._due = math.inf
                return
            self._guard._closed("slow_body")
        elif self._state in (_HEAD, _READY):
            self._guard._closed("slow_header")
        else:
            self._guard._closed("idle")
        self.close()

    def close(self) -> None:
        self._stop_timer()
        self._guard._forget(self)
        if self.transport is not None:
            # abort: nothing of ours is waiting to be written, and it frees the
            # descriptor without waiting on a client that may never read.
            self.transport.abort()


Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


class ConnectionGuard:
    """Applies ``ConnectionLimits`` to every connection of one listening socket.

    Use ``protocol_factory`` with ``loop.create_server``, and wrap the aiohttp
    server's request handler with ``watch_requests``, which tells the guard
    where requests begin and end.
    """

    def __init__(self, limits: ConnectionLimits, inner_factory: Callable[[], Any]) -> None:
        self.limits = limits
        self.max_connections, self.open_file_limit = effective_max_connections(
            limits.max_connections
        )
        self._make_inner: Callable[[], asyncio.Protocol] = inner_factory
        self._loop = asyncio.get_running_loop()
        self._open: dict[asyncio.BaseTransport, _Connection] = {}
        # Connections with no request in progress, the longest-waiting first.
        self._waiting: OrderedDict[_Connection, None] = OrderedDict()
        # Connections whose request body may still be owed, the longest-silent first.
        self._owing: OrderedDict[_Connection, None] = OrderedDict()
        self._counts: Counter[str] = Counter()
        self._flood = FloodLog(log)
        self.peak_connections = 0

    def protocol_factory(self) -> _Connection:
        return _Connection(self)

    @property
    def stats(self) -> Mapping[str, int]:
        """Connections open and waiting for a request now, open at most, the cap,
        and closes by reason."""
        return {
            "open": len(self._open),
            "waiting": len(self._waiting),
            "peak": self.peak_connections,
            "max_connections": self.max_connections,
            "closed_idle": self._counts["idle"],
            "closed_slow_header": self._counts["slow_header"],
            "closed_slow_body": self._counts["slow_body"],
            "closed_at_cap": self._counts["displaced"],
            "refused_at_cap": self._counts["refused"],
            "accept_errors": self._counts["accept_error"],
        }

    def watch_requests(self, handler: Handler) -> Handler:
        """``handler``, telling the guard where each request begins and ends.

        Installed as the aiohttp server's request handler rather than as a
        middleware: one coroutine frame per request instead of aiohttp's
        per-request middleware chain.
        """
        connections = self._open

        async def watched(request: web.BaseRequest) -> web.StreamResponse:
            conn = connections.get(request.transport) if request.transport is not None else None
            if conn is None:
                return await handler(request)
            conn.request_started(request)
            try:
                return await handler(request)
            finally:
                conn.request_finished()

        return watched

    def close_all(self) -> None:
        for conn in list(self._open.values()):
            conn.close()

    def accept_failed(self, exc: BaseException | None) -> None:
        """The listening socket could not accept (e.g. out of file descriptors)."""
        self._counts["accept_error"] += 1
        self._flood.record(
            "accept_error",
            f"cannot accept connections: {exc}; clients wait in the listen queue",
            "cannot accept connections: %d more failures",
        )

    # -- bookkeeping for _Connection --

    def _displaceable(self) -> _Connection | None:
        """The connection to close for a new one: of the longest idle and the slow body
        that sent nothing for the longest, the one quiet longer (a client that just
        connected and has yet to send its head is not taken before a stalled body)."""
        idle = next(iter(self._waiting), None)
        body = self._slowest_body()
        if idle is None or body is None:
            return idle or body
        return idle if idle._quiet_since <= body._quiet_since else body

    def _slowest_body(self) -> _Connection | None:
        owing = self._owing
        while owing:
            candidate = next(iter(owing))
            if candidate.owes_body():
                return candidate
            del owing[candidate]  # its body arrived: its request is the server's to finish
        return None

    def _admit(self, conn: _Connection) -> bool:
        if len(self._open) >= self.max_connections:
            oldest = self._displaceable()
            if oldest is None:
                self._counts["refused"] += 1
                self._flood.record(
                    "refused",
                    f"{len(self._open)} connections, all with a request in progress, at the cap "
                    f"(max_connections={self.max_connections}): refusing new ones",
                    "refused %d more connections at the cap",
                )
                return False
            self._counts["displaced"] += 1
            self._flood.record(
                "displaced",
                f"{len(self._open)} connections open, the cap (max_connections="
                f"{self.max_connections}): closing the longest-waiting idle ones or slow bodies "
                "to admit new clients",
                "closed %d more waiting connections to stay under the cap",
            )
            oldest.close()
        assert conn.transport is not None
        self._open[conn.transport] = conn
        self.peak_connections = max(self.peak_connections, len(self._open))
        return True

    def _forget(self, conn: _Connection) -> None:
        if conn.transport is not None:
            self._open.pop(conn.transport, None)
        self._waiting.pop(conn, None)
        self._owing.pop(conn, None)

    def _closed(self, reason: str) -> None:
        self._counts[reason] += 1
        if reason == "slow_header":
            self._flood.record(
                reason,
                "closed a connection that did not send its request head within "
                f"header_timeout={self.limits.header_timeout:g} s (a slow or stalled client)",
                "closed %d more connections for slow request heads",
            )
        elif reason == "slow_body":
            self._flood.record(
                reason,
                "closed a connection that did not send its request body within "
                f"body_timeout={self.limits.body_timeout:g} s (a slow or stalled client)",
                "closed %d more connections for slow request bodies",
            )
