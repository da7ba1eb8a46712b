"""Clients nobody here wrote run each flow against the local server and parse its answers.

One test per flow and client: the flow runs in the client's driver process
against a LocalAutumn of its own (see ``FlowRuns``), and every check it
reports must pass. A failing test prints each check in the client's own words
(its validation error, the status and body it got).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.interop.conftest import FlowRuns, peer_or_skip
from tests.interop.drivers import Peer
from tests.interop.flows import CAPTURE_FLOW, CLIENTS, FLOWS, KNOWN_GAPS

pytestmark = pytest.mark.interop


def _cases() -> list[Any]:
    cases = []
    for client in CLIENTS:
        for flow in FLOWS:
            gap = KNOWN_GAPS.get((client, flow))
            marks = (
                [pytest.mark.xfail(strict=True, raises=AssertionError, reason=gap)] if gap else []
            )
            cases.append(pytest.param(client, flow, marks=marks, id=f"{client}-{flow}"))
    return cases


@pytest.mark.parametrize(("client", "flow"), _cases())
async def test_flow(flow_runs: FlowRuns, client: str, flow: str) -> None:
    run = await flow_runs.result(client, flow)
    run.assert_passed(flow)


@pytest.mark.parametrize("client", CLIENTS)
async def test_driver_implements_every_flow(peers: dict[str, Peer | None], client: str) -> None:
    peer = peer_or_skip(peers, client)
    assert sorted(await peer.list_flows()) == sorted([*FLOWS, CAPTURE_FLOW])
