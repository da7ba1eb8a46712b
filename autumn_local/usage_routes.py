"""The handlers of ``balances.check``, ``track``, ``delete`` and ``finalize``.

Each runs inside the request's transaction, after the pipeline's auth,
version, rate-limit and ``Idempotency-Key`` steps (``app.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from autumn_local import locks
from autumn_local.balance_delete import delete_balances
from autumn_local.check import check
from autumn_local.ratelimits import CHECK_ORG_FAIL_OPEN, TRACK_ORG
from autumn_local.replies import Reply
from autumn_local.track import track
from autumn_local.usage_params import parse_check, parse_delete, parse_finalize, parse_track

if TYPE_CHECKING:
    from autumn_local.app import ServerState

__all__ = ["check_balance", "delete_balance", "finalize_lock", "track_usage"]


def check_balance(s: ServerState, body: dict[str, Any], env: str, now: int) -> Any:
    p = parse_check(body, strict=s.strict)
    fail_open = s.limiter.exceeded(CHECK_ORG_FAIL_OPEN, env, now)
    return check(s.store, p, env, now, fail_open=fail_open)


def track_usage(s: ServerState, body: dict[str, Any], env: str, now: int) -> Reply:
    p = parse_track(body, now, strict=s.strict)
    queued = s.limiter.exceeded(TRACK_ORG, env, now)
    return track(s.store, p, env, now, queued=queued)


def delete_balance(s: ServerState, body: dict[str, Any], env: str, now: int) -> dict[str, Any]:
    return delete_balances(s.store, parse_delete(body, strict=s.strict), now)


def finalize_lock(s: ServerState, body: dict[str, Any], env: str, now: int) -> dict[str, Any]:
    return locks.finalize(s.store, parse_finalize(body, strict=s.strict), env, now)
