"""Fault injection: make the local server misbehave the way real networks do.

A spec string such as ``"429=0.05,503=0.05,500=0.02,reset=0.02,delay=0.1,
lost-response=0.02,delay-ms=200,retry-after=0,seed=7"`` gives a rate per kind
plus options. Each eligible request draws at most one fault:

- ``429``: Autumn's rate-limit answer: the plain-text body ``Too many
  requests, please try again later.`` with ``Retry-After`` and ``RateLimit-*``.
- ``503``: service_unavailable with ``Retry-After``.
- ``500``: internal_error.
- ``reset``: the connection is closed before the request is handled.
- ``delay``: the request is handled normally after ``delay-ms``.
- ``lost-response``: the request is handled (and committed, if it succeeds),
  then the connection is closed without an answer -- the case idempotency
  keys exist for.

Faults that answer with an error, and ``reset``, happen before anything else
(authentication, idempotency claim, body), so they change nothing.
``scope=balances`` (default) limits faults to the balances.* routes
(create, update, check, track, delete, finalize); ``scope=all`` extends them
to every mutating endpoint. Reads
(customers.get, entities.get, features.list) are never faulted, so a test can
always check the state.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

__all__ = ["FAULT_KINDS", "FaultInjector", "FaultSpec"]

FAULT_KINDS = ("429", "503", "500", "reset", "delay", "lost-response")
_SCOPES = ("balances", "all")
_N = TypeVar("_N", int, float)


@dataclass(frozen=True)
class FaultSpec:
    """What faults to inject, how often, and how they look.

    Example::

        FaultSpec.parse("503=0.1,retry-after=0,seed=1")
        FaultSpec(rates={"lost-response": 1.0})
    """

    rates: Mapping[str, float] = field(default_factory=dict)
    delay_ms: int = 200
    retry_after: int = 1
    seed: int | None = None
    scope: str = "balances"

    def __post_init__(self) -> None:
        for kind, rate in self.rates.items():
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"fault rate for {kind!r} must be between 0 and 1, got {rate}")
        if sum(self.rates.values()) > 1.0 + 1e-9:
            raise ValueError("fault rates add up to more than 1")
        if self.delay_ms < 0 or self.retry_after < 0:
            raise ValueError("delay-ms and retry-after must not be negative")
        if self.scope not in _SCOPES:
            raise ValueError(f"fault scope must be one of {', '.join(_SCOPES)}")

    @classmethod
    def parse(cls, spec: str) -> FaultSpec:
        """Parse ``"kind=rate,...,delay-ms=N,retry-after=N,seed=N,scope=all"``.

        An empty string or ``"off"`` means no faults. Raises ValueError with a
        message naming the bad item.
        """
        rates: dict[str, float] = {}
        options: dict[str, int] = {}
        scope = "balances"
        text = spec.strip()
        if text in ("", "off", "none"):
            return cls()
        for item in text.split(","):
            item = item.strip()
            if not item:
                continue
            name, sep, value = item.partition("=")
            name, value = name.strip().lower(), value.strip()
            if not sep:
                raise ValueError(f"fault spec item {item!r} must look like name=value")
            if name in FAULT_KINDS:
                rates[name] = _number(item, value, float)
            elif name in ("delay-ms", "retry-after", "seed"):
                options[name] = _number(item, value, int)
            elif name == "scope":
                scope = value
            else:
                raise ValueError(
                    f"unknown fault spec item {name!r}; known: "
                    f"{', '.join(FAULT_KINDS)}, delay-ms, retry-after, seed, scope"
                )
        return cls(
            rates=rates,
            delay_ms=options.get("delay-ms", 200),
            retry_after=options.get("retry-after", 1),
            seed=options.get("seed"),
            scope=scope,
        )

    def __str__(self) -> str:
        parts = [f"{k}={v:g}" for k, v in self.rates.items() if v]
        parts += [f"delay-ms={self.delay_ms}", f"retry-after={self.retry_after}"]
        if self.seed is not None:
            parts.append(f"seed={self.seed}")
        parts.append(f"scope={self.scope}")
        return ",".join(parts)


def _number(item: str, value: str, kind: Callable[[str], _N]) -> _N:
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"fault spec item {item!r}: {value!r} is not a number") from None


class FaultInjector:
    """Draws faults per request and counts what it injected.

    ``inject_next("503", "lost-response")`` queues faults for the next
    eligible requests regardless of rates, for deterministic tests.
    """

    def __init__(self, spec: FaultSpec | None = None) -> None:
        self.counts: dict[str, int] = dict.fromkeys(FAULT_KINDS, 0)
        self._queue: list[str] = []
        self.configure(spec or FaultSpec())

    @property
    def spec(self) -> FaultSpec:
        return self._spec

    def configure(self, spec: FaultSpec) -> None:
        """Replace the rates (counts are kept; the random stream restarts from the seed)."""
        self._spec = spec
        self._random = random.Random(spec.seed)
        self._table = [(k, r) for k, r in spec.rates.items() if r > 0]

    def inject_next(self, *kinds: str) -> None:
        for kind in kinds:
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
        self._queue.extend(kinds)

    def queued(self) -> list[str]:
        """The faults ``inject_next`` queued that no request has drawn yet, in order."""
        return list(self._queue)

    def cancel_queued(self) -> None:
        self._queue.clear()

    def applies_to(self, route_group: str) -> bool:
        """``route_group`` is ``balances``, ``mutating`` or ``read``."""
        if route_group == "read":
            return False
        return route_group == "balances" or self._spec.scope == "all"

    def draw(self) -> str | None:
        """The fault for this request, if any, counted as injected."""
        kind: str | None = None
        if self._queue:
            kind = self._queue.pop(0)
        elif self._table:
            roll = self._random.random()
            for name, rate in self._table:
                if roll < rate:
                    kind = name
                    break
                roll -= rate
        if kind is not None:
            self.counts[kind] += 1
        return kind
