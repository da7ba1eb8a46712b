"""The seed's create example puts the same bytes on the wire from Autumn's TypeScript SDK
and from this SDK (with the grant named ``included_grant`` or, as the seed writes it,
``included``); the official Python SDK's body is compared as JSON.

The headers each client sends are printed (``pytest -s``) for comparison; only
those the server acts on are asserted.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from autumn_core import AutumnCore
from autumn_funcs import balances_create
from tests.interop.capture_server import CapturedRequest, CaptureServer
from tests.interop.conftest import peer_or_skip
from tests.interop.drivers import Peer
from tests.interop.flows import CAPTURE_FLOW

pytestmark = pytest.mark.interop

SECRET = "am_sk_test_interop_capture"
SEED_EXAMPLE = (
    b'{"customer_id":"cus_123","feature_id":"api_calls","included_grant":1000,'
    b'"reset":{"interval":"month"}}'
)


async def _peer_request(peer: Peer, capture: CaptureServer) -> CapturedRequest:
    run = await peer.run({CAPTURE_FLOW: capture.url}, SECRET)
    run.assert_all_passed()
    return capture.take()


async def _our_request(capture: CaptureServer, grant: dict[str, Any]) -> CapturedRequest:
    params = {"customer_id": "cus_123", "feature_id": "api_calls", **grant}
    params["reset"] = {"interval": "month"}
    async with AutumnCore(SECRET, server_url=capture.url) as core:
        result = await balances_create(core, params)
    assert result.ok, result
    return capture.take()


def _headers_table(requests: dict[str, CapturedRequest]) -> str:
    lines = []
    for client, request in requests.items():
        lines.append(f"{client}: {request.method} {request.path}")
        for name, value in request.headers:
            shown = "Bearer <key>" if value == f"Bearer {SECRET}" else value
            lines.append(f"    {name}: {shown}")
    return "\n".join(lines)


def _assert_acted_on_headers(request: CapturedRequest) -> None:
    assert request.method == "POST"
    assert request.path == "/v1/balances.create"
    assert request.header("Authorization") == f"Bearer {SECRET}"
    assert request.header("x-api-version") == "2.1"
    content_type = request.header("Content-Type") or ""
    assert content_type.split(";")[0].strip() == "application/json"


async def test_seed_example_is_byte_identical_from_autumn_js_and_this_sdk(
    peers: dict[str, Peer | None],
) -> None:
    ts = peer_or_skip(peers, "autumn-js")
    async with CaptureServer() as capture:
        sent = {
            "autumn-js (includedGrant)": await _peer_request(ts, capture),
            "autumn_funcs (included_grant)": await _our_request(capture, {"included_grant": 1000}),
            "autumn_funcs (included)": await _our_request(capture, {"included": 1000}),
        }
    print("\n" + _headers_table(sent))
    bodies = {client: request.body for client, request in sent.items()}
    assert set(bodies.values()) == {SEED_EXAMPLE}, bodies
    for request in sent.values():
        _assert_acted_on_headers(request)


async def test_seed_example_from_autumn_sdk_is_the_same_json(
    peers: dict[str, Peer | None],
) -> None:
    py = peer_or_skip(peers, "autumn-sdk")
    async with CaptureServer() as capture:
        sent = {
            "autumn-sdk (included_grant)": await _peer_request(py, capture),
            "autumn_funcs (included_grant)": await _our_request(capture, {"included_grant": 1000}),
        }
    print("\n" + _headers_table(sent))
    theirs, ours = sent.values()
    assert ours.body == SEED_EXAMPLE
    assert json.loads(theirs.body) == json.loads(ours.body), theirs.body
    for request in sent.values():
        _assert_acted_on_headers(request)
