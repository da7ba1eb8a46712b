"""A resend that settles nothing cannot erase the doubt an earlier call left.

The first call's answer is lost after the change committed (`unknown`); the
caller resends with the same key, as `str(error)` advises, through a proxy that
answers 503 without forwarding (and 502 when the origin drops the connection).
The resend learned nothing: its error must still say `unknown`, with the
advice to resend, never `no`. Once a resend settles the key (Ok, or 409
`already`), the doubt is gone.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from autumn_core import Applied, AutumnCore
from autumn_funcs import balances_create, balances_update
from autumn_local import LocalAutumn
from tests.resilience.conftest import NO_RETRIES, SECRET, fast_retries

pytestmark = pytest.mark.resilience

PARAMS = {"customer_id": "cus_123", "feature_id": "api_calls", "included_grant": 100}


class Proxy:
    """Forwards to the server, or answers 503 (a load balancer's page) while `down`."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.down = False
        self.forwarded = 0

    async def handle(self, request: web.Request) -> web.Response:
        if self.down:
            return web.Response(status=503, text="<html>503 Service Unavailable</html>")
        self.forwarded += 1
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        try:
            async with (
                aiohttp.ClientSession() as http,
                http.post(
                    self.target + request.path, data=await request.read(), headers=headers
                ) as r,
            ):
                body = await r.read()
                return web.Response(status=r.status, body=body, content_type=r.content_type)
        except aiohttp.ClientError:  # the origin dropped the connection: a gateway's 502
            return web.Response(status=502, text="<html>502 Bad Gateway</html>")


@contextlib.asynccontextmanager
async def serving(proxy: Proxy) -> AsyncIterator[str]:
    """The proxy on 127.0.0.1; yields its URL."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", proxy.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def proxy(server: LocalAutumn) -> AsyncIterator[tuple[Proxy, str]]:
    gateway = Proxy(server.url)
    async with serving(gateway) as url:
        yield gateway, url


async def test_a_resend_refused_by_a_proxy_keeps_the_first_calls_doubt(
    server: LocalAutumn, proxy: tuple[Proxy, str]
) -> None:
    gateway, url = proxy
    async with AutumnCore(SECRET, server_url=url, retry_config=NO_RETRIES) as core:
        server.faults.inject_next("lost-response")
        first = await balances_create(core, PARAMS)
        assert not first.ok and first.error.applied is Applied.UNKNOWN
        key = first.error.idempotency_key
        gateway.down = True
        resent = await balances_create(core, PARAMS, {"idempotency_key": key})
        assert not resent.ok
        assert resent.error.applied is Applied.UNKNOWN, resent.error
        assert resent.error.may_be_partial is False  # a create applies whole or not at all
        assert f'"idempotency_key": "{key}"' in str(resent.error)
        gateway.down = False
        settled = await balances_create(
            core, PARAMS, {"idempotency_key": key, "retries": fast_retries()}
        )
        assert not settled.ok and settled.error.applied is Applied.ALREADY
        # Settled: a later refusal with that key says what this call knows.
        gateway.down = True
        again = await balances_create(core, PARAMS, {"idempotency_key": key})
        assert not again.ok and again.error.applied is Applied.NO
    assert gateway.forwarded == 2


async def test_a_settling_success_forgets_the_doubt(
    server: LocalAutumn, proxy: tuple[Proxy, str]
) -> None:
    gateway, url = proxy
    async with AutumnCore(SECRET, server_url=url, retry_config=NO_RETRIES) as core:
        gateway.down = True
        first = await balances_create(core, PARAMS)
        assert not first.ok and first.error.applied is Applied.NO
        gateway.down = False
        key = first.error.idempotency_key
        assert (await balances_create(core, PARAMS, {"idempotency_key": key})).ok


async def test_a_doubt_belongs_to_its_key_and_a_success_under_it_settles_it(
    server: LocalAutumn, proxy: tuple[Proxy, str]
) -> None:
    gateway, url = proxy
    async with AutumnCore(SECRET, server_url=url, retry_config=NO_RETRIES) as core:
        server.faults.inject_next("reset")  # closed before it was handled: nothing applied
        first = await balances_create(core, PARAMS)
        assert not first.ok and first.error.applied is Applied.UNKNOWN
        key = first.error.idempotency_key
        gateway.down = True
        other = await balances_create(core, PARAMS, {"idempotency_key": "another-grant"})
        assert not other.ok and other.error.applied is Applied.NO  # not the first key's doubt
        gateway.down = False
        assert (await balances_create(core, PARAMS, {"idempotency_key": key})).ok
        gateway.down = True
        again = await balances_create(core, PARAMS, {"idempotency_key": key})
        assert not again.ok and again.error.applied is Applied.NO  # settled by the success


async def test_a_resend_refused_by_a_proxy_keeps_an_updates_partial_doubt(
    server: LocalAutumn, proxy: tuple[Proxy, str]
) -> None:
    gateway, url = proxy
    steps = {"customer_id": "cus_123", "feature_id": "api_calls", "add_to_balance": 5, "usage": 2}
    async with AutumnCore(SECRET, server_url=url, retry_config=NO_RETRIES) as core:
        assert (await balances_create(core, PARAMS)).ok
        server.faults.inject_next("lost-response")
        first = await balances_update(core, steps)
        assert not first.ok and first.error.may_be_partial
        gateway.down = True
        key = first.error.idempotency_key
        resent = await balances_update(core, steps, {"idempotency_key": key})
    assert not resent.ok
    assert (resent.error.applied, resent.error.may_be_partial) == (Applied.UNKNOWN, True)
    assert "Some of the update's steps may have been applied" in str(resent.error)
