"""`OptionsArg`: the type of every operation's `options` argument, in one place."""

from __future__ import annotations

from typing import TypeAlias

from autumn_core import RequestOptions, RequestOptionsDict

# Every standalone function and facade method takes `options: OptionsArg = None`.
# A dict is checked key by key at run time (SDKValidationError naming the option,
# before any I/O); to a type checker it is a RequestOptionsDict, so a mistyped key
# or a wrong type is an error in the editor.
OptionsArg: TypeAlias = RequestOptions | RequestOptionsDict | None
