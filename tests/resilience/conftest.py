"""Shared pieces of the resilience suite: a secret to hunt for, fast retries, servers.

Every test here runs with DEBUG logging on for the root and ``autumn`` loggers,
and after each test every captured log record (message and traceback text) is
checked for the secret key: promise 7 is enforced across the whole suite, not
only in test_secrets.py.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import traceback
import types
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from typing import Any

import aiohttp
import pytest

from autumn_core import AutumnSDKError, BackoffStrategy, RetryConfig
from autumn_local import LocalAutumn
from tests.fake_time import FakeTime
from tests.resilience.hostile import HostileServer

# A key no other string in the suite contains, so a leak cannot be a coincidence.
SECRET = "am_sk_test_R3s1l13nc3-0nly-Th1s-K3y"
TRUNCATED_NOTE = "[body truncated to 65536 bytes once decoded]"


def fast_retries(
    fake: FakeTime | None = None, *, max_retries: int | None = 8, **kwargs: Any
) -> RetryConfig:
    """Retries with a 1 ms backoff, connection errors included, and a duplicate
    confirmed after 1 ms (unless overridden)."""
    backoff = kwargs.pop(
        "backoff", BackoffStrategy(initial_interval=1, max_interval=5, exponent=1.5)
    )
    kwargs.setdefault("confirm_duplicate_after_ms", 1)
    extra: dict[str, Any] = {"sleep": fake.sleep, "clock": fake.clock} if fake else {}
    return RetryConfig(backoff=backoff, max_retries=max_retries, **extra, **kwargs)


NO_RETRIES = RetryConfig(strategy="none")


def error_text(error: BaseException) -> str:
    """Everything a person could see of an error: str, repr, traceback, chained causes."""
    return "\n".join([str(error), repr(error), "".join(traceback.format_exception(error))])


def assert_no_secret(*texts: object) -> None:
    for text in texts:
        shown = text if isinstance(text, str) else repr(text)
        assert SECRET not in shown, f"secret key leaked into: {shown[:300]!r}"


# Objects a walk does not enter: code, not data (a module, a class, a function).
_NOT_DATA = (
    types.ModuleType,
    type,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.TracebackType,
    types.FrameType,
    types.CodeType,
)


def secret_paths(root: object, name: str = "error", limit: int = 20_000) -> list[str]:
    """Where SECRET shows in `root`, walking every attribute recursively: instance
    dicts and slots, containers and mappings (keys too), exceptions' args, `__cause__`
    and `__context__`, and each object's str() for the objects that are text to
    people (URLs, enums). Tracebacks are not walked: they hold the caller's frames."""
    found: list[str] = []
    seen: set[int] = set()
    stack: list[tuple[str, object]] = [(name, root)]
    while stack and len(seen) < limit:  # bounded walk
        path, value = stack.pop()
        if value is None or isinstance(value, (bool, int, float, enum.Enum)):
            continue
        if isinstance(value, str):
            if SECRET in value:
                found.append(path)
            continue
        if isinstance(value, (bytes, bytearray, memoryview)):
            if SECRET.encode() in bytes(value):
                found.append(path)
            continue
        if isinstance(value, _NOT_DATA) or id(value) in seen:
            continue
        seen.add(id(value))
        stack.extend(_children(path, value))
    assert len(seen) < limit, f"walk of {name} did not end within {limit} objects"
    return found


def _children(path: str, value: object) -> list[tuple[str, object]]:
    children: list[tuple[str, object]] = []
    if isinstance(value, Mapping):
        for key, item in list(value.items()):
            children += [(f"{path}[key {key!r:.40}]", key), (f"{path}[{key!r:.40}]", item)]
    elif isinstance(value, (list, tuple, set, frozenset)):
        children += [(f"{path}[{i}]", item) for i, item in enumerate(value)]
    if isinstance(value, BaseException):
        children += [
            (f"{path}.args", value.args),
            (f"{path}.__cause__", value.__cause__),
            (f"{path}.__context__", value.__context__),
        ]
    for attribute, item in list(getattr(value, "__dict__", {}).items()):
        children.append((f"{path}.{attribute}", item))
    for klass in type(value).__mro__:
        for slot in getattr(klass, "__slots__", ()):
            if isinstance(slot, str) and hasattr(value, slot):
                children.append((f"{path}.{slot}", getattr(value, slot)))
    if not children:  # an opaque object (a URL, say): what it shows as text
        children.append((f"str({path})", str(value)))
    return children


def assert_secret_nowhere(*roots: object) -> None:
    for i, root in enumerate(roots):
        paths = secret_paths(root, f"root{i}")
        assert paths == [], f"secret key held at {paths[:10]}"


def assert_typed(
    error: object,
    kind: type[AutumnSDKError],
    *,
    status: int | None = None,
    code: str | None = None,
    attempts: int | None = None,
    key: str | None = None,
) -> Any:
    """The error is exactly `kind` with the given status, code, attempts and key,
    and nothing about it shows the secret."""
    assert type(error) is kind, f"expected {kind.__name__}, got {error!r}"
    assert isinstance(error, AutumnSDKError)
    if status is not None:
        assert getattr(error, "status_code", None) == status, error
    if code is not None:
        assert getattr(error, "code", None) == code, error
    if attempts is not None:
        assert error.attempts == attempts, error
    if key is not None:
        assert error.idempotency_key == key, error
    else:
        assert error.idempotency_key, f"no idempotency key on {error!r}"
    assert_no_secret(error_text(error))
    assert_secret_nowhere(error)
    return error


@pytest.fixture(autouse=True)
def no_secret_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """DEBUG logging on everywhere; afterwards, no record may contain the secret."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="autumn")
    yield
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    for record in caplog.records:
        assert_no_secret(formatter.format(record))


@pytest.fixture
async def server() -> AsyncIterator[LocalAutumn]:
    """A LocalAutumn accepting SECRET, no faults yet, Retry-After 0 once faults are set.

    Its rate limits are off: these tests inject their own 429s, and some create
    more balances in a second than Autumn's limit of 25 allows.
    """
    async with LocalAutumn(secret_key=SECRET, rate_limits=False) as local:
        yield local


@pytest.fixture
async def hostile() -> AsyncIterator[HostileServer]:
    """A fresh HostileServer (the scripted server plus stalls that end at teardown)."""
    server = await HostileServer().start()
    try:
        yield server
    finally:
        await server.stop()


async def customer_balances(server: LocalAutumn, customer_ids: Iterable[str]) -> dict[str, Any]:
    """Each customer's `balances` as POST /v1/customers.get answers them, by customer id."""
    found: dict[str, Any] = {}
    async with aiohttp.ClientSession() as http:
        for customer_id in customer_ids:
            async with http.post(
                server.url + "/v1/customers.get",
                json={"customer_id": customer_id},
                headers={"Authorization": f"Bearer {SECRET}"},
            ) as response:
                assert response.status == 200
                found[customer_id] = (await response.json())["balances"]
    return found


async def wait_until(condition: Callable[[], bool], *, polls: int = 5_000) -> None:
    """Poll `condition` every millisecond, at most `polls` times (a bounded loop)."""
    for _ in range(polls):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("condition not reached")
