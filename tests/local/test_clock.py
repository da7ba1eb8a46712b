"""Resets and expiry, judged lazily against the server's settable clock."""

from __future__ import annotations

import pytest

from autumn_local.clock import Clock
from autumn_local.resets import boundary, first_boundary_after
from tests.local.conftest import Api

JAN_31 = 1_769_817_600_000  # 2026-01-31T00:00:00Z
MIN = 60_000
DAY = 86_400_000
KEY = {"customer_id": "cus_123", "feature_id": "api_calls"}


async def test_monthly_balance_resets_on_calendar_months(api: Api) -> None:
    clock = api.server.clock
    clock.set_ms(JAN_31)
    (await api.create(**KEY, included=100, reset={"interval": "month"})).ok()
    (await api.update(**KEY, remaining=10)).ok()
    entry = await api.balance()
    assert entry is not None
    feb_28 = JAN_31 + 28 * DAY
    assert entry["next_reset_at"] == feb_28

    clock.set_ms(feb_28 - 1)
    entry = await api.balance()
    assert entry is not None and entry["remaining"] == 10

    clock.set_ms(feb_28)
    entry = await api.balance()
    assert entry is not None
    assert (entry["remaining"], entry["usage"], entry["granted"]) == (100, 0, 100)
    mar_31 = feb_28 + 31 * DAY  # anchored on the 31st: no drift to the 28th
    assert entry["next_reset_at"] == mar_31
    assert entry["breakdown"][0]["reset"]["resets_at"] == mar_31


async def test_reset_then_update_persists_the_reset(api: Api) -> None:
    clock = api.server.clock
    clock.set_ms(JAN_31)
    (await api.create(**KEY, included=100, reset={"interval": "day"})).ok()
    (await api.update(**KEY, usage=60)).ok()
    clock.advance(days=1)
    (await api.update(**KEY, add_to_balance=5)).ok()
    entry = await api.balance()
    assert entry is not None
    assert (entry["granted"], entry["remaining"], entry["usage"]) == (105, 105, 0)
    assert entry["next_reset_at"] == JAN_31 + 2 * DAY


async def test_long_jump_skips_many_boundaries_at_once(api: Api) -> None:
    clock = api.server.clock
    clock.set_ms(JAN_31)
    (await api.create(**KEY, included=5, reset={"interval": "minute", "interval_count": 3})).ok()
    (await api.update(**KEY, remaining=0)).ok()
    clock.advance(days=365, ms=1)
    entry = await api.balance()
    assert entry is not None and entry["remaining"] == 5
    assert entry["next_reset_at"] == JAN_31 + 365 * DAY + 3 * MIN


async def test_expired_balance_no_longer_counts(api: Api) -> None:
    clock = api.server.clock
    clock.set_ms(JAN_31)
    (await api.create(**KEY, included=100, balance_id="main")).ok()
    (await api.create(**KEY, included=50, expires_at=JAN_31 + DAY, balance_id="promo")).ok()
    entry = await api.balance()
    assert entry is not None and entry["granted"] == 150
    clock.advance(days=1)
    entry = await api.balance()
    assert entry is not None
    assert entry["granted"] == 100 and [b["id"] for b in entry["breakdown"]] == ["main"]
    # The only remaining balance can now be updated without a target.
    (await api.update(**KEY, remaining=1)).ok()
    (await api.update(**KEY, balance_id="promo", remaining=1)).error(404, "balance_not_found")


async def test_feature_disappears_when_its_only_balance_expires(api: Api) -> None:
    clock = api.server.clock
    clock.set_ms(JAN_31)
    (await api.create(**KEY, included=1, expires_at=JAN_31 + 1000)).ok()
    clock.advance(seconds=1)
    assert await api.balance() is None
    (await api.update(**KEY, remaining=1)).error(404, "balance_not_found")


async def test_custom_first_reset_then_regular_intervals(api: Api) -> None:
    clock = api.server.clock
    clock.set_ms(JAN_31)
    first = JAN_31 + 2 * DAY
    (await api.create(**KEY, included=10, reset={"interval": "week"}, next_reset_at=first)).ok()
    (await api.update(**KEY, remaining=0)).ok()
    clock.set_ms(first)
    entry = await api.balance()
    assert entry is not None and entry["remaining"] == 10
    assert entry["next_reset_at"] == first + 7 * DAY


@pytest.mark.parametrize(
    ("interval", "count", "expected"),
    [
        ("minute", 1, JAN_31 + MIN),
        ("hour", 2, JAN_31 + 2 * 3_600_000),
        ("day", 1, JAN_31 + DAY),
        ("week", 1, JAN_31 + 7 * DAY),
        ("month", 1, 1_772_236_800_000),  # 2026-02-28
        ("quarter", 1, 1_777_507_200_000),  # 2026-04-30
        ("semi_annual", 1, 1_785_456_000_000),  # 2026-07-31
        ("year", 1, 1_801_353_600_000),  # 2027-01-31
        ("month", 2, 1_774_915_200_000),  # 2026-03-31
    ],
)
def test_interval_arithmetic(interval: str, count: int, expected: int) -> None:
    assert boundary(JAN_31, interval, count, 1) == expected
    assert first_boundary_after(JAN_31, interval, count, JAN_31) == expected


def test_boundaries_found_directly_match_stepping() -> None:
    anchor = JAN_31 + 123
    for interval, count in (("month", 1), ("quarter", 2), ("year", 1), ("day", 3)):
        for offset in (0, 1, 5 * DAY, 200 * DAY, 3 * 365 * DAY + 7):
            now = anchor + offset
            n = 0
            while boundary(anchor, interval, count, n) <= now:
                n += 1
            assert first_boundary_after(anchor, interval, count, now) == boundary(
                anchor, interval, count, n
            )
    assert first_boundary_after(anchor, "month", 1, anchor - 1) == anchor


def test_clock_controls() -> None:
    clock = Clock(start_ms=1_000)
    assert clock.frozen and clock.now_ms() == 1_000
    assert clock.advance(ms=5, seconds=1) == 2_005
    clock.set_ms(10)
    assert clock.advance(minutes=1, hours=1, days=1) == 10 + 60_000 + 3_600_000 + DAY
    clock.resume()
    assert not clock.frozen
    assert clock.now_ms() >= 10 + 60_000 + 3_600_000 + DAY
    running = Clock()
    before = running.now_ms()
    running.advance(days=30)
    assert running.now_ms() >= before + 30 * DAY
    with pytest.raises(TypeError):
        clock.set_ms(1.5)  # type: ignore[arg-type]
