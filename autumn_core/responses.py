"""Reading an HTTP answer: bounded body reads, error bodies to AutumnError, 2xx bodies to models."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import cast

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy

from autumn_core.errors import MAX_ERROR_BODY_BYTES, AutumnDefaultError, ResponseValidationError

# A balance response is a few bytes; anything near this is not an Autumn answer.
MAX_SUCCESS_BODY_BYTES = 1024 * 1024


async def read_bounded(response: aiohttp.ClientResponse, limit: int) -> tuple[bytes, bool]:
    """At most `limit` bytes of a body of unknown or excessive length, and whether
    more was left unread. (A body whose Content-Length fits is read whole.)"""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(chunks)[:limit], True
    return b"".join(chunks), False


def scrub(text: str, secret: str | None) -> str:
    """`text` with the secret key cut out, should a server or proxy ever echo it."""
    return text.replace(secret, "[redacted]") if secret and secret in text else text


def error_from_response(
    response: aiohttp.ClientResponse,
    body: bytes,
    truncated: bool,
    *,
    secret: str | None,
    idempotency_key: str | None,
    attempts: int,
) -> AutumnDefaultError:
    """An AutumnDefaultError for a non-2xx answer, parsed from Autumn's JSON error when present."""
    text = scrub(body.decode("utf-8", errors="replace"), secret)
    content_type = scrub(response.headers.get("Content-Type", ""), secret)
    code, message, env = _autumn_fields(None if truncated else body, secret)
    status = response.status
    earlier_accepted = status == 409 and code == "duplicate_idempotency_key" and attempts > 1
    if earlier_accepted:
        # The server's own text ("key already used") would read as a refusal.
        message = (
            "an earlier attempt of this same call was already accepted by the server, "
            "so the change was applied once; do not repeat it"
        )
    elif status == 429 and message is None and content_type.startswith("text/plain") and text:
        message = text.strip()[:200]  # Autumn's rate limiter answers in plain text
    summary = _summary(response, code, message, content_type, text)
    if truncated:
        summary += f" [body truncated to {MAX_ERROR_BODY_BYTES} bytes]"
    return AutumnDefaultError(
        # The reason phrase and the Location header are the server's text too.
        scrub(summary, secret),
        status_code=status,
        body=text,
        headers=scrub_headers(response.headers, secret),
        content_type=content_type,
        code=code,
        message=message,
        env=env,
        raw_response=response,
        body_truncated=truncated,
        earlier_attempt_accepted=earlier_accepted,
        idempotency_key=idempotency_key,
        attempts=attempts,
    )


def _autumn_fields(
    body: bytes | None, secret: str | None
) -> tuple[str | None, str | None, str | None]:
    """`code`, `message` and `env` of Autumn's JSON error body, each None when absent."""
    try:
        parsed: object = json.loads(body) if body else None
    except ValueError:
        return None, None, None
    if not isinstance(parsed, dict):
        return None, None, None
    fields = cast("dict[str, object]", parsed)

    def field(name: str) -> str | None:
        # Every string a server sends back may echo the key, not only the message.
        value = fields.get(name)
        return scrub(value, secret) if isinstance(value, str) else None

    return field("code"), field("message"), field("env")


def _summary(
    response: aiohttp.ClientResponse,
    code: str | None,
    message: str | None,
    content_type: str,
    text: str,
) -> str:
    status = response.status
    if code or message:
        return f"{status} {code or response.reason or 'error'}: {message or ''}"
    if 300 <= status < 400:
        location = response.headers.get("Location", "")
        return (
            f"{status} {response.reason}: unexpected redirect to {location!r}; "
            "set server_url to the final address"
        )
    kind = content_type or "no content type"
    shown = f": {text[:200]!r}" if text else " and an empty body"
    return f"{status} {response.reason}: not an Autumn error ({kind}){shown}"


def scrub_headers(headers: CIMultiDictProxy[str], secret: str | None) -> Mapping[str, str]:
    """`headers`, or a copy with the secret cut out of every value should one echo it."""
    if not secret or not any(secret in value for value in headers.values()):
        return headers
    return CIMultiDictProxy(
        CIMultiDict((name, scrub(value, secret)) for name, value in headers.items())
    )


def invalid_success(
    reason: str,
    status: int,
    body: bytes,
    *,
    secret: str | None,
    idempotency_key: str | None,
    attempts: int,
) -> ResponseValidationError:
    text = scrub(body[:MAX_ERROR_BODY_BYTES].decode("utf-8", errors="replace"), secret)
    return ResponseValidationError(
        # `reason` may quote the Content-Type header, which a server controls.
        scrub(f"{status} answer does not fit the response model: {reason}", secret),
        status_code=status,
        body=text,
        idempotency_key=idempotency_key,
        attempts=attempts,
    )
