"""pytest fixtures for testing against a local Autumn server.

Registered through the ``pytest11`` entry point, so installing the package is
enough. pytest loads this module into every run of every project that has the
package installed, so it imports nothing heavy: the server (aiohttp's web
server, sqlite3) is imported when a test first asks for one of these fixtures.

- ``local_autumn``: a started ``LocalAutumn`` on the test's own event loop, for
  ``async def`` tests run by pytest-asyncio (auto mode; in strict mode mark
  the test ``@pytest.mark.asyncio``). Needs pytest-asyncio. A synchronous test
  that asks for it fails at once, naming ``local_autumn_thread``: the server
  could not answer while such a test blocks the loop.
- ``local_autumn_core``: an ``AutumnCore`` pointed at ``local_autumn``, with
  test-sized timeouts (``core_with_test_timeouts``), closed after the test.
- ``local_autumn_thread``: a started ``LocalAutumn`` on its own thread and
  event loop, for everything else: synchronous tests, FastAPI's
  ``TestClient``, blocking clients, anyio or trio tests.
- ``local_autumn_thread_session``: the same, one server for the whole session
  (state is shared: give each test its own customer ids).

Each has a free port, a fresh in-memory database, the default key and no
faults. Autumn's rate limits apply, as in production: more than 25
balances.create calls in a second get 429. Advance ``server.clock`` to open the
next window, or start ``LocalAutumn(rate_limits=False)`` for bulk set-ups.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from autumn_core import AutumnCore
    from autumn_local.run.server import LocalAutumn

__all__ = [
    "TEST_TIMEOUT_MS",
    "TEST_TOTAL_TIMEOUT_MS",
    "core_with_test_timeouts",
    "local_autumn",
    "local_autumn_core",
    "local_autumn_thread",
    "local_autumn_thread_session",
]

# A local server answers in milliseconds: a test that waits seconds has found a
# misconfiguration (a wrong URL, a server on a blocked loop), and should say so in
# seconds, not in the 3 x 60 s of the production defaults.
TEST_TIMEOUT_MS = 5_000
TEST_TOTAL_TIMEOUT_MS = 15_000

# Not every project that installs this package uses pytest-asyncio; without it
# ``local_autumn`` is a plain async fixture (which anyio's plugin can run).
try:
    from pytest_asyncio import fixture as _async_fixture
except ImportError:  # pragma: no cover - depends on the user's environment
    _async_fixture = pytest.fixture  # type: ignore[assignment]


def core_with_test_timeouts(server: LocalAutumn) -> AutumnCore:
    """An ``AutumnCore`` pointed at ``server``, its key and URL, with test-sized limits:
    5 s an attempt, 15 s a call, retries after 10 to 100 ms.

    It behaves as a production core does (retries, idempotency keys, outcomes);
    only a server that does not answer fails sooner. Create it in a test or a
    fixture and close it (``async with``), or hand it to your app's factory::

        async with core_with_test_timeouts(local_autumn_thread) as core:
            res = await balances_create(core, {...})
    """
    from autumn_core import AutumnCore, BackoffStrategy, RetryConfig

    return AutumnCore(
        secret_key=server.secret_key,
        server_url=server.url,
        timeout_ms=TEST_TIMEOUT_MS,
        total_timeout_ms=TEST_TOTAL_TIMEOUT_MS,
        retry_config=RetryConfig(backoff=BackoffStrategy(initial_interval=10, max_interval=100)),
    )


def _refuse_a_synchronous_test(request: pytest.FixtureRequest) -> None:
    # The server runs on the loop pytest-asyncio made for this test; a synchronous
    # test (FastAPI's TestClient, requests, AutumnSync) blocks the thread that loop
    # needs, so every request to the server would wait until it timed out.
    test = getattr(request, "function", None)
    if test is None or inspect.iscoroutinefunction(test):
        return
    pytest.fail(
        f"{request.node.name} is a synchronous test: local_autumn runs the server on the "
        "test's event loop, which a synchronous test blocks, so the server could not "
        "answer. Ask for local_autumn_thread (the server on its own thread) instead.",
        pytrace=False,
    )


@_async_fixture
async def local_autumn(request: pytest.FixtureRequest) -> AsyncIterator[LocalAutumn]:
    """A running LocalAutumn on the test's event loop (free port, in-memory db), for
    ``async def`` tests; a synchronous test asking for it fails at once."""
    _refuse_a_synchronous_test(request)
    from autumn_local.run.server import LocalAutumn

    async with LocalAutumn() as server:
        yield server


@_async_fixture
async def local_autumn_core(local_autumn: LocalAutumn) -> AsyncIterator[AutumnCore]:
    """An AutumnCore pointed at ``local_autumn``, with test-sized timeouts."""
    async with core_with_test_timeouts(local_autumn) as core:
        yield core


@pytest.fixture
def local_autumn_thread() -> Iterator[LocalAutumn]:
    """A running LocalAutumn on its own thread and event loop, for one test."""
    from autumn_local.run.server import LocalAutumn

    with LocalAutumn().in_thread() as server:
        yield server


@pytest.fixture(scope="session")
def local_autumn_thread_session() -> Iterator[LocalAutumn]:
    """One running LocalAutumn on its own thread for the whole session (shared state)."""
    from autumn_local.run.server import LocalAutumn

    with LocalAutumn().in_thread() as server:
        yield server
