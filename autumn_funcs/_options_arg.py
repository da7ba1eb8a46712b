"""`OptionsArg`: the type of every operation's `options` argument, in one place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

from autumn_core import RequestOptions

# Every standalone function and facade method takes `options: OptionsArg = None`.
# A dict is checked key by key at run time (SDKValidationError naming the option,
# before any I/O); to a type checker it is any mapping for now. A TypedDict of the
# options replaces `Mapping[str, Any]` here, and every operation follows.
OptionsArg: TypeAlias = RequestOptions | Mapping[str, Any] | None
