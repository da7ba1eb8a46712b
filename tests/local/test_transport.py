"""Routing, authentication, x-api-version and body handling."""

from __future__ import annotations

import pytest

from tests.local.conftest import MONTHLY, Api

CREATE = "/v1/balances.create"
ENDPOINTS = [
    "/v1/balances.create",
    "/v1/balances.update",
    "/v1/customers.get_or_create",
    "/v1/customers.get",
    "/v1/entities.get",
    "/v1/features.create",
    "/v1/features.list",
    "/v1/balances.check",
    "/v1/balances.track",
    "/v1/balances.delete",
    "/v1/balances.finalize",
    "/v1/balances.batch_track",
    "/v1/balances.track_tokens",
    "/v1/balances.batch_track_tokens",
]


async def test_create_example_succeeds(api: Api) -> None:
    reply = await api.create(**MONTHLY)
    assert reply.body == {"success": True}
    assert reply.headers["Content-Type"].startswith("application/json")


async def test_unknown_path_is_json_404(api: Api) -> None:
    (await api.post("/v1/balances.delete_everything", {})).error(404, "not_found")
    (await api.post("/", {})).error(404, "not_found")


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
async def test_wrong_method_is_json_405(api: Api, method: str) -> None:
    reply = (await api.post(CREATE, method=method)).error(405, "method_not_allowed")
    assert reply.headers["Allow"] == "POST"


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_every_endpoint_requires_a_key(api: Api, path: str) -> None:
    (await api.post(path, {}, key=None)).error(401, "no_secret_key")
    (await api.post(path, {}, key="sk_live_nope")).error(401, "invalid_request")
    (await api.post(path, {}, key="am_sk_test_wrong")).error(401, "invalid_secret_key")
    (await api.post(path, {}, key=api.server.secret_key + "x")).error(401, "invalid_secret_key")


async def test_auth_header_shapes(api: Api) -> None:
    (await api.post(CREATE, MONTHLY, key=None, headers={"Authorization": "Basic abc"})).error(
        401, "no_secret_key"
    )
    (await api.post(CREATE, MONTHLY, key=None, headers={"Authorization": "Bearer "})).error(
        401, "no_secret_key"
    )
    ok = await api.post(
        CREATE, MONTHLY, key=None, headers={"Authorization": f"bearer {api.server.secret_key}"}
    )
    ok.ok()


async def test_live_key_errors_report_live_env(api: Api) -> None:
    reply = await api.post(CREATE, MONTHLY, key="am_sk_live_unknown")
    reply.error(401, "invalid_secret_key")
    assert reply.body["env"] == "live"
    assert (await api.post(CREATE, MONTHLY, key=None)).body["env"] == "sandbox"


@pytest.mark.parametrize(
    "version",
    [
        "2.1",
        "2.1.0",
        "2026-03-17",
        "2.0",
        "2026-03-16",
        "2.2",
        "2026-03-18",
        "2.3.0",
        "2026-05-13.clover",
        "2.4",  # Autumn's TypeScript SDK default
        "2.4.0",
        "2.5.0",  # Autumn's Python SDK default
        "1.2",
        "1.2.0",
        "2025-05-05",
        "1.1",
        "1",
        "beta",
        "2",  # read as 2.0.0, as Autumn does
        "2.1.0.7",  # parts after the third are ignored
        "1.2abc",  # a legacy float prefix, as JavaScript's parseFloat reads it
        "",  # empty counts as absent
    ],
)
async def test_accepted_api_versions(api: Api, version: str) -> None:
    (await api.post(CREATE, MONTHLY, headers={"x-api-version": version})).ok()


async def test_absent_api_version_means_default(api: Api) -> None:
    reply = await api.http.post(
        api.server.url + CREATE,
        json=MONTHLY,
        headers={"Authorization": f"Bearer {api.server.secret_key}"},
    )
    async with reply:
        assert reply.status == 200


@pytest.mark.parametrize(
    "version",
    ["latest", "v2.1", "2.6", "2.4.1", "3", "0", "2026-03-19", "2025-13-01", "02.1", "x" * 500],
)
async def test_unknown_api_versions_are_400(api: Api, version: str) -> None:
    reply = await api.post(CREATE, MONTHLY, headers={"x-api-version": version})
    reply.error(400, "invalid_api_version")
    shown = version if len(version) <= 100 else version[:97] + "..."
    assert reply.body["message"].startswith(f'"{shown}" is not a valid API version')


@pytest.mark.parametrize(
    ("data", "mentions"),
    [
        (b"[1, 2]", "object"),
        (b'"text"', "object"),
        (b"null", "object"),
        (b"{", "JSON"),
        (b"<html>proxy</html>", "JSON"),
        (b'{"customer_id": NaN}', "JSON"),
        (b'{"included_grant": Infinity}', "JSON"),
        (b'{"included_grant": -Infinity}', "JSON"),
        (b'{"included_grant": 1e999}', "JSON"),
        (b'{"customer_id": "\xff\xfe"}', "UTF-8"),
        (b'{"x": ' + b"[" * 10_000 + b"]" * 10_000 + b"}", "nested"),
        (b'{"x": ' + b'{"a":' * 20 + b"1" + b"}" * 20 + b"}", "nested"),
        (b'{"included_grant": 1' + b"0" * 5000 + b"}", "JSON"),
    ],
)
async def test_hostile_bodies_are_refused_clearly(api: Api, data: bytes, mentions: str) -> None:
    (await api.post(CREATE, data=data)).error(400, "invalid_inputs", mentions=mentions)


async def test_empty_body_names_the_missing_field(api: Api) -> None:
    (await api.post(CREATE, data=b"")).error(400, "invalid_inputs", mentions="customer_id")


async def test_body_over_one_mebibyte_is_413(api: Api) -> None:
    big = b'{"customer_id": "' + b"a" * (1024 * 1024) + b'"}'
    (await api.post(CREATE, data=big)).error(413, "payload_too_large")


async def test_body_just_under_the_limit_is_read(api: Api) -> None:
    padding = 1024 * 1024 - 200
    data = b'{"pad": "' + b"a" * padding + b'", "customer_id": "cus_123"}'
    (await api.post(CREATE, data=data)).error(400, "invalid_inputs", mentions="feature_id")


async def test_chunked_body_over_limit_is_413(api: Api) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b"a" * 65536

    async with api.http.post(
        api.server.url + CREATE,
        data=chunks(),
        headers={"Authorization": f"Bearer {api.server.secret_key}"},
    ) as resp:
        assert resp.status == 413
        assert (await resp.json())["code"] == "payload_too_large"


async def test_auth_is_checked_before_the_body(api: Api) -> None:
    (await api.post(CREATE, data=b"garbage", key=None)).error(401, "no_secret_key")
