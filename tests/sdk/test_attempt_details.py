"""What one attempt tells those who watch it: the debug line's status and elapsed time,
the after_success hooks of a 204 answer, and the reason a 2xx answer without a
content type gives when it cannot be read."""

from __future__ import annotations

import logging
from collections.abc import Callable

import aiohttp
import pytest

import autumn_core._attempt
from autumn_core import AutumnCore, HookContext, Hooks, ResponseValidationError, RetryConfig
from autumn_funcs import balances_create, balances_track
from tests.resilience.hostile import RawServer
from tests.scripted_server import ScriptedServer, raw_reply
from tests.sdk.conftest import CREATE_EXAMPLE, SECRET, autumn_lines

MakeCore = Callable[..., AutumnCore]
NO_RETRIES = RetryConfig(max_retries=0)
TRACK = {"customer_id": "cus_123", "feature_id": "messages"}


async def test_a_204_answer_is_logged_with_its_status_and_reaches_after_success(
    make_core: MakeCore, scripted: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    # An older server answers an async track with 204 and no body: a success like any other.
    seen: list[int] = []

    def after_success(_context: HookContext, response: aiohttp.ClientResponse) -> None:
        seen.append(response.status)

    scripted.then(raw_reply(204, b"", "application/json"))
    core = make_core(hooks=Hooks(after_success=[after_success]), retry_config=NO_RETRIES)
    with caplog.at_level(logging.DEBUG, logger="autumn"):
        res = await balances_track(core, TRACK)

    assert res.ok, res
    assert seen == [204]
    (line,) = autumn_lines(caplog, logging.DEBUG)
    assert line.startswith(f"POST {scripted.url}/v1/balances.track -> 204 (track, attempt 1, ")


class _Clock:
    """Stands in for the `time` module of the attempt: readings given in advance."""

    def __init__(self, *readings: float) -> None:
        self._readings = list(readings)

    def perf_counter(self) -> float:
        return self._readings.pop(0)


async def test_the_debug_line_gives_the_attempts_time_in_milliseconds(
    make_core: MakeCore,
    scripted: ScriptedServer,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Read when the attempt starts and when it ends: 250 ms apart.
    monkeypatch.setattr(autumn_core._attempt, "time", _Clock(1000.0, 1000.25))
    with caplog.at_level(logging.DEBUG, logger="autumn"):
        res = await balances_create(make_core(retry_config=NO_RETRIES), CREATE_EXAMPLE)

    assert res.ok, res
    (line,) = autumn_lines(caplog, logging.DEBUG)
    assert (
        line
        == f"POST {scripted.url}/v1/balances.create -> 200 (createBalance, attempt 1, 250.0 ms)"
    )


async def test_a_2xx_without_a_content_type_that_is_no_json_says_so() -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n<html>"
    async with (
        RawServer(answer) as raw,
        AutumnCore(SECRET, server_url=raw.url, retry_config=NO_RETRIES) as core,
    ):
        res = await balances_create(core, CREATE_EXAMPLE)

    assert isinstance(res.error, ResponseValidationError)
    assert res.error.args[0] == (
        "200 answer does not fit the response model: "
        "not valid JSON (no content type): Expecting value: line 1 column 1 (char 0)"
    )
