"""``LocalAutumn``: the local server as an object you can start inside a program or test."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

from autumn_local.app import ServerState, build_app
from autumn_local.auth import DEFAULT_SECRET_KEY, KeyRing
from autumn_local.clock import Clock
from autumn_local.config import apply_config, load_config
from autumn_local.faults import FaultInjector, FaultSpec
from autumn_local.ratelimits import RateLimiter
from autumn_local.store import Store

__all__ = ["LocalAutumn"]


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
        faults: a spec string (see ``autumn_local.faults``) or a ``FaultSpec``;
            None for no faults.
        clock: a ``Clock`` to share; by default a new one following wall time.
        strict: refuse unknown body fields instead of ignoring them.
        rate_limits: apply Autumn's rate limits (see ``autumn_local.ratelimits``);
            False for load tests and suites that create balances in bulk.
        access_log: log each request on the ``aiohttp.access`` logger.
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
    ) -> None:
        self.host = host
        self._requested_port = port
        self.db_path = None if db_path is None else Path(db_path)
        self.secret_key = secret_key
        self.clock = clock or Clock()
        self.strict = strict
        self._config = load_config(config)
        self._keys = KeyRing([secret_key, *self._config.secret_keys])
        self.faults = FaultInjector(_fault_spec(faults))
        self.rate_limiter = RateLimiter(enabled=rate_limits)
        self._access_log = access_log
        self._runner: web.AppRunner | None = None
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
        self.faults.configure(_fault_spec(faults))

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
            )
            runner = web.AppRunner(
                build_app(state),
                access_log=logging.getLogger("aiohttp.access") if self._access_log else None,
                handle_signals=False,
                shutdown_timeout=5.0,
            )
            await runner.setup()
            try:
                site = web.TCPSite(runner, self.host, self._requested_port)
                await site.start()
            except BaseException:
                await runner.cleanup()
                raise
        except BaseException:
            store.close()
            raise
        self._store, self._runner = store, runner
        self._port = int(runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        """Stop listening, finish in-flight requests, close the database. Idempotent."""
        runner, store = self._runner, self._store
        self._runner = self._store = None
        self._port = None
        if runner is not None:
            await runner.cleanup()
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
