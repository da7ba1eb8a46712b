"""A handler's answer when it is not a plain ``200``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Reply"]


@dataclass(frozen=True, slots=True)
class Reply:
    """``body`` answered with ``status`` (e.g. ``202`` for a track accepted for later)."""

    status: int
    body: dict[str, Any]
