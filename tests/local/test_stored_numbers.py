"""Numbers a client can store never make a route answer 500.

Autumn keeps balances in Postgres `numeric` columns read as JavaScript numbers
(doubles), and date arithmetic in date-fns: nothing a client sends within the
schema overflows there. LocalAutumn keeps the same arithmetic: a sum beyond
2^53 becomes a double, as in JavaScript, and a rollover expiry beyond the
calendar never expires.
"""

from __future__ import annotations

import pytest

from tests.local.conftest import DAY, KEY, NOW, Api

BIG = 2**53 - 1


@pytest.fixture
async def monthly(api: Api) -> Api:
    api.server.clock.set_ms(NOW)
    (
        await api.create(
            **KEY,
            included_grant=100,
            reset={"interval": "month"},
            rollover={"length": BIG, "duration": "month"},
        )
    ).ok()
    return api


async def test_a_huge_rollover_length_survives_the_first_reset(monthly: Api) -> None:
    api = monthly
    (await api.track(**KEY, value=40)).ok()
    api.server.clock.set_ms(NOW + 32 * DAY)  # past the first reset: 60 rolls over
    entry = await api.balance()
    assert entry is not None
    assert entry["remaining"] == 160
    assert (await api.check(**KEY, required_balance=1)).ok()["allowed"] is True
    assert (await api.track(**KEY, value=1)).ok()
    assert (await api.totals())[1] == 159


async def test_sums_beyond_int64_are_doubles_as_in_javascript(api: Api) -> None:
    (await api.create(**KEY, included_grant=100)).ok()
    expected = 100.0
    for _ in range(1_030):  # 1,024 of these pass 2^63
        (await api.update(**KEY, add_to_balance=BIG)).ok()
        expected += BIG  # a JavaScript number: a double
    remaining = (await api.totals())[1]
    # The double, in plain digits as JavaScript writes one below 1e21.
    assert isinstance(remaining, int)
    assert float(remaining) == expected
    assert (await api.track(**KEY, value=1)).ok()
    assert (await api.check(**KEY, required_balance=1)).ok()["allowed"] is True
