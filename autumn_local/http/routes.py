"""Every route this server answers, with its handler.

A handler runs synchronously inside the request's transaction, after the
pipeline's auth, version, rate-limit and ``Idempotency-Key`` steps
(``app.py``): it reads the body with its schema (``schemas/``), applies
Autumn's rules (``rules/``) and returns the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from autumn_local.http.auth import KeyRing
from autumn_local.http.ratelimits import (
    CHECK_ORG_FAIL_OPEN,
    ROUTE_LIMITS,
    TRACK_ORG,
    Limit,
    RateLimiter,
)
from autumn_local.rules import locks, operations, views
from autumn_local.rules.check import check
from autumn_local.rules.delete import delete_balances
from autumn_local.rules.replies import Reply
from autumn_local.rules.track import track
from autumn_local.run.clock import Clock
from autumn_local.run.faults import FaultInjector
from autumn_local.schemas.balances import (
    parse_create_balance,
    parse_create_feature,
    parse_customer,
    parse_entity,
    parse_update_balance,
)
from autumn_local.schemas.usage import parse_check, parse_delete, parse_finalize, parse_track
from autumn_local.store.database import CustomerRow, Store

__all__ = ["ENDPOINTS", "Endpoint", "Handler", "ServerState"]

_SUCCESS = b'{"success":true}'


@dataclass
class ServerState:
    """Everything a request handler needs; one per running server."""

    store: Store
    clock: Clock
    keys: KeyRing
    faults: FaultInjector
    limiter: RateLimiter
    strict: bool = False


# A handler runs synchronously inside one transaction and returns the JSON
# body (bytes for the fixed success answer, else a dict to encode), or a
# Reply when the status is not 200.
Handler = Callable[[ServerState, dict[str, Any], str, int], "bytes | dict[str, Any] | Reply"]


def _create_balance(s: ServerState, body: dict[str, Any], env: str, now: int) -> bytes:
    operations.create_balance(s.store, parse_create_balance(body, strict=s.strict), now)
    return _SUCCESS


def _update_balance(s: ServerState, body: dict[str, Any], env: str, now: int) -> bytes:
    operations.update_balance(s.store, parse_update_balance(body, strict=s.strict), now)
    return _SUCCESS


def _customer_view(s: ServerState, customer: CustomerRow, env: str, now: int) -> dict[str, Any]:
    balances = s.store.customer_balances(customer.id, now)
    operations.settled_balances(s.store, balances, now)
    return views.customer_view(customer, balances, s.store.feature_map(), env, now)


def _get_customer(s: ServerState, body: dict[str, Any], env: str, now: int) -> dict[str, Any]:
    p = parse_customer(body, strict=s.strict)
    customer, _ = operations.require_owner(s.store, p.customer_id, None)
    return _customer_view(s, customer, env, now)


def _get_or_create_customer(
    s: ServerState, body: dict[str, Any], env: str, now: int
) -> dict[str, Any]:
    customer = operations.get_or_create_customer(
        s.store, parse_customer(body, strict=s.strict), now
    )
    return _customer_view(s, customer, env, now)


def _get_entity(s: ServerState, body: dict[str, Any], env: str, now: int) -> dict[str, Any]:
    p = parse_entity(body, strict=s.strict)
    customer, entity = operations.require_owner(s.store, p.customer_id, p.entity_id)
    assert entity is not None
    balances = s.store.customer_balances(customer.id, now)
    operations.settled_balances(s.store, balances, now)
    return views.entity_view(entity, balances, s.store.feature_map(), env, now)


def _create_feature(s: ServerState, body: dict[str, Any], env: str, now: int) -> dict[str, Any]:
    feature = operations.create_feature(s.store, parse_create_feature(body, strict=s.strict), now)
    return views.feature_view(feature)


def _list_features(s: ServerState, body: dict[str, Any], env: str, now: int) -> dict[str, Any]:
    return {"list": [views.feature_view(f) for f in s.store.features()]}


def _check_balance(s: ServerState, body: dict[str, Any], env: str, now: int) -> Any:
    p = parse_check(body, strict=s.strict)
    fail_open = s.limiter.exceeded(CHECK_ORG_FAIL_OPEN, env, now)
    return check(s.store, p, env, now, fail_open=fail_open)


def _track_usage(s: ServerState, body: dict[str, Any], env: str, now: int) -> Reply:
    p = parse_track(body, now, strict=s.strict)
    queued = s.limiter.exceeded(TRACK_ORG, env, now)
    return track(s.store, p, env, now, queued=queued)


def _delete_balance(s: ServerState, body: dict[str, Any], env: str, now: int) -> dict[str, Any]:
    return delete_balances(s.store, parse_delete(body, strict=s.strict), now)


def _finalize_lock(s: ServerState, body: dict[str, Any], env: str, now: int) -> dict[str, Any]:
    return locks.finalize(s.store, parse_finalize(body, strict=s.strict), env, now)


@dataclass(frozen=True)
class Endpoint:
    handler: Handler
    # "balances": faulted by default; "mutating": faulted with scope=all;
    # "read": never faulted, so a test can always check the state.
    fault_group: str
    limits: tuple[Limit, ...]


def _endpoint(path: str, handler: Handler, fault_group: str) -> tuple[str, Endpoint]:
    return path, Endpoint(handler, fault_group, ROUTE_LIMITS[path])


ENDPOINTS: dict[str, Endpoint] = dict(
    [
        _endpoint("/v1/balances.create", _create_balance, "balances"),
        _endpoint("/v1/balances.update", _update_balance, "balances"),
        _endpoint("/v1/balances.check", _check_balance, "balances"),
        _endpoint("/v1/balances.track", _track_usage, "balances"),
        _endpoint("/v1/balances.delete", _delete_balance, "balances"),
        _endpoint("/v1/balances.finalize", _finalize_lock, "balances"),
        _endpoint("/v1/customers.get_or_create", _get_or_create_customer, "mutating"),
        _endpoint("/v1/customers.get", _get_customer, "read"),
        _endpoint("/v1/entities.get", _get_entity, "read"),
        _endpoint("/v1/features.create", _create_feature, "mutating"),
        _endpoint("/v1/features.list", _list_features, "read"),
    ]
)
