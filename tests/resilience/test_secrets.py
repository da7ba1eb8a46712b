"""Promise 7: the secret key shows nowhere, and TLS certificates are verified by default.

The autouse fixture in conftest.py already checks every log record of every
test in this suite at DEBUG; here a server echoes the key back in every place
an answer has, and each resulting error is checked through str, repr and the
traceback text of the facade's raised exception.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import ssl
import threading
import traceback
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
import trustme

from autumn_core import (
    APIConnectionError,
    Applied,
    AutumnCore,
    AutumnSDKError,
    Hooks,
    PreparedRequest,
    RetryConfig,
    SDKValidationError,
    UnexpectedClientError,
)
from autumn_funcs import Autumn, balances_create
from autumn_local import LocalAutumn
from tests.resilience.conftest import (
    NO_RETRIES,
    SECRET,
    assert_no_secret,
    assert_secret_nowhere,
    assert_typed,
    error_text,
    secret_paths,
)
from tests.resilience.hostile import (
    ECHO_PLACES,
    HostileServer,
    RawServer,
    TLSServer,
    echo_secret,
)

pytestmark = pytest.mark.resilience

GRANT = {"customer_id": "cus_123", "feature_id": "api_calls", "included_grant": 100}


def everything_about(error: AutumnSDKError) -> str:
    """str, repr, traceback and the attributes a person would print."""
    parts = [error_text(error)]
    for name in ("message", "code", "env", "body", "content_type"):
        parts.append(str(getattr(error, name, "")))
    # Every header the error keeps, by name and value (a proxy's repr may elide some).
    headers = getattr(error, "headers", {})
    parts.extend(f"{name}: {value}" for name, value in headers.items())
    return "\n".join(parts)


@pytest.mark.parametrize("where", ECHO_PLACES)
async def test_echoed_key_is_scrubbed_from_errors(hostile: HostileServer, where: str) -> None:
    hostile.default = echo_secret(where)
    async with AutumnCore(SECRET, server_url=hostile.url, retry_config=NO_RETRIES) as core:
        res = await balances_create(core, GRANT)
    assert not res.ok
    assert_no_secret(everything_about(res.error), repr(res))
    assert_secret_nowhere(res.error)
    assert hostile.requests[0].headers["Authorization"] == f"Bearer {SECRET}"


@pytest.mark.parametrize("where", ECHO_PLACES)
async def test_echoed_key_is_scrubbed_from_facade_tracebacks(
    hostile: HostileServer, where: str
) -> None:
    hostile.default = echo_secret(where)
    async with Autumn(SECRET, server_url=hostile.url, retry_config=NO_RETRIES) as autumn:
        with pytest.raises(AutumnSDKError) as caught:
            await autumn.balances.create(**GRANT)
    assert_no_secret(
        "".join(traceback.format_exception(caught.value)),
        caught.getrepr(style="long", chain=True),
        everything_about(caught.value),
    )
    assert_secret_nowhere(caught.value)


async def test_echoed_key_from_a_key_callable_is_scrubbed(hostile: HostileServer) -> None:
    async def vault() -> str:
        return SECRET

    hostile.default = echo_secret("json")
    async with AutumnCore(vault, server_url=hostile.url, retry_config=NO_RETRIES) as core:
        assert "<callable>" in repr(core)
        res = await balances_create(core, GRANT)
    assert_no_secret(everything_about(res.error))
    assert_secret_nowhere(res.error)


async def test_facade_tracebacks_of_every_failure_kind(server: LocalAutumn) -> None:
    """Connection, timeout, server error, refusal: none of their tracebacks shows the key."""
    server.set_faults("delay-ms=300")
    async with Autumn(
        SECRET, server_url=server.url, retry_config=NO_RETRIES, timeout_ms=100
    ) as autumn:
        for fault in ("reset", "lost-response", "delay", "503", "500", "429"):
            server.faults.inject_next(fault)
            with pytest.raises(AutumnSDKError) as caught:
                await autumn.balances.create(**GRANT)
            assert_no_secret(everything_about(caught.value), repr(caught.value.__cause__))
            assert_secret_nowhere(caught.value)
        with pytest.raises(AutumnSDKError) as caught:
            await autumn.balances.create(
                customer_id="cus_nobody", feature_id="api_calls", included_grant=1
            )
        assert_no_secret(everything_about(caught.value))
        with pytest.raises(SDKValidationError) as refused:
            await autumn.balances.create(customer_id=SECRET, feature_id=7)
        assert_no_secret(everything_about(refused.value))


# Answers aiohttp cannot parse: its exception (the error's __cause__) holds the request.
NOT_HTTP = {
    "status-line": f"HTTP/1.1 200 {SECRET}\r\nContent-Length: 2\r\n\r\n{{}}".encode(),
    "garbage": f"{SECRET} is not HTTP\r\n\r\n".encode(),
    "bad-header": f"HTTP/1.1 200 OK\r\nX Bad {SECRET}: 1\r\n\r\n".encode(),
    "bad-length": b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n",
    # Too long: aiohttp keeps the line's first bytes, as bytes, in its exception.
    "long-header": f"HTTP/1.1 200 OK\r\nX-Echo: {SECRET * 4000}\r\n\r\n".encode(),
}


@pytest.mark.parametrize("answer", NOT_HTTP.values(), ids=NOT_HTTP.keys())
async def test_no_attribute_of_any_error_holds_the_key_after_unparseable_answers(
    answer: bytes,
) -> None:
    async with (
        RawServer(answer) as raw,
        AutumnCore(SECRET, server_url=raw.url, retry_config=NO_RETRIES) as core,
    ):
        res = await balances_create(core, GRANT)
    assert not res.ok
    assert_secret_nowhere(res.error)
    assert_no_secret(everything_about(res.error))


async def test_the_key_in_bytes_an_error_keeps_reads_redacted() -> None:
    """aiohttp keeps the first bytes of a line too long as bytes: the key in them is
    marked as in text, so a reader of the traceback sees where it was."""
    async with (
        RawServer(NOT_HTTP["long-header"]) as raw,
        AutumnCore(SECRET, server_url=raw.url, retry_config=NO_RETRIES) as core,
    ):
        res = await balances_create(core, GRANT)
    kept: list[bytes] = []
    cause = res.error.__cause__
    while cause is not None:
        kept.extend(arg for arg in cause.args if isinstance(arg, bytes))
        cause = cause.__cause__ or cause.__context__
    assert kept, "the HTTP stack kept no bytes of the line"
    assert all(line.startswith(b"[redacted][redacted]") for line in kept), kept


async def create_through_a_session_raising(
    url: str, failure: Callable[[Any], BaseException]
) -> Any:
    """balances_create through a session whose own code (a trace callback) raises
    `failure(the request's headers)` as the request starts, before it connects."""

    async def on_request_start(_session: object, _context: object, params: Any) -> None:
        raise failure(params.headers)

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    async with (
        aiohttp.ClientSession(trace_configs=[trace]) as session,
        AutumnCore(SECRET, server_url=url, session=session, retry_config=NO_RETRIES) as core,
    ):
        return await balances_create(core, GRANT)


def _chain_reaching_one_exception_twice(request_headers: Any) -> BaseException:
    """What a session's own code may raise: `top` from `held` while handling `middle`,
    `middle` from `first` while handling `second`, itself raised handling `first`.
    `first` is reached twice; `held` keeps the request, with its Authorization header."""
    from yarl import URL

    info = aiohttp.RequestInfo(URL("http://127.0.0.1/"), "POST", request_headers)
    held = aiohttp.ClientResponseError(info, (), message="held")
    first = ConnectionResetError("reset")
    second = OSError("second")
    second.__context__ = first
    middle = aiohttp.ClientConnectionError("middle")
    middle.__cause__, middle.__context__ = first, second
    top = aiohttp.ClientConnectionError("gave up")
    top.__cause__, top.__context__ = held, middle
    return top


async def test_every_exception_of_a_chain_that_reaches_one_twice_is_scrubbed(
    hostile: HostileServer,
) -> None:
    res = await create_through_a_session_raising(hostile.url, _chain_reaching_one_exception_twice)
    assert_typed(res.error, APIConnectionError, attempts=1)
    assert_secret_nowhere(res.error)


async def test_a_header_set_a_sessions_exception_holds_keeps_no_key(
    hostile: HostileServer,
) -> None:
    """The session's own code (here a trace callback) may raise an exception holding the
    request's headers: the error keeps them without the Authorization header, and
    without the key in any other header either."""

    def holding_the_headers(request_headers: Any) -> BaseException:
        from multidict import CIMultiDict
        from yarl import URL

        headers = CIMultiDict(request_headers)
        headers["X-Echo"] = f"key {SECRET}"
        info = aiohttp.RequestInfo(URL("http://127.0.0.1/"), "POST", CIMultiDict())
        return aiohttp.ClientResponseError(info, (), message="refused", headers=headers)

    res = await create_through_a_session_raising(hostile.url, holding_the_headers)
    assert_typed(res.error, UnexpectedClientError, attempts=1)
    kept = res.error.__cause__.headers
    assert "Authorization" not in kept and kept["X-Echo"] == "key [redacted]"
    assert_secret_nowhere(res.error)


async def test_every_exception_of_a_long_chain_is_scrubbed(hostile: HostileServer) -> None:
    """However deep the session's own code chains its exceptions (a retrying trace
    callback or middleware, each failure raised while handling the one before), none of
    them keeps the request's Authorization header."""

    def retried_12_times(request_headers: Any) -> BaseException:
        from yarl import URL

        info = aiohttp.RequestInfo(URL("http://127.0.0.1/"), "POST", request_headers)
        failures = [aiohttp.ClientResponseError(info, (), message=f"try {n}") for n in range(12)]
        for earlier, later in itertools.pairwise(failures):
            later.__context__ = earlier
        return failures[-1]

    res = await create_through_a_session_raising(hostile.url, retried_12_times)
    assert_typed(res.error, UnexpectedClientError, attempts=1)
    assert_secret_nowhere(res.error)


async def test_a_history_a_sessions_exception_holds_is_dropped(hostile: HostileServer) -> None:
    """A redirect history holds responses, which hold their requests' headers: an
    exception of the session's own code carrying one (here the response to the call
    before) keeps none of it."""
    answered: list[aiohttp.ClientResponse] = []

    async def on_request_end(_session: object, _context: object, params: Any) -> None:
        answered.append(params.response)

    async def on_request_start(_session: object, _context: object, params: Any) -> None:
        if answered:
            raise aiohttp.ClientResponseError(
                answered[0].request_info, tuple(answered), message="redirected"
            )

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    trace.on_request_end.append(on_request_end)
    async with (
        aiohttp.ClientSession(trace_configs=[trace]) as session,
        AutumnCore(
            SECRET, server_url=hostile.url, session=session, retry_config=NO_RETRIES
        ) as core,
    ):
        assert (await balances_create(core, GRANT)).ok
        assert answered[0].request_info.headers["Authorization"] == f"Bearer {SECRET}"
        res = await balances_create(core, GRANT)
    assert_typed(res.error, UnexpectedClientError, attempts=1)
    assert res.error.__cause__.history == ()
    assert_secret_nowhere(res.error)


def _chain_with_a_loop(request_headers: Any) -> BaseException:
    """An error re-raised while handling one raised from it, as retrying code may do:
    Python cuts the loop of contexts this makes, not the one through `__cause__`."""
    from yarl import URL

    info = aiohttp.RequestInfo(URL("http://127.0.0.1/"), "POST", request_headers)
    try:
        try:
            raise aiohttp.ClientConnectionError("reset")
        except aiohttp.ClientConnectionError as first:
            try:
                raise aiohttp.ClientResponseError(info, (), message="wrapped") from first
            except aiohttp.ClientResponseError:
                raise first  # noqa: B904 - the loop is the point
    except aiohttp.ClientConnectionError as looped:
        assert looped.__context__ is not None and looped.__context__.__cause__ is looped
        return looped


def test_a_chain_with_a_loop_is_scrubbed_and_the_call_returns() -> None:
    # The session fails each request before it connects: no server is needed. On a
    # thread of its own, so that a walk that never ends fails the test, not hangs it.
    results: list[Any] = []

    async def call() -> None:
        url = "http://127.0.0.1:9"
        results.append(await create_through_a_session_raising(url, _chain_with_a_loop))

    thread = threading.Thread(target=asyncio.run, args=(call(),), daemon=True)
    thread.start()
    thread.join(30)
    assert results, "the call did not return"
    assert_typed(results[0].error, APIConnectionError, attempts=1)
    assert_secret_nowhere(results[0].error)


def test_the_walk_finds_a_key_wherever_an_error_holds_it() -> None:
    """The check's own control: keys hidden where an error keeps things are found."""
    import aiohttp as http
    from multidict import CIMultiDict, CIMultiDictProxy
    from yarl import URL

    info = http.RequestInfo(
        URL("http://x"), "POST", CIMultiDictProxy(CIMultiDict(Authorization=f"Bearer {SECRET}"))
    )
    cause = http.ClientResponseError(info, ())
    error = APIConnectionError("failed")
    error.__cause__ = cause
    assert any("Authorization" in path for path in secret_paths(error))
    context = ValueError("inner")
    context.__context__ = KeyError({"nested": [(1, SECRET.encode())]})
    assert secret_paths(context) == ["error.__context__.args[0]['nested'][0][1]"]


def test_reprs_and_bad_keys_never_show_the_key() -> None:
    core = AutumnCore(SECRET, server_url="http://127.0.0.1:9")
    assert_no_secret(repr(core), str(core), repr(core.retry_config), repr(core.hooks))
    for bad in (SECRET + " ", SECRET + "\n", SECRET + "\u00e9"):
        with pytest.raises(SDKValidationError) as caught:
            AutumnCore(bad)
        assert_no_secret(everything_about(caught.value))
        assert caught.value.field == "secret_key"


async def test_a_hook_logging_its_request_does_not_show_the_key(
    hostile: HostileServer, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[PreparedRequest] = []
    log = logging.getLogger("app.hooks")

    def trace(_context: object, request: PreparedRequest) -> None:
        seen.append(request)
        log.debug("sending %r", request)

    hooks = Hooks(before_request=[trace])
    async with AutumnCore(SECRET, server_url=hostile.url, hooks=hooks) as core:
        assert (await balances_create(core, GRANT)).ok
    assert seen and seen[0].headers["Authorization"] == f"Bearer {SECRET}"  # still sent
    assert_no_secret(repr(seen[0]), str(seen[0]))


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def tls_server(ca: trustme.CA) -> AsyncIterator[TLSServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    async with TLSServer(context) as server:
        yield server


def trusting_session(ca: trustme.CA) -> aiohttp.ClientSession:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context))


async def test_tls_verification_is_on_by_default(tls_server: TLSServer) -> None:
    async with AutumnCore(SECRET, server_url=tls_server.url, retry_config=NO_RETRIES) as core:
        res = await balances_create(core, GRANT)
    error = assert_typed(res.error, APIConnectionError, attempts=1)
    assert "TLS failure" in error.message and "CERTIFICATE_VERIFY_FAILED" in error.message
    assert tls_server.requests == 0
    # The handshake comes before the request: the write certainly was not applied.
    assert error.applied is Applied.NO


async def test_tls_accepted_with_a_session_trusting_the_ca(
    tls_server: TLSServer, ca: trustme.CA
) -> None:
    async with trusting_session(ca) as session:
        async with AutumnCore(SECRET, server_url=tls_server.url, session=session) as core:
            res = await balances_create(core, GRANT)
        assert res.ok, res
        assert not session.closed  # a session passed in belongs to the caller
    assert tls_server.requests == 1


async def test_tls_name_mismatch_refused_even_when_the_ca_is_trusted(ca: trustme.CA) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("api.useautumn.example").configure_cert(context)
    async with TLSServer(context) as server, trusting_session(ca) as session:
        async with AutumnCore(
            SECRET, server_url=server.url, session=session, retry_config=NO_RETRIES
        ) as core:
            res = await balances_create(core, GRANT)
        assert_typed(res.error, APIConnectionError, attempts=1)
        assert server.requests == 0


async def test_tls_failure_is_not_retried_even_with_retries_on(tls_server: TLSServer) -> None:
    # A certificate that failed verification fails again; retrying only adds delay.
    retry = RetryConfig(max_retries=2, sleep=_no_sleep)
    async with AutumnCore(SECRET, server_url=tls_server.url, retry_config=retry) as core:
        res = await balances_create(core, GRANT)
    assert_typed(res.error, APIConnectionError, attempts=1)
    assert tls_server.requests == 0


async def _no_sleep(_seconds: float) -> Any:
    return None
