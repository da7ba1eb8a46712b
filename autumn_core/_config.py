"""`CoreConfig`: an `AutumnCore`'s settings, checked once, each refusal naming its field."""

from __future__ import annotations

import platform
from typing import Any, TypedDict

import aiohttp
import attrs

from autumn_core._field_checks import (
    instance_of,
    invalid,
    is_header_text,
    is_header_token,
    is_positive_ms,
    server_url,
)
from autumn_core._hooks import Hooks
from autumn_core._retries import RetryConfig
from autumn_core._version import __version__

DEFAULT_SERVER_URL = "https://api.useautumn.com"
DEFAULT_TIMEOUT_MS = 60_000.0
DEFAULT_USER_AGENT = (
    f"autumn-balances-python/{__version__} aiohttp/{aiohttp.__version__} "
    f"python/{platform.python_version()}"
)


def _server_url(value: object) -> str:
    return server_url(value, "server_url")


def _x_api_version(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not is_header_token(value):
        raise invalid(attribute.name, f"expected a version such as '2.1', got {value!r}")


def _timeout_ms(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not is_positive_ms(value):
        raise invalid(attribute.name, f"expected milliseconds > 0, got {value!r}")


def _total_timeout_ms(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not is_positive_ms(value):
        raise invalid(attribute.name, f"expected None or milliseconds > 0, got {value!r}")


def _user_agent(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not is_header_text(value):
        raise invalid(attribute.name, "expected printable ASCII text (it is sent as a header)")


@attrs.frozen(kw_only=True)
class CoreConfig:
    """What an `AutumnCore` was built with (its secret key aside, which it never shows).

    >>> core = AutumnCore(secret_key=..., timeout_ms=5_000)
    >>> core.config.timeout_ms
    5000

    `timeout_ms` bounds each attempt; `total_timeout_ms` (None: no bound) the
    whole call, retries and waits included.
    """

    server_url: str = attrs.field(default=DEFAULT_SERVER_URL, converter=_server_url)
    x_api_version: str = attrs.field(default="2.1", validator=_x_api_version)
    timeout_ms: float = attrs.field(default=DEFAULT_TIMEOUT_MS, validator=_timeout_ms)
    total_timeout_ms: float | None = attrs.field(default=None, validator=_total_timeout_ms)
    retry_config: RetryConfig = attrs.field(
        factory=RetryConfig, validator=instance_of(RetryConfig, prefix="")
    )
    user_agent: str = attrs.field(default=DEFAULT_USER_AGENT, validator=_user_agent)
    hooks: Hooks = attrs.field(factory=Hooks, validator=instance_of(Hooks, prefix=""))


class CoreSettings(TypedDict, total=False):
    """The settings `AutumnCore(secret_key, **settings)` takes besides the key and a session
    (and so `Autumn` and `AutumnSync`, which take the same). Each left out, or None,
    takes its default; see `AutumnCore`.

    >>> settings: CoreSettings = {"timeout_ms": 5_000, "max_retries": 2}
    >>> core = AutumnCore(secret_key, **settings)
    """

    server_url: str | None
    x_api_version: str
    timeout_ms: float | None
    total_timeout_ms: float | None
    retry_config: RetryConfig | None
    max_retries: int | None
    user_agent: str | None
    hooks: Hooks | None
