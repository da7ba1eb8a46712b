"""The rate limiter's memory is bounded whatever the input.

It counts before the body is validated, as Autumn does, so it sees customer
ids of any size (the body's 1 MB cap is the only bound) and any number of them.
Neither may grow it without limit: a long id is kept as a fixed-size digest,
and the number of windows is capped (expired ones are swept first).
"""

from __future__ import annotations

import tracemalloc

from autumn_local.http.ratelimits import MAX_WINDOWS, ROUTE_LIMITS, RateLimiter
from tests.local.conftest import KEY, NOW, Api

TRACK = ROUTE_LIMITS["/v1/balances.track"]
HALF_MB = 512 * 1024


def test_huge_customer_ids_are_not_kept() -> None:
    limiter = RateLimiter()
    big = "x" * HALF_MB
    tracemalloc.start()
    try:
        for i in range(2_000):  # 1 GB of ids in all, each freed once counted
            limiter.check(TRACK, "sandbox", f"{i}{big}", NOW + i)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held < 4 * 1024 * 1024, f"the limiter holds {held / 1e6:.0f} MB"


def test_the_number_of_windows_is_capped_even_when_none_has_expired() -> None:
    limiter = RateLimiter()
    for i in range(3 * MAX_WINDOWS):  # a frozen clock: every window is live
        limiter.check(TRACK, "sandbox", f"cus_{i}", NOW)
    assert limiter.window_count() <= MAX_WINDOWS


def test_a_long_id_is_still_limited_as_its_own_customer() -> None:
    limiter = RateLimiter()
    long_id = "c" * 10_000
    limit = TRACK[-1].limit
    for _ in range(limit):
        limiter.check(TRACK, "sandbox", long_id, NOW)
    headers = limiter.check(TRACK[1:], "sandbox", "c" * 9_999 + "d", NOW)
    assert headers["RateLimit-Remaining"] == str(limit - 1)  # another customer's window


async def test_requests_with_huge_customer_ids_are_refused_and_forgotten(api: Api) -> None:
    big = "y" * HALF_MB
    await api.track(customer_id="warm", feature_id=KEY["feature_id"], value=1)
    tracemalloc.start()
    try:
        for i in range(20):
            reply = await api.track(customer_id=f"{i}{big}", feature_id=KEY["feature_id"], value=1)
            reply.error(400, "invalid_inputs")
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held < 4 * 1024 * 1024, f"{held / 1e6:.0f} MB held after 20 refused requests"
