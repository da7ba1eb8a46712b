"""`Result`: what every standalone function returns instead of raising.

`Ok(value)` or `Err(error)`. Each has both attributes for a type checker: the
one it does not carry is typed `Never` and raises when read. `Err.value`
raises the call's error (what `unwrap` and the facade raise); `Ok.error`
raises AttributeError. What each idiom gives, in mypy and pyright (strict):

- `if res.ok:` ... `else:` ...: `res.value` is the response model in the first
  branch and `res.error` the error in the second, in both checkers. mypy
  narrows `res` itself to `Ok[...]` / `Err[...]` (`ok` is a `Literal` class
  attribute); pyright does not narrow a union on the truthiness of an attribute
  (by design), so there `res` stays `Ok[...] | Err[...]`, and the two
  attributes get their types from the `Never` of the other class.
- `if res.ok is True:` (or `== True`), `isinstance(res, Ok)`, and
  `match res: case Ok(value): ... case Err(error): ...`: narrow `res` itself in
  both checkers.
- `res.value` without any check type-checks too (as the response model), and
  raises the call's error at run time when the call failed. The type checker
  does not catch a forgotten check; the error does not pass silently either.
- Reading the attribute of the other class where a checker has narrowed
  (`res.error` inside `case Ok(...)`) is `Never`: pyright marks the code after
  it unreachable.

`hasattr(res, "value")` therefore raises for an `Err`; test `res.ok` instead.
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
    value: T_co
    deduplicated: bool

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

    @property
    def error(self) -> NoReturn:
        """No error: the call succeeded. Typed `Never` so that `res.error` after
        `if res.ok: ... else:` is the error's type in every checker."""
        raise AttributeError(
            "Ok has no error: the call succeeded (test res.ok, or match Ok/Err, first)"
        )

    __hash__: ClassVar[None] = None  # type: ignore[assignment]


class Err(Generic[E_co]):
    """A failed call. `error` is one of the classes in `autumn_core._errors`."""

    __slots__ = ("error",)
    __match_args__ = ("error",)
    ok: ClassVar[Literal[False]] = False
    error: E_co

    def __init__(self, error: E_co) -> None:
        self.error = error

    def __repr__(self) -> str:
        return f"Err({self.error!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Err) and cast("Err[BaseException]", other).error is self.error

    @property
    def value(self) -> NoReturn:
        """No value: raises the call's error, as `unwrap` does. Typed `Never` so that
        `res.value` after `if res.ok:` is the response's type in every checker."""
        raise self.error

    __hash__: ClassVar[None] = None  # type: ignore[assignment]


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
