"""`Unpack`, for `AutumnCore(**settings)`: from `typing` on Python 3.11+, from
`typing_extensions` (a dependency on 3.10 only) before."""

import sys

if sys.version_info >= (3, 11):
    from typing import Unpack
else:
    from typing_extensions import Unpack

__all__ = ["Unpack"]
