"""pytest fixtures for testing against a local Autumn server.

Registered through the ``pytest11`` entry point, so installing the package is
enough. pytest loads this module into every run of every project that has the
package installed, so it imports nothing heavy: the server (aiohttp's web
server, sqlite3) is imported when a test first asks for one of these fixtures.

- ``local_autumn``: a started ``LocalAutumn`` on the test's own event loop, for
  ``async def`` tests run by pytest-asyncio (auto mode; in strict mode mark
  the test ``@pytest.mark.asyncio``). Needs pytest-asyncio.
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

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from autumn_local.run.server import LocalAutumn

__all__ = ["local_autumn", "local_autumn_thread", "local_autumn_thread_session"]

# Not every project that installs this package uses pytest-asyncio; without it
# ``local_autumn`` is a plain async fixture (which anyio's plugin can run).
try:
    from pytest_asyncio import fixture as _async_fixture
except ImportError:  # pragma: no cover - depends on the user's environment
    _async_fixture = pytest.fixture  # type: ignore[assignment]


@_async_fixture
async def local_autumn() -> AsyncIterator[LocalAutumn]:
    """A running LocalAutumn on the test's event loop (free port, in-memory db)."""
    from autumn_local.run.server import LocalAutumn

    async with LocalAutumn() as server:
        yield server


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
