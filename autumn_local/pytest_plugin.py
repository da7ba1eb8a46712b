"""pytest fixture ``local_autumn``: a started LocalAutumn with a fresh in-memory database.

Registered through the ``pytest11`` entry point, so installing the package is
enough::

    async def test_grant(local_autumn):
        async with aiohttp.ClientSession() as http:
            ...  # POST f"{local_autumn.url}/v1/balances.create"

Works with pytest-asyncio (auto mode, or strict mode since the fixture is
declared with ``pytest_asyncio.fixture``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from autumn_local.server import LocalAutumn

__all__ = ["local_autumn"]

# The plugin is loaded into every pytest run of an environment that has this
# package installed, so it must not require pytest-asyncio to be there too.
try:
    from pytest_asyncio import fixture as _async_fixture
except ImportError:  # pragma: no cover - depends on the user's environment
    _async_fixture = pytest.fixture  # type: ignore[assignment]


@_async_fixture
async def local_autumn() -> AsyncIterator[LocalAutumn]:
    """A running LocalAutumn (free port, in-memory db, default key, no faults).

    Autumn's rate limits apply, as in production: more than 25 balances.create
    calls in a second get 429. Advance ``local_autumn.clock`` to open the next
    window, or start ``LocalAutumn(rate_limits=False)`` for bulk set-ups.
    """
    async with LocalAutumn() as server:
        yield server
