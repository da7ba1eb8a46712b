"""The log of aiohttp's HTTP server, with malformed requests in one throttled line.

aiohttp answers a request it cannot parse (a bad header, a request line too
long, bytes that are not HTTP) with 400 and logs it with a full traceback at
ERROR: a client sending garbage could fill the disk. Such requests are the
client's fault: the first is logged in one WARNING line, the rest summed up
at most once a minute. Everything else aiohttp logs is left as it is.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from aiohttp.http_exceptions import HttpProcessingError

from autumn_local.http.flood_log import FloodLog

__all__ = ["server_log"]

_log = logging.getLogger("autumn_local.http")


if TYPE_CHECKING:
    _Adapter = logging.LoggerAdapter[logging.Logger]
else:  # generic at runtime only from Python 3.11
    _Adapter = logging.LoggerAdapter


class _ServerLog(_Adapter):
    def __init__(self, logger: logging.Logger) -> None:
        super().__init__(logger, None)
        self._flood = FloodLog(_log)

    def exception(self, msg: object, *args: object, exc_info: Any = True, **kwargs: Any) -> None:
        if isinstance(exc_info, HttpProcessingError):
            reason = (exc_info.message or type(exc_info).__name__).splitlines()[0][:200]
            self._flood.record(
                "malformed",
                f"answered 400 to a malformed HTTP request: {reason}",
                "answered 400 to %d more malformed HTTP requests",
            )
            return
        super().exception(msg, *args, exc_info=exc_info, **kwargs)


def server_log() -> _Adapter:
    """The logger to give aiohttp's request handlers (``AppRunner(..., logger=...)``)."""
    return _ServerLog(logging.getLogger("aiohttp.server"))
