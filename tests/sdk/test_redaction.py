"""Where a server echoes the secret key, the error shows `[redacted]` in its place: in
the body, the message, a header's value and a header's name."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from autumn_core import AutumnCore
from tests.scripted_server import Reply, ScriptedServer
from tests.sdk.conftest import SECRET, error_of

MakeCore = Callable[..., AutumnCore]


def echoing(status: int) -> Reply:
    async def reply(_request: web.Request) -> web.StreamResponse:
        body = f'{{"code": "unauthorized", "message": "bad key {SECRET}"}}'
        headers = {"X-Echo": f"key={SECRET}", f"X-{SECRET}": "1"}
        return web.Response(
            status=status, text=body, content_type="application/json", headers=headers
        )

    return reply


async def test_the_key_a_server_echoes_is_redacted_in_the_error(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    error = await error_of(make_core, scripted, echoing(401))
    assert error.message == "bad key [redacted]"
    assert error.body == '{"code": "unauthorized", "message": "bad key [redacted]"}'
    assert error.headers["X-Echo"] == "key=[redacted]"
    assert error.headers["X-[redacted]"] == "1"
    assert SECRET not in str(error) and SECRET not in repr(error.headers)
