"""Core configuration from arguments and the environment; the secret key never shows."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from autumn_core import (
    APIConnectionError,
    AutumnCore,
    InvalidRequestError,
    RetryConfig,
    SDKValidationError,
)
from autumn_core.seam import CoreConfig
from autumn_funcs import balances_create, balances_update
from tests.fake_time import FakeTime
from tests.scripted_server import (
    ScriptedServer,
    autumn_error,
    drop_connection,
    json_reply,
    raw_reply,
)
from tests.sdk.conftest import CREATE_EXAMPLE, SECRET, UPDATE_EXAMPLE, header

MakeCore = Callable[..., AutumnCore]


async def test_secret_key_from_the_environment(
    scripted: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTUMN_SECRET_KEY", "am_sk_test_from_env")
    async with AutumnCore(server_url=scripted.url) as core:
        assert (await balances_create(core, CREATE_EXAMPLE)).ok
    assert header(scripted.requests[0], "Authorization") == "Bearer am_sk_test_from_env"


async def test_explicit_key_wins_over_the_environment(
    scripted: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTUMN_SECRET_KEY", "am_sk_test_from_env")
    async with AutumnCore(SECRET, server_url=scripted.url) as core:
        assert (await balances_create(core, CREATE_EXAMPLE)).ok
    assert header(scripted.requests[0], "Authorization") == f"Bearer {SECRET}"


@pytest.mark.parametrize("env_value", [None, ""])
def test_missing_secret_key_names_the_field(
    monkeypatch: pytest.MonkeyPatch, env_value: str | None
) -> None:
    if env_value is None:
        monkeypatch.delenv("AUTUMN_SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("AUTUMN_SECRET_KEY", env_value)
    with pytest.raises(SDKValidationError) as caught:
        AutumnCore(server_url="http://127.0.0.1:9")
    assert caught.value.field == "secret_key"
    assert "AUTUMN_SECRET_KEY" in str(caught.value)


async def test_async_callable_secret_key(scripted: ScriptedServer) -> None:
    keys = iter(["am_sk_test_first", "am_sk_test_rotated"])
    calls = 0

    async def from_vault() -> str:
        nonlocal calls
        calls += 1
        return next(keys)

    async with AutumnCore(from_vault, server_url=scripted.url) as core:
        assert "am_sk_test" not in repr(core)
        assert (await balances_create(core, CREATE_EXAMPLE)).ok
        assert (await balances_update(core, UPDATE_EXAMPLE)).ok
    assert calls == 2
    assert [header(r, "Authorization") for r in scripted.requests] == [
        "Bearer am_sk_test_first",
        "Bearer am_sk_test_rotated",
    ]


async def test_async_callable_returning_a_bad_key(scripted: ScriptedServer) -> None:
    async def empty() -> str:
        return ""

    async with AutumnCore(empty, server_url=scripted.url) as core:
        res = await balances_create(core, CREATE_EXAMPLE)
    assert not res.ok
    assert isinstance(res.error, SDKValidationError)
    assert res.error.field == "secret_key"
    assert scripted.requests == []


async def test_async_callable_that_fails(scripted: ScriptedServer) -> None:
    async def vault_down() -> str:
        raise OSError("vault unreachable")

    async with AutumnCore(vault_down, server_url=scripted.url) as core:
        res = await balances_create(core, CREATE_EXAMPLE)
    assert not res.ok
    assert isinstance(res.error, InvalidRequestError)
    assert isinstance(res.error.__cause__, OSError)
    assert scripted.requests == []


async def test_server_url_from_the_environment(
    scripted: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTUMN_SERVER_URL", scripted.url)
    async with AutumnCore(SECRET) as core:
        assert core.server_url == scripted.url
        assert (await balances_create(core, CREATE_EXAMPLE)).ok
    assert len(scripted.requests) == 1


def test_default_server_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTUMN_SERVER_URL", raising=False)
    assert AutumnCore(SECRET).server_url == "https://api.useautumn.com"


@pytest.mark.parametrize(
    "url", ["api.useautumn.com", "ftp://api.useautumn.com", "https://", "", "http//x"]
)
def test_bad_server_url_from_the_environment_is_refused(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("AUTUMN_SERVER_URL", url)
    if not url:  # an empty variable counts as unset
        assert AutumnCore(SECRET).server_url == "https://api.useautumn.com"
        return
    with pytest.raises(SDKValidationError) as caught:
        AutumnCore(SECRET)
    assert caught.value.field == "server_url"


def test_repr_hides_the_key() -> None:
    core = AutumnCore(SECRET, server_url="http://127.0.0.1:9")
    text = repr(core)
    assert SECRET not in text
    assert "http://127.0.0.1:9" in text
    assert "hidden" in text


async def test_debug_logs_describe_attempts_but_never_the_key(
    make_core: MakeCore, scripted: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="autumn")
    scripted.then(autumn_error(503, "unavailable"))
    core = make_core()
    assert (await balances_create(core, CREATE_EXAMPLE)).ok

    lines = [r.getMessage() for r in caplog.records if r.name.startswith("autumn")]
    debug = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("autumn") and r.levelno == logging.DEBUG
    ]
    url = f"{scripted.url}/v1/balances.create"
    first = [line for line in debug if "attempt 1" in line and "503" in line]
    second = [line for line in debug if "attempt 2" in line and "200" in line]
    assert first and second, lines
    for line in first + second:
        assert "POST" in line
        assert url in line
        assert " ms" in line  # elapsed
    assert any("retrying" in line for line in lines)
    assert all(SECRET not in line for line in caplog.text.splitlines() + lines)
    assert all("Bearer" not in line for line in lines)


async def test_one_info_line_per_retry_with_its_reason_wait_and_key(
    make_core: MakeCore,
    scripted: ScriptedServer,
    caplog: pytest.LogCaptureFixture,
    fake_time: FakeTime,
) -> None:
    caplog.set_level(logging.INFO, logger="autumn")
    scripted.then(
        autumn_error(503, "service_unavailable", headers={"Retry-After": "2"}),
        drop_connection(),
        json_reply(),
    )
    res = await balances_create(make_core(), CREATE_EXAMPLE, {"idempotency_key": "grant-42"})
    assert res.ok

    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert len(lines) == 2, lines  # one per retry, none for the attempts themselves
    first, second = lines
    assert "createBalance" in first and "attempt 1" in first
    assert "503 service_unavailable" in first
    assert "retrying in 2.000 s (from Retry-After)" in first
    assert "idempotency key grant-42" in first
    assert "attempt 2" in second and "APIConnectionError" in second
    assert f"retrying in {fake_time.sleeps[1]:.3f} s;" in second
    assert "Retry-After" not in second
    assert all(SECRET not in line and "Bearer" not in line for line in lines)


async def test_nothing_is_logged_at_info(
    make_core: MakeCore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="autumn")
    assert (await balances_create(make_core(), CREATE_EXAMPLE)).ok
    assert [r for r in caplog.records if r.name.startswith("autumn")] == []


async def test_a_key_echoed_by_the_server_is_scrubbed(
    make_core: MakeCore, scripted: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="autumn")
    scripted.then(
        autumn_error(401, "invalid_secret_key", f"Unknown key Bearer {SECRET}"),
        raw_reply(200, f"<html>token {SECRET}</html>".encode()),
    )
    core = make_core()
    for _ in range(2):
        res = await balances_create(core, CREATE_EXAMPLE)
        assert not res.ok
        error = res.error
        for text in (str(error), repr(error), error.message, getattr(error, "body", "")):
            assert SECRET not in text
    assert SECRET not in caplog.text


def test_the_settings_are_a_frozen_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTUMN_SERVER_URL", raising=False)
    retry = RetryConfig(max_retries=5)
    core = AutumnCore(SECRET, timeout_ms=2_000, retry_config=retry, x_api_version="2.3")
    assert core.config == CoreConfig(
        server_url="https://api.useautumn.com",
        x_api_version="2.3",
        timeout_ms=2_000,
        retry_config=retry,
    )
    assert (core.server_url, core.timeout_ms, core.retry_config) == (
        "https://api.useautumn.com",
        2_000,
        retry,
    )
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        core.config.timeout_ms = 1  # type: ignore[misc]


def test_no_public_name_of_the_core_gives_the_key() -> None:
    core = AutumnCore(SECRET, server_url="http://127.0.0.1:9")
    public = [name for name in dir(core) if not name.startswith("_")]
    assert "session" not in public and "secret" not in public and "authorization" not in public
    for name in public:
        value = getattr(core, name)
        shown = repr(value) if not callable(value) else ""
        assert SECRET not in shown, name
    for field in attrs.fields(CoreConfig):
        assert SECRET not in repr(getattr(core.config, field.name)), field.name


@pytest.mark.parametrize(
    "url", ["ftp://example.com", "https://", "http://[oops", "example.com", "http//x", 5]
)
async def test_the_core_and_the_options_check_urls_alike(make_core: MakeCore, url: object) -> None:
    with pytest.raises(SDKValidationError) as caught:
        AutumnCore(SECRET, server_url=url)  # type: ignore[arg-type]
    assert caught.value.field == "server_url"
    res = await balances_create(make_core(), CREATE_EXAMPLE, {"server_url": url})
    assert isinstance(res.error, SDKValidationError)  # type: ignore[union-attr]
    assert res.error.field == "options.server_url"  # type: ignore[union-attr]


async def test_a_trailing_slash_is_dropped_from_either_url(
    scripted: ScriptedServer, make_core: MakeCore
) -> None:
    async with AutumnCore(SECRET, server_url=scripted.url + "/") as core:
        assert (await balances_create(core, CREATE_EXAMPLE)).ok
    res = await balances_create(make_core(), CREATE_EXAMPLE, {"server_url": scripted.url + "/"})
    assert res.ok
    assert [r.path for r in scripted.requests] == ["/v1/balances.create"] * 2


def test_connection_error_is_an_alias_that_leaves_the_builtin_alone() -> None:
    import builtins

    import autumn_core

    assert autumn_core.ConnectionError is APIConnectionError
    assert APIConnectionError is not builtins.ConnectionError
    assert APIConnectionError.__name__ == "APIConnectionError"


def test_an_unknown_setting_is_a_type_error_as_for_any_keyword() -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'timeout'"):
        AutumnCore(SECRET, timeout=5)  # type: ignore[call-arg]


async def test_a_callable_key_sends_the_same_request_with_its_options(
    scripted: ScriptedServer,
) -> None:
    async def from_vault() -> str:
        return "am_sk_test_vault"

    options = {"idempotency_key": "grant-42", "headers": {"X-Trace": "t1"}}
    async with AutumnCore(from_vault, server_url=scripted.url) as core:
        assert (await balances_create(core, CREATE_EXAMPLE, options)).ok
    (sent,) = scripted.requests
    assert sent.json() == CREATE_EXAMPLE
    assert header(sent, "Idempotency-Key") == "grant-42"
    assert header(sent, "X-Trace") == "t1"
    assert header(sent, "Authorization") == "Bearer am_sk_test_vault"


async def test_a_failing_key_callable_names_itself_and_the_calls_key(
    scripted: ScriptedServer,
) -> None:
    async def vault_down() -> str:
        raise OSError("vault unreachable")

    async def no_key() -> str:
        return ""

    async with AutumnCore(vault_down, server_url=scripted.url) as core:
        res = await balances_create(core, CREATE_EXAMPLE, {"idempotency_key": "grant-43"})
    assert isinstance(res.error, InvalidRequestError)
    assert res.error.message == "the secret_key callable failed: OSError"
    assert res.error.idempotency_key == "grant-43"
    async with AutumnCore(no_key, server_url=scripted.url) as core:
        res = await balances_create(core, CREATE_EXAMPLE, {"idempotency_key": "grant-44"})
    assert isinstance(res.error, SDKValidationError)
    assert res.error.idempotency_key == "grant-44"
    assert scripted.requests == []


@pytest.mark.parametrize(
    ("replies", "options", "expected"),
    [
        (
            [autumn_error(503, "unavailable")],
            {"idempotency_key": "grant-45"},
            "createBalance: attempt 1 failed (503 unavailable); retrying in 0.250 s; "
            "idempotency key grant-45",
        ),
        (
            [raw_reply(503, b"busy")],
            {"idempotency_key": "grant-46"},
            "createBalance: attempt 1 failed (503); retrying in 0.250 s; idempotency key grant-46",
        ),
        (
            [drop_connection()],
            {"idempotency_key": "grant-47"},
            "createBalance: attempt 1 failed (APIConnectionError: connection failed: "
            "ServerDisconnectedError: Server disconnected); retrying in 0.250 s; "
            "idempotency key grant-47",
        ),
    ],
    ids=["autumn-error", "no-code", "no-answer"],
)
async def test_a_retry_is_logged_in_one_line_saying_why_and_the_key(
    make_core: MakeCore,
    scripted: ScriptedServer,
    caplog: pytest.LogCaptureFixture,
    fake_time: FakeTime,
    replies: list[Any],
    options: dict[str, Any],
    expected: str,
) -> None:
    caplog.set_level(logging.INFO, logger="autumn")
    scripted.then(*replies)
    core = make_core(
        retry_config=RetryConfig(sleep=fake_time.sleep, clock=fake_time.clock, random=lambda: 0.5)
    )
    assert (await balances_create(core, CREATE_EXAMPLE, options)).ok
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert lines == [expected]
