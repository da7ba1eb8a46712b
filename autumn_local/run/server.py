"""``LocalAutumn``: the local server as an object you can start inside a program or test."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

from autumn_local.http.app import APIHandler, answer_directly, build_app
from autumn_local.http.auth import DEFAULT_SECRET_KEY, KeyRing, env_of
from autumn_local.http.connection_limits import (
    BACKLOG,
    ConnectionGuard,
    ConnectionLimits,
    deepen_listen_queue,
)
from autumn_local.http.faults import FaultInjector, FaultSpec
from autumn_local.http.ratelimits import RateLimiter
from autumn_local.http.routes import ServerState
from autumn_local.http.server_log import server_log
from autumn_local.rules.batch_queue import BatchQueue
from autumn_local.rules.clock import Clock
from autumn_local.rules.model_prices import ModelPrices
from autumn_local.run.config import apply_config, load_config
from autumn_local.run.thread import ServerThread
from autumn_local.schemas.errors import ApiError
from autumn_local.store.database import Store

__all__ = ["LocalAutumn", "LocalAutumnThread"]

_T = TypeVar("_T")
_CALL_TIMEOUT_S = 30.0
# What asyncio's selector loop reports when accept() fails for lack of resources.
_ACCEPT_FAILED = "socket.accept() out of system resource"


class LocalAutumn:
    """An Autumn-compatible Balances API server on 127.0.0.1.

    Example::

        async with LocalAutumn() as server:
            # server.url == "http://127.0.0.1:54321"; server.secret_key == "am_sk_test_local"
            server.clock.advance(days=31)
            server.faults.inject_next("lost-response")

    Args:
        host: interface to bind; only loopback is sensible for tests.
        port: TCP port; 0 picks a free one (read it back from ``url`` / ``port``).
        db_path: SQLite file (created if missing, data kept across restarts);
            None for a fresh private in-memory database.
        secret_key: the key clients must send as ``Authorization: Bearer``.
        config: path of a ``.json`` / ``.toml`` config file, or the same as a dict.
        faults: a spec string (see ``autumn_local.http.faults``) or a ``FaultSpec``;
            None for no faults.
        clock: a ``Clock`` to share; by default a new one following wall time.
        strict: refuse unknown body fields instead of ignoring them.
        rate_limits: apply Autumn's rate limits (see ``autumn_local.http.ratelimits``);
            False for load tests and suites that create balances in bulk.
        access_log: log each request on the ``aiohttp.access`` logger.
        header_timeout: seconds a client has to send a request's line and
            headers once it started; a slower connection is closed.
        body_timeout: seconds a client has to send a request's body once
            the head is in; a slower connection is closed.
        keepalive_timeout: seconds a connection may stay open with no
            request in progress (new, or after an answer).
        max_connections: connections open at once; lowered to fit the
            process's open-file limit. At the cap a new connection displaces
            the one that has waited longest for a request (see
            ``autumn_local.http.connection_limits``).
        batch_apply_delay: seconds after its answer that a ``batch_track``
            is applied, as Autumn's queue worker applies it later; 0 applies
            it before answering; None (the default) takes the config's
            ``batch_apply_delay``, 0 unless set (``autumn_local.rules.batch_queue``).
        page: also serve the page (customers, balances, recent requests,
            faults, clock) at ``GET /`` (see ``autumn_local.page``);
            ``autumn-local serve`` turns it on.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        db_path: str | Path | None = None,
        secret_key: str = DEFAULT_SECRET_KEY,
        config: str | Path | Mapping[str, Any] | None = None,
        faults: str | FaultSpec | None = None,
        clock: Clock | None = None,
        strict: bool = False,
        rate_limits: bool = True,
        access_log: bool = False,
        header_timeout: float = ConnectionLimits.header_timeout,
        body_timeout: float = ConnectionLimits.body_timeout,
        keepalive_timeout: float = ConnectionLimits.keepalive_timeout,
        max_connections: int = ConnectionLimits.max_connections,
        batch_apply_delay: float | None = None,
        page: bool = False,
    ) -> None:
        self.connection_limits = ConnectionLimits(
            header_timeout=header_timeout,
            body_timeout=body_timeout,
            keepalive_timeout=keepalive_timeout,
            max_connections=max_connections,
        )
        self.host = host
        self._requested_port = port
        self.db_path = None if db_path is None else Path(db_path)
        self.secret_key = secret_key
        self.clock = clock or Clock()
        self.strict = strict
        self.page = page
        self._config = load_config(config)
        self._keys = KeyRing([secret_key, *self._config.secret_keys])
        self.faults = FaultInjector(_fault_spec(faults))
        self.rate_limiter = RateLimiter(enabled=rate_limits)
        self.batches = BatchQueue(
            self._config.batch_apply_delay if batch_apply_delay is None else batch_apply_delay
        )
        self._access_log = access_log
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None
        self._guard: ConnectionGuard | None = None
        self._state: ServerState | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._store: Store | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("LocalAutumn is not started; use 'async with' or 'await start()'")
        return self._port

    @property
    def url(self) -> str:
        """Base URL, without a trailing slash, e.g. ``http://127.0.0.1:54321``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def fault_counts(self) -> dict[str, int]:
        """How many faults of each kind were injected so far (a copy)."""
        return dict(self.faults.counts)

    def set_faults(self, faults: str | FaultSpec | None) -> None:
        """Change the fault rates of a running server (None turns faults off)."""
        spec = _fault_spec(faults)
        if self._loop is None:
            self.faults.configure(spec)
        else:
            self._on_loop(self.faults.configure, spec)

    def apply_pending_batches(self) -> int:
        """Apply now the ``batch_track`` batches a ``batch_apply_delay`` holds; how many.

        For a test that has seen its code cope with the lag and wants the
        effect now. Safe from any thread, like ``customer``.
        """
        return self._on_loop(self.batches.drain)

    @property
    def connection_stats(self) -> dict[str, int]:
        """Connections open now and at most, the cap in force, and closes by reason."""
        return {} if self._guard is None else dict(self._guard.stats)

    def customer(self, customer_id: str) -> dict[str, Any]:
        """The customer as ``POST /v1/customers.get`` answers it: the same JSON, as a dict.

        No HTTP, no faults, no rate limits; safe from any thread (a server run
        with ``in_thread()`` answers on its own thread). Raises ``LookupError``
        for a customer that does not exist, ``ValueError`` for an invalid id.
        """
        return self._view("/v1/customers.get", {"customer_id": customer_id})

    def entity(self, customer_id: str, entity_id: str) -> dict[str, Any]:
        """The entity as ``POST /v1/entities.get`` answers it; see ``customer``."""
        return self._view("/v1/entities.get", {"customer_id": customer_id, "entity_id": entity_id})

    def in_thread(self) -> LocalAutumnThread:
        """This server on its own event loop in a background thread.

        For code that blocks the event loop a server would share, such as
        FastAPI's ``TestClient`` or any synchronous client::

            with LocalAutumn().in_thread() as server:
                ...  # server.url, server.customer("cus_123"), server.clock
        """
        return LocalAutumnThread(self)

    def _page_routes(
        self, state: ServerState
    ) -> Callable[[web.Application, APIHandler], APIHandler]:
        from autumn_local.page.routes import add_page  # loaded by a server that serves it

        return lambda app, api: add_page(app, state, self.host, api)

    def _handle_loop_errors(self) -> None:
        """Count and log accept failures once instead of a traceback per attempt.

        Only for an event loop this package owns (``serve``, ``in_thread``):
        out of file descriptors, asyncio logs every failed accept with a
        traceback, megabytes a minute.
        """
        guard, loop = self._guard, asyncio.get_running_loop()

        def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
            if guard is not None and context.get("message") == _ACCEPT_FAILED:
                guard.accept_failed(context.get("exception"))
            else:
                loop.default_exception_handler(context)

        loop.set_exception_handler(handler)

    def _view(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        state = self._state
        if state is None:
            raise RuntimeError("LocalAutumn is not started; use 'async with' or 'await start()'")

        def answer() -> dict[str, Any]:
            try:
                result = answer_directly(state, path, body, env_of(self.secret_key))
            except ApiError as exc:
                if exc.status == 404:
                    raise LookupError(exc.message) from None
                raise ValueError(exc.message) from None
            # Through JSON, so the dict is exactly what a client decodes.
            view: dict[str, Any] = json.loads(
                result if isinstance(result, bytes) else json.dumps(result)
            )
            return view

        return self._on_loop(answer)

    def _on_loop(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run ``fn(*args)`` on the server's event loop thread and return its result."""
        loop = self._loop
        if loop is None or threading.get_ident() == self._loop_thread:
            return fn(*args)

        async def call() -> _T:
            return fn(*args)

        # Bounded: a server stopping meanwhile would otherwise leave us waiting.
        return asyncio.run_coroutine_threadsafe(call(), loop).result(timeout=_CALL_TIMEOUT_S)

    @property
    def running(self) -> bool:
        return self._runner is not None

    async def start(self) -> LocalAutumn:
        """Open the database, seed it, and start listening. Returns self."""
        if self._runner is not None:
            raise RuntimeError("LocalAutumn is already started")
        store = Store(self.db_path)
        try:
            apply_config(store, self._config, self.clock.now_ms())
            state = ServerState(
                store=store,
                clock=self.clock,
                keys=self._keys,
                faults=self.faults,
                limiter=self.rate_limiter,
                strict=self.strict,
                batches=self.batches,
                models=ModelPrices(self._config.models),
            )
            app = build_app(state, self._page_routes(state) if self.page else None)
            limits = self.connection_limits
            runner = web.AppRunner(
                app,
                access_log=logging.getLogger("aiohttp.access") if self._access_log else None,
                handle_signals=False,
                shutdown_timeout=5.0,
                logger=server_log(),
                # aiohttp's own idle timer, kept behind the guard's deadlines so
                # that the guard decides (and counts) every close.
                keepalive_timeout=limits.keepalive_timeout + limits.header_timeout + 1,
            )

            def protocol() -> asyncio.Protocol:
                server = runner.server
                assert server is not None, "runner.setup() has run"
                return server()

            guard = ConnectionGuard(self.connection_limits, protocol)
            await runner.setup()
            assert runner.server is not None
            runner.server.request_handler = guard.watch_requests(runner.server.request_handler)
            try:
                listener = await asyncio.get_running_loop().create_server(
                    guard.protocol_factory,
                    self.host,
                    self._requested_port,
                    backlog=BACKLOG,
                )
                deepen_listen_queue(listener)
            except BaseException:
                await runner.cleanup()
                raise
        except BaseException:
            store.close()
            raise
        self._store, self._runner, self._state = store, runner, state
        self._listener, self._guard = listener, guard
        self._loop, self._loop_thread = asyncio.get_running_loop(), threading.get_ident()
        self._port = int(listener.sockets[0].getsockname()[1])
        return self

    async def stop(self) -> None:
        """Stop listening, finish in-flight requests, close the database. Idempotent."""
        runner, store, listener = self._runner, self._store, self._listener
        self._runner = self._store = self._listener = self._state = None
        self._loop = self._loop_thread = None
        self._port = None
        if listener is not None:
            listener.close()
        if runner is not None:
            await runner.cleanup()
        if self._guard is not None:
            self._guard.close_all()
        if listener is not None:
            await listener.wait_closed()
        # Accepted batches are applied, never dropped, by stopping.
        self.batches.drain()
        if store is not None:
            store.close()

    async def __aenter__(self) -> LocalAutumn:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def __repr__(self) -> str:
        where = self.url if self._port is not None else "not started"
        return f"LocalAutumn({where}, db={self.db_path or ':memory:'})"


def _fault_spec(faults: str | FaultSpec | None) -> FaultSpec:
    if faults is None:
        return FaultSpec()
    if isinstance(faults, FaultSpec):
        return faults
    return FaultSpec.parse(faults)


class LocalAutumnThread(ServerThread[LocalAutumn]):
    """A ``LocalAutumn`` on a private event loop in a daemon thread: ``LocalAutumn.in_thread()``.

    ``with`` / ``async with`` (or ``start()`` / ``stop()``) yield the
    ``LocalAutumn`` itself: ``url``, ``secret_key``, ``clock``, ``faults``,
    ``set_faults``, ``customer`` and ``entity`` work from any thread.
    A start-up error (a port in use, a bad config) is raised by ``start``.
    """
