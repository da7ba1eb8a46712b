"""Every route this server answers, with its handler.

A handler runs synchronously inside the request's transaction, after the
pipeline's auth, version, rate-limit and ``Idempotency-Key`` steps
(``app.py``): it reads the body with its schema (``schemas/``), applies
Autumn's rules (``rules/``) and returns the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from autumn_local.http.auth import KeyRing
from autumn_local.http.body import parse_json, parse_json_object
from autumn_local.http.faults import FaultInjector
from autumn_local.http.ratelimits import (
    CHECK_ORG_FAIL_OPEN,
    ROUTE_LIMITS,
    TRACK_ORG,
    Limit,
    RateLimiter,
)
from autumn_local.rules import customers, locks, operations, views
from autumn_local.rules.batch_queue import BatchQueue
from autumn_local.rules.batch_track import resolve_items
from autumn_local.rules.check import check
from autumn_local.rules.clock import Clock
from autumn_local.rules.delete import delete_balances
from autumn_local.rules.model_prices import ModelPrices
from autumn_local.rules.replies import Reply
from autumn_local.rules.track import track
from autumn_local.rules.track_tokens import to_track_params
from autumn_local.schemas.balances import (
    parse_create_balance,
    parse_create_feature,
    parse_update_balance,
)
from autumn_local.schemas.batch import at_index, parse_batch
from autumn_local.schemas.customers import (
    parse_get_customer,
    parse_get_entity,
    parse_get_or_create,
)
from autumn_local.schemas.errors import ApiError
from autumn_local.schemas.track_tokens import parse_track_tokens
from autumn_local.schemas.usage import (
    TrackParams,
    parse_check,
    parse_delete,
    parse_finalize,
    parse_track,
)
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
    # When batch items are applied (LocalAutumn's batch_apply_delay).
    batches: BatchQueue = field(default_factory=BatchQueue)
    # Model prices for track_tokens (the built-in table and the config's).
    models: ModelPrices = field(default_factory=ModelPrices)


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


def _customer_view(
    s: ServerState, customer: CustomerRow, expand: tuple[str, ...], env: str, now: int
) -> dict[str, Any]:
    balances = s.store.customer_balances(customer.id, now)
    operations.settled_balances(s.store, balances, now)
    entities = s.store.entities_of(customer.id) if "entities" in expand else []
    return views.customer_view(
        customer, balances, s.store.feature_map(), env, now, expand, entities
    )


def _get_customer(s: ServerState, body: dict[str, Any], env: str, now: int) -> dict[str, Any]:
    p = parse_get_customer(body, strict=s.strict)
    customer = customers.require_customer(s.store, p.customer_id)
    return _customer_view(s, customer, p.expand, env, now)


def _get_or_create_customer(
    s: ServerState, body: dict[str, Any], env: str, now: int
) -> dict[str, Any]:
    p = parse_get_or_create(body, strict=s.strict)
    customer = customers.get_or_create(s.store, p, now)
    return _customer_view(s, customer, p.expand, env, now)


def _get_entity(s: ServerState, body: dict[str, Any], env: str, now: int) -> dict[str, Any]:
    customer, entity = customers.find_entity(s.store, parse_get_entity(body, strict=s.strict))
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


def _accept_batch(s: ServerState, items: Sequence[TrackParams], env: str, now: int) -> bytes:
    resolved = resolve_items(s.store, items)
    s.batches.submit(s.store, s.clock, items, resolved, env, now)
    return _SUCCESS


def _batch_track(s: ServerState, body: Any, env: str, now: int) -> bytes:
    items = parse_batch(body, lambda raw: parse_track(raw, now, strict=s.strict))
    return _accept_batch(s, items, env, now)


def _track_tokens(s: ServerState, body: dict[str, Any], env: str, now: int) -> Reply:
    p = parse_track_tokens(body, now, strict=s.strict)
    queued = s.limiter.exceeded(TRACK_ORG, env, now)
    return track(s.store, to_track_params(s.store, s.models, p, now), env, now, queued=queued)


def _batch_track_tokens(s: ServerState, body: Any, env: str, now: int) -> bytes:
    items = parse_batch(body, lambda raw: parse_track_tokens(raw, now, strict=s.strict))
    tracks: list[TrackParams] = []
    for index, p in enumerate(items):
        try:
            tracks.append(to_track_params(s.store, s.models, p, now))
        except ApiError as exc:
            raise at_index(index, exc) from None
    return _accept_batch(s, tracks, env, now)


@dataclass(frozen=True)
class Endpoint:
    handler: Handler
    # "balances": faulted by default; "mutating": faulted with scope=all;
    # "read": never faulted, so a test can always check the state.
    fault_group: str
    limits: tuple[Limit, ...]
    # How the body's bytes are read: an object, or (batch routes) any JSON value.
    read_body: Callable[[bytes], Any] = parse_json_object


def _endpoint(
    path: str,
    handler: Handler,
    fault_group: str,
    read_body: Callable[[bytes], Any] = parse_json_object,
) -> tuple[str, Endpoint]:
    return path, Endpoint(handler, fault_group, ROUTE_LIMITS[path], read_body)


ENDPOINTS: dict[str, Endpoint] = dict(
    [
        _endpoint("/v1/balances.create", _create_balance, "balances"),
        _endpoint("/v1/balances.update", _update_balance, "balances"),
        _endpoint("/v1/balances.check", _check_balance, "balances"),
        _endpoint("/v1/balances.track", _track_usage, "balances"),
        _endpoint("/v1/balances.delete", _delete_balance, "balances"),
        _endpoint("/v1/balances.finalize", _finalize_lock, "balances"),
        _endpoint("/v1/balances.batch_track", _batch_track, "balances", parse_json),
        _endpoint("/v1/balances.track_tokens", _track_tokens, "balances"),
        _endpoint("/v1/balances.batch_track_tokens", _batch_track_tokens, "balances", parse_json),
        _endpoint("/v1/customers.get_or_create", _get_or_create_customer, "mutating"),
        _endpoint("/v1/customers.get", _get_customer, "read"),
        _endpoint("/v1/entities.get", _get_entity, "read"),
        _endpoint("/v1/features.create", _create_feature, "mutating"),
        _endpoint("/v1/features.list", _list_features, "read"),
    ]
)
