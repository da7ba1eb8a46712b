"""The type checks of settings and options: a value of another type is refused with
the field's name, the type expected and the type given; None only where optional.

The checks are built when their classes are defined; besides the classes' own
(RetryConfig.backoff, the core's hooks, options.abort_signal), a class defined
here builds each form again, so a change to how checks are built is seen too."""

from __future__ import annotations

import asyncio
from typing import Any

import attrs
import pytest

from autumn_core import AutumnCore, Hooks, RequestOptions, RetryConfig, SDKValidationError
from autumn_core._field_checks import instance_of


def settings_class() -> type[Any]:
    """A class with each form of the check, built when a test runs (not at import)."""

    @attrs.define(kw_only=True)
    class Settings:
        hooks: Any = attrs.field(default=None, validator=instance_of(Hooks))
        maybe: Any = attrs.field(default=None, validator=instance_of(Hooks, optional=True))
        keyword: Any = attrs.field(default=None, validator=instance_of(Hooks, prefix="options."))

    return Settings


def refusal(**given: Any) -> SDKValidationError:
    with pytest.raises(SDKValidationError) as caught:
        settings_class()(**{"hooks": Hooks(), **given})
    return caught.value


def test_a_value_of_the_kind_passes_and_none_only_where_optional() -> None:
    hooks = Hooks()
    Settings = settings_class()
    assert Settings(hooks=hooks, maybe=None, keyword=hooks).hooks is hooks
    assert Settings(hooks=hooks, maybe=hooks, keyword=hooks).maybe is hooks
    error = refusal(hooks=None, keyword=hooks)
    assert (error.field, error.message) == (
        "Settings.hooks",
        "invalid Settings.hooks: expected a Hooks, got NoneType",
    )


def test_another_type_is_refused_naming_its_field_and_both_types() -> None:
    error = refusal(maybe=42, keyword=Hooks())
    assert (error.field, error.message) == (
        "Settings.maybe",
        "invalid Settings.maybe: expected a Hooks, got int",
    )
    error = refusal(keyword="hooks")
    assert (error.field, error.message) == (
        "options.keyword",
        "invalid options.keyword: expected a Hooks, got str",
    )


def test_the_libraries_own_checks_name_their_fields() -> None:
    with pytest.raises(SDKValidationError) as backoff:
        RetryConfig(backoff="exponential")  # type: ignore[arg-type]
    with pytest.raises(SDKValidationError) as hooks:
        AutumnCore("am_sk_test_x", hooks=[])  # type: ignore[arg-type]
    with pytest.raises(SDKValidationError) as signal:
        RequestOptions(abort_signal=True)  # type: ignore[arg-type]
    assert [e.value.message for e in (backoff, hooks, signal)] == [
        "invalid RetryConfig.backoff: expected a BackoffStrategy, got str",
        "invalid hooks: expected a Hooks, got list",
        "invalid options.abort_signal: expected a Event, got bool",
    ]
    assert RequestOptions(abort_signal=None).abort_signal is None
    event = asyncio.Event()
    assert RequestOptions(abort_signal=event).abort_signal is event


def test_a_hook_of_the_retry_policy_must_be_callable() -> None:
    with pytest.raises(SDKValidationError) as caught:
        RetryConfig(sleep=42)  # type: ignore[arg-type]
    assert (caught.value.field, caught.value.message) == (
        "RetryConfig.sleep",
        "invalid RetryConfig.sleep: expected a callable, got 42",
    )
