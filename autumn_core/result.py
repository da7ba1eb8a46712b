"""`Result`: what every standalone function returns instead of raising.

`Ok` and `Err` carry a class-level `ok` literal, so `if res.ok:` narrows the
type for mypy. Pyright narrows `if res.ok is True:`, `isinstance(res, Ok)` and
`match res: case Ok(value): ...` (all three work for mypy too), not a bare
attribute test.
"""

from __future__ import annotations

from typing import ClassVar, Generic, Literal, NoReturn, TypeVar, cast

T_co = TypeVar("T_co", covariant=True)
E_co = TypeVar("E_co", bound=BaseException, covariant=True)
T = TypeVar("T")


class Ok(Generic[T_co]):
    """A successful call. `value` is the operation's response model.

    `deduplicated` is True when the server refused a retry of the call as a
    duplicate of an earlier attempt it had accepted (`409
    duplicate_idempotency_key`, seen twice): the change was applied once, and
    `value` is the operation's fixed success answer.
    """

    __slots__ = ("deduplicated", "value")
    __match_args__ = ("value",)
    ok: ClassVar[Literal[True]] = True

    def __init__(self, value: T_co, deduplicated: bool = False) -> None:
        self.value = value
        self.deduplicated = deduplicated

    def __repr__(self) -> str:
        if self.deduplicated:
            return f"Ok({self.value!r}, deduplicated=True)"
        return f"Ok({self.value!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Ok):
            return False
        same = cast("Ok[object]", other)
        return same.value == self.value and same.deduplicated == self.deduplicated

    __hash__ = None  # type: ignore[assignment]


class Err(Generic[E_co]):
    """A failed call. `error` is one of the classes in `autumn_core.errors`."""

    __slots__ = ("error",)
    __match_args__ = ("error",)
    ok: ClassVar[Literal[False]] = False

    def __init__(self, error: E_co) -> None:
        self.error = error

    def __repr__(self) -> str:
        return f"Err({self.error!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Err) and cast("Err[BaseException]", other).error is self.error

    __hash__ = None  # type: ignore[assignment]


Result = Ok[T_co] | Err[E_co]


def unwrap(result: Result[T, BaseException]) -> T:
    """Return the value of an `Ok`, or raise the error of an `Err`.

    >>> unwrap(Ok(3))
    3
    """
    if isinstance(result, Ok):
        return result.value
    _raise(result.error)


def _raise(error: BaseException) -> NoReturn:
    raise error
