"""`CallContext`: all the call pipeline takes from an `AutumnCore`, built once by the core.

Private to the SDK: the pipeline reads nothing else of the core, and the core
exposes none of this (the secret key least of all) through public names.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Any

import aiohttp
import attrs
import yarl

from autumn_core._credentials import Credentials
from autumn_core._errors import AutumnSDKError
from autumn_core._hooks import Hooks
from autumn_core._keys_in_doubt import KeysInDoubt
from autumn_core._operation import Operation
from autumn_core._result import Result
from autumn_core._retries import RetryConfig

CallCoroutine = Coroutine[Any, Any, Result[Any, AutumnSDKError]]
# Wraps a whole call (every attempt and wait), as telemetry needs: it gets the
# operation and the call's coroutine and returns a coroutine of the same result.
CallObserver = Callable[[Operation[Any, Any], CallCoroutine], CallCoroutine]


class URLCache:
    """Full URLs of the core's server by path, built once each (yarl parses on build)."""

    __slots__ = ("_base", "_urls")

    def __init__(self, base: str) -> None:
        self._base = base
        self._urls: dict[str, yarl.URL] = {}

    def url(self, path: str) -> yarl.URL:
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = yarl.URL(self._base + path)
        return url


@attrs.frozen
class CallContext:
    """What a call needs of its core.

    `session()` gives the core's pooled session, created on first use inside the
    running loop, or why no call can use it (the core is closed, or was first
    used in another event loop), or None outside a running loop. `timeout`
    bounds each attempt; `total_timeout` (seconds, or None) the whole call.
    `keys_in_doubt`: keys the core's calls left with `applied` "unknown",
    carried into resends that settle nothing.
    `observer`, when set (by `autumn_core.otel.instrument`), wraps every call;
    None costs a core nothing.
    """

    credentials: Credentials
    base_headers: Mapping[str, str]
    hooks: Hooks | None  # None: the core has none, and attempts build no hook context
    session: Callable[[], aiohttp.ClientSession | str | None]
    urls: URLCache
    timeout: aiohttp.ClientTimeout
    retry: RetryConfig
    total_timeout: float | None = None
    keys_in_doubt: KeysInDoubt = attrs.field(factory=KeysInDoubt)
    observer: CallObserver | None = None
