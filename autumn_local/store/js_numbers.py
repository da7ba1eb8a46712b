"""Numbers as Autumn's server holds and writes them: JavaScript doubles.

Autumn's server is JavaScript. ``JSON.parse`` turns every number of a body into
a double, so an integer beyond 2^53 arrives rounded to the nearest double and
one beyond the double range arrives as ``Infinity`` (which zod's ``z.number()``
refuses). Its arithmetic is double arithmetic, and ``JSON.stringify`` writes a
whole number below 10^21 in plain digits (``2**60`` as ``1152921504606847000``:
the shortest digits that name the double, then zeros), larger ones as
``1e+300``, and a non-finite one as ``null``.

Python's ``json`` reads an integer literal as an exact ``int`` and writes a
float as ``1.152921504606847e+18``; these two functions bridge the difference.
"""

from __future__ import annotations

import math
from decimal import Decimal

__all__ = ["MAX_SAFE_INTEGER", "as_double", "js_number"]

Number = int | float

# Number.MAX_SAFE_INTEGER: every integer up to it is exact as a double.
MAX_SAFE_INTEGER = 2**53 - 1
# Number.prototype.toString writes whole numbers below this without an exponent.
_PLAIN_BELOW = 1e21


def as_double(value: Number) -> float | int | None:
    """``value`` as ``JSON.parse`` would read it, or None where JavaScript gets ``Infinity``.

    Integers up to 2^53 stay ints (they are exact doubles, and an int keeps
    the database's integer arithmetic exact); larger ones become the nearest
    double, as JavaScript's parser rounds them.
    """
    if isinstance(value, int):
        if -MAX_SAFE_INTEGER - 1 <= value <= MAX_SAFE_INTEGER + 1:
            return value
        try:
            return float(value)
        except OverflowError:
            return None
    return value if math.isfinite(value) else None


def js_number(value: Number) -> Number | None:
    """The Python value ``json.dumps`` writes as JavaScript's ``JSON.stringify`` writes ``value``.

    Whole numbers without ``.0``; beyond 2^53, the digits of the double, not
    of the exact integer (``1152921504606847000`` for 2^60); from 10^21 on,
    the exponent form (``1e+300``, which Python's float repr matches there);
    ``Infinity`` and ``NaN`` as ``null``.
    """
    if isinstance(value, int):
        if -MAX_SAFE_INTEGER - 1 <= value <= MAX_SAFE_INTEGER + 1:
            return value
        double = as_double(value)
        return None if double is None else js_number(float(double))
    if not math.isfinite(value):
        return None
    if not value.is_integer() or abs(value) >= _PLAIN_BELOW:
        return value
    if abs(value) <= MAX_SAFE_INTEGER + 1:
        return int(value)
    # repr gives the shortest digits that read back as this double, as
    # JavaScript prints them; the rest of the integer part is zeros.
    return int(Decimal(repr(value)))
