"""A bad setting of the core or its retry policy is refused, before any I/O, with an
error that names the field and says what it expected and what it got."""

from __future__ import annotations

from typing import Any

import pytest

from autumn_core import AutumnCore, RetryConfig, SDKValidationError


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"timeout_ms": 0}, "invalid timeout_ms: expected milliseconds > 0, got 0"),
        (
            {"total_timeout_ms": -1},
            "invalid total_timeout_ms: expected None or milliseconds > 0, got -1",
        ),
        (
            {"user_agent": "caf\u00e9"},
            "invalid user_agent: expected printable ASCII text (it is sent as a header)",
        ),
        (
            {"x_api_version": "2 1"},
            "invalid x_api_version: expected a version such as '2.1', got '2 1'",
        ),
        (
            {"server_url": "ftp://127.0.0.1"},
            "invalid server_url: expected an http:// or https:// URL with a host, "
            "got 'ftp://127.0.0.1'",
        ),
        (
            {"session": "a session"},
            "invalid session: expected an aiohttp.ClientSession, got str",
        ),
        ({"max_retries": -1}, "invalid max_retries: expected an integer >= 0, got -1"),
        (
            {"max_retries": 2, "retry_config": RetryConfig()},
            "max_retries and retry_config: give one of them (max_retries is a shortcut for "
            "retry_config=RetryConfig(max_retries=...); put it in your RetryConfig instead)",
        ),
    ],
)
def test_a_bad_core_setting_says_what_was_expected(setting: dict[str, Any], message: str) -> None:
    with pytest.raises(SDKValidationError) as refused:
        AutumnCore("am_sk_test_settings", **{"server_url": "http://127.0.0.1:9", **setting})
    assert (refused.value.field, str(refused.value)) == (next(iter(setting)), message)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            {"max_retries": -1},
            "invalid RetryConfig.max_retries: expected None or an integer >= 0, got -1",
        ),
        ({"sleep": 1}, "invalid RetryConfig.sleep: expected a callable, got 1"),
        (
            {"strategy": "sometimes"},
            "invalid RetryConfig.strategy: expected 'backoff' or 'none', got 'sometimes'",
        ),
        (
            {"retry_connection_errors": "yes"},
            "invalid RetryConfig.retry_connection_errors: expected True or False, got 'yes'",
        ),
        (
            {"confirm_duplicate_after_ms": -1},
            "invalid RetryConfig.confirm_duplicate_after_ms: expected a finite number >= 0, got -1",
        ),
        (
            {"retry_codes": "503"},
            "invalid RetryConfig.retry_codes: expected a list of statuses, got '503'",
        ),
        (
            {"retry_codes": 503},
            "invalid RetryConfig.retry_codes: expected a list of statuses, got 503",
        ),
    ],
)
def test_a_bad_retry_setting_says_what_was_expected(setting: dict[str, Any], message: str) -> None:
    with pytest.raises(SDKValidationError) as refused:
        RetryConfig(**setting)
    assert (refused.value.field, str(refused.value)) == (
        f"RetryConfig.{next(iter(setting))}",
        message,
    )


@pytest.mark.parametrize("wait", [0, 0.5, 250, 1_500.5])
def test_any_finite_wait_from_zero_is_a_valid_duplicate_confirmation(wait: float) -> None:
    assert RetryConfig(confirm_duplicate_after_ms=wait).confirm_duplicate_after_ms == wait


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "secret_key: expected a non-empty string or an async callable returning one"),
        (42, "secret_key: expected a non-empty string or an async callable returning one"),
        (
            "am_sk test",
            "secret_key: contains whitespace or characters not allowed in an HTTP header",
        ),
    ],
)
def test_a_bad_secret_key_says_why_without_showing_it(key: object, message: str) -> None:
    with pytest.raises(SDKValidationError) as refused:
        AutumnCore(key, server_url="http://127.0.0.1:9")  # type: ignore[arg-type]
    assert (refused.value.field, str(refused.value)) == ("secret_key", message)


def test_no_key_and_no_environment_variable_says_both(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTUMN_SECRET_KEY", raising=False)
    with pytest.raises(SDKValidationError) as refused:
        AutumnCore(server_url="http://127.0.0.1:9")
    assert str(refused.value) == "secret_key: none given and AUTUMN_SECRET_KEY is not set"


def test_an_unknown_setting_is_refused_as_python_refuses_a_keyword() -> None:
    with pytest.raises(TypeError) as refused:
        AutumnCore("am_sk_test_settings", timeout=5)  # type: ignore[call-arg]
    assert str(refused.value) == "AutumnCore() got an unexpected keyword argument 'timeout'"


@pytest.mark.parametrize("timeout_ms", [0.5, 1, 30_000])
def test_any_timeout_above_zero_is_valid(timeout_ms: float) -> None:
    core = AutumnCore("am_sk_test_settings", server_url="http://127.0.0.1:9", timeout_ms=timeout_ms)
    assert core.timeout_ms == timeout_ms


def test_only_trailing_slashes_are_dropped_from_the_server_url() -> None:
    core = AutumnCore("am_sk_test_settings", server_url="http://127.0.0.1:9/autumnX//")
    assert core.server_url == "http://127.0.0.1:9/autumnX"
