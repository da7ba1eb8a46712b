"""A server on its own event loop in a background thread: what ``LocalAutumn.in_thread()`` runs.

A server started with ``async with LocalAutumn()`` runs on the caller's event
loop, so it stops answering whenever that loop is blocked: by FastAPI's
``TestClient`` (which runs the app on a loop of its own and blocks the test
while it waits), by ``requests``/``httpx`` sync calls, or by any synchronous
SDK. In a thread with its own loop, it answers regardless. Usable from
synchronous and asynchronous code alike::

    with LocalAutumn().in_thread() as server:
        client.post(...)                      # anything that blocks
        assert server.customer("cus_123")["balances"] == {}

    async with LocalAutumn(rate_limits=False).in_thread() as server:
        ...

``ServerThread`` knows the server only by the methods it calls (``Serving``),
so this module imports nothing of the server's: ``LocalAutumnThread``, the
name users see, is ``ServerThread[LocalAutumn]``, defined beside
``LocalAutumn``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from types import TracebackType
from typing import Generic, Protocol, TypeVar

__all__ = ["ServerThread", "Serving"]


class Serving(Protocol):
    """What a server run on its own thread must offer."""

    async def start(self) -> object: ...

    async def stop(self) -> None: ...

    def _handle_loop_errors(self) -> None: ...


_S = TypeVar("_S", bound=Serving)

# Starting means opening and seeding the database: a large config takes seconds.
_START_TIMEOUT_S = 120.0


class ServerThread(Generic[_S]):
    """Runs one server on a private event loop in a daemon thread.

    ``with`` / ``async with`` (or ``start()`` / ``stop()``) yield the server
    itself. A start-up error (a port in use, a bad config) is raised by
    ``start``.
    """

    def __init__(self, server: _S) -> None:
        self.server = server
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_requested: asyncio.Event | None = None
        self._started: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._finished: concurrent.futures.Future[None] = concurrent.futures.Future()

    def start(self) -> _S:
        """Start the thread and wait until the server listens. Returns the server."""
        self._launch()
        self._started.result(timeout=_START_TIMEOUT_S)
        return self.server

    def stop(self) -> None:
        """Stop the server (in-flight requests finish) and join the thread. Idempotent."""
        if self._request_stop():
            self._finished.result()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> _S:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> _S:
        self._launch()
        # Waited for without blocking the caller's loop.
        await asyncio.wait_for(asyncio.wrap_future(self._started), _START_TIMEOUT_S)
        return self.server

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._request_stop():
            await asyncio.wrap_future(self._finished)
        if self._thread is not None:
            self._thread.join()  # it has finished its work; this only reaps it

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.server!r})"

    def _launch(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"{type(self).__name__} is already started; use a new one")
        self._thread = threading.Thread(target=self._run, name="autumn-local", daemon=True)
        self._thread.start()

    def _request_stop(self) -> bool:
        """Ask the thread's loop to stop; False if it is not running."""
        loop, event = self._loop, self._stop_requested
        if loop is None or event is None or self._finished.done():
            return False
        try:
            loop.call_soon_threadsafe(event.set)
        except RuntimeError:  # the loop closed meanwhile
            return False
        return True

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._serve(loop))
        except BaseException as exc:
            if not self._started.done():
                self._started.set_exception(exc)
            if not self._finished.done():
                self._finished.set_exception(exc)
        finally:
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                loop.close()
            if not self._finished.done():
                self._finished.set_result(None)

    async def _serve(self, loop: asyncio.AbstractEventLoop) -> None:
        self._stop_requested = asyncio.Event()
        await self.server.start()
        try:
            self.server._handle_loop_errors()
            self._loop = loop
            self._started.set_result(None)
            await self._stop_requested.wait()
        finally:
            await self.server.stop()
