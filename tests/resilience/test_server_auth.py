"""Promise 8: LocalAutumn refuses every request without a valid key, on every endpoint.

The behaviour is the 401s (no key, wrong prefix, unknown key, near misses) and
that a refused write changes nothing; and that keys are compared in constant
time: every accepted key, with hmac.compare_digest, on every request.
"""

from __future__ import annotations

import hmac
from typing import Any

import aiohttp
import pytest

from autumn_core import AutumnCore, AutumnDefaultError
from autumn_funcs import balances_create
from autumn_local import LocalAutumn
from autumn_local.http import auth
from tests.resilience.conftest import SECRET, assert_typed

pytestmark = pytest.mark.resilience

ENDPOINTS = {
    "/v1/balances.create": {
        "customer_id": "cus_123",
        "feature_id": "api_calls",
        "included_grant": 5,
    },
    "/v1/balances.update": {
        "customer_id": "cus_123",
        "feature_id": "api_calls",
        "add_to_balance": 5,
    },
    "/v1/customers.get_or_create": {"customer_id": "cus_new"},
    "/v1/customers.get": {"customer_id": "cus_123"},
    "/v1/entities.get": {"customer_id": "cus_123", "entity_id": "ent_1"},
    "/v1/features.create": {"id": "new_feature", "type": "metered"},
    "/v1/features.list": {},
    "/v1/balances.check": {"customer_id": "cus_123", "feature_id": "api_calls"},
    "/v1/balances.track": {"customer_id": "cus_123", "feature_id": "api_calls", "value": 5},
    "/v1/balances.delete": {"customer_id": "cus_123"},
    "/v1/balances.finalize": {"lock_id": "l1", "action": "release"},
    "/v1/balances.batch_track": [{"customer_id": "cus_123", "feature_id": "api_calls"}],
    "/v1/balances.track_tokens": {
        "customer_id": "cus_123",
        "model_id": "openai/gpt-4o",
        "input_tokens": 1,
        "output_tokens": 1,
    },
    "/v1/balances.batch_track_tokens": [
        {
            "customer_id": "cus_123",
            "model_id": "openai/gpt-4o",
            "input_tokens": 1,
            "output_tokens": 1,
        }
    ],
}
# (Authorization header or None, expected code)
REFUSED: list[tuple[str | None, str]] = [
    (None, "no_secret_key"),
    ("", "no_secret_key"),
    ("Bearer", "no_secret_key"),
    ("Bearer    ", "no_secret_key"),
    (f"Basic {SECRET}", "no_secret_key"),
    (SECRET, "no_secret_key"),  # no scheme
    ("Bearer sk_live_abc", "invalid_request"),
    ("Bearer am_sk", "invalid_request"),
    ("Bearer AM_SK_TEST_X", "invalid_request"),
    (f"Bearer x{SECRET}", "invalid_request"),
    ("Bearer am_sk_test_unknown", "invalid_secret_key"),
    ("Bearer am_sk_", "invalid_secret_key"),
    (f"Bearer {SECRET[:-1]}", "invalid_secret_key"),  # a prefix of the key
    (f"Bearer {SECRET}x", "invalid_secret_key"),  # the key and more
    (f"Bearer {SECRET[:-1]}{chr(ord(SECRET[-1]) + 1)}", "invalid_secret_key"),  # last char off
    (f"Bearer {SECRET.upper()}", "invalid_request"),
    (f"Bearer am_sk_live_{SECRET[11:]}", "invalid_secret_key"),  # same secret, other env
    ("Bearer am_sk_test_" + "a" * 4000, "invalid_secret_key"),
]


async def post(
    http: aiohttp.ClientSession,
    server: LocalAutumn,
    path: str,
    authorization: str | None,
    body: Any,
) -> tuple[int, Any]:
    headers = {"x-api-version": "2.1"}
    if authorization is not None:
        headers["Authorization"] = authorization
    async with http.post(server.url + path, json=body, headers=headers) as response:
        return response.status, await response.json()


async def snapshot(http: aiohttp.ClientSession, server: LocalAutumn) -> Any:
    good = f"Bearer {SECRET}"
    status, customer = await post(
        http, server, "/v1/customers.get", good, {"customer_id": "cus_123"}
    )
    assert status == 200
    _, features = await post(http, server, "/v1/features.list", good, {})
    _, other = await post(http, server, "/v1/customers.get", good, {"customer_id": "cus_new"})
    return customer, features, other


@pytest.mark.parametrize("path", sorted(ENDPOINTS))
async def test_every_endpoint_refuses_without_a_valid_key(server: LocalAutumn, path: str) -> None:
    async with aiohttp.ClientSession() as http:
        before = await snapshot(http, server)
        for authorization, code in REFUSED:
            status, body = await post(http, server, path, authorization, ENDPOINTS[path])
            assert status == 401, (authorization, body)
            assert body["code"] == code, (authorization, body)
            assert body["message"] and body["env"] in ("sandbox", "live")
            assert SECRET not in body["message"]
        assert await snapshot(http, server) == before
        status, _ = await post(http, server, path, f"Bearer {SECRET}", ENDPOINTS[path])
        assert status != 401  # the right key gets through


async def test_the_sdk_reports_a_wrong_key_as_a_typed_401(server: LocalAutumn) -> None:
    params = ENDPOINTS["/v1/balances.create"]
    for key, code in [("am_sk_test_nope", "invalid_secret_key"), ("sk_test_x", "invalid_request")]:
        async with AutumnCore(key, server_url=server.url) as core:
            res = await balances_create(core, params)
        assert_typed(res.error, AutumnDefaultError, status=401, code=code, attempts=1)


async def test_faults_come_before_auth_but_never_let_a_request_through(
    server: LocalAutumn,
) -> None:
    server.set_faults("503=0.3,500=0.2,lost-response=0.2,retry-after=0,seed=5")
    async with aiohttp.ClientSession() as http:
        for _ in range(60):
            try:
                status, body = await post(
                    http,
                    server,
                    "/v1/balances.create",
                    "Bearer am_sk_test_wrong",
                    ENDPOINTS["/v1/balances.create"],
                )
            except aiohttp.ClientError:
                continue  # a lost answer: the request was refused all the same
            assert status in (401, 500, 503), body
        server.set_faults(None)
        customer = await snapshot(http, server)
    assert "api_calls" not in customer[0]["balances"]


async def test_keys_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Observed through HTTP: every request compares the presented key with every
    accepted key through hmac.compare_digest (no early exit after a match, no ==),
    and what compare_digest answers is what decides."""
    compared: list[tuple[bytes, bytes]] = []

    def recording(presented: bytes, key: bytes) -> bool:
        compared.append((presented, key))
        return hmac.compare_digest(presented, key)

    monkeypatch.setattr(auth, "compare_digest", recording)
    keys = [SECRET, "am_sk_test_second", "am_sk_live_third"]
    config = {"secret_keys": keys[1:]}
    body = ENDPOINTS["/v1/customers.get"]
    async with (
        LocalAutumn(secret_key=SECRET, config=config) as server,
        aiohttp.ClientSession() as http,
    ):
        for token, accepted in [
            (SECRET, True),  # the first key: an early exit would stop here
            (keys[2], True),
            ("am_sk_test_wrong", False),
            (SECRET[:-1], False),
        ]:
            compared.clear()
            status, _ = await post(http, server, "/v1/customers.get", f"Bearer {token}", body)
            assert (status == 200) is accepted, (token, status)
            assert sorted(key for _, key in compared) == sorted(k.encode() for k in keys)
            assert {presented for presented, _ in compared} == {token.encode()}

        monkeypatch.setattr(auth, "compare_digest", lambda presented, key: False)
        status, _ = await post(http, server, "/v1/customers.get", f"Bearer {SECRET}", body)
        assert status == 401
        monkeypatch.setattr(auth, "compare_digest", lambda presented, key: True)
        status, _ = await post(
            http, server, "/v1/customers.get", "Bearer am_sk_test_anything", body
        )
        assert status == 200
