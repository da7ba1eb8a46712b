"""Fixtures of the interop suite: the installed peers, and a driver for each client.

The peers are installed on first use (``install.py``; CI runs it beforehand),
so a plain ``pytest`` works on a fresh machine. Only a missing ``node``
skips, and only the TypeScript peer's tests.
"""

from __future__ import annotations

import contextlib

import pytest

from autumn_local import DEFAULT_SECRET_KEY, LocalAutumn
from tests.interop.drivers import HERE, DriverRun, Peer
from tests.interop.flows import SERVER_CONFIG
from tests.interop.install import InstalledPeers, ensure_peers


@pytest.fixture(scope="session")
def installed_peers() -> InstalledPeers:
    return ensure_peers()


@pytest.fixture(scope="session")
def peers(installed_peers: InstalledPeers) -> dict[str, Peer | None]:
    """Client name -> its driver (None: the client cannot run on this machine)."""
    ts: Peer | None = None
    if installed_peers.node is not None and installed_peers.node_modules is not None:
        ts = Peer(
            "autumn-js",
            (installed_peers.node, str(HERE / "autumn_js_driver.mjs")),
            (("AUTUMN_PEER_NODE_MODULES", str(installed_peers.node_modules)),),
        )
    # -I: isolated mode, so neither this folder nor PYTHON* variables leak into
    # the peer's import path.
    py = Peer("autumn-sdk", (str(installed_peers.python), "-I", str(HERE / "autumn_sdk_driver.py")))
    return {"autumn-js": ts, "autumn-sdk": py}


def peer_or_skip(peers: dict[str, Peer | None], client: str) -> Peer:
    peer = peers[client]
    if peer is None:
        pytest.skip(f"{client} needs node, which is not on the PATH")
    return peer


class FlowRuns:
    """Each client's driver runs once for all its flows selected in this session.

    Every flow gets a LocalAutumn of its own (fresh in-memory database seeded
    with ``SERVER_CONFIG``), started and stopped inside the first test that
    asks for the client; one process per client saves a second of start-up per
    flow. Later tests of the client read their flow's checks from the result.
    """

    def __init__(self, peers: dict[str, Peer | None], selected: dict[str, list[str]]) -> None:
        self._peers = peers
        self._selected = selected
        self._runs: dict[str, DriverRun] = {}

    async def result(self, client: str, flow: str) -> DriverRun:
        peer = peer_or_skip(self._peers, client)
        if client not in self._runs:
            flows = self._selected.get(client) or [flow]
            async with contextlib.AsyncExitStack() as stack:
                servers: dict[str, str] = {}
                for name in flows:
                    server = LocalAutumn(config=SERVER_CONFIG)
                    servers[name] = (await stack.enter_async_context(server)).url
                self._runs[client] = await peer.run(servers, DEFAULT_SECRET_KEY)
        return self._runs[client]


@pytest.fixture(scope="session")
def flow_runs(request: pytest.FixtureRequest, peers: dict[str, Peer | None]) -> FlowRuns:
    selected: dict[str, list[str]] = {}
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and {"client", "flow"} <= set(callspec.params):
            flows = selected.setdefault(callspec.params["client"], [])
            if callspec.params["flow"] not in flows:
                flows.append(callspec.params["flow"])
    return FlowRuns(peers, selected)
