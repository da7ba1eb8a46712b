"""A local Autumn-compatible Balances API server, for demos and tests.

    async with LocalAutumn() as server:
        ...  # point a client at server.url with server.secret_key

    with LocalAutumn().in_thread() as server:
        ...  # the same, on its own thread: for blocking clients and TestClient

Run it standalone with ``autumn-local serve`` (or ``python -m autumn_local
serve``); use the ``local_autumn`` / ``local_autumn_thread`` pytest fixtures
in test suites.

Names are imported on first use: the pytest plugin imports this package in
every pytest run of a project that has it installed, and the server (aiohttp's
web server, sqlite3) should cost nothing until a test asks for it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autumn_local.auth import DEFAULT_SECRET_KEY
    from autumn_local.clock import Clock
    from autumn_local.faults import FAULT_KINDS, FaultInjector, FaultSpec
    from autumn_local.in_thread import LocalAutumnThread
    from autumn_local.server import LocalAutumn

__all__ = [
    "DEFAULT_SECRET_KEY",
    "FAULT_KINDS",
    "Clock",
    "FaultInjector",
    "FaultSpec",
    "LocalAutumn",
    "LocalAutumnThread",
]

_HOME = {
    "DEFAULT_SECRET_KEY": "autumn_local.auth",
    "Clock": "autumn_local.clock",
    "FAULT_KINDS": "autumn_local.faults",
    "FaultInjector": "autumn_local.faults",
    "FaultSpec": "autumn_local.faults",
    "LocalAutumn": "autumn_local.server",
    "LocalAutumnThread": "autumn_local.in_thread",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'autumn_local' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
