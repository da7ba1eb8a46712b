"""Resets, rollovers and expiry, judged lazily against the server's settable clock."""

from __future__ import annotations

import pytest

from autumn_local.rules.clock import Clock
from autumn_local.rules.resets import add_interval, next_boundary_after
from tests.local.conftest import DAY, KEY, Api

JAN_31 = 1_769_817_600_000  # 2026-01-31T00:00:00Z
FEB_28 = JAN_31 + 28 * DAY
MAR_28 = FEB_28 + 28 * DAY
MIN = 60_000


async def test_monthly_resets_step_from_the_previous_boundary(api: Api) -> None:
    clock = api.server.clock
    clock.set_ms(JAN_31)
    (await api.create(**KEY, included_grant=100, reset={"interval": "month"})).ok()
    (await api.update(**KEY, remaining=10)).ok()
    assert (await api.balance() or {})["next_reset_at"] == FEB_28

    clock.set_ms(FEB_28)  # the boundary itself: not yet past
    assert await api.totals() == (100, 10, 90)
    clock.set_ms(FEB_28 + 1)
    entry = await api.balance()
    assert entry is not None
    assert (entry["granted"], entry["remaining"], entry["usage"]) == (100, 100, 0)
    # Jan 31 -> Feb 28 -> Mar 28: each step starts from the previous boundary.
    assert entry["next_reset_at"] == MAR_28
    assert entry["breakdown"][0]["reset"]["resets_at"] == MAR_28


async def test_a_reset_returns_to_the_original_grant_and_drops_adjustments(api: Api) -> None:
    clock = api.server.clock
    clock.set_ms(JAN_31)
    (await api.create(**KEY, included_grant=100, reset={"interval": "day"})).ok()
    (await api.update(**KEY, add_to_balance=40, included_grant=300)).ok()
    assert await api.totals() == (300, 140, 160)
    clock.advance(days=1, ms=1)
    assert await api.totals() == (100, 100, 0)


async def test_an_update_after_a_due_reset_applies_to_the_reset_balance(api: Api) -> None:
    clock = api.server.clock
    clock.set_ms(JAN_31)
    (await api.create(**KEY, included_grant=100, reset={"interval": "day"})).ok()
    (await api.update(**KEY, usage=60)).ok()
    clock.advance(days=1, ms=1)
    (await api.update(**KEY, add_to_balance=5)).ok()
    entry = await api.balance()
    assert entry is not None
    assert (entry["granted"], entry["remaining"], entry["usage"]) == (100, 105, -5)
    assert entry["next_reset_at"] == JAN_31 + 2 * DAY


async def test_a_long_jump_is_one_reset_and_skips_every_passed_boundary(api: Api) -> None:
    clock = api.server.clock
    clock.set_ms(JAN_31)
    (
        await api.create(**KEY, included_grant=5, reset={"interval": "minute", "interval_count": 3})
    ).ok()
    (await api.update(**KEY, remaining=0)).ok()
    clock.advance(days=365, ms=1)
    entry = await api.balance()
    assert entry is not None and entry["remaining"] == 5
    assert entry["next_reset_at"] == JAN_31 + 365 * DAY + 3 * MIN


async def test_expired_balances_are_left_out(api: Api) -> None:
    clock = api.server.clock
    clock.set_ms(JAN_31)
    (await api.create(**KEY, included_grant=1, expires_at=JAN_31 + 1000)).ok()
    clock.advance(seconds=1)
    assert await api.balance() is None
    (await api.update(**KEY, remaining=1)).ok()  # nothing left to change: a no-op
    assert await api.balance() is None


async def test_a_custom_first_reset_then_regular_intervals(api: Api) -> None:
    clock = api.server.clock
    clock.set_ms(JAN_31)
    first = JAN_31 + 2 * DAY
    (
        await api.create(**KEY, included_grant=10, reset={"interval": "week"}, next_reset_at=first)
    ).ok()
    (await api.update(**KEY, remaining=0)).ok()
    clock.set_ms(first + 1)
    entry = await api.balance()
    assert entry is not None and entry["remaining"] == 10
    assert entry["next_reset_at"] == first + 7 * DAY


async def test_unused_balance_rolls_over_capped_and_is_used_first(api: Api) -> None:
    clock = api.server.clock
    clock.set_ms(JAN_31)
    rollover = {"max": 500, "length": 1, "duration": "month"}
    (
        await api.create(**KEY, included_grant=400, reset={"interval": "month"}, rollover=rollover)
    ).ok()
    (await api.update(**KEY, add_to_balance=-250)).ok()
    clock.set_ms(FEB_28 + 1)
    entry = await api.balance()
    assert entry is not None
    # 150 unused rolls over (under the max of 500) and expires a month after the boundary.
    assert entry["rollovers"] == [{"granted": 150, "balance": 150, "expires_at": MAR_28}]
    assert (entry["granted"], entry["remaining"], entry["usage"]) == (550, 550, 0)
    (await api.update(**KEY, add_to_balance=-100)).ok()  # taken from the rollover first
    entry = await api.balance()
    assert entry is not None
    assert entry["rollovers"] == [{"granted": 150, "balance": 50, "expires_at": MAR_28}]
    assert entry["breakdown"][0]["remaining"] == 400
    assert (entry["granted"], entry["remaining"], entry["usage"]) == (550, 450, 100)
    clock.set_ms(MAR_28 + 1)  # the next reset; the first rollover has expired
    entry = await api.balance()
    assert entry is not None
    assert entry["rollovers"] == [{"granted": 400, "balance": 400, "expires_at": MAR_28 + 31 * DAY}]


@pytest.mark.parametrize(
    ("rollover", "rolled"),
    [
        ({"max": 100, "length": 1}, 100),
        ({"max_percentage": 10, "length": 1}, 40),
        ({"max": None, "length": 1, "duration": "forever"}, 300),
    ],
)
async def test_rollover_caps(api: Api, rollover: dict[str, object], rolled: int) -> None:
    clock = api.server.clock
    clock.set_ms(JAN_31)
    (
        await api.create(**KEY, included_grant=400, reset={"interval": "month"}, rollover=rollover)
    ).ok()
    (await api.update(**KEY, usage=100)).ok()
    clock.set_ms(FEB_28 + 1)
    entry = await api.balance()
    assert entry is not None
    [kept] = entry["rollovers"]
    assert kept["balance"] == rolled
    assert kept["expires_at"] == (0 if rollover.get("duration") == "forever" else MAR_28)


async def test_a_balance_without_rollover_config_shows_no_rollovers_key(api: Api) -> None:
    (await api.create(**KEY, included_grant=4)).ok()
    assert "rollovers" not in (await api.balance() or {})


@pytest.mark.parametrize(
    ("interval", "count", "expected"),
    [
        ("minute", 1, JAN_31 + MIN),
        ("hour", 2, JAN_31 + 2 * 3_600_000),
        ("day", 1, JAN_31 + DAY),
        ("week", 1, JAN_31 + 7 * DAY),
        ("month", 1, FEB_28),
        ("quarter", 1, 1_777_507_200_000),  # 2026-04-30
        ("semi_annual", 1, 1_785_456_000_000),  # 2026-07-31
        ("year", 1, 1_801_353_600_000),  # 2027-01-31
        ("month", 2, 1_774_915_200_000),  # 2026-03-31
    ],
)
def test_interval_arithmetic(interval: str, count: int, expected: int) -> None:
    assert add_interval(JAN_31, interval, count) == expected


def test_next_boundary_steps_from_the_previous_one() -> None:
    for interval, count in (("month", 1), ("quarter", 2), ("year", 1), ("day", 3), ("hour", 5)):
        for offset in (0, 1, 5 * DAY, 200 * DAY, 3 * 365 * DAY + 7):
            now = JAN_31 + offset
            stepped = add_interval(JAN_31, interval, count)
            while stepped <= now:
                stepped = add_interval(stepped, interval, count)
            assert next_boundary_after(JAN_31, interval, count, now) == stepped
    assert next_boundary_after(JAN_31, "month", 1, FEB_28) == MAR_28


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
