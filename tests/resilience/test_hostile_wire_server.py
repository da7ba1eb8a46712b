"""LocalAutumn against hostile bytes on a raw socket: body, headers and query.

No HTTP library on the client side, so nothing is normalised away: the
bytes sent are exactly the ones drawn. Whatever arrives, the answer is a
clear 4xx (or the 500 invalid_inputs Autumn itself gives a create that
breaks a grant rule), never an internal error; the server logs no error;
and a refused request changes nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autumn_local import LocalAutumn
from tests.resilience.conftest import SECRET

pytestmark = pytest.mark.resilience

PATHS = [
    "/v1/balances.create",
    "/v1/balances.update",
    "/v1/customers.get",
    "/v1/customers.get_or_create",
    "/v1/entities.get",
    "/v1/features.create",
    "/v1/features.list",
]
GOOD = {
    "/v1/balances.create": {
        "customer_id": "cus_123",
        "feature_id": "api_calls",
        "included_grant": 5,
    },
    "/v1/balances.update": {
        "customer_id": "cus_123",
        "feature_id": "api_calls",
        "add_to_balance": 1,
    },
    "/v1/customers.get": {"customer_id": "cus_123"},
    "/v1/customers.get_or_create": {"customer_id": "cus_new", "name": "New"},
    "/v1/entities.get": {"customer_id": "cus_123", "entity_id": "seat_1"},
    "/v1/features.create": {"id": "credits", "type": "metered"},
    "/v1/features.list": {},
}
HUGE_INT = int("9" * 320)


@dataclass
class Answer:
    status: int
    body: Any
    raw: bytes


def request_bytes(
    path: str,
    body: bytes,
    *,
    query: bytes = b"",
    headers: dict[bytes, bytes] | None = None,
    method: bytes = b"POST",
) -> bytes:
    sent = {
        b"Host": b"127.0.0.1",
        b"Authorization": f"Bearer {SECRET}".encode(),
        b"x-api-version": b"2.1",
        b"Content-Type": b"application/json",
        b"Connection": b"close",
        **(headers or {}),
        b"Content-Length": str(len(body)).encode(),
    }
    head = method + b" " + path.encode() + (b"?" + query if query else b"") + b" HTTP/1.1\r\n"
    head += b"".join(name + b": " + value + b"\r\n" for name, value in sent.items())
    return head + b"\r\n" + body


async def exchange(port: int, data: bytes) -> Answer:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, payload = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    try:
        body: Any = json.loads(payload)
    except ValueError:
        body = payload
    return Answer(status, body, raw)


class Wire:
    def __init__(self, server: LocalAutumn) -> None:
        self.server = server

    async def state(self) -> Any:
        """The customer, its entity and the features, read over the wire."""
        reads = [
            ("/v1/customers.get", {"customer_id": "cus_123"}),
            ("/v1/entities.get", {"customer_id": "cus_123", "entity_id": "seat_1"}),
            ("/v1/features.list", {}),
        ]
        answers = [await self.send(request_bytes(p, json.dumps(b).encode())) for p, b in reads]
        assert [a.status for a in answers] == [200, 200, 200], answers
        return [a.body for a in answers]

    async def send(self, data: bytes) -> Answer:
        return await exchange(self.server.port, data)

    async def refused(self, data: bytes, *, mentions: str, status: int = 400) -> Answer:
        before = await self.state()
        answer = await self.send(data)
        assert answer.status == status, answer.raw[-400:]
        assert isinstance(answer.body, dict), answer.raw[-400:]
        assert set(answer.body) == {"message", "code", "env"}, answer.body
        assert mentions in answer.body["message"], answer.body
        answer.body["message"].encode("utf-8")  # printable by any client
        assert await self.state() == before
        return answer


@pytest.fixture
async def wire() -> AsyncIterator[Wire]:
    config = {"entities": [{"id": "seat_1", "customer_id": "cus_123"}]}
    async with LocalAutumn(secret_key=SECRET, rate_limits=False, config=config) as server:
        yield Wire(server)


@pytest.fixture(autouse=True)
def no_server_errors_logged(caplog: pytest.LogCaptureFixture) -> Any:
    yield
    errors = [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name.startswith(("autumn_local", "aiohttp", "asyncio"))
    ]
    assert errors == []


def body_with(path: str, **fields: Any) -> bytes:
    return json.dumps({**GOOD[path], **fields}).encode()


@pytest.mark.parametrize(
    ("path", "data", "mentions"),
    [
        # An integer of 320 digits in each kind of numeric field.
        (
            "/v1/balances.create",
            body_with("/v1/balances.create", included_grant=HUGE_INT),
            "included_grant",
        ),
        (
            "/v1/balances.create",
            body_with("/v1/balances.create", granted_balance=-HUGE_INT),
            "granted_balance",
        ),
        (
            "/v1/balances.create",
            body_with("/v1/balances.create", expires_at=HUGE_INT),
            "expires_at",
        ),
        (
            "/v1/balances.create",
            body_with(
                "/v1/balances.create", reset={"interval": "month", "interval_count": HUGE_INT}
            ),
            "reset.interval_count",
        ),
        (
            "/v1/balances.update",
            body_with("/v1/balances.update", add_to_balance=HUGE_INT),
            "add_to_balance",
        ),
        ("/v1/balances.update", body_with("/v1/balances.update", remaining=HUGE_INT), "remaining"),
        ("/v1/balances.update", body_with("/v1/balances.update", usage=HUGE_INT), "usage"),
        (
            "/v1/balances.update",
            body_with("/v1/balances.update", next_reset_at=HUGE_INT),
            "next_reset_at",
        ),
        # A lone surrogate (JSON "\ud800") in ids, names and field names.
        ("/v1/customers.get", body_with("/v1/customers.get", customer_id="\ud800"), "customer_id"),
        (
            "/v1/customers.get_or_create",
            body_with("/v1/customers.get_or_create", customer_id="c\udfff"),
            "customer_id",
        ),
        (
            "/v1/customers.get_or_create",
            body_with("/v1/customers.get_or_create", name="\ud800"),
            "name",
        ),
        (
            "/v1/customers.get_or_create",
            body_with("/v1/customers.get_or_create", email="a\udc00@b"),
            "email",
        ),
        ("/v1/entities.get", body_with("/v1/entities.get", entity_id="\ud800"), "entity_id"),
        (
            "/v1/balances.create",
            body_with("/v1/balances.create", feature_id="\ud800"),
            "feature_id",
        ),
        (
            "/v1/balances.create",
            body_with("/v1/balances.create", balance_id="b\ud800"),
            "balance_id",
        ),
        ("/v1/balances.create", body_with("/v1/balances.create", entity_id="\ud800"), "entity_id"),
        ("/v1/balances.update", body_with("/v1/balances.update", interval="\ud800"), "interval"),
        ("/v1/features.create", body_with("/v1/features.create", id="f\ud800"), "id"),
        (
            "/v1/features.create",
            body_with("/v1/features.create", event_names=["\ud800"]),
            "event_names[0]",
        ),
        ("/v1/balances.create", body_with("/v1/balances.create", **{"\ud800": 1}), "field name"),
        (
            "/v1/balances.create",
            body_with("/v1/balances.create", reset={"interval": "month", "x": "\ud800"}),
            "reset.x",
        ),
    ],
)
async def test_hostile_values_are_refused_by_field(
    wire: Wire, path: str, data: bytes, mentions: str
) -> None:
    await wire.refused(request_bytes(path, data), mentions=mentions)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("key", [b"\xff\xfe", b"ok\xc3", b"\xed\xa0\x80", b"\x80" * 40])
async def test_an_idempotency_key_that_is_not_utf8_is_refused(
    wire: Wire, path: str, key: bytes
) -> None:
    data = request_bytes(path, json.dumps(GOOD[path]).encode(), headers={b"Idempotency-Key": key})
    answer = await wire.refused(data, mentions="Idempotency-Key")
    assert answer.body["code"] == "invalid_request"
    assert key[:2].hex(" ") in answer.body["message"]
    # Nothing was claimed: the same request with a usable key is applied.
    if path == "/v1/balances.update":
        ok = await wire.send(
            request_bytes(path, json.dumps(GOOD[path]).encode(), headers={b"Idempotency-Key": b"k"})
        )
        assert ok.status == 200


async def test_a_body_that_is_not_the_encoding_it_claims_is_refused(wire: Wire) -> None:
    path = "/v1/balances.update"
    data = request_bytes(path, b"not gzip at all", headers={b"Content-Encoding": b"gzip"})
    await wire.refused(data, mentions="gzip")


async def test_header_bytes_that_are_not_utf8_are_echoed_printably(wire: Wire) -> None:
    data = request_bytes("/v1/customers.get", b"{}", headers={b"x-api-version": b"\xff\xfe"})
    answer = await wire.refused(data, mentions="not a valid API version")
    assert "\\udcff" in answer.body["message"]


# -- the property: anything at all -----------------------------------------------------

header_bytes = st.binary(max_size=40).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))
hostile_strings = st.text(max_size=12) | st.sampled_from(["\ud800", "a\udfff", "\x00", "é" * 300])
hostile_numbers = st.integers() | st.sampled_from([HUGE_INT, -HUGE_INT, 2**53, 2**63, 10**400])
json_values = st.recursive(
    st.none() | st.booleans() | hostile_numbers | st.floats(allow_nan=False) | hostile_strings,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile_strings, inner, max_size=3),
    max_leaves=8,
)


@st.composite
def hostile_requests(draw: st.DrawFn) -> tuple[str, bytes]:
    path = draw(st.sampled_from(PATHS))
    body_kind = draw(st.sampled_from(["fields", "bytes", "good"]))
    if body_kind == "bytes":
        body = draw(st.binary(max_size=200))
    else:
        fields = dict(GOOD[path])
        if body_kind == "fields":
            names = [*fields, "entity_id", "reset", "expires_at", "balance_id", "name"]
            for name in draw(st.lists(st.sampled_from(names) | hostile_strings, max_size=3)):
                fields[name] = draw(json_values)
        body = json.dumps(fields).encode()  # ensure_ascii: surrogates as \\udxxx escapes
    headers: dict[bytes, bytes] = {}
    for name in draw(
        st.lists(
            st.sampled_from(
                [b"Idempotency-Key", b"x-api-version", b"Authorization", b"Content-Encoding"]
            ),
            max_size=3,
            unique=True,
        )
    ):
        headers[name] = draw(header_bytes)
    query = draw(
        st.sampled_from([b"", b"a=1", b"x=%ff%fe", b"%ED%A0%80=%00", b"customer_id=cus_9"])
    )
    method = draw(st.sampled_from([b"POST", b"POST", b"GET", b"PUT", b"DELETE"]))
    sent_path = draw(st.sampled_from([path, path, path + "/", "/v1/%ff%fe", "//v1/x", "/v1/a.b"]))
    return sent_path, request_bytes(sent_path, body, query=query, headers=headers, method=method)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(request=hostile_requests())
async def test_no_bytes_make_the_server_fail(wire: Wire, request: tuple[str, bytes]) -> None:
    path, data = request
    before = await wire.state()
    answer = await wire.send(data)
    if answer.status >= 500:
        # Autumn's own answer to a create that breaks a grant rule; never a crash.
        assert answer.status == 500, answer.raw[-300:]
        assert path == "/v1/balances.create", answer.raw[-300:]
        assert answer.body["code"] == "invalid_inputs", answer.body
    if isinstance(answer.body, dict) and "code" in answer.body:
        assert answer.body["code"] != "internal_error", answer.body
        answer.body["message"].encode("utf-8")
    if answer.status >= 400:
        assert await wire.state() == before
