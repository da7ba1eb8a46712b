from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.scripted_server import ScriptedServer


@pytest.fixture
async def scripted() -> AsyncIterator[ScriptedServer]:
    """A fresh scripted HTTP server on 127.0.0.1 (see tests/scripted_server.py)."""
    server = await ScriptedServer().start()
    try:
        yield server
    finally:
        await server.stop()
