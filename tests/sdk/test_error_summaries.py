"""The summary line of an error answer (`error.args[0]`, what `str(error)` starts
with), word for word: what an on-call engineer reads in a log when a proxy, a
redirect or a gateway answered instead of Autumn, or Autumn answered without a code."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from autumn_core import AutumnCore
from autumn_core._errors import MAX_ERROR_BODY_BYTES
from tests.scripted_server import Reply, ScriptedServer, raw_reply
from tests.sdk.conftest import SECRET, error_of

MakeCore = Callable[..., AutumnCore]


def answer(status: int, body: bytes = b"", reason: str | None = None, **headers: str) -> Reply:
    async def reply(_request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, body=body, reason=reason, headers=headers)

    return reply


async def test_a_redirect_says_where_to_and_what_to_set(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    # 300 too: every 3xx is a redirect the SDK does not follow for a write.
    error = await error_of(make_core, scripted, answer(300, Location="https://api.example/v1"))
    assert error.args[0] == (
        "300 Multiple Choices: unexpected redirect to 'https://api.example/v1'; "
        "set server_url to the final address"
    )
    error = await error_of(make_core, scripted, answer(302))
    assert error.args[0] == (
        "302 Found: unexpected redirect to ''; set server_url to the final address"
    )


async def test_a_page_that_is_not_autumns_error_is_quoted_up_to_200_characters(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    page = b"<html>" + b"x" * 300 + b"</html>"
    error = await error_of(make_core, scripted, raw_reply(502, page))
    assert error.args[0] == (
        f"502 Bad Gateway: not an Autumn error (text/html): {page.decode()[:200]!r}"
    )
    assert error.raw_response is not None and error.raw_response.reason == "Bad Gateway"


async def test_an_empty_answer_without_a_type_says_both(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    error = await error_of(make_core, scripted, answer(503))
    assert error.args[0] == (
        "503 Service Unavailable: not an Autumn error (no content type) and an empty body"
    )
    assert error.content_type == ""


async def test_a_message_without_a_code_or_a_reason_phrase_is_still_labelled(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    body = b'{"message": "customer is locked"}'
    error = await error_of(make_core, scripted, answer(423, body, reason=""))
    assert error.args[0] == "423 error: customer is locked"
    assert error.raw_response is not None and error.raw_response.reason == ""


async def test_a_plain_text_429_is_the_message_up_to_200_characters(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    text = "slow down " * 30
    error = await error_of(make_core, scripted, raw_reply(429, text.encode(), "text/plain"))
    assert error.args[0] == f"429 Too Many Requests: {text.strip()[:200]}"


async def test_an_autumn_error_cut_at_the_bound_is_not_read_as_one(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    # Valid JSON up to the bound is no proof: the part cut off is unknown.
    body = b'{"code": "invalid_request", "message": "no"}'
    body += b" " * (MAX_ERROR_BODY_BYTES + 10 - len(body))
    error = await error_of(make_core, scripted, raw_reply(400, body, "application/json"))
    assert (error.code, error.body_truncated) == (None, True)
    assert error.args[0].startswith("400 Bad Request: not an Autumn error (application/json)")


async def test_a_content_type_echoing_the_key_is_scrubbed(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    reply = answer(502, b"", **{"Content-Type": f"text/plain; echo={SECRET}"})
    error = await error_of(make_core, scripted, reply)
    assert SECRET not in error.content_type
    assert SECRET not in str(error)


async def test_a_code_without_a_message_is_the_code(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    error = await error_of(make_core, scripted, answer(400, b'{"code": "invalid_inputs"}'))
    assert error.args[0] == "400 invalid_inputs: "


async def test_an_answer_that_does_not_decode_keeps_its_summary_and_says_why(
    make_core: MakeCore, scripted: ScriptedServer
) -> None:
    reply = answer(502, b"{}", **{"Content-Type": "text/html", "Content-Encoding": "br"})
    error = await error_of(make_core, scripted, reply)
    assert error.args[0].startswith(
        "502 Bad Gateway: not an Autumn error (text/html) and an empty body [body not read: "
    )
