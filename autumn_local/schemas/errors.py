"""The exceptions the request pipeline raises to answer with an Autumn error."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["ApiError", "StepsApplied", "invalid_inputs", "invalid_request"]


class ApiError(Exception):
    """An error answer: HTTP status plus Autumn's ``code`` and ``message``.

    Raised anywhere below the HTTP layer; ``http/app.py`` turns it into the JSON
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


class StepsApplied(Exception):
    """``error`` is the answer, but the steps that ran before it stay applied.

    Autumn runs the steps of ``balances.update`` one after another, not in one
    transaction: when a later step fails, the earlier ones are kept.
    """

    def __init__(self, error: ApiError) -> None:
        super().__init__(error.message)
        self.error = error


def invalid_inputs(message: str) -> ApiError:
    """400 ``invalid_inputs``: the body fails the schema; ``message`` names the field."""
    return ApiError(400, "invalid_inputs", message)


def invalid_request(message: str, status: int = 400) -> ApiError:
    """``invalid_request``, Autumn's code for a rule broken by otherwise valid input."""
    return ApiError(status, "invalid_request", message)
