"""`AutumnSync`: the blocking client, for code that cannot `await`.

Django and Flask views, Celery tasks, scripts. A thin layer over the async
facade `Autumn`: each method runs the async method of the same name on a
private event loop in a background thread, and returns its response or raises
its error.

>>> with AutumnSync(secret_key=os.environ["AUTUMN_SECRET_KEY"]) as autumn:
...     autumn.balances.create(customer_id="cus_123", feature_id="api_calls",
...                            included_grant=1000, reset={"interval": "month"})
CreateBalanceResponse(success=True)

An operation added to the facade gets its twin in one line, next to its
siblings: `delete: Final = BlockingMethod(Balances.delete)` in `BalancesSync`
(`Final` makes the inferred type the declared one, for pyright --verifytypes,
and keeps the line from being reassigned). A new namespace of the facade
(`autumn.customers`) gets a `_Namespace` subclass of such lines and a property
on `AutumnSync`. tests/blocking/test_twins.py fails for any operation of
`Autumn` without a twin.
"""

from __future__ import annotations

import functools
import inspect
import weakref
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Concatenate, Final, Generic, ParamSpec, TypeVar, overload

from autumn_core import AutumnCore, CoreSettings, SDKValidationError, SecretKey
from autumn_core.seam import LoopThread
from autumn_funcs._autumn import Autumn, Balances, Customers, Entities
from autumn_funcs._typing_backports import Unpack

P = ParamSpec("P")
R = TypeVar("R")

_AWAIT_INSTEAD = (
    "In async code, await the async API instead: `async with Autumn(...) as autumn: "
    "await autumn.balances.create(...)`, or the standalone functions (`await "
    "balances_create(core, ...)`); in a notebook, use `await` at the top level of the cell."
)

# How long an unattended close (at interpreter exit, or when a client nobody
# closed is garbage-collected) waits for the loop's thread; the thread is a
# daemon, so a hook that never returns cannot hold up exit beyond this.
UNATTENDED_CLOSE_S = 5.0


class _Operations:
    """What a `BlockingMethod` reads from the object it is an attribute of: the async
    object whose method it runs, and the loop thread to run it on."""

    __slots__ = ("_runner", "_target")

    _runner: LoopThread
    _target: object


class AutumnSync(_Operations):
    """The blocking client: `Autumn`'s operations, each returning its response or raising.

    >>> with AutumnSync() as autumn:  # AUTUMN_SECRET_KEY from the environment
    ...     autumn.balances.update(customer_id="cus_123", feature_id="api_calls", remaining=5)

    Same constructor as `AutumnCore`, except `session`: the calls run on an
    event loop of the client's own, in a daemon thread started on the first
    call, and an aiohttp session belongs to the loop it was made in. Create one
    client per process and share it between threads: one connection pool serves
    every call. Hooks and an async `secret_key` run on that loop's thread.

    A call from a thread running an event loop (an `async def`) raises
    RuntimeError: await `Autumn` there instead. A per-call timeout is
    `options={"timeout_ms": ...}`; Ctrl-C while a call waits cancels it.
    `close()` (or leaving `with`) closes the pool and stops the thread; a client
    never closed is closed when collected or at interpreter exit. At exit (the
    main thread returned), calls still in flight in other threads get 5 s to end,
    then raise RequestAbortedError, so a call against a server that stopped
    answering never holds the process up longer. In a child of `os.fork()`, a
    client the parent used raises InvalidRequestError and never blocks.
    """

    __slots__ = ("__weakref__", "_autumn", "_closer")

    def __init__(
        self,
        secret_key: SecretKey | None = None,
        *,
        session: None = None,
        **settings: Unpack[CoreSettings],
    ) -> None:
        if session is not None:
            raise SDKValidationError(
                "session: AutumnSync cannot use a session of yours: its calls run on an event "
                "loop of its own, in its own thread, and an aiohttp session only works on the "
                "loop it was created in. Leave it out (the client makes and closes its own), "
                "or use Autumn / AutumnCore from async code to bring your session",
                field="session",
            )
        # Validates every argument here, in the caller's thread, before any thread starts.
        self._autumn = Autumn(secret_key, **settings)
        self._target = self._autumn  # for operations defined on the facade itself
        self._runner = LoopThread(
            type(self).__name__, self._autumn.aclose, async_hint=_AWAIT_INSTEAD
        )
        # Neither argument refers back to self, so a client nobody closes can still be
        # collected; atexit=True (the default) closes one still alive at exit.
        self._closer = weakref.finalize(self, self._runner.close, UNATTENDED_CLOSE_S)

    def __repr__(self) -> str:
        # The core's repr, which hides the key, under this class's name.
        return type(self).__name__ + "(" + repr(self._autumn).partition("(")[2]

    def __enter__(self: _Client) -> _Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool and stop the loop's thread. Idempotent.

        Calls still running in other threads are cancelled and raise
        RequestAbortedError; later calls raise InvalidRequestError."""
        self._runner.close()
        self._closer.detach()

    @property
    def closed(self) -> bool:
        return self._runner.closed

    @property
    def balances(self) -> BalancesSync:
        return BalancesSync(self, self._autumn.balances)

    @property
    def customers(self) -> CustomersSync:
        return CustomersSync(self, self._autumn.customers)

    @property
    def entities(self) -> EntitiesSync:
        return EntitiesSync(self, self._autumn.entities)

    def call(
        self,
        function: Callable[Concatenate[AutumnCore, P], Coroutine[Any, Any, R]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        """Run a standalone function with this client's core; returns what it returns.

        >>> res = autumn.call(balances_create, {"customer_id": "cus_123", ...})
        >>> if res.ok: ...
        """
        return self._runner.run(function, self._autumn, *args, **kwargs)


_Client = TypeVar("_Client", bound=AutumnSync)


class _Namespace(_Operations):
    """A group of blocking operations (`autumn.balances`) over its async twin."""

    __slots__ = ("_client",)

    def __init__(self, client: AutumnSync, target: object) -> None:
        # The client too, not just its runner: a namespace in use keeps the client alive,
        # or collecting it would close the runner under the namespace's feet.
        self._client = client
        self._runner = client._runner
        self._target = target


class BlockingMethod(Generic[P, R]):
    """The blocking twin of an async facade method, with the same parameters.

    One line per operation: `create: Final = BlockingMethod(Balances.create)` makes
    `autumn.balances.create(...)` run `Balances.create` on the client's loop and
    return its result; for a type checker it is the async method without `self`
    and without `await`.
    """

    __slots__ = ("__wrapped__", "_qualname", "_signature")

    __wrapped__: Callable[Concatenate[Any, P], Coroutine[Any, Any, R]]

    def __init__(self, method: Callable[Concatenate[Any, P], Coroutine[Any, Any, R]]) -> None:
        self.__wrapped__ = method
        self._qualname = getattr(method, "__qualname__", repr(method))
        signature = inspect.signature(method)
        without_self = list(signature.parameters.values())[1:]
        self._signature = signature.replace(parameters=without_self)

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self._qualname = f"{owner.__qualname__}.{name}"

    @overload
    def __get__(self, instance: None, owner: type[Any] | None = None) -> BlockingMethod[P, R]: ...

    @overload
    def __get__(self, instance: _Operations, owner: type[Any] | None = None) -> Callable[P, R]: ...

    def __get__(
        self, instance: _Operations | None, owner: type[Any] | None = None
    ) -> BlockingMethod[P, R] | Callable[P, R]:
        if instance is None:
            return self
        method = self.__wrapped__
        target, runner = instance._target, instance._runner  # pyright: ignore[reportPrivateUsage]

        @functools.wraps(method)
        def call(*args: P.args, **kwargs: P.kwargs) -> R:
            return runner.run(method, target, *args, **kwargs)

        call.__qualname__ = self._qualname
        call.__dict__["__signature__"] = self._signature  # what inspect.signature and help() show
        return call


class BalancesSync(_Namespace):
    """`autumn.balances` of `AutumnSync`: each operation returns the response or raises."""

    __slots__ = ()

    create: Final = BlockingMethod(Balances.create)
    update: Final = BlockingMethod(Balances.update)
    check: Final = BlockingMethod(Balances.check)
    track: Final = BlockingMethod(Balances.track)
    track_tokens: Final = BlockingMethod(Balances.track_tokens)
    batch_track: Final = BlockingMethod(Balances.batch_track)
    batch_track_tokens: Final = BlockingMethod(Balances.batch_track_tokens)
    delete: Final = BlockingMethod(Balances.delete)
    finalize: Final = BlockingMethod(Balances.finalize)


class CustomersSync(_Namespace):
    """`autumn.customers` of `AutumnSync`: each operation returns the customer or raises."""

    __slots__ = ()

    get: Final = BlockingMethod(Customers.get)
    get_or_create: Final = BlockingMethod(Customers.get_or_create)


class EntitiesSync(_Namespace):
    """`autumn.entities` of `AutumnSync`: each operation returns the entity or raises."""

    __slots__ = ()

    get: Final = BlockingMethod(Entities.get)
