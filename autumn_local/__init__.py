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

The API is the names below, the ``autumn_local.pytest_plugin`` module and the
command line. The subpackages are the server's layout, not API: ``run``
(``LocalAutumn``, its thread, the command line, the demo, the configuration
file), ``page`` (the page ``autumn-local serve`` shows at ``/``, loaded only by
a server that serves it), ``http`` (the app, its request pipeline, injected
faults and every route's handler), ``rules`` (Autumn's semantics and the
clock they are judged by), ``schemas`` (request bodies and the error answers)
and ``store`` (SQLite).

Each subpackage imports only from those after it in this order, never back:

    run -> page -> http -> rules -> schemas -> store
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autumn_local.http.auth import DEFAULT_SECRET_KEY
    from autumn_local.http.faults import FAULT_KINDS, FaultInjector, FaultSpec
    from autumn_local.rules.clock import Clock
    from autumn_local.run.server import LocalAutumn, LocalAutumnThread

__all__ = [
    "DEFAULT_SECRET_KEY",
    "FAULT_KINDS",
    "Clock",
    "FaultInjector",
    "FaultSpec",
    "LocalAutumn",
    "LocalAutumnThread",
]


def __getattr__(name: str) -> object:
    home = {
        "DEFAULT_SECRET_KEY": "autumn_local.http.auth",
        "Clock": "autumn_local.rules.clock",
        "FAULT_KINDS": "autumn_local.http.faults",
        "FaultInjector": "autumn_local.http.faults",
        "FaultSpec": "autumn_local.http.faults",
        "LocalAutumn": "autumn_local.run.server",
        "LocalAutumnThread": "autumn_local.run.server",
    }.get(name)
    if home is None:
        raise AttributeError(f"module 'autumn_local' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(home), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


# Nothing but the exports (and, once imported, the subpackages) shows in dir().
del TYPE_CHECKING
