"""A local Autumn-compatible Balances API server, for demos and tests.

    async with LocalAutumn() as server:
        ...  # point a client at server.url with server.secret_key

``LocalAutumn().in_thread()`` runs one on its own thread, for blocking clients.
Run it standalone with ``autumn-local serve``; use the
``local_autumn`` pytest fixture in test suites.
"""

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
