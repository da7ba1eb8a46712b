"""Reading an HTTP answer: error bodies to AutumnError, 2xx bodies to models.

Nothing here keeps aiohttp's response object: it holds the request, and so
the Authorization header with the secret key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import cast

import aiohttp

from autumn_core._errors import (
    MAX_ERROR_BODY_BYTES,
    AutumnDefaultError,
    RawResponse,
    ResponseValidationError,
)
from autumn_core._secrecy import scrub, scrubbed_headers

# A balance response is a few bytes; anything near this is not an Autumn answer.
MAX_SUCCESS_BODY_BYTES = 1024 * 1024


def error_from_response(
    response: aiohttp.ClientResponse,
    body: bytes,
    truncated: bool,
    *,
    secret: str | None,
    idempotency_key: str | None,
    attempts: int,
    problem: str | None = None,
) -> AutumnDefaultError:
    """An AutumnDefaultError for a non-2xx answer, parsed from Autumn's JSON error when
    present. `problem` says why the body could not be read, if it could not."""
    text = scrub(body.decode("utf-8", errors="replace"), secret)
    content_type = scrub(response.headers.get("Content-Type", ""), secret)
    code, message, env = _autumn_fields(None if truncated else body, secret)
    status = response.status
    if status == 429 and message is None and content_type.startswith("text/plain") and text:
        message = text.strip()[:200]  # Autumn's rate limiter answers in plain text
    summary = _summary(response, code, message, content_type, text)
    if truncated:
        summary += f" [body truncated to {MAX_ERROR_BODY_BYTES} bytes once decoded]"
    if problem:
        summary += f" [body not read: {problem}]"
    headers = scrubbed_headers(response.headers, secret)
    return AutumnDefaultError(
        # The reason phrase and the Location header are the server's text too.
        scrub(summary, secret),
        status_code=status,
        body=text,
        headers=headers,
        content_type=content_type,
        code=code,
        message=message,
        env=env,
        raw_response=raw_response(response, headers, secret),
        body_truncated=truncated,
        idempotency_key=idempotency_key,
        attempts=attempts,
    )


def raw_response(
    response: aiohttp.ClientResponse, headers: Mapping[str, str], secret: str | None
) -> RawResponse:
    """The parts of `response` worth keeping, without its request."""
    return RawResponse(
        status=response.status,
        reason=scrub(response.reason or "", secret),
        headers=headers,
        method=response.method,
        # A server_url may carry a user and password; they stay out of errors.
        url=str(response.url.with_user(None)),
    )


def _autumn_fields(
    body: bytes | None, secret: str | None
) -> tuple[str | None, str | None, str | None]:
    """`code`, `message` and `env` of Autumn's JSON error body, each None when absent."""
    try:
        parsed: object = json.loads(body) if body else None
    except (ValueError, RecursionError):  # nested too deep to parse is not JSON either
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
