"""Promise 6, server side: LocalAutumn refuses hostile bodies with a clear 4xx.

Raw HTTP from a plain aiohttp client, never the SDK. For every body: an Autumn
error shape with a message, and the state unchanged (read back through
customers.get); never a 5xx, except the 500 invalid_inputs Autumn itself gives a
create that breaks a grant rule. One server per test function, not per example.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autumn_local import LocalAutumn
from tests.resilience.conftest import SECRET

pytestmark = pytest.mark.resilience

CREATE = "/v1/balances.create"
UPDATE = "/v1/balances.update"
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
GOOD_CREATE = {"customer_id": "cus_123", "feature_id": "api_calls", "included_grant": 10}
GOOD_UPDATE = {"customer_id": "cus_123", "feature_id": "api_calls", "add_to_balance": 1}


class Raw:
    def __init__(self, http: aiohttp.ClientSession, server: LocalAutumn) -> None:
        self.http = http
        self.server = server

    async def post(self, path: str, data: bytes, *, json_type: bool = True) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {SECRET}", "x-api-version": "2.1"}
        if json_type:
            headers["Content-Type"] = "application/json"
        payload: Any = io.BytesIO(data) if len(data) > 65536 else data
        async with self.http.post(
            self.server.url + path, data=payload, headers=headers
        ) as response:
            raw = await response.read()
        try:
            return response.status, json.loads(raw)
        except ValueError:
            return response.status, raw

    async def state(self) -> Any:
        status, body = await self.post("/v1/customers.get", b'{"customer_id": "cus_123"}')
        assert status == 200, body
        return body["balances"]

    async def refused(
        self, path: str, data: bytes, *, status: int = 400, mentions: str | None = None
    ) -> str:
        before = await self.state()
        got, body = await self.post(path, data)
        assert got == status, (got, body, data[:200])
        assert isinstance(body, dict) and set(body) == {"message", "code", "env"}, body
        assert body["message"], body
        if mentions is not None:
            assert mentions in body["message"], body["message"]
        assert await self.state() == before
        message: str = body["message"]
        return message


@pytest.fixture
async def raw() -> AsyncIterator[Raw]:
    # Rate limits off: the property tests below send hundreds of creates a second.
    async with (
        LocalAutumn(secret_key=SECRET, rate_limits=False) as server,
        aiohttp.ClientSession() as http,
    ):
        raw = Raw(http, server)
        # One balance to update, so update's refusals are about the body, not a 404.
        assert (await raw.post(CREATE, json.dumps(GOOD_CREATE).encode()))[0] == 200
        yield raw


@pytest.fixture
async def strict_raw() -> AsyncIterator[Raw]:
    async with (
        LocalAutumn(secret_key=SECRET, strict=True) as server,
        aiohttp.ClientSession() as http,
    ):
        yield Raw(http, server)


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


@pytest.mark.parametrize("path", [CREATE, UPDATE])
@pytest.mark.parametrize(
    ("data", "mentions"),
    [
        (b"{", "not valid JSON"),
        (b'{"customer_id": "cus_123",}', "not valid JSON"),
        (b"\xff\xfe{}", "UTF-8"),
        (b"[]", "JSON object"),
        (b'"text"', "JSON object"),
        (b"null", "JSON object"),
        (b"12", "JSON object"),
        (b'{"customer_id": "cus_123", "feature_id": "api_calls", "included_grant": NaN}', "NaN"),
        (
            b'{"customer_id": "cus_123", "feature_id": "api_calls", "included_grant": Infinity}',
            "Infinity",
        ),
        (
            b'{"customer_id": "cus_123", "feature_id": "api_calls", "included_grant": -Infinity}',
            "Infinity",
        ),
        (
            b'{"customer_id": "cus_123", "feature_id": "api_calls", "included_grant": 1e400}',
            "range",
        ),
        (
            b'{"customer_id": "cus_123", "feature_id": "api_calls", "included_grant": 1'
            + b"0" * 5000
            + b"}",
            "not valid JSON",
        ),
        (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "nested"),
        (
            b'{"customer_id": "cus_123", "feature_id": "api_calls", "x": '
            + b"[" * 50
            + b"]" * 50
            + b"}",
            "nested",
        ),
    ],
)
async def test_malformed_bodies_are_refused(
    raw: Raw, path: str, data: bytes, mentions: str
) -> None:
    await raw.refused(path, data, mentions=mentions)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (CREATE, {**GOOD_CREATE, "customer_id": 5}, "customer_id"),
        (CREATE, {**GOOD_CREATE, "included_grant": "10"}, "included"),
        (CREATE, {**GOOD_CREATE, "included_grant": True}, "included"),
        (CREATE, {**GOOD_CREATE, "included_grant": 10**400}, "included"),
        (CREATE, {**GOOD_CREATE, "unlimited": "yes"}, "unlimited"),
        (CREATE, {**GOOD_CREATE, "reset": "month"}, "reset"),
        (CREATE, {**GOOD_CREATE, "reset": {"interval": "fortnight"}}, "reset.interval"),
        (
            CREATE,
            {**GOOD_CREATE, "reset": {"interval": "day", "interval_count": 1e9}},
            "reset.interval_count",
        ),
        (CREATE, {**GOOD_CREATE, "expires_at": 10**20}, "expires_at"),
        (CREATE, {**GOOD_CREATE, "customer_id": "c" * 100_000}, "customer_id"),
        (CREATE, {**GOOD_CREATE, "feature_id": "api\u0000calls"}, "feature_id"),
        (CREATE, {**GOOD_CREATE, "entity_id": None}, "entity_id"),
        (CREATE, {"feature_id": "api_calls", "included_grant": 1}, "customer_id"),
        (UPDATE, {**GOOD_UPDATE, "add_to_balance": "1"}, "add_to_balance"),
        (UPDATE, {**GOOD_UPDATE, "add_to_balance": -(10**400)}, "add_to_balance"),
        (UPDATE, {**GOOD_UPDATE, "interval": 3}, "interval"),
        (UPDATE, {**GOOD_UPDATE, "balance_id": ["b"]}, "balance_id"),
    ],
)
async def test_wrong_types_and_ranges_are_refused_by_field(
    raw: Raw, path: str, body: dict[str, Any], field: str
) -> None:
    await raw.refused(path, dumps(body), mentions=field)


async def test_oversized_body_is_413(raw: Raw) -> None:
    body = dumps({**GOOD_CREATE, "pad": "x" * (2 * 1024 * 1024)})
    await raw.refused(CREATE, body, status=413)


@pytest.mark.parametrize("path", [CREATE, UPDATE])
async def test_unknown_fields_refused_by_a_strict_server(strict_raw: Raw, path: str) -> None:
    good = GOOD_CREATE if path == CREATE else GOOD_UPDATE
    message = await strict_raw.refused(path, dumps({**good, "customerId": "cus_123"}))
    assert "customerId" in message
    nested = {**GOOD_CREATE, "reset": {"interval": "month", "every": 2}}
    assert "reset.every" in await strict_raw.refused(CREATE, dumps(nested))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = [
    "customer_id",
    "feature_id",
    "entity_id",
    "included_grant",
    "unlimited",
    "reset",
    "expires_at",
    "granted_balance",
    "rollover",
    "next_reset_at",
    "balance_id",
    "remaining",
    "add_to_balance",
    "usage",
    "interval",
    "included_grant",
]


@st.composite
def hostile_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A plausible body with some fields replaced by arbitrary JSON."""
    body: dict[str, Any] = dict(draw(st.sampled_from([GOOD_CREATE, GOOD_UPDATE])))
    for name in draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=4)):
        body[name] = draw(json_values)
    if draw(st.booleans()):
        body[draw(st.text(max_size=10))] = draw(json_values)
    return body


@pytest.mark.parametrize("path", [CREATE, UPDATE])
@SETTINGS
@given(body=hostile_bodies())
async def test_arbitrary_bodies_never_break_the_server(
    raw: Raw, path: str, body: dict[str, Any]
) -> None:
    before = await raw.state()
    status, answer = await raw.post(path, json.dumps(body).encode())
    if status == 500:
        # Autumn's own answer to a create that breaks a grant rule, never a crash.
        assert path == CREATE and answer["code"] == "invalid_inputs", (answer, body)
        assert await raw.state() == before
        return
    assert status < 500, (status, answer, body)
    if status != 200:
        assert 400 <= status < 500
        assert isinstance(answer, dict) and answer.get("message"), answer
        # balances.update runs its steps one after another, as Autumn does: when a
        # later one breaks a rule (invalid_request), the earlier ones stay applied.
        # A body the schema refuses (invalid_inputs) changes nothing.
        if not (path == UPDATE and answer.get("code") == "invalid_request"):
            assert await raw.state() == before, (status, answer, body)


async def test_a_client_that_leaves_mid_body_is_not_a_server_error(
    raw: Raw, caplog: pytest.LogCaptureFixture
) -> None:
    """Headers sent, half the body, then gone: nothing applied, nothing logged as a bug."""
    before = await raw.state()
    port = raw.server.port
    for _ in range(3):
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            f"POST {CREATE} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {SECRET}\r\n"
            "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n".encode()
            + b'{"customer_id": "cus_123"'
        )
        await writer.drain()
        writer.close()
        await writer.wait_closed()
    assert await raw.state() == before  # a full round trip: the handlers have run
    errors = [
        r
        for r in caplog.records
        if r.name.startswith("autumn_local") and r.levelno >= logging.ERROR
    ]
    assert errors == [], [r.getMessage() for r in errors]
