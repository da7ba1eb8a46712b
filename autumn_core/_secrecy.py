"""Keeping the secret key out of everything an error holds.

An error keeps text a server sent (which may echo the key) and, as its
`__cause__`, the HTTP stack's exception, which may hold the request itself:
aiohttp's `ClientResponseError.request_info` carries the Authorization header.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy

# Headers that carry credentials: dropped from any header set kept in an error.
_CREDENTIAL_HEADERS = frozenset(("authorization", "proxy-authorization"))


def scrub(text: str, secret: str | None) -> str:
    """`text` with the secret key cut out, should a server or proxy ever echo it."""
    return text.replace(secret, "[redacted]") if secret and secret in text else text


def scrubbed_headers(headers: Mapping[str, str], secret: str | None) -> CIMultiDictProxy[str]:
    """A read-only copy of `headers` without credentials, the secret cut out of the rest."""
    return CIMultiDictProxy(
        CIMultiDict(
            (scrub(name, secret), scrub(value, secret))
            for name, value in headers.items()
            if name.lower() not in _CREDENTIAL_HEADERS
        )
    )


def scrub_exception_chain(exc: BaseException, secret: str | None) -> None:
    """Make `exc` and the exceptions it was raised from safe to keep in an error:
    requests they hold lose their credentials, and their text loses the secret.

    Every exception of the chain, however deep: aiohttp's go two or three deep, but a
    session's own code (a trace callback, a middleware) may chain any number. `seen`
    ends the walk of a chain that loops back (Python cuts loops of `__context__`
    only, not those through `__cause__`)."""
    pending: list[BaseException] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        _scrub_exception(current, secret)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def _scrub_exception(exc: BaseException, secret: str | None) -> None:
    # aiohttp passes the RequestInfo as the first argument too, not only as an attribute.
    exc.args = tuple(_safe(arg, secret) for arg in exc.args)
    attributes = cast("dict[str, object]", getattr(exc, "__dict__", {}))
    for name, value in list(attributes.items()):
        attributes[name] = _safe(value, secret)


def _safe(value: object, secret: str | None) -> object:
    """`value`, or a copy without credentials and without the secret."""
    if isinstance(value, aiohttp.RequestInfo):
        return _request_info(value, secret)
    if isinstance(value, (CIMultiDict, CIMultiDictProxy)):
        return scrubbed_headers(cast("Mapping[str, str]", value), secret)
    if _is_history(value):
        return ()  # a redirect history: responses that hold their requests
    if not secret:
        return value
    if isinstance(value, str):
        return scrub(value, secret)
    if isinstance(value, (bytes, bytearray)) and secret.encode() in value:
        return bytes(value).replace(secret.encode(), b"[redacted]")
    return value


def _is_history(value: object) -> bool:
    if not isinstance(value, tuple):
        return False
    items = cast("tuple[object, ...]", value)
    return any(isinstance(item, aiohttp.ClientResponse) for item in items)


def _request_info(info: aiohttp.RequestInfo, secret: str | None) -> aiohttp.RequestInfo:
    return aiohttp.RequestInfo(
        info.url, info.method, scrubbed_headers(info.headers, secret), info.real_url
    )
