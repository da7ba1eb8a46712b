"""The one exception the request pipeline raises to answer with an Autumn error."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["ApiError", "invalid_inputs"]


class ApiError(Exception):
    """An error answer: HTTP status plus Autumn's ``code`` and ``message``.

    Raised anywhere below the HTTP layer; ``app.py`` turns it into the JSON
    body ``{"message", "code", "env"}``. Raising it inside a store transaction
    rolls the transaction back, which is how nothing is ever half-applied.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers: dict[str, str] = dict(headers or {})

    def __repr__(self) -> str:
        return f"ApiError({self.status}, {self.code!r}, {self.message!r})"


def invalid_inputs(message: str) -> ApiError:
    """400 ``invalid_inputs``: the body fails the schema or a rule; ``message`` names the field."""
    return ApiError(400, "invalid_inputs", message)
