"""The body of the batch routes: a JSON array of 1 to 1,000 items, each read by its schema.

Autumn's ``BatchTrackParamsSchema`` / ``BatchTrackTokensParamsSchema``
(``z.array(...).min(1).max(1000)``) refuse the whole batch for one bad
item, with the path ``<index>.<field>``; the message here starts with the
index too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from autumn_local.schemas.balances import json_type_name
from autumn_local.schemas.errors import ApiError, invalid_inputs

__all__ = ["MAX_BATCH_ITEMS", "at_index", "parse_batch"]

MAX_BATCH_ITEMS = 1000
_T = TypeVar("_T")


def at_index(index: int, exc: ApiError) -> ApiError:
    """``exc`` as the refusal of a whole batch, its message naming the item's index."""
    return ApiError(exc.status, exc.code, f"{index}: {exc.message}")


def parse_batch(body: Any, parse_item: Callable[[dict[str, Any]], _T]) -> list[_T]:
    """The items of an array body, each through ``parse_item``; 400 naming the first bad one.

    Autumn's zod schema (``z.array(...).min(1).max(1000)``) reports the path
    as ``<index>.<field>``; the message here starts with the index too.
    """
    if not isinstance(body, list):
        raise invalid_inputs(
            f"body must be an array of 1 to {MAX_BATCH_ITEMS} items, got {json_type_name(body)}"
        )
    if not 1 <= len(body) <= MAX_BATCH_ITEMS:
        raise invalid_inputs(
            f"body must be an array of 1 to {MAX_BATCH_ITEMS} items, got {len(body)}"
        )
    items: list[_T] = []
    for index, raw in enumerate(body):
        if not isinstance(raw, dict):
            raise invalid_inputs(f"{index}: must be an object, got {json_type_name(raw)}")
        try:
            items.append(parse_item(raw))
        except ApiError as exc:
            raise at_index(index, exc) from None
    return items
