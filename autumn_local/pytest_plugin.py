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

from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import pytest

from autumn_local.server import LocalAutumn

__all__ = ["local_autumn"]

# The plugin is loaded into every pytest run of an environment that has this
# package installed, so it must not require pytest-asyncio to be there too.
F = TypeVar("F", bound=Callable[..., Any])
_async_fixture: Callable[[F], F]
try:
    import pytest_asyncio

    _async_fixture = pytest_asyncio.fixture
except ImportError:  # pragma: no cover - depends on the user's environment
    _async_fixture = pytest.fixture


@_async_fixture
async def local_autumn() -> AsyncIterator[LocalAutumn]:
    """A running LocalAutumn (free port, in-memory db, default key, no faults)."""
    async with LocalAutumn() as server:
        yield server
